"""Shared test setup: a scratch Airflow home (set before Airflow is imported), and databases.

PostgreSQL tests use the server at 127.0.0.1:5432 when it answers (a throwaway database per
session) and are skipped with the reason when it does not.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.net_support import REPO

os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow-test"))
# Under pytest-xdist (scripts/test.sh runs three workers) each worker has its own Airflow home and
# metadata database: dag.test() runs of several workers must not share one SQLite file.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["AIRFLOW_HOME"] = str(Path(os.environ["AIRFLOW_HOME"]) / os.environ["PYTEST_XDIST_WORKER"])
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))
# atqbo seals the QBO tokens in the state database with Airflow's Fernet key (BEY-11). A fixed key
# of the tests only, so that the scratch homes' metadata databases stay readable between sessions.
TEST_FERNET_KEY = "OhVu1muvZOHCkuYn4lRxEQVrTOUQG2xr4REo5K87QUw="
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", TEST_FERNET_KEY)

PG_HOST = os.environ.get("ATQBO_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ATQBO_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("ATQBO_TEST_PG_USER", "postgres")


def _pg_admin():
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3)
    conn.autocommit = True
    return conn


@pytest.fixture
def airflow_fernet_key(monkeypatch):
    """Set Airflow's [core] fernet_key for one test (``get_fernet()`` caches what it read)."""
    from airflow.models.crypto import get_fernet

    def set_key(value: str) -> None:
        monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", value)
        get_fernet.cache_clear()

    yield set_key
    monkeypatch.undo()
    get_fernet.cache_clear()


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a throwaway PostgreSQL database, dropped at the end of the session."""
    try:
        admin = _pg_admin()
    except Exception as exc:  # any reason the server is not there is a reason to skip
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} as {PG_USER} ({exc.__class__.__name__}: {exc})")
    name = f"atqbo_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger(request, tmp_path):
    """A fresh ledger with its schema, on SQLite and (where available) PostgreSQL."""
    from atqbo.ledger import Ledger

    if request.param == "sqlite":
        led = Ledger.from_url(f"sqlite:///{tmp_path / 'state.db'}")
        led.create_schema()
        yield led
        led.close()
        return
    url = request.getfixturevalue("postgres_url")
    led = Ledger.from_url(url)
    led.create_schema()
    with led.transaction() as tx:  # each test starts from empty tables in the shared database
        for table in (
            "atqbo_sync_records",
            "atqbo_error_log",
            "atqbo_oauth_tokens",
            "atqbo_run_locks",
            "atqbo_staging",
            "atqbo_run_history",
        ):
            tx._conn.cursor().execute(f"DELETE FROM {table}")
    yield led
    led.close()


@pytest.fixture(scope="session")
def airflow_db():
    """An initialised Airflow metadata DB (SQLite) in the scratch Airflow home, for dag.test()."""
    import subprocess
    import sys

    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    result = subprocess.run([airflow, "db", "migrate"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return home


@pytest.fixture(scope="session")
def sandbox_server():
    """One sandbox (both APIs + SMTP) for the whole session; tests reset it as they need."""
    from sandbox import Sandbox

    sb = Sandbox(port=0, smtp_port=0).start()
    yield sb
    sb.stop()


@pytest.fixture
def sandbox_connections(sandbox_server, monkeypatch, tmp_path):
    """Airflow connections (as AIRFLOW_CONN_* variables) pointing atqbo at the session sandbox,
    and a fresh SQLite state database."""
    import json

    for conn_id, conn in sandbox_server.connections().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    monkeypatch.setenv(
        "AIRFLOW_CONN_ATQBO_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "atqbo_state.db")})
    )
    return sandbox_server


@pytest.fixture
def state_ledger(sandbox):
    """The ledger on the state database the sandbox's connections name (``atqbo_state``), its schema
    created; after the ``sandbox`` fixture of the test's own folder has reset and seeded the sandbox."""
    from atqbo.ledger import Ledger

    led = Ledger.from_conn_id("atqbo_state")
    led.create_schema()
    yield led
    led.close()


@pytest.fixture
def state_qbo(state_ledger):
    """A QBO hook on the sandbox, keeping its tokens in ``state_ledger``."""
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    return QuickBooksOnlineHook("qbo_default", ledger=state_ledger)


# The files that take longest, longest first (seconds measured on the 2-core machine with
# `scripts/test.sh --junitxml`, summing each file's tests): pytest-xdist hands out whole files
# (--dist loadfile) in collection order when told --no-loadscope-reorder (scripts/test.sh; by
# default it starts the files with the most tests first, which left the single-test end-to-end
# files, minutes each, to run alone at the end). The rest follow in collection order.
LONG_FIRST = (
    "tests/e2e/test_run_command.py",  # 232 s
    "tests/e2e/test_distributed.py",  # 160 s
    "tests/dags/test_atqbo_invoices.py",  # 139 s
    "tests/dags/test_fault_schedules_qbo.py",  # 111 s
    "tests/dags/test_atqbo_tenant_profiles.py",  # 93 s
    "tests/dags/test_atqbo_invoice_tools.py",  # 92 s
    "tests/dags/test_fault_schedules_autotask.py",  # 79 s
    "tests/dags/test_fault_schedules_companies.py",  # 69 s
    "tests/dags/test_atqbo_named_seeds.py",  # 54 s
    "tests/bench/test_many_dagruns.py",  # 43 s
    "tests/dags/test_atqbo_invoices_in_flight.py",  # 37 s
    "tests/dags/test_atqbo_error_tools.py",  # 36 s
    "tests/dags/test_atqbo_purchase_orders.py",  # 33 s
    "tests/dags/test_atqbo_mark_invoice_paid.py",  # 31 s
    "tests/sync/invoices/test_pipelined_write_back.py",  # 29 s
    "tests/dags/test_atqbo_sync_po.py",  # 25 s
    "tests/dags/test_atqbo_several_companies.py",  # 22 s
    "tests/dags/test_bey10_operations.py",  # 21 s
    "tests/dags/test_atqbo_tools_several_companies.py",  # 21 s
    "tests/e2e/",
)


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = Path(str(item.fspath)).relative_to(REPO).as_posix()
        return next((i for i, prefix in enumerate(LONG_FIRST) if path.startswith(prefix)), len(LONG_FIRST))

    items.sort(key=rank)  # stable: the order within a file and among the rest stays as collected
