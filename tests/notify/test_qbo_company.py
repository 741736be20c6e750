"""BEY-07 in the reports: a run whose rows span several QBO companies names each row's company (text,
HTML, CSV) and counts each company's rows; a single-company run's report is what it always was."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from decimal import Decimal

from atqbo.notify import CSV_COLUMNS, ReportRow, RunReport
from tests.notify.html_support import parse_html
from tests.notify.report_support import invoice_report


def _in_company(report: RunReport, company_of: dict[int, str | None]) -> RunReport:
    """``report`` with each row's QBO company set from its Autotask id."""
    report.rows = [dataclasses.replace(row, qbo_company=company_of.get(row.autotask_id)) for row in report.rows]
    return report


TWO_COMPANIES = {29684001: "qbo_default", 29684002: "qbo_au", 29684003: "qbo_au", 29684004: "qbo_default"}


def test_bey07_report_row_round_trips_its_qbo_company_and_leaves_it_out_when_unknown():
    row = ReportRow("failed", "invoice", 5, "INV-5", "Acme", autotask_total=Decimal("1.00"), qbo_company="qbo_au")
    doc = json.loads(json.dumps(row.to_dict()))  # what staging in the ledger does
    assert doc["qbo_company"] == "qbo_au"
    assert ReportRow.from_dict(doc) == row
    plain = ReportRow("skipped", "invoice", 6)
    assert "qbo_company" not in plain.to_dict()  # a single-company sync's staged rows are unchanged
    assert ReportRow.from_dict(plain.to_dict()) == plain
    assert ReportRow.from_dict({"outcome": "skipped", "entity": "invoice", "autotask_id": 6}).qbo_company is None


def test_bey07_a_report_of_one_qbo_company_renders_exactly_as_without_companies():
    plain = invoice_report()
    one = _in_company(invoice_report(), dict.fromkeys(TWO_COMPANIES, "qbo_default"))
    assert one.qbo_companies() == ["qbo_default"] and not one.spans_qbo_companies()
    assert one.describe_counts_by_qbo_company() == ""
    assert one.summary_text() == plain.summary_text()
    assert one.to_html() == plain.to_html()
    assert one.to_csv().splitlines()[0] == ",".join(CSV_COLUMNS)
    assert one.email_subject() == plain.email_subject()


def test_bey07_a_report_over_two_qbo_companies_names_each_rows_company_and_counts_each():
    report = _in_company(invoice_report(), TWO_COMPANIES)
    assert report.qbo_companies() == ["qbo_au", "qbo_default"] and report.spans_qbo_companies()
    assert report.describe_counts_by_qbo_company() == (
        "qbo_au: 1 transferred, 1 failed; qbo_default: 1 transferred, 1 warning, 1 skipped"
    )
    assert report.email_subject() == invoice_report().email_subject()  # the subject counts the whole run

    lines = report.summary_text().splitlines()
    assert lines[3:5] == [
        "Counts: 2 transferred, 1 failed, 1 warning, 1 skipped",
        "Counts by QBO company: qbo_au: 1 transferred, 1 failed; qbo_default: 1 transferred, 1 warning, 1 skipped",
    ]
    assert (
        "  - INV-1001 (Autotask id 29684001), Acme, Inc., QBO company qbo_default -> QBO 1038 (id 145); "
        "Autotask total 1,234.50, QBO total 1,234.50" in lines
    )
    assert (
        "  - INV-1004 (Autotask id 29684004), Gamma, QBO company qbo_default: already transferred (QBO 1030)" in lines
    )
    failed = lines.index("Failed (1)")
    assert lines[failed + 1].startswith("  - INV-1003 (Autotask id 29684003), O'Brien & Sons <x>, QBO company qbo_au;")

    html_text = report.to_html()
    parsed = parse_html(html_text)
    assert "Counts by QBO company: qbo_au: 1 transferred, 1 failed; qbo_default: 1 transferred" in "".join(parsed.text)
    for title, company in (("Failed (1)", "qbo_au"), ("Skipped (1)", "qbo_default")):
        start = html_text.index(f">{title}<")
        section = html_text[start : html_text.index("</table>", start)]
        assert ">QBO company<" in section and f">{company}<" in section
    assert html_text.count(">QBO company<") == 4  # every section's table: failed, warning, transferred, skipped

    text = report.to_csv()
    header = text.splitlines()[0].split(",")
    assert header == [*CSV_COLUMNS[:5], "qbo_company", *CSV_COLUMNS[5:]]
    parsed_csv = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [(r["autotask_id"], r["qbo_company"]) for r in parsed_csv] == [
        (str(row.autotask_id), row.qbo_company) for row in report.rows
    ]


def test_bey07_rows_without_a_qbo_company_in_a_report_over_several_say_so():
    """The error-log tool's report: invoice entries name their company, older and PO entries none."""
    report = _in_company(invoice_report(), {29684001: "qbo_default", 29684003: "qbo_au"})
    assert report.describe_counts_by_qbo_company() == (
        "qbo_au: 1 failed; qbo_default: 1 transferred, 1 warning; no QBO company: 1 transferred, 1 skipped"
    )
    assert "  - INV-1004 (Autotask id 29684004), Gamma, no QBO company: already transferred (QBO 1030)" in (
        report.summary_text().splitlines()
    )
    skipped = report.to_html().split(">Skipped (1)<")[1]
    assert ">QBO company<" not in skipped  # a column empty in every row of a section is left out, as always
    (gamma,) = [r for r in csv.DictReader(io.StringIO(report.to_csv(), newline="")) if r["reference"] == "INV-1004"]
    assert gamma["qbo_company"] == ""


def test_bey07_an_install_of_several_companies_names_the_company_when_a_run_has_rows_of_one():
    """A payment run whose changes were all in qbo_au still says so: the install has several companies
    (``RunInfo.publish`` sets ``several_qbo_companies``)."""
    report = _in_company(invoice_report(), dict.fromkeys(TWO_COMPANIES, "qbo_au"))
    assert not report.spans_qbo_companies()
    report.several_qbo_companies = True
    assert report.spans_qbo_companies()
    assert "qbo_au" in report.summary_text() and "qbo_company" in report.to_csv().splitlines()[0]
    assert not dataclasses.replace(
        invoice_report(), several_qbo_companies=True
    ).spans_qbo_companies()  # no company named
