"""Opening the ledger: from a URL or an Airflow connection, and the errors that say how to fix one."""

from __future__ import annotations

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.ledger import Ledger


def test_bad_state_urls_and_connections_are_explained(monkeypatch):
    with pytest.raises(AtqboConfigError, match="unsupported state database URL"):
        Ledger.from_url("mysql://x/y")
    with pytest.raises(AtqboConfigError, match="needs a file path"):
        Ledger.for_sqlite(":memory:")
    monkeypatch.setenv("AIRFLOW_CONN_ATQBO_STATE_HTTP", '{"conn_type": "http", "host": "x"}')
    with pytest.raises(AtqboConfigError, match="must be sqlite or postgres"):
        Ledger.from_conn_id("atqbo_state_http")
    with pytest.raises(AtqboConfigError, match="is missing: create it"):
        Ledger.from_conn_id("atqbo_state_nowhere")


def test_ledger_from_airflow_sqlite_connection(monkeypatch, tmp_path):
    path = tmp_path / "sub" / "state.db"
    monkeypatch.setenv("AIRFLOW_CONN_ATQBO_STATE", f'{{"conn_type": "sqlite", "host": "{path}"}}')
    led = Ledger.from_conn_id("atqbo_state")
    led.create_schema()
    led.set_sync_status("invoice", 1, "SKIPPED")
    assert path.exists()
    assert led.get_sync_record("invoice", 1)["status"] == "SKIPPED"
