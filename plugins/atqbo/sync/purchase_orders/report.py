"""Step 4, report: what the run did with each PO (transferred, matched, planned, skipped, failed
with its fix), its warnings, refused write-backs and notes, logged and emailed (HTML + CSV)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from atqbo.notify import ReportRow, RunReport
from atqbo.records import PURCHASE_ORDER

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

REPORT_TITLE = "atqbo purchase orders"


def build_purchase_order_report(
    run: RunInfo, ledger: Ledger, *, title: str = REPORT_TITLE, always_email: bool = False
) -> RunReport:
    """The run's report; a tool gives its own title and asks for an email even when nothing happened.
    A run over POs asked for by id (``atqbo_sync_po``: no window) shows no window."""
    outcomes = ledger.stage_get(run.run_key, "outcome")
    problems = ledger.stage_get(run.run_key, "writeback_problems")
    report = RunReport(
        title=title,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=run.describe_window() if run.start < run.end else "",
        dry_run=run.dry_run,
        notes=report_notes(run, ledger),
        always_email=always_email,
    )
    for key in sorted(outcomes, key=int):
        report.rows += report_rows(outcomes[key], problems.get(key))
    return report


def report_notes(run: RunInfo, ledger: Ledger) -> list[str]:
    """The load step's notes, the to-dos that could not be created, and how many were."""
    notes = list(ledger.stage_get(run.run_key, "notes").get("load", []))
    todos = ledger.stage_get(run.run_key, "todos")
    notes += list(ledger.stage_get(run.run_key, "todo_problems").values())
    if todos:
        settings = run.parsed_settings
        notes.append(
            f"{len(todos)} Autotask to-do(s) created under the local organization (company 0), assigned to resource "
            f"{settings.todo_resource_id} (PO-08)."
        )
    return notes


def report_rows(row: dict[str, Any], write_back_problem: dict[str, Any] | None) -> list[ReportRow]:
    """One PO's rows: its outcome, then a warning row for each of its warnings and its refused write-back."""
    base = {
        "entity": PURCHASE_ORDER,
        "autotask_id": row["autotask_id"],
        "reference": row["reference"],
        "company": row["company"],
    }
    rows = [
        ReportRow(
            outcome=row["outcome"],
            **base,
            qbo_id=row["qbo_id"],
            qbo_number=row["qbo_number"],
            autotask_total=Decimal(row["autotask_total"]) if row.get("autotask_total") else None,
            qbo_total=Decimal(row["qbo_total"]) if row.get("qbo_total") else None,
            reason=row["reason"],
            fix=row["fix"],
        )
    ]
    rows += [ReportRow(outcome="warning", **base, reason=w) for w in dict.fromkeys(row.get("warnings") or [])]
    if write_back_problem:
        rows.append(
            ReportRow(outcome="warning", **base, reason=write_back_problem["message"], fix=write_back_problem["fix"])
        )
    return rows


def report_purchase_orders(
    run: RunInfo, ledger: Ledger, *, title: str = REPORT_TITLE, always_email: bool = False
) -> dict[str, int]:
    """Log the summary; email it (with the CSV) to report_to when the run did anything (a tool: always)."""
    report = build_purchase_order_report(run, ledger, title=title, always_email=always_email)
    run.publish(report, ledger)
    return report.counts()
