"""Which invoices a run of the invoice sync works on, and how (the ``InvoiceScope`` its first task
stages), and the invoice sync lock that every run that can write holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from atqbo.locks import SYNC_LOCK_TTL_S, hold_sync_lock, release_sync_lock

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo


@dataclass(frozen=True)
class InvoiceScope:
    """Which invoices a run of these steps works on, and how; staged by the run's first task.

    The default is the scheduled sync. The tools change only what they must, so they are the sync
    itself, not a second implementation of it.
    """

    tool: str = "sync"  # "sync", "preview", "sync_now" or "copy": the wording of reasons and report
    title: str = "atqbo invoices"
    # Explicit invoices (copy): these, whatever their marker and date, instead of the window's unsynced.
    autotask_ids: tuple[int, ...] = ()
    # Create a new QBO invoice even when one exists: no adoption, a new generation (so a new requestid).
    overwrite: bool = False
    notes: tuple[str, ...] = ()  # run-level lines for the report: what the tool was asked to do
    always_email: bool = False  # someone triggered it and waits for an answer, even "nothing to do"

    def to_doc(self) -> dict[str, Any]:
        return {**asdict(self), "autotask_ids": list(self.autotask_ids), "notes": list(self.notes)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> InvoiceScope:
        doc = doc or {}
        ids, notes = tuple(doc.get("autotask_ids") or ()), tuple(doc.get("notes") or ())
        return cls(**{**doc, "autotask_ids": ids, "notes": notes})


def begin_invoice_run(run: RunInfo, ledger: Ledger, scope: InvoiceScope | None = None) -> None:
    """The first task's part: the ledger schema, the invoice sync lock, the staged scope.

    A run that can write (not a dry run) takes the lock or raises ``SyncBusy`` naming the run that
    holds it, before it stages anything; ``report_invoice_run`` (or the DAG's failure callback)
    gives it back.
    """
    ledger.create_schema()
    locked = not run.dry_run
    if locked:
        hold_sync_lock(run, ledger)
    try:
        stage_scope(run, ledger, scope or InvoiceScope())
    except BaseException:
        if locked:
            release_sync_lock(run, ledger)
        raise


def staged_scope(run: RunInfo, ledger: Ledger) -> InvoiceScope:
    return InvoiceScope.from_doc(ledger.stage_get(run.run_key, "scope").get("scope"))


def stage_scope(run: RunInfo, ledger: Ledger, scope: InvoiceScope) -> None:
    ledger.stage_put(run.run_key, "scope", {"scope": scope.to_doc()})


def lock_skip_message(owner: str) -> str:
    """Why a scheduled run does nothing while a sync-now or copy run (the lock's ``owner``) creates invoices."""
    dag_id, _, run_id = owner.partition("/")
    return (
        f"{dag_id} run {run_id!r} holds the invoice sync lock (it is creating invoices right now), so this "
        "scheduled run does nothing; the next scheduled run picks up whatever is left. If that run is not "
        "running any more (killed, and Airflow still shows it running), mark it failed in the Airflow UI: the "
        f"next run then takes the lock over; or run atqbo_reset (at the latest, the lock expires "
        f"{SYNC_LOCK_TTL_S / 3600:.0f} hours after it was taken)"
    )
