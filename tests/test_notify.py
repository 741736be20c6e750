"""Tests of the pure parts of atqbo.notify: report counts, text, CSV and HTML renderings, and how
a failure callback's context and an invalid settings Variable are read. No network, no DB.

Delivery over the sandbox's SMTP server and Autotask API is in test_notify_delivery.py.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from atqbo.notify import (
    CSV_COLUMNS,
    DRY_RUN_BANNER,
    MAX_ERROR_CHARS,
    OUTCOMES,
    ReportRow,
    RunFailure,
    RunReport,
    load_alert_settings,
    report_recipients,
)
from atqbo.settings import Settings
from tests.notify_support import airflow_dag_failure_context

NASTY_COMPANY = "O'Brien & Sons <x>"


def _report(dry_run: bool = False) -> RunReport:
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


# -- counts and did_anything ---------------------------------------------------------------------------


def test_inv21_counts_list_every_outcome_in_order():
    counts = _report().counts()
    assert list(counts) == list(OUTCOMES)
    assert counts == {
        "transferred": 2,
        "matched": 0,
        "planned": 0,
        "voided": 0,
        "failed": 1,
        "warning": 1,
        "skipped": 1,
    }
    assert RunReport("t", "d", "r").counts() == dict.fromkeys(OUTCOMES, 0)


@pytest.mark.parametrize(
    ("outcomes", "notes", "expected"),
    [
        ([], [], False),  # nothing looked at
        (["skipped", "skipped"], [], False),  # only already-synced records: no email
        (["skipped"], ["lookback widened"], True),  # a note is worth an email
        ([], ["settings: invoice sync is disabled"], True),
        (["skipped", "warning"], [], True),
        (["failed"], [], True),
        (["planned"], [], True),  # a dry run's plan is the point of the run
        (["matched"], [], True),
        (["voided"], [], True),
    ],
)
def test_inv21_did_anything_is_any_non_skip_row_or_a_note(outcomes, notes, expected):
    report = RunReport("atqbo invoices", "d", "r", notes=list(notes))
    report.rows = [ReportRow(o, "invoice", i) for i, o in enumerate(outcomes)]  # type: ignore[arg-type]
    assert report.did_anything() is expected


# -- ReportRow round trip -------------------------------------------------------------------------------


def test_report_row_round_trips_through_a_json_dict():
    for row in _report().rows + [ReportRow("skipped", "payment", None)]:
        doc = json.loads(json.dumps(row.to_dict()))  # what staging in the ledger does
        assert ReportRow.from_dict(doc) == row
    assert _report().rows[0].to_dict()["autotask_total"] == "1234.50"  # amounts as exact strings, not floats


# -- plain-text summary ---------------------------------------------------------------------------------


def test_inv21_summary_text_has_header_counts_and_each_section():
    text = _report().summary_text()
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
    report = _report(dry_run=True)
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
    assert "invoice INV-1001" not in _report().summary_text()


def test_inv21_email_subject_and_attachment_name():
    assert _report().email_subject() == "[atqbo] invoices: 2 transferred, 1 failed, 1 warning, 1 skipped"
    assert _report(dry_run=True).email_subject().endswith("1 skipped (dry run)")
    notes_only = RunReport("atqbo invoices", "atqbo_invoices", "r", notes=["a", "b"])
    assert notes_only.email_subject() == "[atqbo] invoices: no records, 2 notes"
    assert _report().csv_filename() == "atqbo-invoices-scheduled__2026-11-21T00-15-00-00-00.csv"


# -- CSV ------------------------------------------------------------------------------------------------


def test_inv21_csv_has_the_header_and_one_line_per_row_read_back_exactly():
    report = _report()
    text = report.to_csv()
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert CSV_COLUMNS == (
        "outcome",
        "entity",
        "autotask_id",
        "reference",
        "company",
        "qbo_id",
        "qbo_number",
        "autotask_total",
        "qbo_total",
        "reason",
        "fix",
    )
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(parsed) == len(report.rows)
    for row, line in zip(report.rows, parsed, strict=True):
        expected = {k: "" if v is None else str(v) for k, v in row.to_dict().items()}
        assert line == expected
    # The quoting itself, byte for byte: commas, doubled quotes, an embedded newline.
    assert '"Acme, Inc."' in text
    assert '"Beta ""Best"" LLC"' in text
    assert '"Invoice total is negative (-50.00)\nQBO cannot hold a negative invoice"' in text
    assert text.count("\r\n") == 1 + len(report.rows)  # CRLF ends records; the embedded newline is left alone


def test_csv_neutralises_spreadsheet_formulas_in_text_columns_only():
    report = RunReport("atqbo invoices", "d", "r")
    report.rows = [
        ReportRow(
            "failed",
            "invoice",
            1,
            "=1+2",
            '=HYPERLINK("http://evil","x")',
            qbo_number="@SUM(A1)",
            autotask_total=Decimal("-5.00"),
            reason="-oops",
            fix="+call",
        ),
    ]
    (line,) = csv.DictReader(io.StringIO(report.to_csv(), newline=""))
    assert line["reference"] == "'=1+2"
    assert line["company"] == '\'=HYPERLINK("http://evil","x")'
    assert line["qbo_number"] == "'@SUM(A1)"
    assert line["reason"] == "'-oops" and line["fix"] == "'+call"
    assert line["autotask_total"] == "-5.00"  # amounts stay numbers


def test_csv_of_an_empty_report_is_the_header_only():
    assert RunReport("t", "d", "r").to_csv() == ",".join(CSV_COLUMNS) + "\r\n"


# -- HTML -----------------------------------------------------------------------------------------------


class _TagChecker(HTMLParser):
    """Collects tags and text; fails on unbalanced tags (void elements excepted)."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(html_text: str) -> _TagChecker:
    checker = _TagChecker()
    checker.feed(html_text)
    checker.close()
    assert checker.stack == [], f"unclosed tags: {checker.stack}"
    return checker


