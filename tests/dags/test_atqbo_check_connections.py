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


def _point_airflow_at(sandbox_connections, monkeypatch, **qbo_extra) -> dict:
    """The sandbox's connections as Airflow sees them; ``qbo_extra`` changes the QBO connection's extra."""
    conns = sandbox_connections.connections()
    conns["qbo_default"] = {**conns["qbo_default"], "extra": {**conns["qbo_default"]["extra"], **qbo_extra}}
    for conn_id, conn in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conns


def _token_calls(sandbox_connections) -> list[dict]:
    return [r for r in sandbox_connections.requests.list("qbo") if r["path"].endswith("/tokens/bearer")]


def test_err04_a_sandbox_restarted_under_a_kept_state_database_is_explained_then_adopted_from_the_form(
    airflow_db, sandbox_connections, monkeypatch, caplog, capfd
):
    """ERR-04: the sandbox restarted (its first refresh token again, the rotated one unknown) while the
    state database kept the rotated token. The check explains invalid_grant in plain words with the
    fix; the connection still holds the token atqbo adopted earlier, so nothing changes by itself;
    the form's option adopts it (replacing the stored token), and the runs after that work as usual.
    No token reaches a log."""
    import logging

    from sandbox.seeds import load_seed

    sandbox_connections.reset()
    sandbox_connections.seed(load_seed("demo"))
    conns = _point_airflow_at(sandbox_connections, monkeypatch)
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    assert task_states(load_dag("atqbo_check_connections").test())["check_quickbooks_online"] == "success"
    rotated = sandbox_connections.state()["qbo"]["oauth"]["refresh_token"]
    first = conns["qbo_default"]["extra"]["refresh_token"]
    assert rotated != first  # the first refresh rotated it; the state database holds the rotated one

    # The sandbox restarts: it knows its first token again, not the rotated one.
    sandbox_connections.reset()
    sandbox_connections.seed(load_seed("demo"))
    assert sandbox_connections.state()["qbo"]["oauth"]["refresh_token"] == first
    sandbox_connections.requests.clear()
    with caplog.at_level(logging.INFO):
        dagrun = load_dag("atqbo_check_connections").test()
    states = task_states(dagrun)
    assert states["check_quickbooks_online"] == "failed" and states["check_autotask"] == "success"
    out, err = capfd.readouterr()  # the failed task's log
    explained = caplog.text + out + err
    for words in (
        "invalid_grant",
        "the refresh token atqbo stored for it in the state database",
        "still holds the token atqbo adopted earlier",
        "the sandbox was restarted while the state database kept the token",
        "/_sandbox/connections",
        'Trigger atqbo_check_connections with "Adopt the QBO refresh token in the connection" on',
        "No table needs editing",
    ):
        assert words in explained, words
    assert len(_token_calls(sandbox_connections)) == 1  # the stored token only: the adopted one is not retried

    # A second plain run changes nothing: the same explanation, no adoption behind the user's back.
    assert task_states(load_dag("atqbo_check_connections").test())["check_quickbooks_online"] == "failed"

    # The form's option: the connection's token (the sandbox's live one again) replaces the stored one.
    sandbox_connections.requests.clear()
    with caplog.at_level(logging.INFO):
        dagrun = load_dag("atqbo_check_connections").test(run_conf={"adopt_qbo_refresh_token": True})
    assert dagrun.state == "success", task_states(dagrun)
    out, err = capfd.readouterr()
    adopted_log = caplog.text + out + err
    assert "Adopted the refresh token of the connection 'qbo_default'" in adopted_log
    assert "replacing the one stored" in adopted_log
    assert len(_token_calls(sandbox_connections)) == 1
    # The next run (a sync, or this check) uses the stored token as usual: no refresh needed.
    sandbox_connections.requests.clear()
    assert load_dag("atqbo_check_connections").test().state == "success"
    assert _token_calls(sandbox_connections) == []

    live = sandbox_connections.state()["qbo"]["oauth"]["refresh_token"]
    out, err = capfd.readouterr()
    for token in {first, rotated, live}:
        assert token not in caplog.text + out + err + explained + adopted_log


def test_err04_a_revoked_token_is_replaced_only_by_a_token_qbo_accepts(airflow_db, sandbox_connections, monkeypatch):
    """ERR-04: the user disconnected the app (the sandbox revokes every token). Adopting the
    connection's old token is refused and leaves the stored token as it was; after reconnecting,
    the new token pasted into the connection is adopted and the checks pass."""
    from atqbo.hooks.qbo_tokens import fingerprint
    from atqbo.ledger import Ledger
    from sandbox.seeds import load_seed

    sandbox_connections.reset()
    sandbox_connections.seed(load_seed("demo"))
    _point_airflow_at(sandbox_connections, monkeypatch)
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    assert load_dag("atqbo_check_connections").test().state == "success"
    ledger = Ledger.from_conn_id("atqbo_state")
    realm = sandbox_connections.state()["qbo"]["realm_id"]
    stored = ledger.get_oauth_token(realm)

    sandbox_connections.seed({"qbo": {"oauth": {"revoke": True}}})  # disconnected in QBO
    dagrun = load_dag("atqbo_check_connections").test(run_conf={"adopt_qbo_refresh_token": True})
    assert task_states(dagrun)["check_quickbooks_online"] == "failed"
    after = ledger.get_oauth_token(realm)
    assert (after["refresh_token"], after["version"]) == (stored["refresh_token"], stored["version"])
    assert after["lease_owner"] is None  # the lease was given back

    reconnected = "AB11-reconnected-" + "7" * 24  # the consent gave a new token, pasted into the connection
    sandbox_connections.seed({"qbo": {"oauth": {"refresh_token": reconnected}}})
    _point_airflow_at(sandbox_connections, monkeypatch, refresh_token=reconnected)
    dagrun = load_dag("atqbo_check_connections").test(run_conf={"adopt_qbo_refresh_token": True})
    assert dagrun.state == "success", task_states(dagrun)
    adopted = ledger.get_oauth_token(realm)
    assert adopted["source_fingerprint"] == fingerprint(reconnected)
    assert adopted["refresh_token"] == sandbox_connections.state()["qbo"]["oauth"]["refresh_token"]
    ledger.close()


def test_err04_the_form_refuses_a_key_it_does_not_have(airflow_db, sandbox_connections, monkeypatch):
    sandbox_connections.requests.clear()
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    with pytest.raises(Exception, match="adopt_qbo_refresh_token|Invalid input"):
        load_dag("atqbo_check_connections").test(run_conf={"adopt_qbo_refresh_token": "please"})
    assert sandbox_connections.requests.list() == []
