"""CSV for reports: the one writer (``csv_table``) of the report's attachment and the tools' own
tables (item comparison, reconciliation), with the spreadsheet-formula guard.

RFC 4180 quoting and CRLF line ends. Free-text cells from Autotask and QBO users that start like
a formula ("=HYPERLINK(...)" as a company name) get a leading apostrophe, OWASP's advice for CSV
injection; ids and amounts are left as they are. Excel opens a UTF-8 CSV as the local code page
unless it starts with a byte-order mark: the email attachment carries one (``CSV_ATTACHMENT_BOM``),
the text itself does not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atqbo.notify.report import RunReport

CSV_COLUMNS: tuple[str, ...] = (
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
# BEY-07: the column a report whose rows span several QBO companies has after "company".
QBO_COMPANY_COLUMN = "qbo_company"
# The report's free-text columns (come from Autotask or QBO users).
REPORT_TEXT_COLUMNS = frozenset({"reference", "company", "qbo_number", "reason", "fix"})
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_ATTACHMENT_BOM = "\ufeff"


def report_csv(report: RunReport) -> str:
    """One line per row under a header (``CSV_COLUMNS``; with ``qbo_company`` after ``company`` when
    the rows span several QBO companies, BEY-07), RFC 4180 quoting and CRLF line ends."""
    columns = list(CSV_COLUMNS)
    if report.spans_qbo_companies():
        columns.insert(columns.index("company") + 1, QBO_COMPANY_COLUMN)
    return csv_table(columns, (row.to_dict() for row in report.rows), REPORT_TEXT_COLUMNS)


def csv_table(columns: Iterable[str], rows: Iterable[Mapping[str, Any]], text_columns: Iterable[str]) -> str:
    """A CSV for a report: a header of ``columns``, one line per row (missing cells empty), RFC 4180
    quoting and CRLF line ends. A cell of ``text_columns`` (free text from Autotask and QBO users)
    that starts like a formula gets a leading apostrophe, so Excel shows "=HYPERLINK(...)" as text."""
    columns, text_columns = list(columns), frozenset(text_columns)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(row.get(column), column in text_columns) for column in columns])
    return buffer.getvalue()


def csv_cell(value: Any, is_text: bool) -> str:
    text = "" if value is None else str(value)
    if is_text and text.startswith(CSV_FORMULA_START):
        return "'" + text
    return text
