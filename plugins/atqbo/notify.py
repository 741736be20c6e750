"""Reports and alerts: what a run did, by email (HTML + CSV) and in the task log; Autotask to-dos
and an email when a run cannot proceed at all.

Every sync builds a ``RunReport`` of ``ReportRow``s (one per record it looked at) and calls
``deliver_report`` (INV-21). A DAG's ``on_failure_callback`` is ``notify_run_failure`` (PO-08
for whole runs): it emails the report recipients and creates one Autotask to-do under the local
organization (company 0), once per failed run.

The vendor apps mailed their reports to the QBO admin's mailbox; atqbo mails ``report_to`` (plus
per-run extra recipients) through an Airflow SMTP connection, and always writes the same summary
to the task log, so a report is never lost when there is nobody to mail it to or mail fails.
"""

from __future__ import annotations

import csv
import html
import io
import json
import logging
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from atqbo.exceptions import AtqboError
from atqbo.money import money_text
from atqbo.settings import SPEC, VARIABLE_NAME, Settings

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger

log = logging.getLogger(__name__)
# The report itself goes to its own logger, so a deployment can route or silence it separately.
report_log = logging.getLogger("atqbo.report")

Outcome = Literal["transferred", "matched", "skipped", "failed", "warning", "planned", "voided"]

# Every outcome, in the order counts and subjects list them.
OUTCOMES: tuple[str, ...] = ("transferred", "matched", "planned", "voided", "failed", "warning", "skipped")

# Section titles. The plain-text summary follows the order a reader of the log scans a run in;
# the email puts what needs a person (failures, warnings, notes) first.
SECTION_TITLES: dict[str, str] = {
    "transferred": "Transferred",
    "matched": "Matched (already in QBO)",
    "planned": "Planned (dry run)",
    "voided": "Voided",
    "failed": "Failed",
    "warning": "Warnings",
    "skipped": "Skipped",
}
TEXT_SECTION_ORDER: tuple[str, ...] = ("transferred", "matched", "planned", "voided", "failed", "warning", "skipped")
HTML_SECTION_ORDER: tuple[str, ...] = ("failed", "warning", "transferred", "matched", "planned", "voided", "skipped")

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
# Free-text columns that come from Autotask or QBO users. A cell starting with one of these
# characters is a formula to Excel ("=HYPERLINK(...)" as a company name), so it gets a leading
# apostrophe (OWASP's advice for CSV injection). Ids and amounts are left as they are.
_CSV_TEXT_COLUMNS = frozenset({"reference", "company", "qbo_number", "reason", "fix"})
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel opens a UTF-8 CSV as the local code page unless it starts with a byte-order mark, and the
# reports are read in Excel: the attachment carries one (``to_csv`` itself does not).
CSV_ATTACHMENT_BOM = "\ufeff"

DRY_RUN_BANNER = "DRY RUN: nothing was written"
DEFAULT_FROM_EMAIL = "atqbo@localhost"  # when the SMTP connection has no ``from_email`` extra

# Failure alerts
MAX_ERROR_CHARS = 2000  # error text in an alert; the task log has the rest
MAX_TODO_DESCRIPTION_CHARS = 4000  # Autotask allows 32000; a to-do is read on a screen
TODO_DURATION = timedelta(hours=1)
LOCAL_COMPANY_ID = 0  # Autotask's local organization, where the vendor app put its error to-dos
ALERT_AUTOTASK_RETRIES = 2  # a callback should finish quickly; the email has gone out already
ALERT_STAGE_RUN_KEY = "alerts"  # ledger staging: run_key "alerts", kind "run_failure", item "dag_id/run_id"
ALERT_STAGE_KIND = "run_failure"
ALERT_LOCK_TTL_S = 600.0
# What a failure alert needs from the settings; salvaged one by one when the Variable is invalid.
ALERT_SETTING_KEYS: tuple[str, ...] = (
    "autotask_conn_id",
    "state_conn_id",
    "smtp_conn_id",
    "report_to",
    "autotask_budget_share",
    "todo_action_type",
    "todo_resource_id",
)
# Airflow's reasons for a failed run (models/dagrun.py, jobs/scheduler_job_runner.py), in words.
FAILURE_REASONS: dict[str, str] = {
    "task_failure": "a task failed",
    "all_tasks_deadlocked": "no task could run any more (deadlock: upstream tasks failed or were removed)",
    "timed_out": "the run took longer than its dagrun_timeout",
}


