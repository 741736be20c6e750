"""The ledger's schema: created when missing, on SQLite and PostgreSQL."""

from __future__ import annotations

from atqbo.ledger import POSTGRESQL, SCHEMA_VERSION, SQLITE
from atqbo.ledger.schema import schema_statements


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
