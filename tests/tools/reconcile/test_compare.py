"""BEY-04's comparison of one document: every drift kind, the rounding tolerance at its boundary,
automated sales tax, and the report row of a document with several drifts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from atqbo.tools.reconcile.compare import compare_document
from atqbo.tools.reconcile.model import (
    DUPLICATE,
    MISSING_BOTH,
    MISSING_IN_AUTOTASK,
    MISSING_IN_QBO,
    NOT_IN_QBO,
    PAID,
    TOTAL,
    VOID,
    DocumentPair,
    QboDoc,
    Rules,
)
from tests.tools.reconcile.reconcile_support import (
    RULES,
    at_invoice,
    bill_pair,
    invoice_pair,
    only_drift,
    qbo_invoice,
)

# -- agreement ----------------------------------------------------------------------------------------------


def test_bey04_same_invoice_on_both_sides_agrees():
    check = compare_document(invoice_pair(at_invoice(), qbo_invoice()), RULES)
    assert check.agrees and check.drifts == () and check.notes == ()


def test_bey04_paid_on_both_sides_agrees():
    check = compare_document(invoice_pair(at_invoice(paid_on=date(2026, 2, 25)), qbo_invoice(balance="0")), RULES)
    assert check.agrees


# -- missing ------------------------------------------------------------------------------------------------


def test_bey04_qbo_invoice_deleted_is_missing_in_qbo_with_the_resend_fix():
    drift = only_drift(compare_document(invoice_pair(at_invoice(), None), RULES))
    assert drift.kind == MISSING_IN_QBO
    assert drift.what == "the QBO invoice atqbo created was deleted"
    assert (drift.autotask_value, drift.qbo_value) == ("INV-1001 total 250.00", "invoice Id 187 deleted")
    assert drift.fix.startswith("clear the Autotask invoice's webServiceDate and the next atqbo_invoices run sends it")


def test_bey04_resend_fix_names_the_marker_field_in_use():
    drift = only_drift(compare_document(invoice_pair(at_invoice(), None), Rules(marker_field="invoiceNumber")))
    assert "clear the Autotask invoice's invoiceNumber" in drift.fix


def test_bey04_autotask_invoice_marked_synced_without_any_qbo_invoice():
    pair = invoice_pair(at_invoice(), None, recorded_qbo_id=None)
    drift = only_drift(compare_document(pair, RULES))
    assert drift.kind == NOT_IN_QBO
    assert drift.autotask_value == "INV-1001 marked synced, total 250.00"
    assert drift.qbo_value == "no invoice with PrivateNote 'Autotask invoice 29684001'"
    assert "if it reached QBO another way" in drift.fix


def test_bey04_autotask_record_gone_is_missing_in_autotask():
    drift = only_drift(compare_document(invoice_pair(None, qbo_invoice()), RULES))
    assert drift.kind == MISSING_IN_AUTOTASK
    assert (drift.autotask_value, drift.qbo_value) == ("no such record", "invoice 1044 (Id 187)")
    assert drift.fix.startswith("if it was removed from Autotask on purpose, void QBO invoice 1044 (Id 187) in QBO")


def test_bey04_po_gone_is_missing_in_autotask_and_the_bill_is_to_be_deleted():
    drift = only_drift(compare_document(bill_pair(autotask=None), RULES))
    assert drift.kind == MISSING_IN_AUTOTASK
    assert drift.what == "the Autotask purchase order (id 39600001) no longer exists"
    assert "delete QBO bill Id 95 in QBO" in drift.fix


def test_bey04_gone_from_both_sides():
    drift = only_drift(compare_document(invoice_pair(None, None), RULES))
    assert drift.kind == MISSING_BOTH
    assert drift.qbo_value == "invoice Id 187 deleted"


def test_bey04_voided_in_autotask_and_deleted_in_qbo_agree():
    check = compare_document(invoice_pair(at_invoice(voided=True), None), RULES)
    assert check.agrees
    assert check.notes == ("voided in Autotask and not in QBO (invoice deleted): both say nothing is owed",)


def test_bey04_several_live_qbo_invoices_with_the_same_note_are_a_duplicate():
    pair = invoice_pair(at_invoice(), qbo_invoice(), extra_qbo_ids=("205",))
    drift = only_drift(compare_document(pair, RULES))
    assert drift.kind == DUPLICATE
    assert drift.qbo_value == "invoices Ids 187, 205"
    assert drift.fix == "keep QBO invoice 1044 (Id 187) and delete or void the other copies (Ids 205) in QBO"


# -- void state ---------------------------------------------------------------------------------------------


def test_bey04_voided_in_autotask_not_in_qbo():
    drift = only_drift(compare_document(invoice_pair(at_invoice(voided=True), qbo_invoice()), RULES))
    assert (drift.kind, drift.what) == (VOID, "voided in Autotask, not in QBO")
    assert (drift.autotask_value, drift.qbo_value) == ("voided", "not voided")
    assert drift.fix.startswith("void QBO invoice 1044 (Id 187) in QBO")


def test_bey04_voided_in_qbo_not_in_autotask():
    pair = invoice_pair(at_invoice(), qbo_invoice(total="0", voided=True))
    drift = only_drift(compare_document(pair, RULES))  # the zeroed total is not a second drift
    assert (drift.kind, drift.what) == (VOID, "voided in QBO, not in Autotask")
    assert drift.fix.startswith("void invoice INV-1001 in Autotask too")


def test_bey04_voided_on_both_sides_agrees_whatever_the_totals_and_payments_say():
    pair = invoice_pair(at_invoice(voided=True, paid_on=date(2026, 2, 1)), qbo_invoice(total="0", voided=True))
    assert compare_document(pair, RULES).agrees


def test_bey04_po_canceled_while_its_bill_stands():
    drift = only_drift(compare_document(bill_pair(canceled=True), RULES))
    assert (drift.kind, drift.what) == (VOID, "canceled in Autotask, not in QBO")
    assert (drift.autotask_value, drift.qbo_value) == ("PO canceled", "bill Id 95 open")


# -- totals and the tolerance -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "qbo_total, tolerance, drifts",
    [
        ("250.01", "0.01", False),  # exactly the tolerance: a rounding difference
        ("249.99", "0.01", False),
        ("250.02", "0.01", True),  # a cent past it
        ("249.98", "0.01", True),
        ("250.05", "0.05", False),
        ("250.06", "0.05", True),
        ("250.01", "0", True),
    ],
)
def test_bey04_total_drift_starts_past_the_rounding_tolerance(qbo_total, tolerance, drifts):
    rules = Rules(rounding_tolerance=Decimal(tolerance))
    check = compare_document(invoice_pair(at_invoice("250.00"), qbo_invoice(qbo_total)), rules)
    assert (not check.agrees) == drifts
    difference = Decimal(qbo_total) - Decimal("250.00")
    if drifts:
        drift = only_drift(check)
        assert drift.kind == TOTAL
        assert drift.what == f"total (with tax) differs by {difference:+}"
        assert (drift.autotask_value, drift.qbo_value) == ("250.00 (tax 0.00)", f"{qbo_total} (tax 0.00)")
    else:
        assert check.notes == (f"total differs by {difference:+} (within rounding_tolerance {tolerance})",)


def test_bey04_total_drift_of_a_bill():
    drift = only_drift(compare_document(bill_pair("199.00", "189.00"), RULES))
    assert (drift.kind, drift.what, drift.autotask_value, drift.qbo_value) == (
        TOTAL,
        "total differs by -10.00",
        "199.00",
        "189.00",
    )
    assert drift.fix == "correct QBO bill Id 95 in QBO to match the PO's items (or the PO in Autotask)"


def test_tax04_invoice_totals_are_compared_with_tax_naming_both_taxes_and_who_computed_qbos():
    """QBO's automated sales tax computed 8.40 where Autotask had 7.00: the customer pays 1.40 more, a drift."""
    at = at_invoice("107.00", tax=Decimal("7.00"))
    qbo = qbo_invoice("108.40", tax=Decimal("8.40"))
    rules = Rules(tax_source="QBO's automated sales tax computed the tax")
    drift = only_drift(compare_document(invoice_pair(at, qbo), rules))
    assert (drift.what, drift.autotask_value, drift.qbo_value) == (
        "total (with tax) differs by +1.40; QBO's automated sales tax computed the tax",
        "107.00 (tax 7.00)",
        "108.40 (tax 8.40)",
    )
    assert drift.fix.startswith("the amounts before tax agree, the tax does not")
    off = qbo_invoice("110.40", tax=Decimal("8.40"))  # the lines differ too
    drift = only_drift(compare_document(invoice_pair(at, off), rules))
    assert drift.what.startswith("total (with tax) differs by +3.40") and drift.fix.startswith("compare the lines")
    assert compare_document(invoice_pair(at, qbo_invoice("107.00", tax=Decimal("7.00"))), rules).agrees


