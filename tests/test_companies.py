"""Several QBO companies for the syncs that follow sent documents (BEY-07): QBO Ids are per company,
so the ledger's records match a QBO document only in the realm they went to (``SentDocuments``),
and a record's realm says its company (``atqbo.companies``)."""

from __future__ import annotations

from atqbo.companies import QboCompany, company_of_record, company_row
from atqbo.notify import ReportRow
from atqbo.qbo_docs import INVOICE_NOTE, SentDocuments
from atqbo.runs import RunInfo

REALM_A, REALM_B = "9341453050529220", "4620816365300000001"
AT_A, AT_B, AT_OLD = 29684002, 29684001, 29684003
RECORDS = [
    {"autotask_id": AT_B, "qbo_id": "145", "realm_id": REALM_B},
    {"autotask_id": AT_A, "qbo_id": "145", "realm_id": REALM_A},
    {"autotask_id": AT_OLD, "qbo_id": "146", "realm_id": None},  # sent before routes: the default's
]


def _document(qbo_id: str, autotask_id: int | None = None) -> dict:
    return {"Id": qbo_id, "PrivateNote": INVOICE_NOTE.mark(autotask_id) if autotask_id else "typed in"}


def test_bey07_a_qbo_id_is_matched_in_the_realm_it_went_to():
    in_a = SentDocuments(RECORDS, REALM_A, default=True)
    in_b = SentDocuments(RECORDS, REALM_B, default=False)

    assert in_a.owner(_document("145"), INVOICE_NOTE) == AT_A
    assert in_b.owner(_document("145"), INVOICE_NOTE) == AT_B
    assert in_a.owner(_document("146"), INVOICE_NOTE) == AT_OLD  # no realm: the default company's
    assert in_b.owner(_document("146"), INVOICE_NOTE) is None
    # a note naming an invoice the ledger sent to another company is not that invoice's
    assert in_b.owner(_document("300", AT_A), INVOICE_NOTE) is None
    assert in_a.owner(_document("301", 29684999), INVOICE_NOTE) == 29684999  # unknown to the ledger: the note


def test_bey07_one_company_does_not_look_at_the_realm():
    blind = SentDocuments(RECORDS)
    assert blind.owner(_document("146"), INVOICE_NOTE) == AT_OLD
    assert blind.owner(_document("145"), INVOICE_NOTE) in (AT_A, AT_B)  # as before routes: one company


def test_bey07_a_records_realm_says_its_company():
    run = RunInfo(dag_id="d", run_id="r", run_key="d/r", settings={}, window_start="", window_end="")
    a = QboCompany("qbo_default", run, default=True, realm_id=REALM_A)
    b = QboCompany("qbo_b", run, default=False, realm_id=REALM_B)

    assert company_of_record([a, b], RECORDS[0]).conn_id == "qbo_b"
    assert company_of_record([a, b], RECORDS[1]).conn_id == "qbo_default"
    assert company_of_record([a, b], RECORDS[2]).conn_id == "qbo_default"
    assert company_of_record([a, b], {"realm_id": "999"}) is None  # a company the run no longer has
    assert company_of_record([a], {"realm_id": "999"}) is a  # one company: the realm is not looked at


def test_bey07_a_report_row_says_its_company():
    row = company_row(ReportRow(outcome="transferred", entity="payment", autotask_id=1, reason="paid"), "qbo_b")
    assert row.qbo_company == "qbo_b" and row.reason == "paid"
    assert company_row(row, None) == row
