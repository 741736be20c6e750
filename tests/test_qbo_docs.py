"""atqbo.qbo_docs: atqbo's own documents in QBO, marked, found, read and told apart (BEY-01)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from atqbo.qbo_docs import (
    BILL_NOTE,
    INVOICE_NOTE,
    SentDocuments,
    find_atqbo_bills,
    find_atqbo_invoices,
    is_voided,
    pick_document,
    read_current,
)

# -- the notes (pure) ------------------------------------------------------------------------------


def test_bey01_an_invoice_note_names_its_autotask_id_exactly():
    assert INVOICE_NOTE.text(123, "INV-1") == "Autotask invoice 123 (INV-1) - sent by atqbo"
    assert INVOICE_NOTE.autotask_id(INVOICE_NOTE.text(123, "INV-1")) == 123
    assert INVOICE_NOTE.autotask_id("Autotask invoice 123") == 123
    assert INVOICE_NOTE.autotask_id("Voided - Autotask invoice 123 (INV-1)") == 123
    assert INVOICE_NOTE.autotask_id("Autotask invoice 1234") != 123
    assert INVOICE_NOTE.autotask_id("see Autotask invoice 123") is None
    assert INVOICE_NOTE.autotask_id("Autotask invoice ") is None
    assert INVOICE_NOTE.autotask_id("Voided") is None and INVOICE_NOTE.autotask_id(None) is None


def test_bey01_only_atqbo_bill_notes_name_a_po():
    assert BILL_NOTE.text(29686003) == "Autotask PO 29686003 - sent by atqbo"
    assert BILL_NOTE.autotask_id(BILL_NOTE.text(29686003)) == 29686003
    assert BILL_NOTE.autotask_id("Autotask PO 123") == 123
    assert BILL_NOTE.autotask_id("Autotask PO 1234 - sent by atqbo") != 123
    assert BILL_NOTE.autotask_id("Autotask invoice 123") is None and BILL_NOTE.autotask_id(None) is None
    assert INVOICE_NOTE.autotask_id("Autotask PO 123") is None


def _doc(qbo_id: str, note: str = "", total: float = 10.0) -> dict:
    return {"Id": qbo_id, "PrivateNote": note, "TotalAmt": total}


def test_void01_voided_is_zeroed_with_qbos_note():
    assert is_voided(_doc("1", "Voided - Autotask invoice 7", 0))
    assert not is_voided(_doc("1", "Voided - Autotask invoice 7", 10))  # not zeroed
    assert not is_voided(_doc("1", "Autotask invoice 7", 0))  # a $0 invoice, not voided


def test_bey01_the_ledger_decides_first_then_the_first_live_copy_then_the_newest_voided():
    old_voided, live, later_voided = _doc("5", "Voided - x", 0), _doc("6"), _doc("7", "Voided - y", 0)
    second_live = _doc("8")
    assert pick_document([old_voided, live, second_live]) == (live, [second_live])
    assert pick_document([old_voided, live, second_live], recorded_qbo_id="8") == (second_live, [live])
    assert pick_document([old_voided, later_voided]) == (later_voided, [])
    assert pick_document([], recorded_qbo_id="9") == (None, [])


def test_bey01_a_note_does_not_claim_a_record_the_ledger_sent_as_another_document():
    sent = SentDocuments([{"autotask_id": 7, "qbo_id": "100"}, {"autotask_id": 8, "qbo_id": None}])
    assert sent.qbo_id(7) == "100" and sent.qbo_id(8) is None
    assert sent.owner(_doc("100", "anything"), INVOICE_NOTE) == 7  # the ledger's document
    assert sent.owner(_doc("101", INVOICE_NOTE.text(7)), INVOICE_NOTE) is None  # a copy of a sent record
    assert sent.owner(_doc("102", INVOICE_NOTE.text(8)), INVOICE_NOTE) == 8  # only the note knows
    assert sent.owner(_doc("103", "typed in by hand"), INVOICE_NOTE) is None


# -- finding and reading, against the sandbox over HTTP --------------------------------------------


@pytest.fixture
def qbo(sandbox_connections, tmp_path, monkeypatch):
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger

    sandbox_connections.reset()
    for conn_id, conn in sandbox_connections.connections().items():  # after a reset: its refresh token
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    ledger.create_schema()
    yield QuickBooksOnlineHook(ledger=ledger, sleep=lambda s: None)
    ledger.close()


def _seed_invoices(qbo, sandbox) -> dict[str, str]:
    customer = qbo.create("Customer", {"DisplayName": "Contoso Dental"})["Id"]
    item = qbo.create("Item", {"Name": "Managed Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    ids = {}
    for name, day, note in [
        ("in", "2026-02-20", INVOICE_NOTE.text(11, "INV-11")),
        ("second", "2026-02-21", INVOICE_NOTE.text(11, "INV-11")),
        ("other", "2026-02-20", "typed in by hand"),
        ("outside", "2026-03-20", INVOICE_NOTE.text(12)),
    ]:
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": 100,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
        }
        body = {"CustomerRef": {"value": customer}, "TxnDate": day, "PrivateNote": note, "Line": [line]}
        ids[name] = qbo.create("Invoice", body)["Id"]
    return ids


def test_bey01_atqbo_invoices_of_a_date_range_in_one_query(qbo, sandbox_connections):
    ids = _seed_invoices(qbo, sandbox_connections)
    sandbox_connections.requests.clear()
    found = find_atqbo_invoices(qbo, date(2026, 2, 1), date(2026, 2, 28))
    assert {k: [d["Id"] for d in v] for k, v in found.items()} == {11: [ids["in"], ids["second"]]}
    assert len([r for r in sandbox_connections.requests.list("qbo") if "/query" in r["path"]]) == 1


def test_bey01_a_document_no_query_returns_is_read_before_it_counts_as_deleted(qbo, sandbox_connections):
    ids = _seed_invoices(qbo, sandbox_connections)
    qbo.delete("Invoice", ids["second"])
    current = read_current(qbo, "Invoice", [ids["in"], ids["second"], ids["in"]])
    assert list(current) == [ids["in"]]
    reads = [r for r in sandbox_connections.requests.list("qbo") if r["path"].endswith(f"/invoice/{ids['second']}")]
    assert reads, "the missing invoice was confirmed by a read (610), not assumed deleted"


def test_bey01_atqbo_bills_are_found_by_creation_time(qbo):
    vendor = qbo.create("Vendor", {"DisplayName": "Ingram Micro"})["Id"]
    account = next(a for a in qbo.query_all("Account") if a.get("AccountType") == "Cost of Goods Sold")["Id"]
    line = {
        "DetailType": "AccountBasedExpenseLineDetail",
        "Amount": 5,
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}},
    }
    bill = qbo.create(
        "Bill",
        {"VendorRef": {"value": vendor}, "TxnDate": "2020-01-01", "PrivateNote": BILL_NOTE.text(77), "Line": [line]},
    )
    found = find_atqbo_bills(qbo, datetime(2026, 1, 1, tzinfo=UTC))
    assert {k: [b["Id"] for b in v] for k, v in found.items()} == {77: [bill["Id"]]}
    assert find_atqbo_bills(qbo, datetime.now(UTC).replace(year=datetime.now(UTC).year + 1)) == {}
    assert json.dumps(found)  # plain records, ready for staging
