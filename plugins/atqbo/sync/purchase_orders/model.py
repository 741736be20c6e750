"""A purchase order as the PO sync sees it: the Autotask PO, its items as bill lines, and how the
records ``extract`` staged become ``PurchaseOrder``s. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from atqbo.autotask_docs import iso_datetime
from atqbo.money import as_decimal, number_or_none, to_cents
from atqbo.transform.values import (
    MAX_DISPLAY_NAME,
    MAX_ITEM_NAME,
    MAX_LINE_DESCRIPTION,
    control_characters,
    qbo_name,
    without_control_characters,
)

SUBMITTED_LABEL = "Submitted"  # the PurchaseOrders.status label of an eligible PO (its value is read from Autotask)


@dataclass(frozen=True)
class PoLine:
    """One PO item as a bill line."""

    product_id: int
    product_name: str  # as in Autotask
    item_name: str  # the QBO item it matches (PO-05): the product name as QBO accepts names
    quantity: Decimal
    unit_cost: Decimal
    description: str
    item_id: int | None = None  # the PurchaseOrderItems id, for messages
    unusable: str = ""  # why its quantity or unit cost cannot be used ("" when both are numbers)
    removed: tuple[str, ...] = ()  # control characters taken out of the description (QBO cannot store them)

    @property
    def amount(self) -> Decimal:
        return to_cents(self.quantity * self.unit_cost)


@dataclass(frozen=True)
class PurchaseOrder:
    """An eligible Autotask PO and what its bill is made of."""

    autotask_id: int
    vendor_id: int
    vendor_name: str  # the Autotask company name
    created: datetime
    txn_date: date
    freight: Decimal
    lines: tuple[PoLine, ...]
    purchase_for_company_id: int | None = None  # the Autotask company it is bought for (BEY-07 routes by it)

    @property
    def reference(self) -> str:
        return f"PO {self.autotask_id}"

    @property
    def vendor_display_name(self) -> str:
        """The QBO vendor name it matches (PO-03): the organization name as QBO accepts names."""
        return qbo_name(self.vendor_name, MAX_DISPLAY_NAME)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    def label(self) -> str:
        """How messages name it: ``Autotask PO 29686003 (vendor Pax8)``."""
        return f"Autotask PO {self.autotask_id} (vendor {self.vendor_name})"


def purchase_orders_from_staged(staged: dict[str, Any], reference: dict[str, Any]) -> list[PurchaseOrder]:
    """The staged Autotask records as ``PurchaseOrder``s, in id order."""
    products = reference.get("products", {})
    vendors = reference.get("vendors", {})
    return [purchase_order_from_records(staged[key], vendors, products) for key in sorted(staged, key=int)]


def purchase_order_from_records(
    bundle: dict[str, Any], vendors: dict[str, dict[str, Any]], products: dict[str, dict[str, Any]]
) -> PurchaseOrder:
    """One staged PO (``{"po": ..., "items": [...]}``) with its vendor company and products."""
    po = bundle["po"]
    vendor = vendors.get(str(po.get("vendorID"))) or {}
    created = iso_datetime(po.get("createDateTime")) or datetime.now(UTC)
    submitted = iso_datetime(po.get("submitDateTime"))
    return PurchaseOrder(
        autotask_id=int(po["id"]),
        vendor_id=int(po["vendorID"]),
        vendor_name=str(vendor.get("companyName") or f"Autotask company {po['vendorID']}"),
        created=created,
        txn_date=(submitted or created).date(),
        freight=as_decimal(po.get("freight")),
        lines=tuple(po_line(item, products) for item in sorted(bundle["items"], key=lambda i: i["id"])),
        purchase_for_company_id=po.get("purchaseForCompanyID"),
    )


def po_line(item: dict[str, Any], products: dict[str, dict[str, Any]]) -> PoLine:
    """A PurchaseOrderItems record as a bill line, named after its product (the memo describes it)."""
    product = products.get(str(item.get("productID"))) or {}
    name = str(product.get("name") or f"Autotask product {item.get('productID')}")
    description = str(item.get("memo") or product.get("description") or name).strip()
    return PoLine(
        product_id=int(item["productID"]),
        product_name=name,
        item_name=qbo_name(name, MAX_ITEM_NAME),
        quantity=as_decimal(item.get("quantity")),
        unit_cost=as_decimal(item.get("unitCost")),
        description=without_control_characters(description).strip()[:MAX_LINE_DESCRIPTION],
        item_id=item.get("id"),
        unusable=_unusable_numbers(item),
        removed=tuple(control_characters(description)),
    )


def _unusable_numbers(item: dict[str, Any]) -> str:
    """Why a PO item's quantity or unit cost cannot make a bill line (null or not a number), or ""."""
    for name in ("quantity", "unitCost"):
        value = item.get(name)
        if value is None:
            return f"has no {name} in Autotask (it is null)"
        if number_or_none(value) is None:
            return f"has {name} {value!r}, which is not a number"
    return ""
