"""The error log on SQLite and PostgreSQL: repeats counted, retries requested and used up, entries resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


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


def test_bey07_error_log_entries_name_their_qbo_company_and_a_repeat_stays_per_record(ledger):
    au = ledger.log_error("invoice", 5, "negative total", dag_id="d", run_id="r1", qbo_company="qbo_au")
    us = ledger.log_error("invoice", 6, "negative total", dag_id="d", run_id="r1", qbo_company="qbo_default")
    po = ledger.log_error("purchase_order", 7, "vendor name clash", dag_id="p", run_id="r1")  # no company known
    assert len({au, us, po}) == 3
    assert {e["id"]: e["qbo_company"] for e in ledger.list_errors()} == {au: "qbo_au", us: "qbo_default", po: None}
    assert ledger.get_error(au)["qbo_company"] == "qbo_au"
    # the same failure of record 5 again, now routed to another company: one entry, counted, its latest company
    assert ledger.log_error("invoice", 5, "negative total", dag_id="d", run_id="r2", qbo_company="qbo_default") == au
    # a repeat that names no company (an older staged row) keeps the entry's
    assert ledger.log_error("invoice", 5, "negative total", dag_id="d", run_id="r3") == au
    entry = ledger.get_error(au)
    assert (entry["attempts"], entry["qbo_company"], entry["run_id"]) == (3, "qbo_default", "r3")
    assert ledger.log_error("invoice", None, "Autotask unreachable", qbo_company="") != au  # "" is no company
    assert [e["qbo_company"] for e in ledger.list_errors(include_resolved=True) if e["autotask_id"] is None] == [None]


def test_bey07_the_error_log_is_listed_by_qbo_company_and_names_its_companies(ledger):
    au = ledger.log_error("invoice", 5, "negative total", qbo_company="qbo_au")
    us = ledger.log_error("invoice", 6, "negative total", qbo_company="qbo_default")
    none = ledger.log_error("payment", 7, "Customer not found")
    assert [e["id"] for e in ledger.list_errors(qbo_company="qbo_au")] == [au]
    assert [e["id"] for e in ledger.list_errors(qbo_company="qbo_default")] == [us]
    assert {e["id"] for e in ledger.list_errors()} == {au, us, none}  # no filter: those naming none too
    assert ledger.list_errors(qbo_company="qbo_manual") == []
    ledger.resolve_errors("invoice", 5)
    assert ledger.list_errors(qbo_company="qbo_au") == []
    assert [e["id"] for e in ledger.list_errors(qbo_company="qbo_au", include_resolved=True)] == [au]
    assert ledger.error_companies() == ["qbo_au", "qbo_default"]  # resolved entries' companies too
