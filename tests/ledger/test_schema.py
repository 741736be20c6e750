"""The ledger's schema: created when missing, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from atqbo.ledger import POSTGRESQL, SCHEMA_VERSION, SQLITE, Ledger
from atqbo.ledger.schema import schema_statements
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _pg_admin


def test_schema_is_idempotent(ledger):
    ledger.create_schema()
    ledger.create_schema()
    assert ledger.list_sync_records() == []


def test_schema_statements_have_one_table_or_index_each_in_the_dialect():
    sqlite, postgres = schema_statements(SQLITE), schema_statements(POSTGRESQL)
    assert len(sqlite) == len(postgres) > 0
    assert all(s.startswith(("CREATE TABLE IF NOT EXISTS", "CREATE INDEX IF NOT EXISTS")) for s in sqlite)
    assert not any("--" in s or "__SERIAL_PK__" in s for s in sqlite + postgres)
    assert "id INTEGER PRIMARY KEY AUTOINCREMENT" in "".join(sqlite)
    assert "id BIGSERIAL PRIMARY KEY" in "".join(postgres)


def test_schema_records_its_version(ledger):
    assert ledger.get_meta("schema_version") == SCHEMA_VERSION == "2"


@pytest.mark.postgres
def test_bey06_first_tasks_on_a_fresh_postgres_state_database_create_the_schema_at_once_without_error():
    """On a distributed Airflow the first runs of every DAG start together on a fresh state database,
    each creating the schema at its first task: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe
    against itself (a duplicate key in pg_type), so the creators take turns."""
    try:
        admin = _pg_admin()
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} as {PG_USER} ({exc.__class__.__name__}: {exc})")
    name = f"atqbo_test_schema_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
        start = threading.Barrier(6)

        def create() -> None:
            led = Ledger.from_url(url)
            try:
                start.wait()
                led.create_schema()
            finally:
                led.close()

        with ThreadPoolExecutor(6) as pool:
            for future in [pool.submit(create) for _ in range(6)]:
                future.result()  # raises what the task's first step would have raised
        led = Ledger.from_url(url)
        assert led.get_meta("schema_version") == SCHEMA_VERSION
        led.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
