"""BEY-04's pure comparison: every drift kind, the rounding tolerance at its boundary, automated
sales tax, how the QBO document of an Autotask record is chosen, the report row and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.tools import reconcile as rc
from atqbo.tools.reconcile import AutotaskDoc, DocumentPair, QboDoc, Rules

RULES = Rules()  # rounding_tolerance 0.01, no automated sales tax, webServiceDate marker


def at_invoice(total: str = "250.00", **changes) -> AutotaskDoc:
    base = {
        "autotask_id": 29684001,
        "reference": "INV-1001",
        "company": "Contoso Dental",
        "total": Decimal(total),
        "tax": Decimal("0.00"),
        "marked_synced": True,
    }
    return AutotaskDoc(**{**base, **changes})


def qbo_invoice(total: str = "250.00", balance: str | None = None, **changes) -> QboDoc:
    base = {
        "qbo_id": "187",
        "doc_number": "1044",
        "total": Decimal(total),
        "balance": Decimal(total if balance is None else balance),
    }
    return QboDoc(**{**base, **changes})


def invoice_pair(at: AutotaskDoc | None = None, qbo: QboDoc | None = None, **changes) -> DocumentPair:
    base = {"kind": rc.INVOICE, "autotask_id": 29684001, "autotask": at, "qbo": qbo, "recorded_qbo_id": "187"}
    return DocumentPair(**{**base, **changes})


def bill_pair(at_total: str = "199.00", qbo_total: str = "199.00", canceled: bool = False, **changes) -> DocumentPair:
    at = AutotaskDoc(
        autotask_id=39600001,
        reference="PO 39600001",
        company="Ingram Micro",
        total=Decimal(at_total),
        voided=canceled,
        marked_synced=True,
        has_paid_state=False,
    )
    qbo = QboDoc(qbo_id="95", total=Decimal(qbo_total), balance=Decimal(qbo_total))
    base = {"kind": rc.BILL, "autotask_id": 39600001, "autotask": at, "qbo": qbo, "recorded_qbo_id": "95"}
    return DocumentPair(**{**base, **changes})


def only_drift(check: rc.DocumentCheck) -> rc.Drift:
    assert len(check.drifts) == 1, check.drifts
    return check.drifts[0]


# -- agreement ----------------------------------------------------------------------------------------------


def test_bey04_same_invoice_on_both_sides_agrees():
    check = rc.compare_document(invoice_pair(at_invoice(), qbo_invoice()), RULES)
    assert check.agrees and check.drifts == () and check.notes == ()


def test_bey04_paid_on_both_sides_agrees():
    check = rc.compare_document(invoice_pair(at_invoice(paid_on=date(2026, 2, 25)), qbo_invoice(balance="0")), RULES)
    assert check.agrees


# -- missing ------------------------------------------------------------------------------------------------


def test_bey04_qbo_invoice_deleted_is_missing_in_qbo_with_the_resend_fix():
    drift = only_drift(rc.compare_document(invoice_pair(at_invoice(), None), RULES))
    assert drift.kind == rc.MISSING_IN_QBO
    assert drift.what == "the QBO invoice atqbo created was deleted"
    assert (drift.autotask_value, drift.qbo_value) == ("INV-1001 total 250.00", "invoice Id 187 deleted")
    assert drift.fix.startswith("clear the Autotask invoice's webServiceDate and the next atqbo_invoices run sends it")


def test_bey04_resend_fix_names_the_marker_field_in_use():
    drift = only_drift(rc.compare_document(invoice_pair(at_invoice(), None), Rules(marker_field="invoiceNumber")))
    assert "clear the Autotask invoice's invoiceNumber" in drift.fix


def test_bey04_autotask_invoice_marked_synced_without_any_qbo_invoice():
    pair = invoice_pair(at_invoice(), None, recorded_qbo_id=None)
    drift = only_drift(rc.compare_document(pair, RULES))
    assert drift.kind == rc.NOT_IN_QBO
    assert drift.autotask_value == "INV-1001 marked synced, total 250.00"
    assert drift.qbo_value == "no invoice with PrivateNote 'Autotask invoice 29684001'"
    assert "if it reached QBO another way" in drift.fix


def test_bey04_autotask_record_gone_is_missing_in_autotask():
    drift = only_drift(rc.compare_document(invoice_pair(None, qbo_invoice()), RULES))
    assert drift.kind == rc.MISSING_IN_AUTOTASK
    assert (drift.autotask_value, drift.qbo_value) == ("no such record", "invoice 1044 (Id 187)")
    assert drift.fix.startswith("if it was removed from Autotask on purpose, void QBO invoice 1044 (Id 187) in QBO")


def test_bey04_po_gone_is_missing_in_autotask_and_the_bill_is_to_be_deleted():
    drift = only_drift(rc.compare_document(bill_pair(autotask=None), RULES))
    assert drift.kind == rc.MISSING_IN_AUTOTASK
    assert drift.what == "the Autotask purchase order (id 39600001) no longer exists"
    assert "delete QBO bill Id 95 in QBO" in drift.fix


def test_bey04_gone_from_both_sides():
    drift = only_drift(rc.compare_document(invoice_pair(None, None), RULES))
    assert drift.kind == rc.MISSING_BOTH
    assert drift.qbo_value == "invoice Id 187 deleted"


def test_bey04_voided_in_autotask_and_deleted_in_qbo_agree():
    check = rc.compare_document(invoice_pair(at_invoice(voided=True), None), RULES)
    assert check.agrees
    assert check.notes == ("voided in Autotask and not in QBO (invoice deleted): both say nothing is owed",)


def test_bey04_several_live_qbo_invoices_with_the_same_note_are_a_duplicate():
    pair = invoice_pair(at_invoice(), qbo_invoice(), extra_qbo_ids=("205",))
    drift = only_drift(rc.compare_document(pair, RULES))
    assert drift.kind == rc.DUPLICATE
    assert drift.qbo_value == "invoices Ids 187, 205"
    assert drift.fix == "keep QBO invoice 1044 (Id 187) and delete or void the other copies (Ids 205) in QBO"


# -- void state ---------------------------------------------------------------------------------------------


def test_bey04_voided_in_autotask_not_in_qbo():
    drift = only_drift(rc.compare_document(invoice_pair(at_invoice(voided=True), qbo_invoice()), RULES))
    assert (drift.kind, drift.what) == (rc.VOID, "voided in Autotask, not in QBO")
    assert (drift.autotask_value, drift.qbo_value) == ("voided", "not voided")
    assert drift.fix.startswith("void QBO invoice 1044 (Id 187) in QBO")


def test_bey04_voided_in_qbo_not_in_autotask():
    pair = invoice_pair(at_invoice(), qbo_invoice(total="0", voided=True))
    drift = only_drift(rc.compare_document(pair, RULES))  # the zeroed total is not a second drift
    assert (drift.kind, drift.what) == (rc.VOID, "voided in QBO, not in Autotask")
    assert drift.fix.startswith("void invoice INV-1001 in Autotask too")


def test_bey04_voided_on_both_sides_agrees_whatever_the_totals_and_payments_say():
    pair = invoice_pair(at_invoice(voided=True, paid_on=date(2026, 2, 1)), qbo_invoice(total="0", voided=True))
    assert rc.compare_document(pair, RULES).agrees


def test_bey04_po_canceled_while_its_bill_stands():
    drift = only_drift(rc.compare_document(bill_pair(canceled=True), RULES))
    assert (drift.kind, drift.what) == (rc.VOID, "canceled in Autotask, not in QBO")
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
    check = rc.compare_document(invoice_pair(at_invoice("250.00"), qbo_invoice(qbo_total)), rules)
    assert (not check.agrees) == drifts
    difference = Decimal(qbo_total) - Decimal("250.00")
    if drifts:
        drift = only_drift(check)
        assert drift.kind == rc.TOTAL
        assert drift.what == f"total differs by {difference:+}"
        assert (drift.autotask_value, drift.qbo_value) == ("250.00", qbo_total)
    else:
        assert check.notes == (f"total differs by {difference:+} (within rounding_tolerance {tolerance})",)


def test_bey04_total_drift_of_a_bill():
    drift = only_drift(rc.compare_document(bill_pair("199.00", "189.00"), RULES))
    assert (drift.kind, drift.what, drift.autotask_value, drift.qbo_value) == (
        rc.TOTAL,
        "total differs by -10.00",
        "199.00",
        "189.00",
    )
    assert drift.fix == "correct QBO bill Id 95 in QBO to match the PO's items (or the PO in Autotask)"


def test_bey04_under_automated_sales_tax_totals_are_compared_before_tax():
    """QBO computed 8.40 of tax where Autotask had 7.00: as compare_totals does, only the amounts before tax count."""
    at = at_invoice("107.00", tax=Decimal("7.00"))
    qbo = qbo_invoice("108.40", tax=Decimal("8.40"))
    assert rc.compare_document(invoice_pair(at, qbo), Rules(automated_sales_tax=True)).agrees
    drift = only_drift(rc.compare_document(invoice_pair(at, qbo), RULES))
    assert drift.what == "total differs by +1.40"
    off = qbo_invoice("110.40", tax=Decimal("8.40"))
    drift = only_drift(rc.compare_document(invoice_pair(at, off), Rules(automated_sales_tax=True)))
    assert (drift.what, drift.autotask_value, drift.qbo_value) == (
        "total before tax differs by +2.00",
        "100.00",
        "102.00",
    )


# -- paid state ---------------------------------------------------------------------------------------------


def test_bey04_paid_in_qbo_not_in_autotask():
    drift = only_drift(rc.compare_document(invoice_pair(at_invoice(), qbo_invoice(balance="0")), RULES))
    assert (drift.kind, drift.what) == (rc.PAID, "paid in full in QBO, not paid in Autotask")
    assert (drift.autotask_value, drift.qbo_value) == ("no paid date", "balance 0.00 of 250.00 (paid)")
    assert "atqbo_mark_invoice_paid with invoice number INV-1001" in drift.fix


def test_bey04_paid_in_autotask_while_qbo_shows_a_balance():
    pair = invoice_pair(at_invoice(paid_on=date(2026, 2, 25)), qbo_invoice(balance="150.00"))
    drift = only_drift(rc.compare_document(pair, RULES))
    assert (drift.kind, drift.what) == (rc.PAID, "paid in Autotask, money still owed in QBO")
    assert (drift.autotask_value, drift.qbo_value) == ("paid on 2026-02-25", "balance 150.00 of 250.00")


def test_bey04_partly_paid_in_qbo_and_unpaid_in_autotask_agree():
    assert rc.compare_document(invoice_pair(at_invoice(), qbo_invoice(balance="100.00")), RULES).agrees


def test_bey04_a_zero_invoice_is_not_paid_by_having_no_balance():
    assert rc.compare_document(invoice_pair(at_invoice("0.00"), qbo_invoice("0.00")), RULES).agrees


def test_bey04_bills_have_no_paid_state_to_compare():
    pair = bill_pair()
    settled = DocumentPair(**{**pair.__dict__, "qbo": QboDoc(qbo_id="95", total=Decimal("199.00"), balance=Decimal(0))})
    assert rc.compare_document(settled, RULES).agrees


def test_bey04_several_drifts_of_one_document_make_one_row_with_every_value_and_fix():
    pair = invoice_pair(at_invoice(), qbo_invoice("275.00", balance="0"))
    check = rc.compare_document(pair, RULES)
    assert [d.kind for d in check.drifts] == [rc.TOTAL, rc.PAID]
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
        "total differs by +25.00: Autotask 250.00, QBO 275.00; paid in full in QBO, not paid in Autotask: "
        "Autotask no paid date, QBO balance 0.00 of 275.00 (paid)"
    )
    assert row.fix.startswith("Compare the lines of QBO invoice 1044 (Id 187)")
    assert "Mark it paid in Autotask" in row.fix


# -- choosing the QBO document --------------------------------------------------------------------------------


def _qbo_record(qbo_id: str, total: float = 250.0, note: str = "Autotask invoice 29684001 - sent by atqbo") -> dict:
    return {"Id": qbo_id, "DocNumber": f"D{qbo_id}", "TotalAmt": total, "Balance": total, "PrivateNote": note}


def test_bey04_the_ledger_s_qbo_invoice_is_compared_and_other_live_copies_are_duplicates():
    recorded, copy = _qbo_record("187"), _qbo_record("205")
    pair = rc.pair_document(rc.INVOICE, 29684001, at_invoice(), "187", [copy, recorded], {"187": recorded, "205": copy})
    assert pair.qbo.qbo_id == "187" and pair.extra_qbo_ids == ("205",)


def test_bey04_without_a_ledger_record_the_live_note_match_is_compared_and_a_voided_copy_is_no_duplicate():
    voided = _qbo_record("150", total=0, note="Voided - Autotask invoice 29684001 - sent by atqbo")
    live = _qbo_record("187")
    pair = rc.pair_document(rc.INVOICE, 29684001, at_invoice(), None, [voided, live], {})
    assert pair.qbo.qbo_id == "187" and pair.qbo.voided is False and pair.extra_qbo_ids == ()
    only_voided = rc.pair_document(rc.INVOICE, 29684001, at_invoice(), None, [voided], {})
    assert only_voided.qbo.qbo_id == "150" and only_voided.qbo.voided is True


def test_bey04_a_recorded_invoice_that_is_gone_falls_back_to_the_note_match():
    live = _qbo_record("205")
    pair = rc.pair_document(rc.INVOICE, 29684001, at_invoice(), "187", [live], {"205": live})
    assert pair.qbo.qbo_id == "205" and pair.recorded_qbo_id == "187"
    gone = rc.pair_document(rc.INVOICE, 29684001, at_invoice(), "187", [], {})
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
    doc = rc.autotask_invoice_doc(invoice, "Contoso", "webServiceDate")
    assert (doc.reference, doc.total, doc.tax, doc.paid_on, doc.marked_synced) == (
        "INV-7",
        Decimal("100.01"),
        Decimal("7.25"),
        date(2026, 2, 25),
        True,
    )
    po = {"id": 5, "status": 5, "externalPONumber": "95"}
    items = [{"quantity": 3, "unitCost": 33.335}, {"quantity": 1, "unitCost": 0.1}]
    po_doc = rc.autotask_po_doc(po, items, "Ingram Micro", canceled=5)
    assert (po_doc.total, po_doc.voided, po_doc.has_paid_state) == (Decimal("100.11"), True, False)
    qbo = rc.qbo_doc(
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


def test_bey04_pairs_survive_staging():
    pair = invoice_pair(at_invoice(paid_on=date(2026, 2, 25)), qbo_invoice(balance="0"), extra_qbo_ids=("205",))
    assert DocumentPair.from_doc(pair.to_doc()) == pair
    gone = invoice_pair(None, None)
    assert DocumentPair.from_doc(gone.to_doc()) == gone


# -- the report and its CSV -----------------------------------------------------------------------------------


def _run() -> RunInfo:
    return RunInfo(
        dag_id="atqbo_reconcile",
        run_id="manual__1",
        run_key="atqbo_reconcile/manual__1",
        settings=Settings.from_dict({}).to_dict(),
        window_start="2026-10-22T06:00:00+00:00",
        window_end="2026-11-21T06:00:00+00:00",
    )


def test_bey04_report_rows_only_for_drift_counts_in_a_note_and_a_csv_line_per_document():
    checks = rc.compare_documents(
        [
            bill_pair(),
            invoice_pair(at_invoice(), qbo_invoice("250.01")),
            invoice_pair(at_invoice(reference="=HYPERLINK(1)", voided=True), qbo_invoice(), autotask_id=29684002),
        ],
        RULES,
    )
    report = rc.build_reconcile_report(_run(), checks, automated_sales_tax=False)
    assert [r.autotask_id for r in report.rows] == [29684002]
    assert report.always_email and report.counts()["warning"] == 1
    assert report.notes[0] == (
        "3 document(s) checked (2 invoice(s), 1 bill(s) from purchase orders): 2 in agreement, 1 with drift"
    )
    name = "atqbo-reconciliation-manual__1-documents.csv"
    assert list(report.attachments) == [name]
    lines = list(csv.DictReader(io.StringIO(report.attachments[name])))
    assert [(r["document"], r["autotask_id"], r["result"]) for r in lines] == [
        ("invoice", "29684001", "agrees"),
        ("invoice", "29684002", "drift"),
        ("bill", "39600001", "agrees"),
    ]
    assert lines[0]["details"] == "total differs by +0.01 (within rounding_tolerance 0.01)"
    assert lines[1]["drift"] == rc.VOID and lines[1]["reference"] == "'=HYPERLINK(1)"  # never a formula in Excel
    assert lines[1]["autotask_voided"] == "yes" and lines[1]["qbo_voided"] == "no"


def test_bey04_report_says_all_agree_when_nothing_differs():
    checks = rc.compare_documents([invoice_pair(at_invoice(), qbo_invoice())], RULES)
    report = rc.build_reconcile_report(_run(), checks, automated_sales_tax=True)
    assert report.rows == []
    assert report.notes[0] == (
        "1 document(s) checked (1 invoice(s), 0 bill(s) from purchase orders): 1 in agreement, 0 with drift: "
        "all agree between Autotask and QBO"
    )
    assert "invoice totals are compared before tax" in report.notes[1]