# -- the report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """One record's outcome. ``reference`` is what a person recognises (an invoice or PO number)."""

    outcome: Outcome
    entity: str  # "invoice", "invoice_void", "payment", "purchase_order"
    autotask_id: int | None
    reference: str = ""
    company: str = ""
    qbo_id: str | None = None
    qbo_number: str | None = None
    autotask_total: Decimal | None = None
    qbo_total: Decimal | None = None
    reason: str = ""  # why skipped / what failed / what was planned
    fix: str = ""  # how to fix a failure

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("autotask_total", "qbo_total"):
            if out[key] is not None:
                out[key] = str(out[key])
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> ReportRow:
        doc = dict(doc)
        for key in ("autotask_total", "qbo_total"):
            if doc.get(key) is not None:
                doc[key] = Decimal(str(doc[key]))
        return cls(**doc)

    def totals_differ(self) -> bool:
        return self.autotask_total is not None and self.qbo_total is not None and self.autotask_total != self.qbo_total


@dataclass
class RunReport:
    title: str  # e.g. "atqbo invoices"
    dag_id: str
    run_id: str
    window: str = ""  # human-readable window, e.g. "2026-11-07 00:00 to 2026-11-21 00:15 UTC"
    dry_run: bool = False
    rows: list[ReportRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # run-level messages (settings, warnings)
    # Further CSV attachments, file name -> CSV text (a tool's own table, e.g. the item comparison).
    attachments: dict[str, str] = field(default_factory=dict)
    # A tool someone triggered answers even when there is nothing to say ("no invoices to pick up").
    always_email: bool = False
    # What the subject says instead of the row counts, for a report whose rows are only the exceptions
    # (the reconciliation: "43 checked, all agree").
    headline: str = ""

    def did_anything(self) -> bool:
        """True when there is something worth an email: any row other than a plain skip, or a note."""
        return self.always_email or bool(self.notes) or any(row.outcome != "skipped" for row in self.rows)

    def counts(self) -> dict[str, int]:
        """Rows per outcome, every outcome present (zeros included), in ``OUTCOMES`` order."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for row in self.rows:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        return counts

    def describe_counts(self) -> str:
        """``12 transferred, 1 failed, 3 skipped``: the non-zero counts, or ``no records``."""
        parts = [_count_phrase(outcome, n) for outcome, n in self.counts().items() if n]
        return ", ".join(parts) if parts else "no records"

    def rows_by_outcome(self, outcome: str) -> list[ReportRow]:
        return [row for row in self.rows if row.outcome == outcome]

    def email_subject(self) -> str:
        """``[atqbo] invoices: 12 transferred, 1 failed (dry run)``."""
        name = re.sub(r"^atqbo[\s_-]+", "", self.title.strip(), flags=re.IGNORECASE) or self.title
        subject = f"[atqbo] {name}: {self.headline or self.describe_counts()}"
        if self.notes and not self.rows and not self.headline:
            subject += f", {len(self.notes)} note{'s' if len(self.notes) != 1 else ''}"
        if self.dry_run:
            subject += " (dry run)"
        return subject

    def csv_filename(self) -> str:
        """``atqbo-invoices-<run id>.csv``, safe as a file and attachment name."""
        return f"{_slug(self.title)}-{_slug(self.run_id)}.csv"

    # -- renderings --------------------------------------------------------------------------

    def summary_text(self) -> str:
        """The plain-text summary written to the task log (same content as the email)."""
        mixed = self._mixed_entities()
        lines = [self.title, f"Run: {self.dag_id} / {self.run_id}"]
        if self.window:
            lines.append(f"Window: {self.window}")
        if self.dry_run:
            lines.append(DRY_RUN_BANNER)
        lines.append(f"Counts: {self.describe_counts()}")
        for outcome in TEXT_SECTION_ORDER:
            rows = self.rows_by_outcome(outcome)
            if not rows:
                continue
            lines.append("")
            lines.append(f"{SECTION_TITLES[outcome]} ({len(rows)})")
            for row in rows:
                lines.extend(_row_text_lines(row, mixed))
        if self.notes:
            lines.append("")
            lines.append(f"Notes ({len(self.notes)})")
            for note in self.notes:
                lines.append(_indent_continuations(f"  - {note}", "    "))
        return "\n".join(lines)

    def to_csv(self) -> str:
        """One line per row under a header (``CSV_COLUMNS``), RFC 4180 quoting and CRLF line ends."""
        return csv_table(CSV_COLUMNS, (row.to_dict() for row in self.rows), _CSV_TEXT_COLUMNS)

    def to_html(self) -> str:
        """A self-contained HTML email (inline styles only, every value escaped)."""
        mixed = self._mixed_entities()
        parts = [
            _HTML_HEAD.format(title=_e(self.title)),
            f'<h1 style="{_S_H1}">{_e(self.title)}</h1>',
            f'<p style="{_S_META}">Run <b>{_e(self.dag_id)}</b> / {_e(self.run_id)}'
            + (f"<br>Window: {_e(self.window)}" if self.window else "")
            + "</p>",
        ]
        if self.dry_run:
            parts.append(f'<div style="{_S_DRY_RUN}">{_e(DRY_RUN_BANNER)}</div>')
        parts.append(self._html_counts())
        sections = list(HTML_SECTION_ORDER)
        # Notes are run-level messages a person should read: after failures and warnings.
        sections.insert(sections.index("warning") + 1, "notes")
        for outcome in sections:
            if outcome == "notes":
                if self.notes:
                    items = "".join(f'<li style="margin:2px 0;">{_e_multiline(n)}</li>' for n in self.notes)
                    parts.append(f'<h2 style="{_S_H2}">Notes ({len(self.notes)})</h2><ul style="{_S_UL}">{items}</ul>')
                continue
            rows = self.rows_by_outcome(outcome)
            if rows:
                parts.append(_html_section(outcome, rows, mixed))
        if not self.rows and not self.notes:
            parts.append(f'<p style="{_S_META}">No records were looked at in this run.</p>')
        parts.append(_html_foot(_REPORT_FOOT_NOTE))
        return "".join(parts)

    def _html_counts(self) -> str:
        cells = []
        for outcome, n in self.counts().items():
            if not n:
                continue
            colour = _OUTCOME_COLOURS.get(outcome, _OUTCOME_COLOURS["default"])
            cells.append(
                f'<td style="padding:6px 12px;border:1px solid #dde2e8;background:{colour[1]};color:{colour[0]};">'
                f'<b style="font-size:18px;">{n}</b><br>{_e(_count_phrase(outcome, n).split(" ", 1)[1])}</td>'
            )
        if not cells:
            return f'<p style="{_S_META}">Counts: no records</p>'
        return (
            '<table role="presentation" style="border-collapse:collapse;margin:8px 0 16px 0;">'
            f"<tr>{''.join(cells)}</tr></table>"
        )

    def _mixed_entities(self) -> bool:
        return len({row.entity for row in self.rows}) > 1


def _count_phrase(outcome: str, n: int) -> str:
    word = "warning" + ("s" if n != 1 else "") if outcome == "warning" else outcome
    return f"{n} {word}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-.") or "report"


def _entity_label(entity: str) -> str:
    return entity.replace("_", " ")


def _describe_record(row: ReportRow, with_entity: bool) -> str:
    """``INV-1001 (Autotask id 12345)``; the entity in front when the report mixes entities."""
    if row.reference and row.autotask_id is not None:
        text = f"{row.reference} (Autotask id {row.autotask_id})"
    elif row.reference:
        text = row.reference
    elif row.autotask_id is not None:
        text = f"Autotask id {row.autotask_id}"
    else:
        text = "(no record)"
    return f"{_entity_label(row.entity)} {text}" if with_entity else text


def _describe_qbo(row: ReportRow) -> str:
    if row.qbo_number and row.qbo_id:
        return f"QBO {row.qbo_number} (id {row.qbo_id})"
    if row.qbo_number:
        return f"QBO {row.qbo_number}"
    if row.qbo_id:
        return f"QBO id {row.qbo_id}"
    return ""


def _describe_totals(row: ReportRow) -> str:
    parts = []
    if row.autotask_total is not None:
        parts.append(f"Autotask total {money_text(row.autotask_total)}")
    if row.qbo_total is not None:
        parts.append(f"QBO total {money_text(row.qbo_total)}")
    text = ", ".join(parts)
    if row.totals_differ():
        text += f" (differs by {money_text(row.qbo_total - row.autotask_total)})"  # type: ignore[operator]
    return text


def _row_text_lines(row: ReportRow, with_entity: bool) -> list[str]:
    line = f"  - {_describe_record(row, with_entity)}"
    if row.company:
        line += f", {row.company}"
    qbo = _describe_qbo(row)
    if qbo:
        line += f" -> {qbo}"
    totals = _describe_totals(row)
    if totals:
        line += f"; {totals}"
    if row.reason:
        line += f": {row.reason}"
    lines = [_indent_continuations(line, "    ")]
    if row.fix:
        lines.append(_indent_continuations(f"    Fix: {row.fix}", "      "))
    return lines


def _indent_continuations(text: str, indent: str) -> str:
    """Keep a multi-line value inside its list item in the log."""
    return text.replace("\r\n", "\n").replace("\n", "\n" + indent)


def csv_table(columns: Iterable[str], rows: Iterable[Mapping[str, Any]], text_columns: Iterable[str]) -> str:
    """A CSV for a report: a header of ``columns``, one line per row (missing cells empty), RFC 4180
    quoting and CRLF line ends. A cell of ``text_columns`` (free text from Autotask and QBO users)
    that starts like a formula gets a leading apostrophe, so Excel shows "=HYPERLINK(...)" as text."""
    columns, text_columns = list(columns), frozenset(text_columns)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column), column in text_columns) for column in columns])
    return buffer.getvalue()


def _csv_cell(value: Any, is_text: bool) -> str:
    text = "" if value is None else str(value)
    if is_text and text.startswith(_CSV_FORMULA_START):
        return "'" + text
    return text


# -- HTML pieces (inline styles only: mail clients drop <style> blocks and external sheets) ----------

_HTML_HEAD = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>'
    '<body style="margin:0;padding:16px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;'
    'font-size:14px;line-height:1.4;color:#1f2933;">'
    '<div style="max-width:1000px;margin:0 auto;background:#ffffff;border:1px solid #dde2e8;padding:20px;">'
)


def _html_foot(note: str) -> str:
    return (
        f'<p style="margin:20px 0 0 0;font-size:12px;color:#6b7785;">Sent by atqbo. {_e(note)}</p></div></body></html>'
    )


_REPORT_FOOT_NOTE = "The attached CSV lists every record of this run; the same summary is in the Airflow task log."
_S_H1 = "margin:0 0 4px 0;font-size:20px;color:#1f2933;"
_S_H2 = "margin:20px 0 6px 0;font-size:16px;color:#1f2933;"
_S_META = "margin:0 0 12px 0;color:#52606d;"
_S_UL = "margin:0;padding-left:20px;"
_S_DRY_RUN = (
    "margin:0 0 12px 0;padding:10px 12px;background:#fff4ce;border:1px solid #e0b400;color:#5c4400;font-weight:bold;"
)
_S_TABLE = "border-collapse:collapse;width:100%;margin:0 0 8px 0;"
_S_TH = "text-align:left;padding:6px 8px;border:1px solid #dde2e8;font-size:13px;"
_S_TD = "text-align:left;vertical-align:top;padding:6px 8px;border:1px solid #dde2e8;"
_S_TD_NUM = "text-align:right;vertical-align:top;padding:6px 8px;border:1px solid #dde2e8;white-space:nowrap;"
# outcome -> (text colour, background)
_OUTCOME_COLOURS: dict[str, tuple[str, str]] = {
    "failed": ("#8a1c1c", "#fde8e8"),
    "warning": ("#6b4e00", "#fff4ce"),
    "transferred": ("#1e5631", "#e6f4ea"),
    "voided": ("#1f2933", "#eef0f3"),
    "default": ("#1f2933", "#f4f5f7"),
}
# Column headers of the reason column, by outcome.
_REASON_HEADERS = {"failed": "What failed", "warning": "Warning", "skipped": "Why skipped", "planned": "Plan"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _e_multiline(value: Any) -> str:
    return _e(value).replace("\r\n", "\n").replace("\n", "<br>")


def _html_section(outcome: str, rows: list[ReportRow], with_entity: bool) -> str:
    colour, background = _OUTCOME_COLOURS.get(outcome, _OUTCOME_COLOURS["default"])
    # (header, cell html, numeric) per column; a column empty in every row of the section is left out.
    columns: list[tuple[str, list[str], bool]] = [
        ("Autotask", [_e(_describe_record(r, with_entity)) for r in rows], False),
        ("Company", [_e(r.company) for r in rows], False),
        ("QBO", [_e(_describe_qbo(r)) for r in rows], False),
        ("Autotask total", [_e(money_text(r.autotask_total)) for r in rows], True),
        ("QBO total", [_html_qbo_total(r) for r in rows], True),
        (_REASON_HEADERS.get(outcome, "Note"), [_e_multiline(r.reason) for r in rows], False),
        ("How to fix", [_e_multiline(r.fix) for r in rows], False),
    ]
    columns = [column for i, column in enumerate(columns) if i == 0 or any(column[1])]
    distinct = outcome in ("failed", "warning")
    header_style = _S_TH + (f"background:{background};color:{colour};" if distinct else "background:#f4f5f7;")
    table_style = _S_TABLE + (f"border-left:4px solid {colour};" if distinct else "")
    head = "".join(
        f'<th style="{header_style}{"text-align:right;" if numeric else ""}">{_e(name)}</th>'
        for name, _, numeric in columns
    )
    body = []
    for i in range(len(rows)):
        tds = "".join(
            f'<td style="{_S_TD_NUM if numeric else _S_TD}">{values[i]}</td>' for _, values, numeric in columns
        )
        body.append(f"<tr>{tds}</tr>")
    title_style = _S_H2.replace("color:#1f2933;", f"color:{colour};") if distinct else _S_H2
    return (
        f'<h2 style="{title_style}">{_e(SECTION_TITLES[outcome])} ({len(rows)})</h2>'
        f'<table style="{table_style}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _html_qbo_total(row: ReportRow) -> str:
    if row.totals_differ():
        return f'<span style="color:#8a1c1c;font-weight:bold;">{_e(money_text(row.qbo_total))}</span>'
    return _e(money_text(row.qbo_total))


# -- email ------------------------------------------------------------------------------------------


def report_recipients(settings: Settings, extra_recipients: Iterable[str] | None = None) -> list[str]:
    """``report_to`` then the extra recipients, blanks dropped, de-duplicated ignoring case."""
    seen: set[str] = set()
    out = []
    for address in [*settings.report_to, *(extra_recipients or [])]:
        address = (address or "").strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


def send_html_email(
    smtp_conn_id: str, to: list[str], subject: str, html_content: str, files: list[str] | None = None
) -> None:
    """Send one HTML email through an Airflow SMTP connection.

    ``from_email`` is passed explicitly (the connection's ``from_email`` extra, else
    ``DEFAULT_FROM_EMAIL``) rather than left to Airflow's mail defaults (apache/airflow#69262).
    Raises whatever the SMTP hook raises; callers wrap it with the fix.
    """
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=smtp_conn_id) as hook:
        hook.send_email_smtp(
            to=to,
            subject=subject,
            html_content=html_content,
            from_email=hook.from_email or DEFAULT_FROM_EMAIL,
            files=files,
        )


def _smtp_error(smtp_conn_id: str, what: str, exc: BaseException, then: str) -> AtqboError:
    return AtqboError(
        f"could not email {what} through the Airflow SMTP connection {smtp_conn_id!r} "
        f"({type(exc).__name__}: {exc}). Fix: check that connection's host, port, login and its "
        f"disable_ssl/disable_tls extras (or set smtp_conn_id in the {VARIABLE_NAME} Variable to a working "
        f"SMTP connection); {then}"
    )


def deliver_report(
    report: RunReport,
    settings: Settings,
    extra_recipients: list[str] | None = None,
    *,
    silent: bool = False,
) -> bool:
    """Log the summary; email it (HTML + CSV attachment) to report_to + extra recipients when the
    run did anything. Returns whether an email was sent.

    ``silent`` logs the report without emailing it (a caller that mails its own way).
    The summary is logged before any mail is attempted, so an SMTP failure (raised as
    :class:`AtqboError` naming the connection and the fix) never loses the report.
    """
    report_log.info("%s", report.summary_text())
    if not report.did_anything():
        report_log.info(
            "No report email for %s run %s: it only skipped records that needed nothing.", report.dag_id, report.run_id
        )
        return False
    if silent:
        report_log.info("Report email for %s run %s not sent: silenced by the caller.", report.dag_id, report.run_id)
        return False
    recipients = report_recipients(settings, extra_recipients)
    if not recipients:
        report_log.info(
            "Reports are only logged: no recipients. Set report_to in the %s Variable to receive them by email.",
            VARIABLE_NAME,
        )
        return False
    with tempfile.TemporaryDirectory(prefix="atqbo-report-") as tmp:
        files = []
        for name, text in {report.csv_filename(): report.to_csv(), **report.attachments}.items():
            attachment = Path(tmp) / name
            attachment.write_text(CSV_ATTACHMENT_BOM + text, encoding="utf-8", newline="")
            files.append(str(attachment))
        try:
            send_html_email(settings.smtp_conn_id, recipients, report.email_subject(), report.to_html(), files)
        except Exception as exc:  # smtplib, socket and Airflow errors alike: the fix is the same
            raise _smtp_error(
                settings.smtp_conn_id,
                f"the {report.title} report",
                exc,
                "then clear this task to send it again. The full report is in this task's log above",
            ) from exc
    report_log.info(
        "Report emailed to %s (attachments: %s).",
        ", ".join(recipients),
        ", ".join([report.csv_filename(), *report.attachments]),
    )
    return True


# -- run failure alerts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFailure:
    """What a failure callback knows about a failed run, in plain values."""

    dag_id: str
    run_id: str
    reason: str = ""  # Airflow's reason: task_failure, all_tasks_deadlocked, timed_out
    failed_tasks: tuple[str, ...] = ()
    error: str = ""  # the exception text when the context carries one (task-level callbacks)
    log_url: str = ""
    clear_number: int = 0  # how often the run was cleared; a cleared run that fails again is a new failure

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> RunFailure:
        """Read a DAG (or task) failure callback's context.

        Airflow 3.3 passes a DAG ``on_failure_callback`` either the full template context of the
        last failed task instance (``dag``, ``dag_run``, ``run_id``, ``ti``/``task_instance``, ...)
        plus ``reason``, or, when there is no such task instance, only ``dag``, ``run_id`` and
        ``reason`` (dag_processing/processor.py ``_execute_dag_callbacks``). Neither carries the
        exception; a task-level callback's context does (``exception``).
        """
        dag_run = context.get("dag_run")
        ti = context.get("ti") or context.get("task_instance")
        dag = context.get("dag")
        dag_id = _first_attr("dag_id", dag_run, dag, ti) or "unknown DAG"
        run_id = str(context.get("run_id") or _first_attr("run_id", dag_run, ti) or "unknown run")
        exception = context.get("exception")
        error = (
            f"{type(exception).__name__}: {exception}" if isinstance(exception, BaseException) else str(exception or "")
        )
        log_url = ""
        if ti is not None:
            try:
                log_url = str(getattr(ti, "log_url", "") or "")
            except Exception:  # the property reads Airflow config; a missing one only costs the link
                log_url = ""
        return cls(
            dag_id=str(dag_id),
            run_id=run_id,
            reason=str(context.get("reason") or ""),
            failed_tasks=tuple(_failed_task_ids(str(dag_id), run_id, ti)),
            error=_cap(error, MAX_ERROR_CHARS),
            log_url=log_url,
            clear_number=int(getattr(dag_run, "clear_number", 0) or 0),
        )

    @property
    def alert_key(self) -> str:
        """The ledger key of this failure's alerts: one email and one to-do per key."""
        key = f"{self.dag_id}/{self.run_id}"
        return f"{key}/clear-{self.clear_number}" if self.clear_number else key

    def describe_reason(self) -> str:
        return FAILURE_REASONS.get(self.reason, self.reason or "the run failed")

    def summary_lines(self) -> list[str]:
        lines = [
            f"DAG: {self.dag_id}",
            f"Run: {self.run_id}",
            f"Why: {self.describe_reason()}",
            f"Failed task(s): {', '.join(self.failed_tasks) if self.failed_tasks else 'not known'}",
        ]
        if self.error:
            lines.append(f"Error: {self.error}")
        else:
            lines.append("Error: Airflow does not pass the error to a DAG's failure callback; see the task log.")
        if self.log_url:
            lines.append(f"Task log: {self.log_url}")
        return lines

    def email_subject(self) -> str:
        return f"[atqbo] {self.dag_id} run failed"

    def email_html(self, settings_problem: str = "") -> str:
        rows = [
            ("DAG", _e(self.dag_id)),
            ("Run", _e(self.run_id)),
            ("Why", _e(self.describe_reason())),
            ("Failed task(s)", _e(", ".join(self.failed_tasks)) if self.failed_tasks else "not known"),
            (
                "Error",
                '<pre style="margin:0;white-space:pre-wrap;font-family:Consolas,monospace;font-size:12px;">'
                f"{_e(self.error)}</pre>"
                if self.error
                else "Airflow does not pass the error to a DAG's failure callback; the task log has it.",
            ),
        ]
        if self.log_url:
            rows.append(("Task log", f'<a href="{_e(self.log_url)}" style="color:#1a56db;">{_e(self.log_url)}</a>'))
        if settings_problem:
            rows.append(("Settings", _e_multiline(settings_problem)))
        body = "".join(
            f'<tr><th style="{_S_TH}background:#fde8e8;color:#8a1c1c;width:140px;">{name}</th>'
            f'<td style="{_S_TD}">{value}</td></tr>'
            for name, value in rows
        )
        return (
            _HTML_HEAD.format(title=_e(self.email_subject()))
            + f'<h1 style="{_S_H1.replace("#1f2933", "#8a1c1c")}">{_e(self.dag_id)} run failed</h1>'
            + f'<p style="{_S_META}">The run stopped before finishing its work; records it did not reach are picked up '
            "by the next run once the cause is fixed.</p>"
            + f'<table style="{_S_TABLE}border-left:4px solid #8a1c1c;">{body}</table>'
            + f'<p style="{_S_META}">To fix: open the failed task\'s log in Airflow, correct the cause '
            + "(a connection, a "
            "setting, a record), then clear the failed task to run it again.</p>"
            + _html_foot("The same details are in the Airflow log of the DAG's callbacks.")
        )

    def todo_description(self, settings_problem: str = "") -> str:
        lines = [f"atqbo: {self.dag_id} run failed.", *self.summary_lines()]
        if settings_problem:
            lines.append(f"Settings problem: {settings_problem}")
        lines.append("Fix the cause, then clear the failed task in Airflow to run it again.")
        return _cap("\n".join(lines), MAX_TODO_DESCRIPTION_CHARS)


def _first_attr(name: str, *objects: Any) -> Any:
    for obj in objects:
        value = getattr(obj, name, None) if obj is not None else None
        if value:
            return value
    return None


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 15].rstrip() + " ... (cut)"


