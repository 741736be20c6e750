"""BEY-04's two sides built from the APIs' records, in cents, and which QBO document stands for an
Autotask record."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from atqbo.tools.reconcile.model import INVOICE
from atqbo.tools.reconcile.sides import autotask_invoice_doc, autotask_po_doc, pair_document, qbo_doc
from tests.tools.reconcile.reconcile_support import at_invoice

# -- choosing the QBO document --------------------------------------------------------------------------------


def _qbo_record(qbo_id: str, total: float = 250.0, note: str = "Autotask invoice 29684001 - sent by atqbo") -> dict:
    return {"Id": qbo_id, "DocNumber": f"D{qbo_id}", "TotalAmt": total, "Balance": total, "PrivateNote": note}


def test_bey04_the_ledger_s_qbo_invoice_is_compared_and_other_live_copies_are_duplicates():
    recorded, copy = _qbo_record("187"), _qbo_record("205")
    pair = pair_document(INVOICE, 29684001, at_invoice(), "187", [copy, recorded], {"187": recorded, "205": copy})
    assert pair.qbo.qbo_id == "187" and pair.extra_qbo_ids == ("205",)


def test_bey04_without_a_ledger_record_the_live_note_match_is_compared_and_a_voided_copy_is_no_duplicate():
    voided = _qbo_record("150", total=0, note="Voided - Autotask invoice 29684001 - sent by atqbo")
    live = _qbo_record("187")
    pair = pair_document(INVOICE, 29684001, at_invoice(), None, [voided, live], {})
    assert pair.qbo.qbo_id == "187" and pair.qbo.voided is False and pair.extra_qbo_ids == ()
    only_voided = pair_document(INVOICE, 29684001, at_invoice(), None, [voided], {})
    assert only_voided.qbo.qbo_id == "150" and only_voided.qbo.voided is True


def test_bey04_a_recorded_invoice_that_is_gone_falls_back_to_the_note_match():
    live = _qbo_record("205")
    pair = pair_document(INVOICE, 29684001, at_invoice(), "187", [live], {"205": live})
    assert pair.qbo.qbo_id == "205" and pair.recorded_qbo_id == "187"
    gone = pair_document(INVOICE, 29684001, at_invoice(), "187", [], {})
    assert gone.qbo is None


def test_bey04_sides_are_built_in_cents_from_the_api_records():
    invoice = {
        "id": 7,
        "invoiceNumber": " INV-7 ",
        "invoiceTotal": 100.005,
        "totalTaxValue": 7.254,
        "isVoided": False,
        "paidDate": "2026-02-25T00:00:00Z",
        "webServiceDate": "2026-02-20T01:00:00Z",
    }
    doc = autotask_invoice_doc(invoice, "Contoso", "webServiceDate")
    assert (doc.reference, doc.total, doc.tax, doc.paid_on, doc.marked_synced) == (
        "INV-7",
        Decimal("100.01"),
        Decimal("7.25"),
        date(2026, 2, 25),
        True,
    )
    po = {"id": 5, "status": 5, "externalPONumber": "95"}
    items = [{"quantity": 3, "unitCost": 33.335}, {"quantity": 1, "unitCost": 0.1}]
    po_doc = autotask_po_doc(po, items, "Ingram Micro", canceled=5)
    assert (po_doc.total, po_doc.voided, po_doc.has_paid_state) == (Decimal("100.11"), True, False)
    qbo = qbo_doc(
        {
            "Id": "9",
            "TotalAmt": 108.4,
            "Balance": 0,
            "TxnTaxDetail": {"TotalTax": 8.4},
            "PrivateNote": "Autotask invoice 7",
        }
    )
    assert (qbo.total, qbo.tax, qbo.balance, qbo.voided, qbo.doc_number) == (
        Decimal("108.40"),
        Decimal("8.40"),
        Decimal("0.00"),
        False,
        None,
    )
