"""Helpers of the report tests: a sample invoice report whose rows exercise every rendering."""

from __future__ import annotations

from decimal import Decimal

from atqbo.notify import ReportRow, RunReport

NASTY_COMPANY = "O'Brien & Sons <x>"


def invoice_report(dry_run: bool = False) -> RunReport:
    """An invoice run: two transfers (one whose totals differ), a failure, a warning, a skip and a note."""
    report = RunReport(
        title="atqbo invoices",
        dag_id="atqbo_invoices",
        run_id="scheduled__2026-11-21T00:15:00+00:00",
        window="2026-11-07 00:00 to 2026-11-21 00:15 UTC",
        dry_run=dry_run,
    )
    report.rows += [
        ReportRow(
            "transferred",
            "invoice",
            29684001,
            "INV-1001",
            "Acme, Inc.",
            "145",
            "1038",
            Decimal("1234.50"),
            Decimal("1234.50"),
        ),
        ReportRow(
            "transferred",
            "invoice",
            29684002,
            "INV-1002",
            'Beta "Best" LLC',
            "146",
            "1039",
            Decimal("10.00"),
            Decimal("10.02"),
        ),
        ReportRow(
            "failed",
            "invoice",
            29684003,
            "INV-1003",
            NASTY_COMPANY,
            autotask_total=Decimal("-50.00"),
            reason="Invoice total is negative (-50.00)\nQBO cannot hold a negative invoice",
            fix="Issue a credit memo in QBO by hand",
        ),
        ReportRow("warning", "invoice", 29684001, "INV-1001", "Acme, Inc.", reason="Payment terms 'Net 45' not in QBO"),
        ReportRow("skipped", "invoice", 29684004, "INV-1004", "Gamma", reason="already transferred (QBO 1030)"),
    ]
    report.notes.append("invoice_lookback_days is 30 for this run (trigger form)")
    return report
