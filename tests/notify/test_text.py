"""The plain-text summary of a run report (the task log): header, counts and each section."""

from __future__ import annotations

from decimal import Decimal

from atqbo.notify import DRY_RUN_BANNER, ReportRow, RunReport
from tests.notify.report_support import NASTY_COMPANY, invoice_report


def test_inv21_summary_text_has_header_counts_and_each_section():
    text = invoice_report().summary_text()
    lines = text.splitlines()
    assert lines[:4] == [
        "atqbo invoices",
        "Run: atqbo_invoices / scheduled__2026-11-21T00:15:00+00:00",
        "Window: 2026-11-07 00:00 to 2026-11-21 00:15 UTC",
        "Counts: 2 transferred, 1 failed, 1 warning, 1 skipped",
    ]
    assert DRY_RUN_BANNER not in text
    sections = ["Transferred (2)", "Failed (1)", "Warnings (1)", "Skipped (1)", "Notes (1)"]
    positions = [lines.index(title) for title in sections]
    assert positions == sorted(positions)
    assert (
        "  - INV-1001 (Autotask id 29684001), Acme, Inc. -> QBO 1038 (id 145); "
        "Autotask total 1,234.50, QBO total 1,234.50" in lines
    )
    assert "QBO total 10.02 (differs by 0.02)" in text  # INV-13: a mismatch is visible
    # A multi-line reason stays inside its item; the fix follows on its own line.
    failed = lines.index("Failed (1)")
    assert (
        lines[failed + 1]
        == f"  - INV-1003 (Autotask id 29684003), {NASTY_COMPANY}; Autotask total -50.00: Invoice total is negative "
        "(-50.00)"
    )
    assert lines[failed + 2] == "    QBO cannot hold a negative invoice"
    assert lines[failed + 3] == "    Fix: Issue a credit memo in QBO by hand"
    assert "  - INV-1004 (Autotask id 29684004), Gamma: already transferred (QBO 1030)" in lines
    assert "  - invoice_lookback_days is 30 for this run (trigger form)" in lines


def test_inv21_summary_text_of_a_dry_run_says_nothing_was_written():
    report = invoice_report(dry_run=True)
    report.rows.append(
        ReportRow(
            "planned",
            "invoice",
            29684005,
            "INV-1005",
            "Delta",
            autotask_total=Decimal("99.00"),
            reason="would create a QBO invoice",
        )
    )
    lines = report.summary_text().splitlines()
    assert lines[3] == "DRY RUN: nothing was written"
    assert "Planned (dry run) (1)" in lines
    assert "  - INV-1005 (Autotask id 29684005), Delta; Autotask total 99.00: would create a QBO invoice" in lines


def test_summary_names_the_entity_only_when_a_report_mixes_entities():
    report = RunReport("atqbo tools", "atqbo_tools", "manual__1")
    report.rows = [
        ReportRow("voided", "invoice_void", 7, "INV-7", qbo_number="1007"),
        ReportRow("transferred", "payment", 8),
    ]
    text = report.summary_text()
    assert "  - invoice void INV-7 (Autotask id 7) -> QBO 1007" in text
    assert "  - payment Autotask id 8" in text
    assert "invoice INV-1001" not in invoice_report().summary_text()
