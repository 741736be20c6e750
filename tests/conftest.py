"""Shared test setup: a scratch Airflow home (set before Airflow is imported), and databases.

PostgreSQL tests use the server at 127.0.0.1:5432 when it answers (a throwaway database per
session) and are skipped with the reason when it does not.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow-test"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))

PG_HOST = os.environ.get("ATQBO_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ATQBO_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("ATQBO_TEST_PG_USER", "postgres")


def _pg_admin():
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3)
    conn.autocommit = True
    return conn


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
        for table in ("atqbo_sync_records", "atqbo_error_log", "atqbo_oauth_tokens", "atqbo_run_locks"):
            tx._conn.cursor().execute(f"DELETE FROM {table}")
    yield led
    led.close()
