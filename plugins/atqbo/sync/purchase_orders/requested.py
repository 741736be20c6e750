"""TOOL-07: what the sync does with a PO asked for by id (``atqbo_sync_po``) rather than found in
its window.

Only a Submitted PO becomes a bill, as in the scheduled sync (PO-01), whatever its creation date.
External PO Number blank: sent. ``ERROR``: an earlier attempt failed and asking for the PO is
asking to try again, so it is sent (the report says so). A number: it was transferred; its bill
is found and reported, nothing is created. Another status: refused with the reason. None of the
POs not sent is written anywhere (nothing failed).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import ERROR_MARKER, is_error_marker
from atqbo.exceptions import AtqboConfigError
from atqbo.qbo_docs import BILL_LOOKUP_SLACK, BILL_NOTE, find_atqbo_bills, read_or_none
from atqbo.records import PURCHASE_ORDER
from atqbo.sync.purchase_orders.bill_numbers import bill_number, find_bills_by_number
from atqbo.sync.purchase_orders.model import SUBMITTED_LABEL, PurchaseOrder

if TYPE_CHECKING:
    from atqbo.sync.purchase_orders.state import LoadState

# What ``atqbo_sync_po`` does with a PO it was asked for (TOOL-07).
REQUEST_SEND = "send"  # Submitted, External PO Number blank: sent like any eligible PO
REQUEST_RETRY = "retry"  # Submitted, External PO Number ERROR: the person asks to try again, so it is sent
REQUEST_TRANSFERRED = "transferred"  # External PO Number holds a number: its bill is reported, nothing created
REQUEST_NOT_SUBMITTED = "not_submitted"  # another status: refused, nothing written
SENT_STATES = (REQUEST_SEND, REQUEST_RETRY)


class PurchaseOrderNotFound(AtqboConfigError):
    """Purchase orders asked for by id that Autotask does not have (a mistyped id): nothing was done."""

    def __init__(self, autotask_ids: Iterable[int]):
        self.autotask_ids = sorted(autotask_ids)
        ids = ", ".join(str(i) for i in self.autotask_ids)
        super().__init__(
            f"Autotask has no purchase order with id {ids}, so nothing was sent or written. Fix: check the id "
            "(in Autotask, the PO's number shown on the purchase order is its id) and trigger again"
        )


def classify_requested_po(po: dict[str, Any], submitted: int | str, labels: dict[str, str]) -> dict[str, Any]:
    """TOOL-07: what to do with a PO asked for by id, as ``{"state", "status", "external"}``.

    Only a Submitted PO becomes a bill, as in the scheduled sync (PO-01). A number in External PO
    Number means it was transferred (the number is its bill's): it is reported, not sent again.
    ERROR means an earlier attempt failed; asking for this PO is asking to try again.
    """
    status = labels.get(str(po.get("status")), str(po.get("status")))
    external = str(po.get("externalPONumber") or "").strip()
    if str(po.get("status")) != str(submitted):
        state = REQUEST_NOT_SUBMITTED
    elif not external:
        state = REQUEST_SEND
    elif is_error_marker(external):
        state = REQUEST_RETRY
    else:
        state = REQUEST_TRANSFERRED
    return {"state": state, "status": status, "external": external}


# -- in the load step ---------------------------------------------------------------------------------


def report_held(state: LoadState, orders: list[PurchaseOrder], requested: dict[str, dict[str, Any]]) -> None:
    """The POs ``atqbo_sync_po`` was asked for and does not send: a row each saying why; nothing
    is written anywhere (no ERROR, no error log, no to-do: nothing failed)."""
    transferred = [po for po in orders if requested[str(po.autotask_id)]["state"] == REQUEST_TRANSFERRED]
    for po in orders:
        verdict = requested[str(po.autotask_id)]
        if verdict["state"] != REQUEST_NOT_SUBMITTED:
            continue
        fix = (
            "submit it in Autotask, then sync it again"
            if verdict["status"].lower() == "new"
            else "only a Submitted purchase order becomes a bill; if this one must be in QBO, enter its bill "
            "there by hand"
        )
        reason = (
            f"{po.label()} has status {verdict['status']!r}, not {SUBMITTED_LABEL!r}: only submitted "
            "purchase orders are sent (PO-01); nothing was sent"
        )
        state.out.set(po, "skipped", reason, fix)
    if transferred:
        describe_transferred(
            state, transferred, {po.autotask_id: requested[str(po.autotask_id)]["external"] for po in transferred}
        )


def describe_transferred(state: LoadState, orders: list[PurchaseOrder], externals: dict[int, str]) -> None:
    """A PO whose External PO Number holds a number was transferred: find its bill (the ledger's
    record, atqbo's PrivateNote, or a bill with that number) and report it; create nothing."""
    by_note = find_atqbo_bills(state.qbo, min(po.created for po in orders) - BILL_LOOKUP_SLACK)
    by_number = find_bills_by_number(state.qbo, set(externals.values()))
    for po in orders:
        external = externals[po.autotask_id]
        bill, found_by = transferred_bill(state, po, external, by_note.get(po.autotask_id, []), by_number)
        if bill is None:
            state.out.set(
                po,
                "skipped",
                f"{po.label()} has External PO Number {external!r}, so it was transferred before, but QBO has no "
                f"bill atqbo made for it (PrivateNote '{BILL_NOTE.text(po.autotask_id)}') nor one numbered "
                f"{external!r}; nothing was created",
                "if its bill was deleted in QBO and must be sent again, clear External PO Number in Autotask, then "
                "sync it again",
            )
            continue
        state.out.set(
            po,
            "matched",
            f"already transferred: External PO Number {external!r}; QBO bill "
            f"{bill_number(bill)} (Id {bill['Id']}, found by {found_by}); nothing was created",
            bill=bill,
        )


def transferred_bill(
    state: LoadState,
    po: PurchaseOrder,
    external: str,
    with_note: list[dict[str, Any]],
    by_number: dict[str, list[dict[str, Any]]],
) -> tuple[dict[str, Any] | None, str]:
    """The bill of a transferred PO and how it was found: the ledger's record first (read by Id),
    then the first bill with atqbo's note, then the first numbered ``external``."""
    record = state.ledger.get_sync_record(PURCHASE_ORDER, po.autotask_id) or {}
    bill = read_or_none(state.qbo, "Bill", record["qbo_id"]) if record.get("qbo_id") else None
    if bill is not None:
        return bill, "the state database"
    if with_note:
        return with_note[0], f"its PrivateNote '{BILL_NOTE.text(po.autotask_id)}'"
    if by_number.get(external):
        return by_number[external][0], f"its bill number {external}"
    return None, ""


def note_retries(state: LoadState, orders: list[PurchaseOrder], requested: dict[str, dict[str, Any]]) -> None:
    """A PO sent again from ERROR, as asked: the report says so."""
    for po in orders:
        if requested.get(str(po.autotask_id), {}).get("state") == REQUEST_RETRY:
            state.notes.append(
                f"{po.label()} had {ERROR_MARKER} in its External PO Number (an earlier attempt "
                "failed, see the error log): sent again, as asked."
            )


def note_busy_retries(state: LoadState, orders: list[PurchaseOrder], requested: dict[str, dict[str, Any]]) -> None:
    """A PO sent again from ERROR that QBO was too busy to take keeps its ERROR marker, so no
    scheduled run picks it up: say how to send it."""
    for po in orders:
        row = state.out.rows.get(po.autotask_id) or {}
        if requested.get(str(po.autotask_id), {}).get("state") == REQUEST_RETRY and row.get("transient"):
            busy = row["reason"].split("; the next run")[0]
            row["reason"] = (
                f"{busy}; its External PO Number still says {ERROR_MARKER}, so no scheduled run sends "
                "it: sync it again with atqbo_sync_po"
            )
