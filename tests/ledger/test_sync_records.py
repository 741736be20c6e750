"""Sync records on SQLite and PostgreSQL: intents, statuses, requeues and in-progress markers."""

from __future__ import annotations

import pytest


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


def test_bey07_records_of_one_realm_and_the_default_companys_unrealmed_ones(ledger):
    ledger.set_sync_status("payment", 1, "SYNCED", qbo_id="145")  # before routes: the default company's
    ledger.set_sync_status("payment", 2, "SYNCED", qbo_id="145", realm_id="111")
    ledger.set_sync_status("payment", 3, "ERROR", qbo_id="145", realm_id="222")
    ledger.set_sync_status("invoice", 4, "SYNCED", qbo_id="145", realm_id="222")

    def ids(realm, with_unrealmed, status=None):
        records = ledger.list_sync_records_in_realm("payment", realm, with_unrealmed=with_unrealmed, status=status)
        return [r["autotask_id"] for r in records]

    assert ids("111", True) == [1, 2]
    assert ids("222", False) == [3]
    assert ids("222", False, status="SYNCED") == []
    assert ids("333", False) == []
