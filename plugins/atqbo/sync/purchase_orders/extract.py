"""Step 1, extract: the POs to send and every Autotask record their bills are made of, read in bulk
and staged in the ledger for the load step.

PO-01: the window's eligible POs are those with status "Submitted" (its value read from the
picklist), created inside the window, External PO Number blank. ``atqbo_sync_po`` (TOOL-07) asks
for POs by id instead, whatever their creation date; ``requested`` sorts them.

Staged under the run key: ``po`` (to send) and ``po_held`` (asked for, not sent), each PO with its
items; ``requested`` (TOOL-07's verdict per PO); ``reference`` (products, vendor companies and
Autotask's currencies).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import is_blank
from atqbo.hooks.autotask import eq, gte, lt
from atqbo.sync.purchase_orders.model import SUBMITTED_LABEL
from atqbo.sync.purchase_orders.requested import SENT_STATES, PurchaseOrderNotFound, classify_requested_po

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

PO_FIELDS = [
    "id",
    "vendorID",
    "status",
    "createDateTime",
    "submitDateTime",
    "externalPONumber",
    "freight",
    "vendorInvoiceNumber",
    "purchaseForCompanyID",  # BEY-07: qbo_routes route a PO by the Autotask company it is bought for
]
PO_ITEM_FIELDS = ["id", "orderID", "productID", "quantity", "unitCost", "memo"]
PRODUCT_FIELDS = ["id", "name", "description", "sku", "unitCost"]
VENDOR_FIELDS = ["id", "companyName", "currencyID", "address1", "address2", "city", "state", "postalCode", "phone"]
CURRENCY_FIELDS = ["id", "name", "isActive", "isInternalCurrency"]


def extract_purchase_orders(
    run: RunInfo, autotask: AutotaskHook, ledger: Ledger, autotask_ids: Iterable[int] | None = None
) -> dict[str, int]:
    """Stage the window's eligible POs and what they reference (PO-01); return counts.

    ``autotask_ids`` (TOOL-07, ``atqbo_sync_po``): exactly these POs instead, whatever their
    creation date. Each is sorted by ``classify_requested_po``: sent (Submitted, External PO Number
    blank or ERROR), reported as transferred before (a number already), or refused (another
    status). An id Autotask does not have raises ``PurchaseOrderNotFound`` before anything is staged.
    """
    run.parsed_settings.require_purchase_order_settings()  # PO-08: no PO is looked at without its to-do settings
    submitted = autotask.picklist_value("PurchaseOrders", "status", SUBMITTED_LABEL)
    if autotask_ids is None:
        orders, held, requested = read_eligible_orders(run, autotask, submitted), [], {}
    else:
        orders, held, requested = read_requested_orders(autotask, autotask_ids, submitted)
    everything = orders + held
    items = autotask.query_in(
        "PurchaseOrderItems", "orderID", [po["id"] for po in everything], include_fields=PO_ITEM_FIELDS
    )
    product_ids = sorted({i["productID"] for i in items if i.get("productID")})
    vendor_ids = sorted({po["vendorID"] for po in everything})
    reference = {
        "products": {
            str(p["id"]): p for p in autotask.get_many("Products", product_ids, include_fields=PRODUCT_FIELDS)
        },
        "vendors": {str(v["id"]): v for v in autotask.get_many("Companies", vendor_ids, include_fields=VENDOR_FIELDS)},
        "currencies": autotask.query_all("Currencies", [gte("id", 0)], include_fields=CURRENCY_FIELDS)
        if orders
        else [],
    }
    stage_extracted(run, ledger, orders, held, items, requested, reference)
    if autotask_ids is None:
        log.info(
            "Extracted %d eligible purchase orders with %d items (%s)", len(orders), len(items), run.describe_window()
        )
    else:
        log.info(
            "Extracted purchase order(s) %s: %d to send, %d not sent (%s)",
            ", ".join(requested),
            len(orders),
            len(held),
            "; ".join(f"{k}: {v['state']}" for k, v in requested.items()),
        )
    return {"purchase_orders": len(orders), "items": len(items), "held": len(held)}


def read_eligible_orders(run: RunInfo, autotask: AutotaskHook, submitted: int | str) -> list[dict[str, Any]]:
    """PO-01: the Submitted POs created inside the window whose External PO Number is blank."""
    filters = [
        eq("status", submitted),
        gte("createDateTime", run.start.isoformat()),
        lt("createDateTime", run.end.isoformat()),
    ]
    orders = autotask.query_all("PurchaseOrders", filters, include_fields=PO_FIELDS)
    # blank: never synced, or ERROR cleared by a person; decided here, not by notExist (LINE-03)
    return [po for po in orders if is_blank(po.get("externalPONumber"))]


def read_requested_orders(
    autotask: AutotaskHook, autotask_ids: Iterable[int], submitted: int | str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """TOOL-07: the POs asked for by id, as (to send, held, verdict by id); raises
    ``PurchaseOrderNotFound`` for an id Autotask does not have."""
    wanted = sorted({int(i) for i in autotask_ids})
    found = autotask.get_many("PurchaseOrders", wanted, include_fields=PO_FIELDS)
    missing = sorted(set(wanted) - {int(po["id"]) for po in found})
    if missing:
        raise PurchaseOrderNotFound(missing)
    labels = autotask.picklist("PurchaseOrders", "status")
    orders: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    requested: dict[str, dict[str, Any]] = {}
    for po in found:
        verdict = classify_requested_po(po, submitted, labels)
        requested[str(po["id"])] = verdict
        (orders if verdict["state"] in SENT_STATES else held).append(po)
    return orders, held, requested


def stage_extracted(
    run: RunInfo,
    ledger: Ledger,
    orders: list[dict[str, Any]],
    held: list[dict[str, Any]],
    items: list[dict[str, Any]],
    requested: dict[str, dict[str, Any]],
    reference: dict[str, Any],
) -> None:
    """Replace the run's staged data with these records: each PO with its items, sent or held."""
    bundles: dict[str, dict[str, Any]] = {str(po["id"]): {"po": po, "items": []} for po in orders + held}
    for item in items:
        bundles[str(item["orderID"])]["items"].append(item)
    held_ids = {str(po["id"]) for po in held}
    ledger.stage_clear(run.run_key)
    ledger.stage_put(run.run_key, "po", {k: v for k, v in bundles.items() if k not in held_ids})
    ledger.stage_put(run.run_key, "po_held", {k: v for k, v in bundles.items() if k in held_ids})
    ledger.stage_put(run.run_key, "requested", requested)
    ledger.stage_put(run.run_key, "reference", reference)
