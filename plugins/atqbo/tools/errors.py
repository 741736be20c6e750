"""The error log and its retry (TOOL-08), shared by ``atqbo_retry_errors`` and the Airflow UI view.

Every failure a sync records is an error-log entry (entity, Autotask id, message, fix, time,
attempts). A retry re-queues the record:

1. the entry gets ``retry_requested_at`` (the syncs retry a record whose unchanged content failed
   before only when asked to; a failed retry uses the request up, so it does not loop);
2. the record's ledger status goes from ERROR back to PENDING;
3. the ERROR marker a sync wrote in Autotask is cleared, so the next run sees the record as unsynced:
   the invoice number in ``invoiceNumber`` marker mode (INV-20), the External PO Number of a PO (PO-07).

The next scheduled run (or ``atqbo_sync_now`` / ``atqbo_sync_po``) then sends the record again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from atqbo.hooks.autotask import AutotaskError, AutotaskNotFoundError

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.settings import Settings

ERROR_MARKER = "ERROR"
# Entities the syncs log errors for, as the error log names them.
ENTITIES: tuple[str, ...] = ("invoice", "invoice_void", "payment", "purchase_order")
# The Autotask field that holds an ERROR marker, per entity (invoices only in invoiceNumber mode).
_MARKER_FIELDS: dict[str, tuple[str, str]] = {
    "invoice": ("Invoices", "invoiceNumber"),
    "purchase_order": ("PurchaseOrders", "externalPONumber"),
}
# Which DAG sends a re-queued record again.
NEXT_RUN: dict[str, str] = {
    "invoice": "atqbo_invoices (or atqbo_sync_now; atqbo_copy_invoice for one dated before the look-back)",
    "invoice_void": "atqbo_invoice_voids",
    "payment": "atqbo_payments",
    "purchase_order": "atqbo_purchase_orders (or atqbo_sync_po)",
}


@dataclass(frozen=True)
class RetryOutcome:
    error_id: int
    entity: str
    autotask_id: int | None
    requeued: bool  # the entry now asks for a retry
    marker: str  # what happened to the Autotask ERROR marker, in words ("" when there is none to clear)
    message: str  # the entry's error message
    problem: str = ""  # why the retry could not be queued

    def describe(self) -> str:
        if self.problem:
            return self.problem
        parts = [f"re-queued; the next {NEXT_RUN.get(self.entity, 'run')} run sends it again"]
        if self.marker:
            parts.append(self.marker)
        return "; ".join(parts)


def select_entries(
    ledger: "Ledger",
    entity: str | None = None,
    since: datetime | None = None,
    autotask_ids: Iterable[int] | None = None,
) -> list[dict[str, Any]]:
    """The open error-log entries matching the filters, newest first (the query the UI shows too)."""
    ids = list(autotask_ids) if autotask_ids else None
    return ledger.list_errors(entity=entity, since=since, autotask_ids=ids)


def requeue(ledger: "Ledger", entry: dict[str, Any]) -> bool:
    """Steps 1 and 2 above (the ledger's part). False when the entry is resolved or names no record."""
    if entry.get("resolved_at") or entry.get("autotask_id") is None:
        return False
    requested = ledger.request_retry(int(entry["id"]))
    ledger.requeue_sync_record(entry["entity"], int(entry["autotask_id"]))
    return requested


def needs_marker_cleared(entry: dict[str, Any], settings: "Settings") -> bool:
    if entry.get("autotask_id") is None or entry["entity"] not in _MARKER_FIELDS:
        return False
    return entry["entity"] != "invoice" or settings.invoice_marker_field == "invoiceNumber"


def clear_error_marker(autotask: "AutotaskHook", settings: "Settings", entry: dict[str, Any]) -> str:
    """Step 3: clear the record's ERROR marker in Autotask; returns what happened, in words."""
    if not needs_marker_cleared(entry, settings):
        return ""
    entity, field = _MARKER_FIELDS[entry["entity"]]
    autotask_id = int(entry["autotask_id"])
    try:
        record = autotask.get(entity, autotask_id)
    except AutotaskNotFoundError:
        record = None
    if record is None:
        return f"Autotask has no {entity[:-1]} {autotask_id} any more: nothing to clear"
    value = record.get(field)
    if (value or "").strip().upper() != ERROR_MARKER:
        return f"{field} is {value!r}, not {ERROR_MARKER}: left as it is" if value else ""
    autotask.update(entity, autotask_id, {field: ""})
    return f"cleared {ERROR_MARKER} from its {field} in Autotask"


def retry_entries(
    ledger: "Ledger", settings: "Settings", entries: Iterable[dict[str, Any]], autotask: "AutotaskHook | None"
) -> list[RetryOutcome]:
    """Re-queue each entry (steps 1-3). A record whose Autotask marker cannot be cleared is not
    re-queued in the ledger either, so what the tool reports is what happened."""
    outcomes = []
    for entry in entries:
        base = dict(error_id=int(entry["id"]), entity=entry["entity"], autotask_id=entry.get("autotask_id"),
                    message=entry["message"])  # fmt: skip
        if entry.get("autotask_id") is None:
            outcomes.append(RetryOutcome(**base, requeued=False, marker="", problem=(
                "a run-level error names no record to re-queue: fix what it says; the next run tries again")))  # fmt: skip
            continue
        marker = ""
        if needs_marker_cleared(entry, settings):
            if autotask is None:
                raise ValueError("an Autotask hook is needed to clear ERROR markers")
            try:
                marker = clear_error_marker(autotask, settings, entry)
            except AutotaskError as exc:
                outcomes.append(RetryOutcome(**base, requeued=False, marker="", problem=(
                    f"not re-queued: its ERROR marker could not be cleared in Autotask ({exc}); "
                    "clear it by hand, then retry")))  # fmt: skip
                continue
        requeued = requeue(ledger, entry)
        outcomes.append(RetryOutcome(**base, requeued=requeued, marker=marker,
                                     problem="" if requeued else "already resolved: nothing to retry"))  # fmt: skip
    return outcomes