def test_inv21_html_escapes_values_and_stays_well_formed():
    html_text = _report().to_html()
    parsed = _parse(html_text)
    assert "<x>" not in html_text and "Sons <" not in html_text
    assert "O&#x27;Brien &amp; Sons &lt;x&gt;" in html_text
    assert NASTY_COMPANY in "".join(parsed.text)  # a reader sees the name as written
    assert "x" not in parsed.tags  # the company name did not become a tag
    # Self-contained: inline styles only, nothing fetched from elsewhere.
    assert "<style" not in html_text and "<link" not in html_text and "<script" not in html_text
    assert "src=" not in html_text and "http" not in html_text


def test_inv21_html_puts_failures_first_and_marks_them():
    html_text = _report().to_html()
    order = [
        html_text.index(f">{title}<")
        for title in ("Failed (1)", "Warnings (1)", "Notes (1)", "Transferred (2)", "Skipped (1)")
    ]
    assert order == sorted(order)
    failed_section = html_text[html_text.index(">Failed (1)<") : html_text.index(">Warnings (1)<")]
    assert "border-left:4px solid #8a1c1c" in failed_section
    assert ">What failed<" in failed_section and ">How to fix<" in failed_section
    assert "Invoice total is negative (-50.00)<br>QBO cannot hold a negative invoice" in failed_section
    transferred = html_text[html_text.index(">Transferred (2)<") : html_text.index(">Skipped (1)<")]
    assert "border-left" not in transferred
    assert ">How to fix<" not in transferred  # empty columns are left out
    assert "QBO 1038 (id 145)" in transferred
    assert 'font-weight:bold;">10.02</span>' in transferred  # a total that differs stands out


def test_inv21_html_of_a_dry_run_has_the_banner():
    assert DRY_RUN_BANNER in _report(dry_run=True).to_html()
    assert DRY_RUN_BANNER not in _report().to_html()
    empty = RunReport("atqbo invoices", "d", "r").to_html()
    _parse(empty)
    assert "No records were looked at in this run." in empty


# -- recipients -----------------------------------------------------------------------------------------


def test_inv21_recipients_are_report_to_then_extra_without_duplicates():
    settings = Settings.from_dict({"report_to": ["billing@msp.example", "owner@msp.example"]})
    assert report_recipients(settings, ["Billing@MSP.example", " ", "extra@msp.example", "extra@msp.example"]) == [
        "billing@msp.example",
        "owner@msp.example",
        "extra@msp.example",
    ]
    assert report_recipients(Settings.from_dict({})) == []


