"""BEY-01: before anything is created, the bills QBO already has for the run's POs are adopted.

A bill exists without its PO being marked when an earlier attempt's answer was lost, the
write-back failed, the worker died after the batch, or the state database was lost. atqbo finds
its bills by their PrivateNote (``Autotask PO {id}``, created since the POs were) and by the
ledger's record; the ledger's bill is preferred (``qbo_docs.pick_document``). An adopted PO is
written back like a created one; a bill the ledger recorded that QBO no longer has is created
again (a new generation). A PO whose bill an earlier attempt sent and never heard back from,
recently enough that QBO may still commit it (``atqbo.write_in_flight``), is not sent again: it is
reported as still in flight and decided by a later run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atqbo.ledger import utcnow
from atqbo.qbo_docs import BILL_LOOKUP_SLACK, BILL_NOTE, find_atqbo_bills, pick_document, read_or_none
from atqbo.records import PURCHASE_ORDER
from atqbo.sync.purchase_orders.bill_numbers import bill_number
from atqbo.sync.purchase_orders.model import PurchaseOrder
from atqbo.write_in_flight import in_flight_reason, in_flight_until

if TYPE_CHECKING:
    from atqbo.sync.purchase_orders.state import LoadState


def adopt_existing_bills(state: LoadState, orders: list[PurchaseOrder]) -> list[PurchaseOrder]:
    """The bills QBO already has for these POs (an earlier attempt, a lost write-back) are adopted;
    returns the POs that still need a bill."""
    since = min(po.created for po in orders) - BILL_LOOKUP_SLACK
    looked_at = utcnow()  # in-flight windows judged as of before the search (see invoices' adopt)
    existing = find_atqbo_bills(state.qbo, since)
    pending = []
    for po in orders:
        record = state.ledger.get_sync_record(PURCHASE_ORDER, po.autotask_id)
        bill = existing_bill(state, po, existing.get(po.autotask_id, []), record)
        until = in_flight_until(record, state.qbo.write_may_commit_s, now=looked_at)
        if bill is None and until is not None:  # its create may still commit: a second send could make two
            reason = in_flight_reason(f"the bill of {po.label()}", record, until)
            state.out.set(po, "skipped", reason, transient=True)
        elif bill is None:
            pending.append(po)
        else:
            adopt_bill(state, po, bill, record)
    return pending


def existing_bill(
    state: LoadState, po: PurchaseOrder, found: list[dict[str, Any]], record: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The PO's bill in QBO: of those carrying its note, the one the ledger recorded, else the
    first; else the ledger's bill read by Id (its note may have been edited in QBO); else None."""
    recorded_id = str(record["qbo_id"]) if record and record["status"] == "SYNCED" and record.get("qbo_id") else None
    bill, _ = pick_document(found, recorded_id)
    if len(found) > 1:
        ids = ", ".join(str(b["Id"]) for b in found)
        kept = "the first" if bill is found[0] else f"Id {bill['Id']}, the one atqbo recorded,"
        state.out.warn(
            po,
            f"QBO holds several bills with PrivateNote '{BILL_NOTE.text(po.autotask_id)}' (Ids "
            f"{ids}); {kept} is recorded, delete the others in QBO",
        )
    if bill is None and recorded_id is not None:
        bill = read_or_none(state.qbo, "Bill", recorded_id)
        if bill is None:
            state.out.warn(
                po,
                f"QBO bill Id {recorded_id} recorded for {po.label()} no longer exists in QBO; a new bill is created",
            )
    return bill


def adopt_bill(state: LoadState, po: PurchaseOrder, bill: dict[str, Any], record: dict[str, Any] | None) -> None:
    """The PO is marked with its existing bill: "transferred" when this run created it before a
    retry, else "matched"; the ledger records the bill (not in a dry run)."""
    ours = bool(record and record.get("run_id") == state.run.run_id)  # this run created it before a retry
    reason = (
        f"created QBO bill {bill_number(bill)}"
        if ours
        else f"already in QBO as bill {bill_number(bill)} (created by an earlier atqbo run); External PO "
        f"Number {'would be ' if state.dry_run else ''}written"
    )
    state.out.set(po, "transferred" if ours else "matched", reason, marker="synced", bill=bill)
    if state.dry_run:
        return
    state.record_bill(po, bill)  # run_id left as it is: it names the run that created the bill