def _failed_task_ids(dag_id: str, run_id: str, ti: Any) -> list[str]:
    """Every failed task of the run when Airflow can tell (the callback context names only the
    last one to fail), else that last one."""
    failed: set[str] = set()
    if ti is not None and getattr(ti, "task_id", None):
        map_index = getattr(ti, "map_index", -1)
        failed.add(f"{ti.task_id}[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else str(ti.task_id))
    try:
        from airflow.sdk.execution_time import task_runner

        # Only inside an Airflow process (dag processor, task runner) is there a supervisor to ask.
        if hasattr(task_runner, "SUPERVISOR_COMMS"):
            states = task_runner.RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
            for task_id, state in (states.get(run_id) or {}).items():
                if str(getattr(state, "value", state)) == "failed":
                    failed.add(task_id)
    except Exception as exc:  # the list is a courtesy; the alert goes out without it
        log.info("Could not list the failed tasks of %s run %s (%s); naming the last one only.", dag_id, run_id, exc)
    return sorted(failed)


def load_alert_settings() -> tuple[Settings, str]:
    """Settings for a failure alert, and the settings problem if there is one.

    The failure may be the settings themselves, so an invalid Variable does not stop the alert:
    each key an alert needs is taken from the Variable when it is valid on its own, else its default.
    """
    from atqbo.settings import load_settings

    try:
        return load_settings(), ""
    except Exception as exc:  # AtqboConfigError, or the Variable could not be read at all
        problem = str(exc)
    salvaged: dict[str, Any] = {}
    try:
        from airflow.sdk import Variable

        raw = Variable.get(VARIABLE_NAME, default=None)
        doc = json.loads(raw) if isinstance(raw, str) else raw
        if isinstance(doc, dict):
            for key in ALERT_SETTING_KEYS:
                if key in doc and SPEC[key][1](doc[key])[1] is None:
                    salvaged[key] = doc[key]
    except Exception:  # unreadable or not JSON: defaults for everything
        salvaged = {}
    try:
        return Settings.from_dict(salvaged), problem
    except Exception:  # cannot happen with keys valid on their own; defaults are the last resort
        return Settings.from_dict({}), problem


def _open_alert_ledger(settings: Settings) -> Ledger | None:
    from atqbo.ledger import Ledger

    try:
        ledger = Ledger.from_conn_id(settings.state_conn_id)
        ledger.create_schema()
        return ledger
    except Exception as exc:
        log.warning(
            "The state database (connection %r) is not available (%s); alerts are sent without checking "
            "whether this failure was already alerted.",
            settings.state_conn_id,
            exc,
        )
        return None


@contextmanager
def _alert_record(ledger: Ledger | None, key: str) -> Iterator[dict[str, Any] | None]:
    """The record of alerts already sent for ``key``, held under a lock while the caller adds to it.

    Yields ``None`` when another callback for the same failure holds the lock right now (it
    sends the alerts). Without a usable ledger, yields an empty record that is not kept: the
    alerts matter more than avoiding a duplicate.
    """
    if ledger is None:
        yield {}
        return
    lock, owner = f"atqbo_alert:{key}", uuid.uuid4().hex
    held = False
    try:
        held = ledger.acquire_run_lock(lock, owner, ALERT_LOCK_TTL_S, details="run failure alert")
        record = (ledger.stage_get(ALERT_STAGE_RUN_KEY, ALERT_STAGE_KIND).get(key) or {}) if held else None
    except Exception as exc:
        log.warning("Could not read which alerts were sent for %s (%s); alerting anyway.", key, exc)
        record = {}
    try:
        yield record
    finally:
        if held:
            try:
                ledger.release_run_lock(lock, owner)
            except Exception as exc:  # the lock expires by itself after ALERT_LOCK_TTL_S
                log.warning("Could not release the alert lock %s (%s).", lock, exc)


def _save_alert_record(ledger: Ledger | None, key: str, record: dict[str, Any]) -> None:
    if ledger is None:
        return
    try:
        ledger.stage_put(ALERT_STAGE_RUN_KEY, ALERT_STAGE_KIND, {key: record})
    except Exception as exc:
        log.warning("Could not record the alerts sent for %s (%s); a repeated callback may alert again.", key, exc)


def email_run_failure(failure: RunFailure, settings: Settings, settings_problem: str = "") -> bool:
    """Email the failure to ``report_to``; False (logged) when there is nobody to mail."""
    recipients = report_recipients(settings)
    if not recipients:
        log.warning(
            "No failure email for %s run %s: report_to is empty. Set report_to in the %s Variable.",
            failure.dag_id,
            failure.run_id,
            VARIABLE_NAME,
        )
        return False
    try:
        send_html_email(
            settings.smtp_conn_id, recipients, failure.email_subject(), failure.email_html(settings_problem)
        )
    except Exception as exc:
        raise _smtp_error(
            settings.smtp_conn_id,
            f"the failure alert for {failure.dag_id} run {failure.run_id}",
            exc,
            "the failure itself is in the DAG's callback log",
        ) from exc
    log.info("Failure alert for %s run %s emailed to %s.", failure.dag_id, failure.run_id, ", ".join(recipients))
    return True


def create_failure_todo(failure: RunFailure, settings: Settings, settings_problem: str = "") -> int | None:
    """Create the Autotask to-do for a failed run under company 0; None (logged) when the
    to-do settings are not set."""
    missing = [k for k in ("todo_action_type", "todo_resource_id") if getattr(settings, k) is None]
    if missing:
        log.warning(
            "No Autotask to-do for %s run %s: %s not set in the %s Variable (the action type and the resource "
            "who gets error to-dos).",
            failure.dag_id,
            failure.run_id,
            " and ".join(missing),
            VARIABLE_NAME,
        )
        return None
    from atqbo.hooks.autotask import AutotaskHook

    hook = AutotaskHook(
        settings.autotask_conn_id, budget_share=settings.autotask_budget_share, max_retries=ALERT_AUTOTASK_RETRIES
    )
    todo_id = create_local_todo(hook, settings, failure.todo_description(settings_problem))
    log.info("Autotask to-do %s created for %s run %s.", todo_id, failure.dag_id, failure.run_id)
    return todo_id


def create_local_todo(hook: AutotaskHook, settings: Settings, description: str) -> int:
    """Create an error to-do under the local organization (company 0) with ``todo_action_type``,
    assigned to ``todo_resource_id``, as the vendor apps did (PO-08); returns its id.

    The caller checks that both settings are set (``create_failure_todo`` logs, the PO sync
    refuses to start without them).
    """
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    return hook.create_todo(
        company_id=LOCAL_COMPANY_ID,
        action_type=settings.todo_action_type,  # type: ignore[arg-type]
        resource_id=settings.todo_resource_id,  # type: ignore[arg-type]
        description=_cap(description, MAX_TODO_DESCRIPTION_CHARS),
        start=start,
        end=start + TODO_DURATION,
    )


def notify_run_failure(context: dict[str, Any]) -> None:
    """DAG ``on_failure_callback``: email the report recipients and create an Autotask to-do.

    Each failed run is alerted once (keyed by DAG id and run id in the state database), even when
    Airflow calls the callback twice. The email and the to-do are attempted independently, and
    this function never raises: what failed is logged instead.
    """
    try:
        _notify_run_failure(context)
    except Exception:  # a callback that raises only adds noise to the dag processor's log
        log.exception("The atqbo failure alert itself failed; see the error above.")


def _notify_run_failure(context: Mapping[str, Any]) -> None:
    failure = RunFailure.from_context(context)
    log.error("atqbo run failure:\n%s", "\n".join(failure.summary_lines()))
    settings, settings_problem = load_alert_settings()
    if settings_problem:
        log.warning("Alerting with what is valid of the settings; the Variable has problems: %s", settings_problem)
    ledger = _open_alert_ledger(settings)
    try:
        with _alert_record(ledger, failure.alert_key) as record:
            if record is None:
                log.info("Another callback is alerting about %s right now; nothing more to do.", failure.alert_key)
                return
            if record.get("emailed_at"):
                log.info("Failure email for %s was sent already at %s.", failure.alert_key, record["emailed_at"])
            else:
                try:
                    if email_run_failure(failure, settings, settings_problem):
                        record["emailed_at"] = datetime.now(UTC).isoformat()
                        _save_alert_record(ledger, failure.alert_key, record)
                except Exception as exc:
                    log.error("%s", exc)
            if record.get("todo_id") or record.get("todo_uncertain"):
                log.info(
                    "The Autotask to-do for %s exists already (%s).",
                    failure.alert_key,
                    record.get("todo_id") or "unconfirmed",
                )
            else:
                _create_todo_once(failure, settings, settings_problem, record)
                _save_alert_record(ledger, failure.alert_key, record)
    finally:
        if ledger is not None:
            ledger.close()


def _create_todo_once(failure: RunFailure, settings: Settings, settings_problem: str, record: dict[str, Any]) -> None:
    from atqbo.hooks.autotask import AutotaskAmbiguousWriteError

    try:
        todo_id = create_failure_todo(failure, settings, settings_problem)
    except AutotaskAmbiguousWriteError as exc:
        # Autotask may have created it: do not create a second one on a repeated callback.
        record["todo_uncertain"] = True
        log.error(
            "The Autotask to-do for %s may or may not have been created (%s); check the to-dos of the local "
            "organization (company 0).",
            failure.alert_key,
            exc,
        )
    except Exception as exc:
        log.error(
            "Could not create the Autotask to-do for %s (%s: %s). Fix: check the Autotask connection %r and that "
            "todo_action_type %s and todo_resource_id %s exist in Autotask.",
            failure.alert_key,
            type(exc).__name__,
            exc,
            settings.autotask_conn_id,
            settings.todo_action_type,
            settings.todo_resource_id,
        )
    else:
        if todo_id is not None:
            record["todo_id"] = todo_id