# -- paid state ---------------------------------------------------------------------------------------------


def test_bey04_paid_in_qbo_not_in_autotask():
    drift = only_drift(compare_document(invoice_pair(at_invoice(), qbo_invoice(balance="0")), RULES))
    assert (drift.kind, drift.what) == (PAID, "paid in full in QBO, not paid in Autotask")
    assert (drift.autotask_value, drift.qbo_value) == ("no paid date", "balance 0.00 of 250.00 (paid)")
    assert "atqbo_mark_invoice_paid with invoice number INV-1001" in drift.fix


def test_bey04_paid_in_autotask_while_qbo_shows_a_balance():
    pair = invoice_pair(at_invoice(paid_on=date(2026, 2, 25)), qbo_invoice(balance="150.00"))
    drift = only_drift(compare_document(pair, RULES))
    assert (drift.kind, drift.what) == (PAID, "paid in Autotask, money still owed in QBO")
    assert (drift.autotask_value, drift.qbo_value) == ("paid on 2026-02-25", "balance 150.00 of 250.00")


def test_bey04_partly_paid_in_qbo_and_unpaid_in_autotask_agree():
    assert compare_document(invoice_pair(at_invoice(), qbo_invoice(balance="100.00")), RULES).agrees


def test_bey04_a_zero_invoice_is_not_paid_by_having_no_balance():
    assert compare_document(invoice_pair(at_invoice("0.00"), qbo_invoice("0.00")), RULES).agrees


