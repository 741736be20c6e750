"""A PO that failed: how its failure tells a person what to do (every fix ends with how to send it
again), and how the failures of a load step are recorded, in the error log and as the ledger's
ERROR status. The write-back step then marks each one ERROR in Autotask and makes its to-do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atqbo.records import PURCHASE_ORDER

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.sync.purchase_orders.outcomes import Outcomes

RETRY_HINT = "then clear ERROR from the PO's External PO Number in Autotask and the next run sends it again"


def record_failures(run: RunInfo, ledger: Ledger, out: Outcomes) -> None:
    """Each failed PO in the error log and the ledger (not in a dry run); the error id goes with
    the row, so the write-back step creates one to-do per failure. A PO that failed because its QBO
    company could not go on (BEY-07, ``transient``) is not: its company's one run problem says why."""
    if run.dry_run:
        return
    for row in out.rows.values():
        if row.get("outcome") != "failed" or row.get("transient"):
            continue  # transient: its QBO company stopped (BEY-07); nothing is wrong with the PO
        row["error_id"] = ledger.log_error(
            PURCHASE_ORDER,
            row["autotask_id"],
            row["reason"],
            fix=row["fix"],
            dag_id=run.dag_id,
            run_id=run.run_id,
        )
        ledger.set_sync_status(PURCHASE_ORDER, row["autotask_id"], "ERROR", last_error=row["reason"], run_id=run.run_id)
