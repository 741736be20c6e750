"""Point a local Airflow home at the sandbox: connections, the settings Variable, the login.

Run by ``scripts/run.sh`` after ``airflow db migrate``. Connections go into the metadata
database (not environment variables) so that they show, and can be tested, in the UI. The
Variable's tax and currency keys follow the sandbox's seed (``--seed``): a named real-tenant seed's
``PROFILE_SETTINGS``, the US defaults for ``demo``, on every start, and so does ``qbo_routes`` (the
``multi-company`` seed's example routes, none for another seed); the other keys are set once.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the sandbox package is not installed: it is read from the repository

from sandbox.seeds import multi_company  # noqa: E402
from sandbox.seeds.profiles import PROFILE_SETTINGS  # noqa: E402

# the venv's airflow next to its python; in the Airflow image, the one on PATH
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
if not Path(AIRFLOW).exists():
    AIRFLOW = shutil.which("airflow") or "airflow"


def airflow(*args: str) -> None:
    subprocess.run([AIRFLOW, *args], check=True, stdout=subprocess.DEVNULL)


def demo_settings(state: dict) -> dict:
    resources = [r for r in state["autotask"].get("Resources", []) if r.get("isActive", True)]
    return {
        "report_to": ["billing@msp.example"],
        "lob_class_map": {
            "Managed Services:Monitoring": "Managed",
            "Managed Services:Helpdesk": "Managed",
            "Managed Services:Security": "Managed",
            "Professional Services:Projects": "Projects",
            "Professional Services:Hardware": "Hardware Resale",
        },
        "po_number_custom_field": "PO Number",
        "todo_action_type": 1,
        "todo_resource_id": resources[0]["id"] if resources else None,
    }


def tax_settings(seed: str) -> dict:
    """The tax and currency keys of the seed's company: a named seed's own, the US defaults (the
    us-ast ones) for the demo, nothing for another seed (a JSON file: the user's to set)."""
    if seed in ("demo", "multi-company"):  # multi-company: the default company is the demo's
        return dict(PROFILE_SETTINGS["us-ast"])
    return dict(PROFILE_SETTINGS.get(seed, {}))


def route_settings(state: dict, seed: str) -> dict:
    """``qbo_routes`` of the seed (BEY-07): the multi-company seed's example routes (its QBO companies'
    connections exist only with it), none for another seed."""
    return {"qbo_routes": multi_company.example_routes(state) if seed == multi_company.NAME else []}


def seed_settings(state: dict, seed: str) -> dict:
    """The settings a first start against ``seed`` stores."""
    return {**demo_settings(state), **tax_settings(seed), **route_settings(state, seed)}


def postgres_connection(url: str) -> dict:
    """The atqbo_state connection of a PostgreSQL state database (the caller made it empty)."""
    parts = urlsplit(url)
    conn = {
        "conn_type": "postgres",
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "login": parts.username or "postgres",
        "schema": parts.path.lstrip("/"),
    }
    if parts.password:
        conn["password"] = parts.password
    return conn


def sandbox_host(conns: dict, host: str) -> dict:
    """The sandbox's connections with its listening host (0.0.0.0 in a container) replaced by ``host``."""
    text = json.dumps(conns)
    for listening in ("0.0.0.0", "127.0.0.1", "localhost"):
        text = text.replace(f"//{listening}:", f"//{host}:").replace(f'"host": "{listening}"', f'"host": "{host}"')
    return json.loads(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox", required=True, help="sandbox base URL")
    parser.add_argument("--airflow-home", required=True)
    parser.add_argument("--seed", default="demo", help="the sandbox's seed (its tax and currency settings)")
    parser.add_argument(
        "--state-db",
        help="the state database as a postgres URL (postgresql://user[:password]@host:port/dbname); "
        "default: a fresh SQLite file in the Airflow home",
    )
    parser.add_argument(
        "--skip-login",
        action="store_true",
        help="leave the admin password alone (Compose hands it to the API server as a secret)",
    )
    parser.add_argument(
        "--sandbox-host",
        help="the sandbox's host name as the Airflow components reach it, when not the one it listens on "
        "(Compose: sandbox)",
    )
    args = parser.parse_args()
    home = Path(args.airflow_home)

    conns = requests.get(f"{args.sandbox}/_sandbox/connections", timeout=10).json()
    if args.sandbox_host:
        conns = sandbox_host(conns, args.sandbox_host)
    # The sandbox keeps its state in memory and starts from the demo seed every time, so the state
    # database (sync records, the rotated QBO refresh token) must start afresh with it.
    if args.state_db:
        conns["atqbo_state"] = postgres_connection(args.state_db)
    else:
        state_db = home / "atqbo_state.db"
        for stale in (
            state_db,
            state_db.with_name(state_db.name + "-wal"),
            state_db.with_name(state_db.name + "-shm"),
        ):
            stale.unlink(missing_ok=True)
        conns["atqbo_state"] = {"conn_type": "sqlite", "host": str(state_db)}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(conns, f)
    airflow("connections", "import", "--overwrite", f.name)
    Path(f.name).unlink()
    print(f"atqbo: connections {', '.join(sorted(conns))} point at the sandbox")

    state = requests.get(f"{args.sandbox}/_sandbox/state", timeout=10).json()
    existing = subprocess.run([AIRFLOW, "variables", "get", "atqbo_settings"], capture_output=True, text=True)
    if existing.returncode != 0:
        settings = seed_settings(state, args.seed)
    else:  # keep what a user edited in the UI across restarts, but for the seed's tax and currency keys
        settings = {**json.loads(existing.stdout), **tax_settings(args.seed), **route_settings(state, args.seed)}
    airflow("variables", "set", "atqbo_settings", json.dumps(settings))
    print(f"atqbo: Variable atqbo_settings set (tax, currency and QBO company routes of the {args.seed} seed)")

    if args.skip_login:
        return 0
    passwords = home / "simple_auth_manager_passwords.json.generated"
    password_file = home / "admin-password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(12))
        password_file.chmod(0o600)
    passwords.write_text(json.dumps({"admin": password_file.read_text().strip()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
