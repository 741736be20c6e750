"""Step 3, write back (PO-07): each PO's External PO Number in Autotask becomes its bill's number,
or ``ERROR`` when it failed (clearing ERROR makes the next run retry); then PO-08's to-dos.

Autotask has no bulk update: the hook PATCHes three at a time. Each PO written is remembered in
the run's staging as it is, so a retried task writes only what is left. A PO Autotask refuses is
reported, logged in the error log and gets a to-do; until it is set, the next runs find its bill
in QBO and try again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import ERROR_MARKER, ERROR_MARKER_FIELDS
from atqbo.records import PURCHASE_ORDER
from atqbo.sync.purchase_orders.todos import create_error_todos

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskError, AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

MARKER_ENTITY, MARKER_FIELD = ERROR_MARKER_FIELDS[PURCHASE_ORDER]  # PurchaseOrders.externalPONumber


def external_po_number(row: dict[str, Any]) -> str:
    """What PO-07 writes for a staged outcome: the bill's number when it was sent, else ERROR."""
    return row["external_number"] if row["marker"] == "synced" else ERROR_MARKER


def write_back_purchase_orders(run: RunInfo, autotask: AutotaskHook, ledger: Ledger) -> dict[str, int]:
    """PO-07: External PO Number = the bill's number, or ERROR; then PO-08's to-dos."""
    if run.dry_run:
        return {"written": 0, "todos": 0}
    outcomes = ledger.stage_get(run.run_key, "outcome")
    done = ledger.stage_get(run.run_key, "written")
    todo = [row for key, row in outcomes.items() if row.get("marker") and key not in done]
    refused = autotask.update_many(
        MARKER_ENTITY,
        [(row["autotask_id"], {MARKER_FIELD: external_po_number(row)}) for row in todo],
        on_written=lambda autotask_id: ledger.stage_put(run.run_key, "written", {str(autotask_id): True}),
    )
    for autotask_id, exc in refused.items():
        record_refused_write_back(run, ledger, outcomes[str(autotask_id)], exc)
    todos = create_error_todos(run, autotask, ledger)
    return {"written": len(todo) - len(refused), "problems": len(refused), "todos": todos}


def record_refused_write_back(run: RunInfo, ledger: Ledger, row: dict[str, Any], exc: AutotaskError) -> None:
    """A PO whose External PO Number Autotask refused: in the error log, and staged for the report
    and a to-do."""
    value = external_po_number(row)
    said = "; ".join(exc.errors) or exc.message
    problem = f"Autotask PO {row['autotask_id']}: its External PO Number could not be set to {value!r}: {said}"
    fix = f"set the External PO Number by hand to {value}; until then the next runs find the bill in QBO and try again"
    error_id = ledger.log_error(
        PURCHASE_ORDER,
        int(row["autotask_id"]),
        problem,
        fix=fix,
        qbo_id=row.get("qbo_id"),
        dag_id=run.dag_id,
        run_id=run.run_id,
    )
    ledger.stage_put(
        run.run_key,
        "writeback_problems",
        {str(row["autotask_id"]): {"message": problem, "fix": fix, "error_id": error_id}},
    )
