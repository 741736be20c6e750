"""The ledger's schema: created when missing, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
    assert ledger.get_meta("schema_version") == SCHEMA_VERSION == "3"


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


# -- BEY-07: version 3 adds atqbo_error_log.qbo_company to a database an older atqbo made -------------

V2_SCHEMA = Path(__file__).with_name("schema_v2.sql")


def _make_version_2_database(led: Ledger) -> None:
    """The tables as version 2 made them (its schema text), its version, and one error entry."""
    ddl = V2_SCHEMA.read_text(encoding="utf-8").replace("__SERIAL_PK__", led.dialect.serial_pk)
    with led.transaction() as tx:
        for statement in [s.strip() for s in re.sub(r"--[^\n]*", "", ddl).split(";") if s.strip()]:
            tx.execute_ddl(statement)
        tx.execute("meta_set", key="schema_version", value="2")
        cur = tx._conn.cursor()
        cur.execute(
            "INSERT INTO atqbo_error_log (entity, autotask_id, message, fix, attempts, occurred_at) "
            "VALUES ('invoice', 5, 'no QBO item for ''Travel''', 'create it', 1, '2026-11-01T00:00:00.000000Z')"
        )
        cur.close()
    with led.transaction() as tx:
        assert "qbo_company" not in tx.table_columns("atqbo_error_log")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_state_url(request, tmp_path):
    """The URL of an empty state database (no tables): a SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    try:
        admin = _pg_admin()
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} as {PG_USER} ({exc.__class__.__name__}: {exc})")
    name = f"atqbo_test_v2_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_bey07_a_fresh_state_database_has_the_error_logs_qbo_company_at_version_3(empty_state_url):
    led = Ledger.from_url(empty_state_url)
    try:
        assert led.create_schema() == []  # schema.sql has the column: nothing to add
        assert led.get_meta("schema_version") == SCHEMA_VERSION == "3"
        with led.transaction() as tx:
            assert "qbo_company" in tx.table_columns("atqbo_error_log")
        error_id = led.log_error("invoice", 7, "negative total", qbo_company="qbo_au")
        assert led.get_error(error_id)["qbo_company"] == "qbo_au"
    finally:
        led.close()


def test_bey07_a_version_2_state_database_gains_qbo_company_once_and_keeps_its_entries(empty_state_url):
    led = Ledger.from_url(empty_state_url)
    try:
        _make_version_2_database(led)
        assert led.create_schema() == ["atqbo_error_log.qbo_company"]
        assert led.get_meta("schema_version") == "3"
        (old,) = led.list_errors()
        assert (old["autotask_id"], old["message"], old["qbo_company"]) == (5, "no QBO item for 'Travel'", None)
        assert led.create_schema() == []  # the next task start: nothing more to do
        # the same failure again, now routed: the open entry is counted and names its company
        assert (
            led.log_error("invoice", 5, "no QBO item for 'Travel'", fix="create it", qbo_company="qbo_au") == old["id"]
        )
        entry = led.get_error(old["id"])
        assert (entry["attempts"], entry["qbo_company"]) == (2, "qbo_au")
    finally:
        led.close()


def test_bey07_task_starts_on_a_version_2_state_database_upgrade_it_together_without_error(empty_state_url):
    """After an upgrade the first tasks of several DAGs start together on the old database: one adds
    the column, the others find it there."""
    setup = Ledger.from_url(empty_state_url)
    _make_version_2_database(setup)
    setup.close()
    start = threading.Barrier(4)

    def create() -> list[str]:
        led = Ledger.from_url(empty_state_url)
        try:
            start.wait()
            return led.create_schema()
        finally:
            led.close()

    with ThreadPoolExecutor(4) as pool:
        added = [future.result() for future in [pool.submit(create) for _ in range(4)]]
    assert sorted(added) == [[], [], [], ["atqbo_error_log.qbo_company"]]
    led = Ledger.from_url(empty_state_url)
    try:
        assert led.get_meta("schema_version") == "3"
        assert [e["qbo_company"] for e in led.list_errors()] == [None]
    finally:
        led.close()
