"""Run locks: which DAG run may do a kind of work that two runs must never do at once.

A run that creates invoices (``atqbo_invoices``, ``atqbo_sync_now``, ``atqbo_copy_invoice``)
holds the ledger's ``invoice_sync`` lock; a run that creates bills (``atqbo_purchase_orders``,
``atqbo_sync_po``) holds ``purchase_order_sync``. The owner is the run's key ("dag_id/run_id").
A lock whose owner run Airflow no longer has queued or running (killed, failed before it could
give the lock back) is taken over; when Airflow cannot be asked, it never is.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from atqbo.exceptions import AtqboError

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

INVOICE_SYNC_LOCK = "invoice_sync"
PURCHASE_ORDER_SYNC_LOCK = "purchase_order_sync"
LOCKED_WORK = {INVOICE_SYNC_LOCK: "create invoices", PURCHASE_ORDER_SYNC_LOCK: "create bills"}  # for messages
SYNC_LOCK_TTL_S = 6 * 3600.0  # a lock outlives a killed run by at most this (atqbo_reset clears it sooner)

ACTIVE_RUN_STATES = ("queued", "running")


def airflow_run_active(dag_id: str, run_id: str) -> bool:
    """Whether Airflow has this DAG run queued or running, asked of Airflow from inside a task.

    A run Airflow does not have (deleted) counts 0, so it is not active. When Airflow cannot be
    asked (its API failing, or not inside a task) this raises: a lock must never be taken over
    from a run that may still be creating documents.
    """
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        count = RuntimeTaskInstance.get_dr_count(dag_id=dag_id, run_ids=[run_id], states=list(ACTIVE_RUN_STATES))
    except Exception as exc:  # outside a task, or Airflow's API failing: the answer is unknown, not "no"
        raise AirflowNotAsked(
            f"Airflow could not be asked whether {dag_id} run {run_id!r} is queued or running "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return count > 0


class AirflowNotAsked(AtqboError):
    """Airflow could not say whether a DAG run is still active (outside a task, or its API failing)."""


def lock_owner_active(owner: str) -> bool:
    """Whether the DAG run that owns a ledger lock (owner "dag_id/run_id") is still queued or running."""
    dag_id, _, run_id = owner.partition("/")
    return bool(run_id) and airflow_run_active(dag_id, run_id)


def hold_sync_lock(run: RunInfo, ledger: Ledger, name: str = INVOICE_SYNC_LOCK) -> None:
    """Take ``name`` for this run or raise ``SyncBusy`` naming the run that holds it.

    A lock whose owner run is no longer queued or running in Airflow (killed, failed before it
    could release) is stale: it is taken over, and the log says so.
    """
    if ledger.acquire_run_lock(name, run.run_key, SYNC_LOCK_TTL_S, details=run.dag_id):
        return
    held = ledger.get_run_lock(name)
    owner = (held or {}).get("owner") or "?"
    if held and not lock_owner_active(owner):
        log.warning("Lock %r was held by %s, which is no longer running in Airflow: taken over", name, owner)
        ledger.release_run_lock(name, owner)
        if ledger.acquire_run_lock(name, run.run_key, SYNC_LOCK_TTL_S, details=run.dag_id):
            return
        held = ledger.get_run_lock(name)
        owner = (held or {}).get("owner") or "?"
    raise SyncBusy(name, owner)


def release_sync_lock(run: RunInfo, ledger: Ledger, name: str = INVOICE_SYNC_LOCK) -> None:
    ledger.release_run_lock(name, run.run_key)


class SyncBusy(Exception):
    """Another run holds the lock of the work this run wants to do."""

    def __init__(self, name: str, owner: str):
        self.lock_name = name
        self.owner = owner
        dag_id, _, run_id = owner.partition("/")
        super().__init__(
            f"{dag_id} run {run_id!r} is in progress and holds the {name!r} lock; only one run at a time may "
            f"{LOCKED_WORK.get(name, 'do this work')}. Wait until it finishes (see its state in the Airflow UI), "
            "then trigger again. If that run was killed and Airflow still shows it running, mark it failed in the "
            "Airflow UI (the next run then takes the lock over), or run atqbo_reset"
        )
