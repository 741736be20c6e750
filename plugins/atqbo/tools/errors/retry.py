"""The retry of error-log entries (the three steps in the package docstring): ask for a retry in the
error log, put the record back to PENDING in the ledger, clear the ERROR marker in Autotask.

The Airflow UI imports this module in the API server, which never talks to Autotask: the Autotask
hook is imported only inside the functions that clear a marker (run by the DAG, in a worker).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import ERROR_MARKER, ERROR_MARKER_FIELDS, is_error_marker
from atqbo.records import INVOICE, INVOICE_VOID, PAYMENT, PURCHASE_ORDER

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.settings import Settings

# Entities whose sync retries every ERROR record by itself: their status must stay ERROR.
_RETRIED_WHILE_ERROR = frozenset({PAYMENT})
# Which DAG sends a re-queued record again, as in "the next {NEXT_RUN[entity]} run sends it again".
NEXT_RUN: dict[str, str] = {
    INVOICE: "atqbo_invoices (or atqbo_sync_now; atqbo_copy_invoice for one dated before the look-back)",
    INVOICE_VOID: "atqbo_invoice_voids",
    PAYMENT: "atqbo_payments",
    PURCHASE_ORDER: "atqbo_purchase_orders (or atqbo_sync_po for one created before the look-back)",
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
    status: str | None = None  # the record's ledger status before the retry (None: no record)

    def describe(self) -> str:
        if self.problem:
            return self.problem
        next_run = f"the next {NEXT_RUN.get(self.entity, 'sync')} run"
        parts = [f"re-queued; {next_run} sends it again"]
        if self.status == "SYNCED":
            parts = [
                f"retry requested, but the record is already in QBO (ledger status SYNCED): {next_run} re-sends "
                "nothing; it writes the Autotask marker again if that is missing. Fix anything else the message "
                "names in QBO by hand"
            ]
        if self.marker:
            parts.append(self.marker)
        return "; ".join(parts)


def requeue(ledger: Ledger, entry: dict[str, Any]) -> bool:
    """Steps 1 and 2 (the ledger's part). False when the entry is resolved or names no record."""
    if entry.get("resolved_at") or entry.get("autotask_id") is None:
        return False
    requested = ledger.request_retry(int(entry["id"]))
    if requested and entry["entity"] not in _RETRIED_WHILE_ERROR:
        ledger.requeue_sync_record(entry["entity"], int(entry["autotask_id"]))
    return requested


def needs_marker_cleared(entry: dict[str, Any], settings: Settings) -> bool:
    """The entry's record may carry an ERROR marker in Autotask (invoices only in invoiceNumber mode)."""
    if entry.get("autotask_id") is None or entry["entity"] not in ERROR_MARKER_FIELDS:
        return False
    return entry["entity"] != INVOICE or settings.invoice_marker_field == "invoiceNumber"


def clear_error_marker(autotask: AutotaskHook, settings: Settings, entry: dict[str, Any]) -> str:
    """Step 3: clear the record's ERROR marker in Autotask; returns what happened, in words."""
    from atqbo.hooks.autotask import AutotaskNotFoundError

    if not needs_marker_cleared(entry, settings):
        return ""
    entity, field = ERROR_MARKER_FIELDS[entry["entity"]]
    autotask_id = int(entry["autotask_id"])
    try:
        record = autotask.get(entity, autotask_id)
    except AutotaskNotFoundError:
        record = None
    if record is None:
        return f"Autotask has no {entity[:-1]} {autotask_id} any more: nothing to clear"
    value = record.get(field)
    if not is_error_marker(value):
        return f"{field} is {value!r}, not {ERROR_MARKER}: left as it is" if value else ""
    autotask.update(entity, autotask_id, {field: None})  # null, not "": notExist filters miss "" (LINE-03)
    return f"cleared {ERROR_MARKER} from its {field} in Autotask"


def retry_entries(
    ledger: Ledger, settings: Settings, entries: Iterable[dict[str, Any]], autotask: AutotaskHook | None
) -> list[RetryOutcome]:
    """Re-queue each entry (steps 1-3). A record whose Autotask marker cannot be cleared is not
    re-queued in the ledger either, so what the tool reports is what happened. A record with
    several open entries has its marker cleared once."""
    markers: dict[tuple[str, int], str | None] = {}  # (entity, id) -> marker text; None: could not be cleared
    return [_retry_entry(ledger, settings, entry, autotask, markers) for entry in entries]


def _retry_entry(
    ledger: Ledger,
    settings: Settings,
    entry: dict[str, Any],
    autotask: AutotaskHook | None,
    markers: dict[tuple[str, int], str | None],
) -> RetryOutcome:
    """One entry's retry; ``markers`` remembers each record's marker clearing across its entries."""
    from atqbo.hooks.autotask import AutotaskError

    base = {
        "error_id": int(entry["id"]),
        "entity": entry["entity"],
        "autotask_id": entry.get("autotask_id"),
        "message": entry["message"],
    }
    if entry.get("autotask_id") is None:
        problem = "a run-level error names no record to re-queue: fix what it says; the next run tries again"
        return RetryOutcome(**base, requeued=False, marker="", problem=problem)
    key = (entry["entity"], int(entry["autotask_id"]))
    record = ledger.get_sync_record(*key)
    status = record["status"] if record else None
    marker = ""
    if needs_marker_cleared(entry, settings):
        if autotask is None:
            raise ValueError("an Autotask hook is needed to clear ERROR markers")
        if key not in markers:
            try:
                markers[key] = clear_error_marker(autotask, settings, entry)
            except AutotaskError as exc:
                markers[key] = None
                problem = (
                    f"not re-queued: its ERROR marker could not be cleared in Autotask ({exc}); clear it by hand, "
                    "then retry"
                )
                return RetryOutcome(**base, requeued=False, marker="", status=status, problem=problem)
        elif markers[key] is None:
            problem = "not re-queued: its ERROR marker could not be cleared in Autotask (see its other entry)"
            return RetryOutcome(**base, requeued=False, marker="", status=status, problem=problem)
        marker = markers[key] or ""
    requeued = requeue(ledger, entry)
    problem = "" if requeued else "already resolved: nothing to retry"
    return RetryOutcome(**base, requeued=requeued, marker=marker, status=status, problem=problem)
