"""Step 4 of the invoice sync: each invoice's marker written back to Autotask (INV-03, INV-04,
INV-20), three at a time (Autotask's thread limit, kept by the hook). The load writes most of them
already, while QBO's batches go out (``marker_writer``, BEY-05); this step writes the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import ERROR_MARKER

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings


def write_back_markers(run: RunInfo, autotask: AutotaskHook, ledger: Ledger) -> dict[str, int]:
    """Mark synced invoices in Autotask (and ERROR in invoiceNumber mode): those whose marker is not
    staged as written yet (the load's writer wrote most).

    Each marker written is remembered in the run's staging at once, so a retried task (Autotask
    down, credentials refused: those fail the task) resumes with what is left. A marker Autotask
    refuses for one invoice is a warning in the report; the next run writes it again.
    """
    if run.dry_run:
        return {"written": 0}
    settings = run.parsed_settings
    outcomes = ledger.stage_get(run.run_key, "outcome")
    done = ledger.stage_get(run.run_key, "written")
    todo = [row for key, row in outcomes.items() if row.get("marker") and key not in done]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    changes = [(int(row["autotask_id"]), marker_fields(row, settings, now)) for row in todo]
    for autotask_id, _ in (c for c in changes if not c[1]):
        ledger.stage_put(run.run_key, "written", {str(autotask_id): True})  # nothing to write for it

    def written(autotask_id: int) -> None:
        ledger.stage_put(run.run_key, "written", {str(autotask_id): True})

    refused = autotask.update_many("Invoices", [c for c in changes if c[1]], on_written=written)
    problems = {str(i): f"Autotask refused the marker: {exc}" for i, exc in refused.items()}
    if problems:
        ledger.stage_put(run.run_key, "writeback_problems", problems)
    return {"written": len(todo) - len(problems), "problems": len(problems)}


def marker_fields(row: dict[str, Any], settings: Settings, now: str) -> dict[str, Any]:
    """The Autotask invoice fields that record this outcome (INV-03/04/20)."""
    if row["marker"] == "synced":
        fields: dict[str, Any] = {}
        if settings.invoice_marker_field == "webServiceDate":
            fields["webServiceDate"] = now
        if settings.invoice_numbering == "qbo" and row.get("qbo_number"):
            fields["invoiceNumber"] = row["qbo_number"]  # INV-04: QBO's number back to Autotask
        return fields
    if row["marker"] == "error" and settings.invoice_marker_field == "invoiceNumber":
        return {"invoiceNumber": ERROR_MARKER}  # INV-20: clearing it makes the next run retry
    return {}
