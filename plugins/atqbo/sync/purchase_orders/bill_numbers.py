"""Bill numbers: the DocNumber a bill is sent with (PO-04), the number written back to the PO's
External PO Number (PO-07), and the check that no other QBO bill already has the number.

QBO does not number bills and does not refuse a duplicate DocNumber on one, so with
``po_number_source`` "autotask" the sync looks the numbers up itself before it creates anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from atqbo.qbo_docs import BILL_NOTE
from atqbo.sync.purchase_orders.failures import RETRY_HINT
from atqbo.sync.purchase_orders.model import PurchaseOrder
from atqbo.transform.values import MAX_DOC_NUMBER

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.sync.purchase_orders.state import LoadState

MAX_EXTERNAL_PO_NUMBER = 50  # Autotask's externalPONumber length


def bill_doc_number(po: PurchaseOrder, number_source: str) -> str | None:
    """PO-04: the Autotask PO id when Autotask numbers bills; None when QBO does (it does not number bills)."""
    return str(po.autotask_id)[:MAX_DOC_NUMBER] if number_source == "autotask" else None


def bill_number(bill: dict[str, Any]) -> str:
    """What the write-back stores (PO-07): the bill's DocNumber, else its Id."""
    return str(bill.get("DocNumber") or bill["Id"])[:MAX_EXTERNAL_PO_NUMBER]


def find_bills_by_number(qbo: QuickBooksOnlineHook, numbers: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """QBO's bills whose DocNumber is one of ``numbers``, by number, oldest first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for bill in qbo.query_in("Bill", "DocNumber", sorted(n for n in numbers if n), order_by="Id"):
        found.setdefault(str(bill.get("DocNumber")), []).append(bill)
    return found


def check_bill_numbers(state: LoadState, orders: list[PurchaseOrder]) -> None:
    """Autotask numbering: a QBO bill with the PO's number that atqbo did not create for it is an
    error (the lookup QBO does not do for bills)."""
    numbers = {bill_doc_number(po, "autotask"): po for po in orders}
    taken = find_bills_by_number(state.qbo, numbers)
    for number, po in numbers.items():
        others = [
            b for b in taken.get(str(number), []) if BILL_NOTE.autotask_id(b.get("PrivateNote")) != po.autotask_id
        ]
        if not others:
            continue
        other = others[0]
        vendor = (other.get("VendorRef") or {}).get("name") or (other.get("VendorRef") or {}).get("value")
        state.out.fail(
            po,
            f"{po.label()}: QBO already has bill number {number} (bill Id {other['Id']}, vendor {vendor}) "
            "that atqbo did not create for this PO; bill numbers must be unique, so it is not sent "
            "(po_number_source is 'autotask', PO-04)",
            "renumber or delete the other bill in QBO, or set po_number_source to 'qbo'; " + RETRY_HINT,
        )
