"""The Airflow settings of every atqbo deployment, in one place (BEY-06).

atqbo runs three ways: ``make run`` (``airflow standalone`` on SQLite, scripts/run.sh),
``make run-distributed`` (CeleryExecutor on this machine's PostgreSQL and Redis, no Docker,
scripts/run_distributed.sh) and ``docker-compose.yaml``. All three take their Airflow settings from
here, so they cannot drift: the scripts ``eval`` what ``env`` prints, and
``tests/deploy/test_compose.py`` checks docker-compose.yaml against ``environment("compose")``.

Each setting carries its purpose (``python deploy/airflow_settings.py describe`` prints them; the
README's "Running on a distributed Airflow" repeats them). Secrets are never printed by
``describe`` and never written to a log: on this machine they live in files of mode 600 in the
Airflow home (made once, then kept), in Docker in ``deploy/secrets/`` handed to the containers as
Compose secrets and read by Airflow through ``*_CMD`` settings.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

DEPLOYMENTS = ("standalone", "distributed", "compose")


@dataclass(frozen=True)
class Secret:
    """A value every component must share, made once and kept (a new one would break what the old signed)."""

    file: str  # its file name, in the Airflow home (this machine) or deploy/secrets/ (Compose)
    env: str  # the Airflow setting it fills
    purpose: str

    def make(self) -> str:
        if self.env == "AIRFLOW__CORE__FERNET_KEY":
            from cryptography.fernet import Fernet

            return Fernet.generate_key().decode()
        return secrets.token_urlsafe(32)


SECRETS = (
    Secret(
        "fernet.key",
        "AIRFLOW__CORE__FERNET_KEY",
        "encrypts connections and Variables in the metadata database and atqbo's QBO tokens in the "
        "state database (BEY-11); the same key everywhere, kept: a new one leaves what was stored unreadable",
    ),
    Secret(
        "api-secret-key",
        "AIRFLOW__API__SECRET_KEY",
        "signs the API server's requests for task logs to the workers' log servers: components that do "
        "not share it show every task log in the UI as a secret-key error",
    ),
    Secret(
        "jwt-secret",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "signs and checks the JWTs of the UI, the REST API and the task runners' Execution API calls: "
        "the scheduler/executor issue tokens the API server must accept",
    ),
)

# The admin login (SimpleAuthManager): a JSON {"admin": "<password>"} file, made once.
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
COMPOSE_SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True)
class Setting:
    env: str
    purpose: str


# The settings of every deployment, whatever the executor. Their values: ``environment()``.
COMMON = (
    Setting(
        "AIRFLOW__CORE__DAGS_FOLDER", "the repository's dags/: one small file per DAG, the code is the atqbo package"
    ),
    Setting(
        "AIRFLOW__CORE__PLUGINS_FOLDER",
        "the repository's plugins/: plugins/atqbo_ui.py adds atqbo's error-log view to the UI (without it the "
        "view never loads)",
    ),
    Setting("AIRFLOW__CORE__LOAD_EXAMPLES", "no example DAGs next to atqbo's"),
    Setting(
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",
        "make run (the sandbox demo) starts its DAGs unpaused so they work at once; a distributed deployment "
        "starts them paused: nothing runs until someone turns a DAG on (override with the same variable)",
    ),
    Setting("AIRFLOW__CORE__AUTH_MANAGER", "Airflow's SimpleAuthManager: one admin login"),
    Setting("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "the one user, admin, with the admin role"),
    Setting(
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
        "where the admin password is kept (made once, mode 600; a secret in Compose)",
    ),
    Setting(
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "where task runners (on the workers) report to the API server's Execution API: the API server's address",
    ),
    *(Setting(s.env, s.purpose) for s in SECRETS),
)

# The settings of a distributed Airflow (make run-distributed and Compose) on top of COMMON.
DISTRIBUTED = (
    Setting("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor: tasks run on the Celery workers, not in the scheduler"),
    Setting("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "the metadata database: PostgreSQL, shared by every component"),
    Setting("AIRFLOW__CELERY__BROKER_URL", "the Redis broker the scheduler queues tasks on and the workers take them"),
    Setting("AIRFLOW__CELERY__RESULT_BACKEND", "where Celery keeps task states: the metadata database"),
    Setting("AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK", "the scheduler answers /health (Compose's health check)"),
)


def _bool(value: bool) -> str:
    return "True" if value else "False"


def environment(
    deployment: str,
    *,
    dags: str,
    plugins: str,
    api_url: str,
    passwords_file: str,
    secret_values: dict[str, str] | None = None,
    metadata_db: str | None = None,
    broker: str | None = None,
) -> dict[str, str]:
    """The Airflow environment of ``deployment``. ``secret_values`` maps each secret's env to its value
    (this machine); without it (Compose) each secret is read from /run/secrets by a ``_CMD`` setting."""
    if deployment not in DEPLOYMENTS:
        raise ValueError(f"unknown deployment {deployment!r}: one of {', '.join(DEPLOYMENTS)}")
    env = {
        "AIRFLOW__CORE__DAGS_FOLDER": dags,
        "AIRFLOW__CORE__PLUGINS_FOLDER": plugins,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": _bool(deployment != "standalone"),
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": passwords_file,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url.rstrip('/')}/execution/",
    }
    for secret in SECRETS:
        if secret_values is not None:
            env[secret.env] = secret_values[secret.env]
        else:
            env[f"{secret.env}_CMD"] = f"cat {COMPOSE_SECRETS_DIR}/{secret.file}"
    if deployment != "standalone":
        if not metadata_db or not broker:
            raise ValueError(f"the {deployment} deployment needs the metadata database URL and the broker URL")
        env |= {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
            "AIRFLOW__CELERY__BROKER_URL": broker,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_db.replace("+psycopg2", ""),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        }
    return env


# Compose: the service names are the hosts; the database and broker are the compose file's own.
COMPOSE = {
    "dags": "/opt/atqbo/dags",
    "plugins": "/opt/atqbo/plugins",
    "api_url": "http://airflow-apiserver:8080",
    "passwords_file": f"{COMPOSE_SECRETS_DIR}/{PASSWORDS_FILE}",
    "metadata_db": "postgresql+psycopg2://airflow:airflow@postgres/airflow",
    "broker": "redis://redis:6379/0",
}


def compose_environment() -> dict[str, str]:
    return environment("compose", **COMPOSE)


def ensure_secrets(directory: Path, *, compose: bool = False) -> dict[str, str]:
    """Each secret's value, made in ``directory`` (mode 600) the first time and kept after; on this
    machine a value already in the environment (say, from a vault) is used instead. ``compose``: the
    files Compose mounts, the admin password file too (on this machine
    scripts/configure_local_airflow.py writes it)."""
    directory.mkdir(parents=True, exist_ok=True)
    values = {}
    for secret in SECRETS:
        if not compose and os.environ.get(secret.env):
            values[secret.env] = os.environ[secret.env]
            continue
        path = directory / secret.file
        if not path.exists() or not path.read_text().strip():
            _write_private(path, secret.make())
        values[secret.env] = path.read_text().strip()
    if compose and not (directory / PASSWORDS_FILE).exists():
        _write_private(directory / PASSWORDS_FILE, json.dumps({"admin": secrets.token_urlsafe(12)}))
    return values


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    env = sub.add_parser("env", help="print the environment as shell exports (for eval; holds the secrets)")
    env.add_argument("deployment", choices=("standalone", "distributed"))
    env.add_argument("--repo", required=True)
    env.add_argument("--home", required=True, help="the Airflow home: where the secrets are kept")
    env.add_argument("--api-port", type=int, required=True)
    env.add_argument("--metadata-db", help="distributed: the metadata database's SQLAlchemy URL")
    env.add_argument("--broker", help="distributed: the Celery broker URL")
    made = sub.add_parser("secrets", help="make the Compose secrets (once; kept after)")
    made.add_argument("directory", nargs="?", default=str(Path(__file__).with_name("secrets")))
    sub.add_parser("describe", help="every setting and what it is for")
    args = parser.parse_args(argv)

    if args.command == "describe":
        for title, group in (("Every deployment", COMMON), ("Distributed (Celery)", DISTRIBUTED)):
            print(f"{title}:")
            for setting in group:
                print(f"  {setting.env}\n      {setting.purpose}")
        return 0
    if args.command == "secrets":
        ensure_secrets(Path(args.directory), compose=True)
        print(f"atqbo: Compose secrets in {args.directory} (mode 600, kept)")
        return 0
    home = Path(args.home)
    values = ensure_secrets(home)
    result = environment(
        args.deployment,
        dags=f"{args.repo}/dags",
        plugins=f"{args.repo}/plugins",
        api_url=f"http://127.0.0.1:{args.api_port}",
        passwords_file=str(home / PASSWORDS_FILE),
        secret_values=values,
        metadata_db=args.metadata_db,
        broker=args.broker,
    )
    result["AIRFLOW__API__PORT"] = str(args.api_port)
    for key, value in result.items():
        if key == "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION":  # the caller's choice wins
            print(f'export {key}="${{{key}:-{value}}}"')
        else:
            print(f"export {key}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
