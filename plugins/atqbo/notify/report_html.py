"""The HTML rendering of a run report: the email a person reads.

It puts what needs a person first (failures, warnings, notes), then what was done; failures and
warnings stand out by colour, and a column empty in every row of a section is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atqbo.money import money_text
from atqbo.notify.html_style import (
    HTML_HEAD,
    S_DRY_RUN,
    S_H1,
    S_H2,
    S_META,
    S_TABLE,
    S_TD,
    S_TD_NUM,
    S_TH,
    S_UL,
    escape,
    escape_lines,
    html_foot,
)
from atqbo.notify.wording import (
    DRY_RUN_BANNER,
    QBO_COMPANY_HEADER,
    SECTION_TITLES,
    count_phrase,
    describe_qbo,
    describe_record,
)

if TYPE_CHECKING:
    from atqbo.notify.report import ReportRow, RunReport

HTML_SECTION_ORDER: tuple[str, ...] = ("failed", "warning", "transferred", "matched", "planned", "voided", "skipped")

REPORT_FOOT_NOTE = "The attached CSV lists every record of this run; the same summary is in the Airflow task log."
# outcome -> (text colour, background)
OUTCOME_COLOURS: dict[str, tuple[str, str]] = {
    "failed": ("#8a1c1c", "#fde8e8"),
    "warning": ("#6b4e00", "#fff4ce"),
    "transferred": ("#1e5631", "#e6f4ea"),
    "voided": ("#1f2933", "#eef0f3"),
    "default": ("#1f2933", "#f4f5f7"),
}
# Column headers of the reason column, by outcome.
REASON_HEADERS = {"failed": "What failed", "warning": "Warning", "skipped": "Why skipped", "planned": "Plan"}


def report_html(report: RunReport) -> str:
    """A self-contained HTML email (inline styles only, every value escaped)."""
    mixed = report.mixes_entities()
    with_qbo_company = report.spans_qbo_companies()  # BEY-07
    parts = [
        HTML_HEAD.format(title=escape(report.title)),
        f'<h1 style="{S_H1}">{escape(report.title)}</h1>',
        f'<p style="{S_META}">Run <b>{escape(report.dag_id)}</b> / {escape(report.run_id)}'
        + (f"<br>Window: {escape(report.window)}" if report.window else "")
        + "</p>",
    ]
    if report.dry_run:
        parts.append(f'<div style="{S_DRY_RUN}">{escape(DRY_RUN_BANNER)}</div>')
    parts.append(html_counts(report))
    if with_qbo_company:
        parts.append(
            f'<p style="{S_META}">Counts by {escape(QBO_COMPANY_HEADER)}: '
            f"{escape(report.describe_counts_by_qbo_company())}</p>"
        )
    sections = list(HTML_SECTION_ORDER)
    # Notes are run-level messages a person should read: after failures and warnings.
    sections.insert(sections.index("warning") + 1, "notes")
    for outcome in sections:
        if outcome == "notes":
            if report.notes:
                items = "".join(f'<li style="margin:2px 0;">{escape_lines(n)}</li>' for n in report.notes)
                parts.append(f'<h2 style="{S_H2}">Notes ({len(report.notes)})</h2><ul style="{S_UL}">{items}</ul>')
            continue
        rows = report.rows_by_outcome(outcome)
        if rows:
            parts.append(html_section(outcome, rows, mixed, with_qbo_company))
    if not report.rows and not report.notes:
        parts.append(f'<p style="{S_META}">No records were looked at in this run.</p>')
    parts.append(html_foot(REPORT_FOOT_NOTE))
    return "".join(parts)


def html_counts(report: RunReport) -> str:
    """The non-zero counts as a row of coloured cells."""
    cells = []
    for outcome, n in report.counts().items():
        if not n:
            continue
        colour = OUTCOME_COLOURS.get(outcome, OUTCOME_COLOURS["default"])
        cells.append(
            f'<td style="padding:6px 12px;border:1px solid #dde2e8;background:{colour[1]};color:{colour[0]};">'
            f'<b style="font-size:18px;">{n}</b><br>{escape(count_phrase(outcome, n).split(" ", 1)[1])}</td>'
        )
    if not cells:
        return f'<p style="{S_META}">Counts: no records</p>'
    return (
        '<table role="presentation" style="border-collapse:collapse;margin:8px 0 16px 0;">'
        f"<tr>{''.join(cells)}</tr></table>"
    )


def html_section(outcome: str, rows: list[ReportRow], with_entity: bool, with_qbo_company: bool = False) -> str:
    """One outcome's title and table; a "QBO company" column when the report spans several (BEY-07)."""
    colour, background = OUTCOME_COLOURS.get(outcome, OUTCOME_COLOURS["default"])
    # (header, cell html, numeric) per column; a column empty in every row of the section is left out.
    columns: list[tuple[str, list[str], bool]] = [
        ("Autotask", [escape(describe_record(r, with_entity)) for r in rows], False),
        ("Company", [escape(r.company) for r in rows], False),
        *([(QBO_COMPANY_HEADER, [escape(r.qbo_company or "") for r in rows], False)] if with_qbo_company else []),
        ("QBO", [escape(describe_qbo(r)) for r in rows], False),
        ("Autotask total", [escape(money_text(r.autotask_total)) for r in rows], True),
        ("QBO total", [html_qbo_total(r) for r in rows], True),
        (REASON_HEADERS.get(outcome, "Note"), [escape_lines(r.reason) for r in rows], False),
        ("How to fix", [escape_lines(r.fix) for r in rows], False),
    ]
    columns = [column for i, column in enumerate(columns) if i == 0 or any(column[1])]
    distinct = outcome in ("failed", "warning")
    header_style = S_TH + (f"background:{background};color:{colour};" if distinct else "background:#f4f5f7;")
    table_style = S_TABLE + (f"border-left:4px solid {colour};" if distinct else "")
    head = "".join(
        f'<th style="{header_style}{"text-align:right;" if numeric else ""}">{escape(name)}</th>'
        for name, _, numeric in columns
    )
    body = []
    for i in range(len(rows)):
        tds = "".join(f'<td style="{S_TD_NUM if numeric else S_TD}">{values[i]}</td>' for _, values, numeric in columns)
        body.append(f"<tr>{tds}</tr>")
    title_style = S_H2.replace("color:#1f2933;", f"color:{colour};") if distinct else S_H2
    return (
        f'<h2 style="{title_style}">{escape(SECTION_TITLES[outcome])} ({len(rows)})</h2>'
        f'<table style="{table_style}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def html_qbo_total(row: ReportRow) -> str:
    """The QBO total, in bold red when it differs from Autotask's."""
    if row.totals_differ():
        return f'<span style="color:#8a1c1c;font-weight:bold;">{escape(money_text(row.qbo_total))}</span>'
    return escape(money_text(row.qbo_total))
