"""Step 5 of the invoice sync: what the run did, by email and in the task log (INV-21), and the
first line of a copy's report (TOOL-05); then the invoice sync lock is given back."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from atqbo.locks import release_sync_lock
from atqbo.notify import ReportRow, RunReport
from atqbo.records import INVOICE
from atqbo.sync.invoices.scope import staged_scope

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo


def report_invoice_run(run: RunInfo, ledger: Ledger) -> dict[str, int]:
    """Publish the report, then give back the invoice sync lock (a no-op for a run that holds none)."""
    try:
        report = build_invoice_report(run, ledger)
        run.publish(report, ledger)
        return report.counts()
    finally:
        release_sync_lock(run, ledger)


def build_invoice_report(run: RunInfo, ledger: Ledger, title: str | None = None) -> RunReport:
    """The run's report from its staged outcomes: a row per invoice, its warnings, write-back problems."""
    scope = staged_scope(run, ledger)
    outcomes = ledger.stage_get(run.run_key, "outcome")
    problems = ledger.stage_get(run.run_key, "writeback_problems")
    notes = ledger.stage_get(run.run_key, "notes").get("load", [])
    ids = ", ".join(str(i) for i in scope.autotask_ids)
    report = RunReport(
        title=title or scope.title,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=f"Autotask invoice {ids}" if scope.autotask_ids else run.describe_window(),
        dry_run=run.dry_run,
        notes=[*scope.notes, *notes],
        always_email=scope.always_email,
    )
    if scope.tool == "copy":
        for autotask_id in scope.autotask_ids:
            report.notes.insert(0, copy_verdict(autotask_id, outcomes.get(str(autotask_id)), run.dry_run))
    for key in sorted(outcomes, key=int):
        report.rows.extend(invoice_rows(outcomes[key], problems.get(key), run.dry_run))
    return report


def invoice_rows(row: dict[str, Any], problem: str | None, dry_run: bool) -> list[ReportRow]:
    """One invoice's report rows: its outcome, then each of its warnings once, then a write-back problem."""
    base = {"entity": INVOICE, "autotask_id": row["autotask_id"], "reference": row["reference"]}
    base["company"] = row["company"]
    base["qbo_company"] = row.get("qbo_company") or None  # BEY-07; rows staged before it have none
    reason = f"would fail: {row['reason']}" if dry_run and row["outcome"] == "failed" else row["reason"]
    rows = [
        ReportRow(
            outcome=row["outcome"],
            **base,
            qbo_id=row["qbo_id"],
            qbo_number=row["qbo_number"],
            autotask_total=Decimal(row["autotask_total"]) if row["autotask_total"] else None,
            qbo_total=Decimal(row["qbo_total"]) if row["qbo_total"] else None,
            reason=reason,
            fix=row["fix"],
        )
    ]
    rows += [ReportRow(outcome="warning", **base, reason=w) for w in dict.fromkeys(row.get("warnings") or [])]
    if problem:
        rows.append(ReportRow(outcome="warning", **base, reason=problem, fix="the next run writes the marker again"))
    return rows


def copy_verdict(autotask_id: int, row: Mapping[str, Any] | None, dry_run: bool = False) -> str:
    """The first line of a copy's report: was a copy made, and which QBO invoice is it (or is in its way)."""
    if row is None:
        return f"No copy was made: Autotask invoice {autotask_id} was not found."
    subject = f"Autotask invoice {row.get('reference') or autotask_id} (id {autotask_id})"
    qbo = _qbo_name(row.get("qbo_number"), row.get("qbo_id"))
    outcome = row.get("outcome")
    if outcome == "transferred":
        verdict = f"A copy was made: {qbo} was created in QBO for {subject}."
        if row.get("older_qbo_id"):
            older = _qbo_name(row.get("older_qbo_number"), row["older_qbo_id"])
            verdict += f" It is a second copy: {older} still exists; void or delete it in QBO if it is not wanted."
        return verdict
    if outcome == "matched":
        return (
            f"No copy was made: {subject} is already in QBO as {qbo}. Trigger again with Overwrite to make a "
            "second copy."
        )
    reason = str(row.get("reason") or "").rstrip(".")
    if outcome == "planned" or dry_run:
        return f"No copy was made (dry run): {reason}."
    fix = f" Fix: {str(row['fix']).rstrip('.')}." if row.get("fix") else ""
    return f"No copy was made: {reason}.{fix}"


def _qbo_name(number: Any, qbo_id: Any) -> str:
    return f"QBO invoice {number} (Id {qbo_id})" if number else f"QBO invoice Id {qbo_id}"
