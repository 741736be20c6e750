"""TOOL-08's report: a failed row per open entry, a note per retry and per id without an entry."""

from __future__ import annotations

from atqbo.tools.errors.entries import select_entries
from atqbo.tools.errors.report import build_error_log_report
from atqbo.tools.errors.retry import retry_entries
from tests.tools.errors.errors_support import PAYMENT, settings_with


def test_tool08_report_has_a_failed_row_per_open_entry_and_a_note_per_retry(ledger, failures):
    chosen = [failures["purchase_order"]]
    outcomes = retry_entries(ledger, settings_with(), [failures["payment"]], autotask=None)
    entries = select_entries(ledger)
    report = build_error_log_report("atqbo_retry_errors", "manual__1", entries, "entity all", outcomes, [5])
    assert report.always_email and report.counts()["failed"] == len(failures)
    rows = {row.reference.split(" ")[1]: row for row in report.rows}
    payment = rows[f"#{failures['payment']['id']}"]
    assert (payment.entity, payment.autotask_id, payment.reason, payment.fix) == (
        "payment",
        PAYMENT,
        "it failed",
        "fix it",
    )
    assert "retry requested" in payment.reference and "retry requested" not in rows[f"#{chosen[0]['id']}"].reference
    assert report.notes[0] == f"Open error-log entries: {len(failures)} (entity all)."
    assert report.notes[1].startswith(f"Retry of payment {PAYMENT} (error #{failures['payment']['id']}): re-queued")
    assert "No open error-log entry (entity all) for Autotask id(s) 5" in report.notes[2]
    csv = report.to_csv()
    assert "multi-currency is on in Autotask and off in QBO" in csv  # the run-level entry is listed too
