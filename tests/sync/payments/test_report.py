"""The payment sync's report (atqbo.sync.payments.report): marks and warnings, in that order, with
the stretch of QBO changes the run read as its window."""

from __future__ import annotations

from atqbo.sync.payments.model import PaymentScan
from atqbo.sync.payments.report import build_payment_report
from atqbo.sync.payments.tasks import apply_payments, find_payment_changes
from tests.sync.payments import support as ps
from tests.sync.payments.support import make_run, seed_four


def test_pay01_report_lists_marks_and_warnings(sandbox, ledger, qbo):
    seed_four(sandbox, ledger)
    ps.record_payment(qbo, "2026-02-25", [("501", 250.0), ("502", 30.0)])
    run = make_run("scheduled__1")
    scan = find_payment_changes(run)
    rows = apply_payments(run, scan)

    from atqbo.notify import ReportRow

    report = build_payment_report(run, PaymentScan.from_xcom(scan), map(ReportRow.from_dict, rows))

    assert report.email_subject() == "[atqbo] payments: 1 transferred, 1 warning"
    assert [r.outcome for r in report.rows] == ["warning", "transferred"]
    assert report.window.startswith("QBO payments changed ")
    csv = report.to_csv()
    assert "INV-3001" in csv and "partially paid: balance 70.00 of 100.00" in csv
