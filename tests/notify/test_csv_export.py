"""The report's CSV: header, RFC 4180 quoting read back exactly, and the spreadsheet-formula guard."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from atqbo.notify import CSV_COLUMNS, ReportRow, RunReport
from tests.notify.report_support import invoice_report


def test_inv21_csv_has_the_header_and_one_line_per_row_read_back_exactly():
    report = invoice_report()
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
