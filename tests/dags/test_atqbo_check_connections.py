"""atqbo_check_connections run with dag.test() against the sandbox: every connection answers."""

from __future__ import annotations

import json

import pytest

from tests.dags.dag_support import load_dag, task_states

pytestmark = pytest.mark.integration


def test_all_checks_pass_against_the_demo_sandbox(airflow_db, sandbox_connections, monkeypatch):
    from sandbox.seeds import load_seed

    sandbox_connections.reset()
    sandbox_connections.seed(load_seed("demo"))
    for conn_id, conn in sandbox_connections.connections().items():  # after the reset: its refresh token is valid
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"report_to": ["billing@msp.example"]}))
    dagrun = load_dag("atqbo_check_connections").test()
    assert dagrun.state == "success", task_states(dagrun)
    # The QBO check refreshed the token: the rotated one is in the ledger, not only in memory.
    token_calls = [r for r in sandbox_connections.requests.list("qbo") if r["path"].endswith("/tokens/bearer")]
    assert len(token_calls) == 1
    # Nothing was written to either system.
    assert all(r["method"] in ("GET", "POST") for r in sandbox_connections.requests.list())
    writes = [r for r in sandbox_connections.requests.list() if r["method"] in ("PATCH", "PUT", "DELETE")]
    assert writes == []


def test_bad_settings_fail_at_the_first_task_naming_the_key(airflow_db, sandbox_connections, monkeypatch):
    sandbox_connections.requests.clear()
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"invoice_lookback_days": "two weeks"}))
    dagrun = load_dag("atqbo_check_connections").test()
    states = task_states(dagrun)
    assert dagrun.state == "failed"
    assert states["validate_settings"] == "failed"
    assert sandbox_connections.requests.list() == []  # no API call on bad settings


def test_wrong_autotask_secret_fails_only_the_autotask_check(airflow_db, sandbox_connections, monkeypatch):
    conn = sandbox_connections.connections()["autotask_default"]
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps({**conn, "password": "wrong"}))
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    dagrun = load_dag("atqbo_check_connections").test()
    states = task_states(dagrun)
    assert states["check_autotask"] == "failed"
    assert states["check_quickbooks_online"] == "success"
    assert states["check_state_database"] == "success"


def test_bey11_after_a_run_the_state_database_files_hold_no_token(airflow_db, sandbox_connections, monkeypatch):
    import os
    import sqlite3
    from pathlib import Path

    from atqbo.ledger.token_cipher import SEALED_PREFIX

    sandbox_connections.reset()
    for conn_id, conn in sandbox_connections.connections().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    dagrun = load_dag("atqbo_check_connections").test()
    assert task_states(dagrun)["check_quickbooks_online"] == "success"

    refresh_token = sandbox_connections.state()["qbo"]["oauth"]["refresh_token"]
    state_db = Path(json.loads(os.environ["AIRFLOW_CONN_ATQBO_STATE"])["host"])
    conn = sqlite3.connect(state_db)
    try:
        (stored_refresh, stored_access) = conn.execute(
            "SELECT refresh_token, access_token FROM atqbo_oauth_tokens"
        ).fetchone()
    finally:
        conn.close()
    assert stored_refresh.startswith(SEALED_PREFIX) and stored_access.startswith(SEALED_PREFIX)
    # every byte of the database and its journal, as a copy or backup would take them
    files = [p for p in state_db.parent.iterdir() if p.name.startswith(state_db.name)]
    assert files and all(refresh_token.encode() not in p.read_bytes() for p in files)