def test_tax03_a_bill_with_qbo_purchase_tax_is_compared_before_that_tax():
    """A non-US bill: QBO added 20% VAT to the PO's 199.00; the PO carries no tax, so that is no drift."""
    taxed = QboDoc(qbo_id="95", total=Decimal("238.80"), tax=Decimal("39.80"), balance=Decimal("238.80"))
    assert compare_document(bill_pair(qbo=taxed), RULES).agrees
    grown = QboDoc(qbo_id="95", total=Decimal("250.80"), tax=Decimal("39.80"), balance=Decimal("250.80"))
    drift = only_drift(compare_document(bill_pair(qbo=grown), RULES))
    assert (drift.what, drift.autotask_value, drift.qbo_value) == (
        "total before QBO's purchase tax differs by +12.00",
        "199.00",
        "211.00",
    )


def test_bey04_bills_have_no_paid_state_to_compare():
    pair = bill_pair()
    settled = DocumentPair(**{**pair.__dict__, "qbo": QboDoc(qbo_id="95", total=Decimal("199.00"), balance=Decimal(0))})
    assert compare_document(settled, RULES).agrees


def test_bey04_several_drifts_of_one_document_make_one_row_with_every_value_and_fix():
    pair = invoice_pair(at_invoice(), qbo_invoice("275.00", balance="0"))
    check = compare_document(pair, RULES)
    assert [d.kind for d in check.drifts] == [TOTAL, PAID]
    row = check.report_row()
    assert (row.outcome, row.entity, row.autotask_id, row.reference, row.company) == (
        "warning",
        "invoice",
        29684001,
        "INV-1001",
        "Contoso Dental",
    )
    assert (row.qbo_id, row.qbo_number, row.autotask_total, row.qbo_total) == (
        "187",
        "1044",
        Decimal("250.00"),
        Decimal("275.00"),
    )
    assert row.reason == (
        "total (with tax) differs by +25.00: Autotask 250.00 (tax 0.00), QBO 275.00 (tax 0.00); "
        "paid in full in QBO, not paid in Autotask: "
        "Autotask no paid date, QBO balance 0.00 of 275.00 (paid)"
    )
    assert row.fix.startswith("Compare the lines of QBO invoice 1044 (Id 187)")
    assert "Mark it paid in Autotask" in row.fix
