"""The state ledger on SQLite and PostgreSQL: the same SQL files, the same behaviour."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.ledger import SQL_DIR, Ledger, from_ts, load_sql, to_ts


def test_schema_is_idempotent(ledger):
    ledger.create_schema()
    ledger.create_schema()
    assert ledger.list_sync_records() == []


def test_every_statement_is_packaged_sql():
    names = {p.name.removesuffix(".sql") for p in SQL_DIR.iterdir() if p.name.endswith(".sql")}
    assert {"schema", "sync_record_intent", "token_claim_refresh", "run_lock_acquire", "error_log_insert"} <= names
    with pytest.raises(FileNotFoundError, match="no SQL statement"):
        load_sql("does_not_exist")


def test_timestamps_sort_as_text():
    a = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    b = a + timedelta(microseconds=1)
    assert to_ts(a) < to_ts(b)
    assert from_ts(to_ts(a)) == a
    with pytest.raises(ValueError, match="timezone-aware"):
        to_ts(datetime(2026, 1, 1))


def test_intent_then_synced_keeps_attempts_and_ids(ledger):
    ledger.record_intent("invoice", 29684001, payload_hash="h1", request_id="atqbo-inv-29684001-0", run_id="r1")
    rec = ledger.get_sync_record("invoice", 29684001)
    assert (rec["status"], rec["attempts"], rec["request_id"]) == ("IN_PROGRESS", 1, "atqbo-inv-29684001-0")

    ledger.record_intent("invoice", 29684001, payload_hash="h2", request_id="atqbo-inv-29684001-0", run_id="r2")
    ledger.set_sync_status("invoice", 29684001, "SYNCED", qbo_id="1047", qbo_number="INV-10421", run_id="r2")
    rec = ledger.get_sync_record("invoice", 29684001)
    assert rec["status"] == "SYNCED"
    assert rec["attempts"] == 2
    assert (rec["qbo_id"], rec["qbo_number"], rec["payload_hash"]) == ("1047", "INV-10421", "h2")
    assert [r["autotask_id"] for r in ledger.list_sync_records(entity="invoice", status="SYNCED")] == [29684001]
    assert ledger.list_sync_records(status="ERROR") == []


def test_status_without_prior_intent_creates_the_record(ledger):
    ledger.set_sync_status("purchase_order", 7, "ERROR", last_error="vendor name clash")
    rec = ledger.get_sync_record("purchase_order", 7)
    assert (rec["status"], rec["last_error"], rec["attempts"]) == ("ERROR", "vendor name clash", 0)
    with pytest.raises(ValueError, match="unknown sync status"):
        ledger.set_sync_status("purchase_order", 7, "DONE")


def test_reset_in_progress_returns_markers_to_pending(ledger):
    ledger.record_intent("invoice", 1, payload_hash="h", request_id="r")
    ledger.record_intent("purchase_order", 2, payload_hash="h", request_id="r")
    assert ledger.reset_in_progress(entity="invoice") == 1
    assert ledger.get_sync_record("invoice", 1)["status"] == "PENDING"
    assert ledger.get_sync_record("purchase_order", 2)["status"] == "IN_PROGRESS"
    counts = {(r["entity"], r["status"]): r["n"] for r in ledger.count_sync_records()}
    assert counts == {("invoice", "PENDING"): 1, ("purchase_order", "IN_PROGRESS"): 1}


def test_error_log_counts_repeats_and_resolves(ledger):
    first = ledger.log_error("invoice", 5, "The invoice total is negative.", fix="credit it", dag_id="d", run_id="r1")
    again = ledger.log_error("invoice", 5, "The invoice total is negative.", fix="credit it", dag_id="d", run_id="r2")
    other = ledger.log_error("invoice", None, "Autotask unreachable: 100% down")
    assert first == again != other
    errors = {e["id"]: e for e in ledger.list_errors()}
    assert errors[first]["attempts"] == 2 and errors[first]["run_id"] == "r2"
    assert errors[other]["message"] == "Autotask unreachable: 100% down"  # a literal % survives binding
    assert ledger.request_retry(first) is True
    assert ledger.resolve_errors("invoice", 5) == 1
    assert [e["id"] for e in ledger.list_errors()] == [other]
    assert len(ledger.list_errors(include_resolved=True)) == 2
    future = datetime.now(UTC) + timedelta(days=1)
    assert ledger.list_errors(since=future) == []


def test_run_lock_is_exclusive_until_released_or_expired(ledger):
    assert ledger.acquire_run_lock("atqbo_invoices", "run-1", ttl_seconds=600, details="scheduled")
    assert not ledger.acquire_run_lock("atqbo_invoices", "run-2", ttl_seconds=600)
    assert ledger.acquire_run_lock("atqbo_invoices", "run-1", ttl_seconds=600)  # re-entrant for its owner
    assert ledger.get_run_lock("atqbo_invoices")["owner"] == "run-1"
    assert not ledger.release_run_lock("atqbo_invoices", "run-2")
    assert ledger.release_run_lock("atqbo_invoices", "run-1")
    assert ledger.acquire_run_lock("atqbo_invoices", "run-2", ttl_seconds=-1)  # already expired
    assert ledger.acquire_run_lock("atqbo_invoices", "run-3", ttl_seconds=600)  # takes over the stale lock
    assert ledger.acquire_run_lock("other", "x", ttl_seconds=-1)
    assert ledger.clear_run_locks(stale_only=True) == 1
    assert [lock["name"] for lock in ledger.list_run_locks()] == ["atqbo_invoices"]
    assert ledger.clear_run_locks(stale_only=False) == 1


def test_token_refresh_lease_has_one_holder_among_threads(ledger):
    winners = []
    barrier = threading.Barrier(8)

    def contend(owner: str) -> None:
        barrier.wait()
        if ledger.claim_token_refresh("realm-1", owner, lease_seconds=30):
            winners.append(owner)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    expires = datetime.now(UTC) + timedelta(hours=1)
    ledger.save_oauth_token(
        "realm-1",
        refresh_token="rt-2",
        access_token="at-2",
        access_expires_at=expires,
        refresh_expires_at=None,
        source_fingerprint="fp",
        owner=winners[0],
    )
    token = ledger.get_oauth_token("realm-1")
    assert (token["refresh_token"], token["version"], token["lease_owner"]) == ("rt-2", 1, None)
    assert abs((token["access_expires_at"] - expires).total_seconds()) < 0.001
    assert ledger.claim_token_refresh("realm-1", "another", lease_seconds=30)
    ledger.release_token_refresh("realm-1", "another")
    assert ledger.get_oauth_token("realm-1")["lease_owner"] is None


def test_expired_refresh_lease_can_be_taken_over(ledger):
    assert ledger.claim_token_refresh("realm-2", "crashed-worker", lease_seconds=-1)
    assert ledger.claim_token_refresh("realm-2", "next-worker", lease_seconds=30)
    assert ledger.get_oauth_token("realm-2")["lease_owner"] == "next-worker"


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


def test_staging_holds_one_runs_work_and_is_purged(ledger):
    from datetime import date
    from decimal import Decimal

    ledger.stage_put("run-1", "plan", {"29684001": {"total": Decimal("10.10"), "on": date(2026, 1, 2)}})
    ledger.stage_put("run-1", "plan", {"29684002": {"total": "1"}})
    ledger.stage_put("run-1", "plan", {"29684001": {"total": "11.00"}})  # replaced, not duplicated
    ledger.stage_put("run-2", "plan", {"1": {}})
    assert ledger.stage_get("run-1", "plan") == {"29684001": {"total": "11.00"}, "29684002": {"total": "1"}}
    assert ledger.stage_get("run-1", "result") == {}
    assert ledger.stage_clear("run-1") == 2
    assert ledger.stage_get("run-1", "plan") == {}
    assert ledger.stage_purge(older_than=timedelta(seconds=-1)) == 1


def test_tool08_error_log_filters_by_record_and_a_failed_retry_uses_the_request_up(ledger):
    first = ledger.log_error("invoice", 5, "no QBO item for 'Travel'", fix="create it", dag_id="d", run_id="r1")
    ledger.log_error("invoice", 6, "negative total", dag_id="d", run_id="r1")
    ledger.log_error("purchase_order", 5, "vendor name clash", dag_id="p", run_id="r1")
    assert [e["entity"] for e in ledger.list_errors(autotask_ids=[5])] == ["purchase_order", "invoice"]
    assert [e["autotask_id"] for e in ledger.list_errors(entity="invoice", autotask_ids=[6, 99])] == [6]
    assert ledger.get_error(first)["fix"] == "create it"
    assert ledger.get_error(10_000) is None

    assert ledger.request_retry(first)
    assert ledger.get_error(first)["retry_requested_at"] is not None
    # the next run tried and failed the same way: the entry counts it and the request is used up
    ledger.log_error("invoice", 5, "no QBO item for 'Travel'", fix="create it", dag_id="d", run_id="r2")
    entry = ledger.get_error(first)
    assert (entry["attempts"], entry["retry_requested_at"], entry["run_id"]) == (2, None, "r2")
    ledger.resolve_errors("invoice", 5)
    assert not ledger.request_retry(first)  # a resolved entry cannot be retried


def test_tool08_requeue_moves_only_an_error_record_back_to_pending(ledger):
    ledger.set_sync_status("invoice", 5, "ERROR", last_error="negative total")
    ledger.set_sync_status("invoice", 6, "SYNCED", qbo_id="130")
    assert ledger.requeue_sync_record("invoice", 5)
    assert not ledger.requeue_sync_record("invoice", 6)
    assert not ledger.requeue_sync_record("invoice", 7)
    assert ledger.get_sync_record("invoice", 5)["status"] == "PENDING"
    assert ledger.get_sync_record("invoice", 6)["status"] == "SYNCED"


def test_tool09_in_progress_records_are_listed_and_reset_one_by_one(ledger):
    ledger.record_intent("invoice", 5, payload_hash="h", request_id="atqbo-inv-5-g0", run_id="dead")
    ledger.record_intent("purchase_order", 9, payload_hash="h", request_id="atqbo-bill-x", run_id="alive")
    assert [(r["entity"], r["autotask_id"]) for r in ledger.list_in_progress()] == [
        ("invoice", 5),
        ("purchase_order", 9),
    ]
    assert ledger.reset_in_progress_record("invoice", 5)
    assert not ledger.reset_in_progress_record("invoice", 5)
    record = ledger.get_sync_record("invoice", 5)
    assert (record["status"], record["request_id"], record["attempts"]) == ("PENDING", "atqbo-inv-5-g0", 1)
    assert [r["autotask_id"] for r in ledger.list_in_progress()] == [9]


def test_run_history_keeps_each_runs_counts_newest_first(ledger):
    ledger.record_run("atqbo_invoices", "scheduled__1", {"transferred": 3, "failed": 1}, window="w1")
    ledger.record_run("atqbo_payments", "scheduled__1", {"matched": 2}, dry_run=True)
    ledger.record_run(
        "atqbo_invoices", "scheduled__1", {"transferred": 4, "failed": 0}, window="w1"
    )  # a retried report
    runs = ledger.list_runs()
    assert [(r["dag_id"], r["counts"]) for r in runs] == [
        ("atqbo_invoices", {"transferred": 4, "failed": 0}),
        ("atqbo_payments", {"matched": 2}),
    ]
    assert runs[1]["dry_run"] is True and runs[0]["run_window"] == "w1"
    assert [r["dag_id"] for r in ledger.list_runs(dag_id="atqbo_payments")] == ["atqbo_payments"]
    assert len(ledger.list_runs(limit=1)) == 1
