"""The plain-text rendering of a run report: the summary written to the task log.

It follows the order a reader of the log scans a run in (what was done first, then what failed);
a multi-line value stays indented inside its list item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atqbo.notify.wording import (
    DRY_RUN_BANNER,
    NO_QBO_COMPANY,
    QBO_COMPANY_HEADER,
    SECTION_TITLES,
    describe_qbo,
    describe_record,
    describe_totals,
)

if TYPE_CHECKING:
    from atqbo.notify.report import ReportRow, RunReport

TEXT_SECTION_ORDER: tuple[str, ...] = ("transferred", "matched", "planned", "voided", "failed", "warning", "skipped")


def summary_text(report: RunReport) -> str:
    """The plain-text summary written to the task log (same content as the email)."""
    mixed = report.mixes_entities()
    with_qbo_company = report.spans_qbo_companies()  # BEY-07
    lines = [report.title, f"Run: {report.dag_id} / {report.run_id}"]
    if report.window:
        lines.append(f"Window: {report.window}")
    if report.dry_run:
        lines.append(DRY_RUN_BANNER)
    lines.append(f"Counts: {report.describe_counts()}")
    if with_qbo_company:
        lines.append(f"Counts by QBO company: {report.describe_counts_by_qbo_company()}")
    for outcome in TEXT_SECTION_ORDER:
        rows = report.rows_by_outcome(outcome)
        if not rows:
            continue
        lines.append("")
        lines.append(f"{SECTION_TITLES[outcome]} ({len(rows)})")
        for row in rows:
            lines.extend(row_text_lines(row, mixed, with_qbo_company))
    if report.notes:
        lines.append("")
        lines.append(f"Notes ({len(report.notes)})")
        for note in report.notes:
            lines.append(indent_continuations(f"  - {note}", "    "))
    return "\n".join(lines)


def row_text_lines(row: ReportRow, with_entity: bool, with_qbo_company: bool = False) -> list[str]:
    """A row's list item: the record, its company (and QBO company, when the report spans several),
    QBO document, totals and reason; its fix below."""
    line = f"  - {describe_record(row, with_entity)}"
    if row.company:
        line += f", {row.company}"
    if with_qbo_company:
        line += f", {QBO_COMPANY_HEADER} {row.qbo_company}" if row.qbo_company else f", {NO_QBO_COMPANY}"
    qbo = describe_qbo(row)
    if qbo:
        line += f" -> {qbo}"
    totals = describe_totals(row)
    if totals:
        line += f"; {totals}"
    if row.reason:
        line += f": {row.reason}"
    lines = [indent_continuations(line, "    ")]
    if row.fix:
        lines.append(indent_continuations(f"    Fix: {row.fix}", "      "))
    return lines


def indent_continuations(text: str, indent: str) -> str:
    """Keep a multi-line value inside its list item in the log."""
    return text.replace("\r\n", "\n").replace("\n", "\n" + indent)
