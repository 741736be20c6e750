"""The error log and its retry (TOOL-08), shared by ``atqbo_retry_errors`` and the Airflow UI view.

Every failure a sync records is an error-log entry (entity, Autotask id, QBO id, message, fix,
time of the last occurrence, attempts). The same failure of the same record is counted, not
repeated; an entry is closed (resolved) when its record is transferred. A retry re-queues the
record:

1. the entry gets ``retry_requested_at`` (the syncs retry a record whose unchanged content failed
   before only when asked to; a failed retry uses the request up, so it does not loop);
2. the record's ledger status goes from ERROR back to PENDING, so no sync takes it for "failed
   before, nothing changed" any more; except a ``payment``, which stays ERROR: the payment sync
   tries every ERROR record again at each run, and only those;
3. the ERROR marker a sync wrote in Autotask is cleared, so the next run sees the record as unsynced:
   the invoice number in ``invoiceNumber`` marker mode (INV-20), the External PO Number of a PO (PO-07).
   When the marker cannot be cleared, steps 1 and 2 are not done either: what the tool reports is
   what happened.

The next scheduled run (or ``atqbo_sync_now`` / ``atqbo_sync_po``) then sends the record again.
Nothing here talks to QBO: a retry only changes what the next run does.

This module is imported when the DAG files are parsed (for the form and ``ENTITIES``): the hooks
and the report are imported inside the functions that use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from atqbo import forms

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.notify import RunReport
    from atqbo.settings import Settings

ERROR_MARKER = "ERROR"
# Entities the syncs log errors for, as the error log names them.
ENTITIES: tuple[str, ...] = ("invoice", "invoice_void", "payment", "purchase_order")
ALL = "all"
REPORT_TITLE = "atqbo error log"
# The Autotask field that holds an ERROR marker, per entity (invoices only in invoiceNumber mode).
_MARKER_FIELDS: dict[str, tuple[str, str]] = {
    "invoice": ("Invoices", "invoiceNumber"),
    "purchase_order": ("PurchaseOrders", "externalPONumber"),
}
# Entities whose sync retries every ERROR record by itself: their status must stay ERROR.
_RETRIED_WHILE_ERROR = frozenset({"payment"})
# Which DAG sends a re-queued record again, as in "the next {NEXT_RUN[entity]} run sends it again".
NEXT_RUN: dict[str, str] = {
    "invoice": "atqbo_invoices (or atqbo_sync_now; atqbo_copy_invoice for one dated before the look-back)",
    "invoice_void": "atqbo_invoice_voids",
    "payment": "atqbo_payments",
    "purchase_order": "atqbo_purchase_orders (or atqbo_sync_po for one created before the look-back)",
}

RETRY_FIELDS = (
    forms.choice("entity", "Which records' errors: all, or one kind.", (ALL, *ENTITIES), ALL),
    forms.optional_date("since", "Only errors that last occurred on or after this day, YYYY-MM-DD (empty: all)."),
    forms.autotask_ids(
        "autotask_ids",
        "Autotask ids of the records to retry, after fixing what their errors say (empty: only list the errors).",
    ),
)


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


def since_datetime(since: date | datetime | None) -> datetime | None:
    """The form's ``since`` day as the first instant of that day, UTC."""
    if since is None or isinstance(since, datetime):
        return since
    return datetime.combine(since, time.min, tzinfo=UTC)


def select_entries(
    ledger: Ledger,
    entity: str | None = None,
    since: date | datetime | None = None,
    autotask_ids: Iterable[int] | None = None,
) -> list[dict[str, Any]]:
    """The open error-log entries matching the filters, newest first (the query the UI shows too).

    ``entity`` None or "all": every entity; ``since``: last occurred on or after it (a day means
    from its midnight UTC); ``autotask_ids`` None or empty: every record.
    """
    ids = list(autotask_ids) if autotask_ids else None
    return ledger.list_errors(
        entity=None if entity in (None, ALL) else entity, since=since_datetime(since), autotask_ids=ids
    )


def requeue(ledger: Ledger, entry: dict[str, Any]) -> bool:
    """Steps 1 and 2 above (the ledger's part). False when the entry is resolved or names no record."""
    if entry.get("resolved_at") or entry.get("autotask_id") is None:
        return False
    requested = ledger.request_retry(int(entry["id"]))
    if requested and entry["entity"] not in _RETRIED_WHILE_ERROR:
        ledger.requeue_sync_record(entry["entity"], int(entry["autotask_id"]))
    return requested