# -- failure callback context ---------------------------------------------------------------------------


def _full_context(**extra):
    return {**airflow_dag_failure_context(), **extra}


def test_failure_context_of_a_dag_callback_is_read():
    failure = RunFailure.from_context(_full_context())
    assert failure.dag_id == "atqbo_invoices"
    assert failure.run_id == "scheduled__2026-11-21T00:15:00+00:00"
    assert failure.failed_tasks == ("create_invoices",)
    assert failure.describe_reason() == "a task failed"
    assert failure.log_url.endswith(
        "/dags/atqbo_invoices/runs/scheduled__2026-11-21T00%3A15%3A00%2B00%3A00/tasks/create_invoices?try_number=3"
    )
    assert failure.error == ""
    assert failure.alert_key == "atqbo_invoices/scheduled__2026-11-21T00:15:00+00:00"
    assert "Error: Airflow does not pass the error" in "\n".join(failure.summary_lines())


def test_failure_context_without_a_task_instance_is_read():
    # What Airflow passes when no task instance caused the failure (e.g. a run timeout).
    context = {"dag": SimpleNamespace(dag_id="atqbo_invoices"), "run_id": "manual__1", "reason": "timed_out"}
    failure = RunFailure.from_context(context)
    assert (failure.dag_id, failure.run_id, failure.failed_tasks) == ("atqbo_invoices", "manual__1", ())
    assert failure.describe_reason() == "the run took longer than its dagrun_timeout"
    assert "Failed task(s): not known" in failure.summary_lines()


def test_failure_of_a_cleared_run_is_a_new_alert_key():
    context = airflow_dag_failure_context(clear_number=2)
    assert RunFailure.from_context(context).alert_key.endswith("+00:00/clear-2")


def test_failure_error_text_is_capped_and_mapped_tasks_are_named():
    # A task-level on_failure_callback's context carries the exception; the same function serves it.
    context = {**airflow_dag_failure_context(map_index=4), "exception": ValueError("x" * 10_000)}
    failure = RunFailure.from_context(context)
    assert failure.error.startswith("ValueError: xxx")
    assert len(failure.error) <= MAX_ERROR_CHARS and failure.error.endswith("(cut)")
    assert failure.failed_tasks == ("create_invoices[4]",)
    assert len(failure.todo_description()) <= 4000


def test_failure_email_html_escapes_the_error():
    failure = RunFailure.from_context(_full_context(exception=RuntimeError("customer <Acme & Co> refused")))
    html_text = failure.email_html(settings_problem="report_to: got 5")
    _parse(html_text)
    assert "&lt;Acme &amp; Co&gt;" in html_text and "<Acme" not in html_text
    assert "report_to: got 5" in html_text


# -- settings for alerts --------------------------------------------------------------------------------


def test_alert_settings_salvage_valid_keys_of_an_invalid_variable(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_VAR_ATQBO_SETTINGS",
        json.dumps(
            {
                "report_to": ["ops@msp.example"],
                "todo_action_type": 3,
                "todo_resource_id": "me",
                "invoice_lookback_days": "two weeks",
                "smtp_conn_id": "smtp_ops",
            }
        ),
    )
    settings, problem = load_alert_settings()
    assert settings.report_to == ["ops@msp.example"]
    assert settings.smtp_conn_id == "smtp_ops"
    assert settings.todo_action_type == 3
    assert settings.todo_resource_id is None  # invalid on its own: default
    assert "invoice_lookback_days" in problem and "todo_resource_id" in problem


def test_alert_settings_of_unparsable_json_are_the_defaults(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", "{not json")
    settings, problem = load_alert_settings()
    assert settings == Settings.from_dict({})
    assert "not valid JSON" in problem


def test_alert_settings_of_a_valid_variable_have_no_problem(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"report_to": ["ops@msp.example"]}))
    settings, problem = load_alert_settings()
    assert settings.report_to == ["ops@msp.example"] and problem == ""
