"""The error log as ``atqbo_retry_errors`` shows it: a block per entry in the task log
(``format_entries``) and the run's report (``build_error_log_report``), one ``failed`` row per
open entry and a note per retry. An entry's QBO company (BEY-07) is in its block when it has one,
and on its row (the report shows the column when the entries span several companies)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atqbo.notify import ReportRow, RunReport
from atqbo.tools.errors.retry import RetryOutcome

REPORT_TITLE = "atqbo error log"


def format_entries(entries: list[dict[str, Any]], filters: str) -> str:
    """The entries as the task log shows them: one block per entry, every column named."""
    if not entries:
        return f"No open error-log entries ({filters})."
    lines = [f"{len(entries)} open error-log entr{'y' if len(entries) == 1 else 'ies'} ({filters}), newest first:"]
    for e in entries:
        record = f"Autotask id {e['autotask_id']}" if e.get("autotask_id") is not None else "no record (run-level)"
        if e.get("qbo_company"):  # BEY-07: the QBO company (connection id) the record went to
            record += f", QBO company {e['qbo_company']}"
        retry = f"; retry requested {e['retry_requested_at']}" if e.get("retry_requested_at") else ""
        when = f"{e['attempts']} attempt(s), last {e['occurred_at']}{retry}"
        lines.append(f"  #{e['id']} {e['entity']}, {record}: {when}")
        lines.append(f"      message: {e['message']}")
        if e.get("fix"):
            lines.append(f"      fix: {e['fix']}")
    return "\n".join(lines)


def build_error_log_report(
    dag_id: str,
    run_id: str,
    entries: list[dict[str, Any]],
    filters: str,
    outcomes: Sequence[RetryOutcome] = (),
    unmatched: Sequence[int] = (),
) -> RunReport:
    """The tool's report: one ``failed`` row per open entry (it is a failure still standing, its
    reference says which entry, its attempts and when), and a note per retry and per id asked for
    that has no open entry. The report's CSV has every column: entity, Autotask id, QBO id,
    reference (entry id, attempts, last time), message (reason) and fix; and the QBO company when
    the entries name more than one (BEY-07), as every report does."""
    notes = [f"Open error-log entries: {len(entries)} ({filters})."]
    for outcome in outcomes:
        record = f"{outcome.entity} {outcome.autotask_id}" if outcome.autotask_id is not None else outcome.entity
        notes.append(f"Retry of {record} (error #{outcome.error_id}): {outcome.describe()}.")
    if unmatched:
        notes.append(
            f"No open error-log entry ({filters}) for Autotask id(s) {', '.join(str(i) for i in unmatched)}: nothing "
            "re-queued for them. Check the ids against the list (a record that was transferred has no open entry)."
        )
    report = RunReport(title=REPORT_TITLE, dag_id=dag_id, run_id=run_id, notes=notes, always_email=True)
    for e in entries:
        retry = f", retry requested {e['retry_requested_at']}" if e.get("retry_requested_at") else ""
        report.rows.append(
            ReportRow(
                outcome="failed",
                entity=e["entity"],
                autotask_id=None if e.get("autotask_id") is None else int(e["autotask_id"]),
                reference=f"error #{e['id']} ({e['attempts']} attempt(s), last {e['occurred_at']}{retry})",
                qbo_id=e.get("qbo_id"),
                reason=e["message"],
                fix=e.get("fix") or "",
                qbo_company=e.get("qbo_company"),
            )
        )
    return report
