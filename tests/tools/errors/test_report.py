"""TOOL-08's report: a failed row per open entry, a note per retry and per id without an entry."""

from __future__ import annotations

from atqbo.tools.errors.entries import select_entries
from atqbo.tools.errors.report import build_error_log_report, format_entries
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


def test_bey07_the_error_logs_list_and_report_name_each_entrys_qbo_company(ledger, failures):
    au = ledger.get_error(
        ledger.log_error("invoice", 105, "no QBO tax code 'GST'", fix="create it", qbo_company="qbo_au")
    )
    us = ledger.get_error(ledger.log_error("invoice", 106, "negative total", qbo_company="qbo_default"))
    entries = select_entries(ledger)
    assert {e["id"]: e["qbo_company"] for e in entries if e["qbo_company"]} == {
        au["id"]: "qbo_au",
        us["id"]: "qbo_default",
    }
    log = format_entries(entries, "entity all")
    assert f"  #{au['id']} invoice, Autotask id 105, QBO company qbo_au: 1 attempt(s)" in log
    assert f"  #{failures['payment']['id']} payment, Autotask id {PAYMENT}: 1 attempt(s)" in log  # none known

    report = build_error_log_report("atqbo_retry_errors", "manual__1", entries, "entity all")
    assert {row.autotask_id: row.qbo_company for row in report.rows}[105] == "qbo_au"
    text = report.summary_text()
    assert "Counts by QBO company: qbo_au: 1 failed; qbo_default: 1 failed; no QBO company: 5 failed" in text
    assert ", QBO company qbo_au: no QBO tax code 'GST'" in text
    assert report.to_csv().splitlines()[0].startswith("outcome,entity,autotask_id,reference,company,qbo_company,")


def test_bey07_the_error_logs_report_of_one_qbo_company_has_no_company_column(ledger, failures):
    ledger.log_error("invoice", 105, "negative total", qbo_company="qbo_default")
    report = build_error_log_report("atqbo_retry_errors", "manual__1", select_entries(ledger), "entity all")
    assert "QBO company" not in report.summary_text() and "qbo_company" not in report.to_csv()
    assert "Autotask id 105, QBO company qbo_default" in format_entries(select_entries(ledger), "entity all")
