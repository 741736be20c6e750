"""BEY-04's report: rows only for drift, the counts as notes, and the CSV of every document."""

from __future__ import annotations

import csv
import io

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.tools.reconcile.compare import compare_documents
from atqbo.tools.reconcile.model import VOID
from atqbo.tools.reconcile.report import build_reconcile_report
from tests.tools.reconcile.reconcile_support import RULES, at_invoice, bill_pair, invoice_pair, qbo_invoice

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
    checks = compare_documents(
        [
            bill_pair(),
            invoice_pair(at_invoice(), qbo_invoice("250.01")),
            invoice_pair(at_invoice(reference="=HYPERLINK(1)", voided=True), qbo_invoice(), autotask_id=29684002),
        ],
        RULES,
    )
    report = build_reconcile_report(_run(), checks)
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
    assert lines[1]["drift"] == VOID and lines[1]["reference"] == "'=HYPERLINK(1)"  # never a formula in Excel
    assert lines[1]["autotask_voided"] == "yes" and lines[1]["qbo_voided"] == "no"


def test_bey04_report_says_all_agree_when_nothing_differs():
    checks = compare_documents([invoice_pair(at_invoice(), qbo_invoice())], RULES)
    report = build_reconcile_report(_run(), checks, "QBO's automated sales tax computed the tax")
    assert report.rows == []
    assert report.notes[0] == (
        "1 document(s) checked (1 invoice(s), 0 bill(s) from purchase orders): 1 in agreement, 0 with drift: "
        "all agree between Autotask and QBO"
    )
    assert report.notes[1] == "invoice totals are compared with tax (QBO's automated sales tax computed the tax)"