def needs_marker_cleared(entry: dict[str, Any], settings: Settings) -> bool:
    if entry.get("autotask_id") is None or entry["entity"] not in _MARKER_FIELDS:
        return False
    return entry["entity"] != "invoice" or settings.invoice_marker_field == "invoiceNumber"


def clear_error_marker(autotask: AutotaskHook, settings: Settings, entry: dict[str, Any]) -> str:
    """Step 3: clear the record's ERROR marker in Autotask; returns what happened, in words."""
    from atqbo.hooks.autotask import AutotaskNotFoundError

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
    ledger: Ledger, settings: Settings, entries: Iterable[dict[str, Any]], autotask: AutotaskHook | None
) -> list[RetryOutcome]:
    """Re-queue each entry (steps 1-3). A record whose Autotask marker cannot be cleared is not
    re-queued in the ledger either, so what the tool reports is what happened. A record with
    several open entries has its marker cleared once."""
    from atqbo.hooks.autotask import AutotaskError

    outcomes = []
    markers: dict[tuple[str, int], str | None] = {}  # (entity, id) -> marker text; None: could not be cleared
    for entry in entries:
        base = {
            "error_id": int(entry["id"]),
            "entity": entry["entity"],
            "autotask_id": entry.get("autotask_id"),
            "message": entry["message"],
        }
        if entry.get("autotask_id") is None:
            problem = "a run-level error names no record to re-queue: fix what it says; the next run tries again"
            outcomes.append(RetryOutcome(**base, requeued=False, marker="", problem=problem))
            continue
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
                    outcomes.append(
                        RetryOutcome(
                            **base,
                            requeued=False,
                            marker="",
                            status=status,
                            problem=(
                                f"not re-queued: its ERROR marker could not be cleared in Autotask ({exc}); "
                                "clear it by hand, then retry"
                            ),
                        )
                    )
                    continue
            elif markers[key] is None:
                problem = "not re-queued: its ERROR marker could not be cleared in Autotask (see its other entry)"
                outcomes.append(RetryOutcome(**base, requeued=False, marker="", status=status, problem=problem))
                continue
            marker = markers[key] or ""
        requeued = requeue(ledger, entry)
        outcomes.append(
            RetryOutcome(
                **base,
                requeued=requeued,
                marker=marker,
                status=status,
                problem="" if requeued else "already resolved: nothing to retry",
            )
        )
    return outcomes


def unmatched_ids(requested: Iterable[int], entries: Iterable[dict[str, Any]]) -> list[int]:
    """The Autotask ids asked for that no selected entry names."""
    named = {int(e["autotask_id"]) for e in entries if e.get("autotask_id") is not None}
    return sorted({int(i) for i in requested} - named)


# -- what the tool shows ------------------------------------------------------------------------------


def describe_filters(entity: str | None, since: date | datetime | None) -> str:
    parts = [f"entity {entity or ALL}"]
    if since is not None:
        parts.append(f"last occurred on or after {since.isoformat()}")
    return ", ".join(parts)


def format_entries(entries: list[dict[str, Any]], filters: str) -> str:
    """The entries as the task log shows them: one block per entry, every column named."""
    if not entries:
        return f"No open error-log entries ({filters})."
    lines = [f"{len(entries)} open error-log entr{'y' if len(entries) == 1 else 'ies'} ({filters}), newest first:"]
    for e in entries:
        record = f"Autotask id {e['autotask_id']}" if e.get("autotask_id") is not None else "no record (run-level)"
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
    outcomes: list[RetryOutcome] = (),  # type: ignore[assignment]
    unmatched: list[int] = (),  # type: ignore[assignment]
) -> RunReport:
    """The tool's report: one ``failed`` row per open entry (it is a failure still standing, its
    reference says which entry, its attempts and when), and a note per retry and per id asked for
    that has no open entry. The report's CSV has every column: entity, Autotask id, QBO id,
    reference (entry id, attempts, last time), message (reason) and fix."""
    from atqbo.notify import ReportRow, RunReport

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
            )
        )
    return report
