"""Rules the real API enforces beyond field types, from its entity pages (AT-HELP): a to-do ends
after it starts, purchase order items change only while their order allows it, one compounded
tax per tax region and category. And what no Autotask database can hold, checked on seeds: a
non-billable billing item is shown on its invoice at 0.

Each check raises ``WriteError`` naming the rule and the record; writes run ``check_write`` and
seeds ``check_seeded``, both over the records the tenant would hold afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.autotask.filter import parse_datetime
from sandbox.autotask.schema import EntitySpec
from sandbox.autotask.values import WriteError

Records = Mapping[int, dict[str, Any]]
# The amounts a non-billable item shows at 0 (extendedPrice is what the invoice prints).
NON_BILLABLE_AMOUNTS = ("extendedPrice", "totalAmount", "taxDollars")


def check_write(
    tables: Mapping[str, Records], spec: EntitySpec, record: dict[str, Any], stored: dict[str, Any] | None
) -> None:
    """A create (``stored`` None) or update of ``record`` against the tenant's ``tables``."""
    if spec.name == "CompanyToDos":
        start, end = record.get("startDateTime"), record.get("endDateTime")
        if start and end and parse_datetime(end) < parse_datetime(start):
            raise WriteError("endDateTime must be on or after startDateTime")
    if spec.name == "PurchaseOrderItems":
        _check_order_allows_items(tables["PurchaseOrders"].get(record.get("orderID")), record, stored)
    if spec.name == "Taxes":
        _check_one_compounded_tax(tables["Taxes"].values(), record)


def check_seeded(spec: EntitySpec, record: dict[str, Any], taxes: Iterable[dict[str, Any]]) -> None:
    """A seeded ``record``; ``taxes`` are the Taxes the tenant holds with the seed merged."""
    if spec.name == "Taxes":
        _check_one_compounded_tax(taxes, record)
    if spec.name == "BillingItems" and record.get("nonBillable") not in (None, 0):
        shown = {name: record.get(name) for name in NON_BILLABLE_AMOUNTS if record.get(name) not in (None, 0)}
        if shown:
            raise WriteError(
                f"a non-billable billing item (nonBillable {record['nonBillable']}) is shown on the invoice at 0, "
                f"but it has {shown}: set them to 0, or nonBillable to 0 for billable work"
            )


def _check_order_allows_items(
    order: dict[str, Any] | None, record: dict[str, Any], stored: dict[str, Any] | None
) -> None:
    status = order.get("status") if order else None
    if stored is None and status != 1:
        raise WriteError(
            f"Purchase order items can only be added while purchase order {record.get('orderID')} has status New"
        )
    if stored is not None and status not in (1, 2, 3):
        raise WriteError(
            f"Purchase order items can only be updated while purchase order {record.get('orderID')} "
            "is New, Submitted or Received Partial"
        )


def _check_one_compounded_tax(taxes: Iterable[dict[str, Any]], record: dict[str, Any]) -> None:
    """AT-HELP TaxesEntity: "Only one tax rate can be compounded per TaxRegion and TaxCategory combination"."""
    if not record.get("isCompounded"):
        return
    pair = (record.get("taxRegionID"), record.get("taxCategoryID"))
    for other in taxes:
        same_pair = (other.get("taxRegionID"), other.get("taxCategoryID")) == pair
        if same_pair and other.get("isCompounded") and other.get("id") != record.get("id"):
            raise WriteError(
                "Only one tax rate can be compounded per TaxRegion and TaxCategory combination: "
                f"Tax {other['id']} is already compounded for taxRegionID {pair[0]} and taxCategoryID {pair[1]}"
            )
