"""PO-05: each bill line's QBO item, matched by the Autotask product's name.

An item QBO has must be active and purchasable (it has an expense account) to be on a bill. A
missing one is created (NonInventory, purchase-only, on ``po_new_item_expense_account``) when
``po_missing_item_action`` is "create"; when it is "error", POs are taken in id order and the
first one needing a missing item fails and stops the run: the ones after it are left for the
next run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atqbo.money import as_decimal, json_number
from atqbo.qbo_names import find_names
from atqbo.settings import VARIABLE_NAME
from atqbo.sync.purchase_orders.accounts import find_expense_account_id
from atqbo.sync.purchase_orders.failures import RETRY_HINT
from atqbo.sync.purchase_orders.model import PoLine, PurchaseOrder
from atqbo.transform.values import MAX_ITEM_SKU, MAX_PURCHASE_DESC

if TYPE_CHECKING:
    from atqbo.settings import Settings
    from atqbo.sync.purchase_orders.state import LoadState


Problem = tuple[str, str]  # (what is wrong, how to fix it)


def is_purchasable(item: dict[str, Any]) -> bool:
    """QBO puts an item on a bill line only when it has an expense account ("I purchase this")."""
    return bool((item.get("ExpenseAccountRef") or {}).get("value"))


def item_payload(line: PoLine, product: dict[str, Any], expense_account_id: str) -> dict[str, Any]:
    """The QBO item to create for a product (PO-05): NonInventory, purchasable, purchase-only."""
    payload: dict[str, Any] = {
        "Name": line.item_name,
        "Type": "NonInventory",
        "ExpenseAccountRef": {"value": expense_account_id},
        "PurchaseDesc": str(product.get("description") or line.product_name).strip()[:MAX_PURCHASE_DESC],
    }
    cost = product.get("unitCost")
    if cost is not None:
        payload["PurchaseCost"] = json_number(as_decimal(cost))
    sku = str(product.get("sku") or "").strip()
    if sku:
        payload["Sku"] = sku[:MAX_ITEM_SKU]
    return payload


# -- the check --------------------------------------------------------------------------------------


def check_items(state: LoadState, orders: list[PurchaseOrder]) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Find the QBO items of every line; refuse inactive and non-purchasable ones; apply
    ``po_missing_item_action`` to missing ones. Returns the items found, by lower-cased name, and
    the expense account for new items (None when none is needed or QBO has no such account)."""
    settings = state.settings
    names = {line.item_name for po in orders for line in po.lines}
    items = find_names(state.qbo, "Item", "Name", names)
    missing = {n.lower() for n in names} - set(items)
    expense_account_id: str | None = None
    if missing and settings.po_missing_item_action == "create":
        expense_account_id = find_expense_account_id(state.qbo, settings)
    stopped_at: PurchaseOrder | None = None
    for po in orders:
        if stopped_at is not None:
            state.out.set(
                po,
                "skipped",
                f"not processed: the run stopped at {stopped_at.reference} (a missing QBO item, "
                "po_missing_item_action is 'error'); the next run sends it",
                "see the failure of " + stopped_at.reference,
            )
            continue
        problems, absent = item_problems(po, items)
        if absent and settings.po_missing_item_action == "error":
            problems.insert(0, missing_items_stop_problem(po, absent))
            stopped_at = po
        elif absent and expense_account_id is None:
            problems.append(no_expense_account_problem(settings, po, absent))
        if problems:
            state.out.fail(po, "; ".join(p[0] for p in problems), "; ".join(dict.fromkeys(p[1] for p in problems)))
    if stopped_at is not None:
        state.notes.append(
            f"Processing stopped at {stopped_at.reference}: a product has no QBO item and "
            "po_missing_item_action is 'error'. The purchase orders after it were not processed; the next run "
            "sends them."
        )
    return items, expense_account_id


def item_problems(po: PurchaseOrder, items: dict[str, dict[str, Any]]) -> tuple[list[Problem], list[PoLine]]:
    """What is wrong with the QBO items the PO's lines found (inactive, not purchasable), and the
    lines whose item QBO does not have."""
    problems: list[Problem] = []
    absent: list[PoLine] = []
    for line in po.lines:
        item = items.get(line.item_name.lower())
        if item is None:
            absent.append(line)
            continue
        named = f"{po.label()}: the QBO item {item['Name']!r} (Id {item['Id']}) for product {line.product_name!r}"
        if not item.get("Active", True):
            problems.append(
                (
                    f"{named} is inactive",
                    f"make the item active in QBO (Products and services > show inactive); {RETRY_HINT}",
                )
            )
        elif not is_purchasable(item):
            problems.append(
                (
                    f"{named} is not purchasable (it has no expense account), so it cannot be on a bill (PO-05)",
                    "edit the item in QBO: tick 'I purchase this product/service from a vendor' and choose an "
                    f"expense account; {RETRY_HINT}",
                )
            )
    return problems, absent


def missing_items_stop_problem(po: PurchaseOrder, absent: list[PoLine]) -> Problem:
    """``po_missing_item_action`` "error": this PO fails and the run stops at it."""
    products = ", ".join(sorted({repr(line.product_name) for line in absent}))
    return (
        f"{po.label()}: no QBO item named after product(s) {products}, and po_missing_item_action is "
        "'error': processing stopped at this PO (PO-05)",
        "create the item(s) in QBO (purchasable, with an expense account) or set po_missing_item_action "
        f"to 'create'; {RETRY_HINT}. The POs after this one are sent by the next run",
    )


def no_expense_account_problem(settings: Settings, po: PurchaseOrder, absent: list[PoLine]) -> Problem:
    """``po_missing_item_action`` "create", but QBO has no account to create the items with."""
    name = settings.po_new_item_expense_account
    products = ", ".join(sorted({repr(line.product_name) for line in absent}))
    return (
        f"{po.label()}: product(s) {products} have no QBO item and QBO has no account named {name!r} "
        "(po_new_item_expense_account) to create them with",
        f"set po_new_item_expense_account in the {VARIABLE_NAME} Variable to an expense account's name in QBO; "
        f"{RETRY_HINT}",
    )


# -- the create -------------------------------------------------------------------------------------


def create_items(
    state: LoadState, orders: list[PurchaseOrder], items: dict[str, dict[str, Any]], expense_account_id: str | None
) -> None:
    """Create the missing items of these POs (a dry run plans them); a PO with an item QBO refused fails."""
    payloads: dict[str, dict[str, Any]] = {}
    for po in orders:
        for line in po.lines:
            if line.item_name.lower() not in items and line.item_name not in payloads and expense_account_id:
                product = state.products.get(str(line.product_id)) or {}
                payloads[line.item_name] = item_payload(line, product, expense_account_id)
    created, faults = state.create_names("Item", "Name", payloads)
    items.update(created)
    for po in orders:
        broken = [line.item_name for line in po.lines if line.item_name in faults]
        if broken:
            state.out.fail(
                po,
                f"{po.label()}: the QBO item(s) could not be created: "
                + "; ".join(f"{n!r}: {faults[n]}" for n in broken),
                "fix what QBO names (the Autotask product), or create the item in QBO; " + RETRY_HINT,
            )
