"""PO-03: each PO's QBO vendor, matched by the Autotask vendor organization's name, created when
QBO has none.

QBO names are unique across customers, vendors and employees, so a name a customer or employee
holds cannot become a vendor: that PO fails. An inactive vendor fails it too, and so does a vendor
whose currency is not the one PO-06 puts the bill in (a QBO vendor's currency is fixed when it is
created, so atqbo creates a vendor in its Autotask currency).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atqbo.qbo_names import find_names, names_taken
from atqbo.sync.purchase_orders.failures import RETRY_HINT
from atqbo.sync.purchase_orders.model import PurchaseOrder
from atqbo.transform.values import MAX_DISPLAY_NAME, MAX_NOTES, MAX_PHONE, company_address

if TYPE_CHECKING:
    from atqbo.sync.purchase_orders.currency import BillCurrency
    from atqbo.sync.purchase_orders.state import LoadState


def vendor_payload(vendor: dict[str, Any], display_name: str, currency: str | None) -> dict[str, Any]:
    """The QBO Vendor to create for an Autotask vendor company (PO-03)."""
    payload: dict[str, Any] = {
        "DisplayName": display_name,
        "CompanyName": " ".join(str(vendor.get("companyName") or display_name).split())[:MAX_DISPLAY_NAME],
        "Notes": f"Autotask company {vendor.get('id')}"[:MAX_NOTES],
    }
    address = company_address(vendor)
    if address:
        payload["BillAddr"] = address
    phone = str(vendor.get("phone") or "").strip()
    if phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": phone[:MAX_PHONE]}
    if currency:
        payload["CurrencyRef"] = {"value": currency}  # a QBO vendor's currency is fixed when it is created
    return payload


# -- the check --------------------------------------------------------------------------------------


def check_vendors(
    state: LoadState, orders: list[PurchaseOrder], plans: dict[int, BillCurrency]
) -> dict[str, dict[str, Any]]:
    """Find each PO's QBO vendor by name; refuse a name taken by a customer or employee, an inactive
    vendor and a currency mismatch (PO-06). Returns the vendors found, by lower-cased name."""
    names = {po.vendor_display_name for po in orders}
    vendors = find_names(state.qbo, "Vendor", "DisplayName", names)
    owners = names_taken(state.qbo, {n for n in names if n.lower() not in vendors}, ("Customer", "Employee"))
    for po in orders:
        key = po.vendor_display_name.lower()
        vendor = vendors.get(key)
        if vendor is None and key in owners:
            kind, other = owners[key]
            state.out.fail(
                po,
                f"{po.label()}: the vendor cannot be created in QBO because QBO {kind} {other['DisplayName']!r} "
                f"(Id {other['Id']}) already uses the name {po.vendor_display_name!r} of Autotask vendor "
                f"{po.vendor_name!r} (company {po.vendor_id}); QBO names are unique across customers, vendors "
                "and employees (PO-03)",
                f"rename the QBO {kind} (e.g. '{other['DisplayName']} ({kind})') or the Autotask organization; "
                + RETRY_HINT,
            )
        elif vendor is None:
            continue  # created later, in the right currency
        elif not vendor.get("Active", True):
            state.out.fail(
                po,
                f"{po.label()}: the QBO vendor {vendor['DisplayName']!r} (Id {vendor['Id']}) is inactive",
                f"make the vendor active in QBO; {RETRY_HINT}",
            )
        elif mismatch := currency_mismatch(po, vendor, plans[po.autotask_id]):
            state.out.fail(po, *mismatch)
    return vendors


def currency_mismatch(po: PurchaseOrder, vendor: dict[str, Any], plan: BillCurrency) -> tuple[str, str] | None:
    """PO-06: the QBO vendor keeps its bills in another currency than the one this bill must be in:
    (reason, fix), else None."""
    qbo_currency = (vendor.get("CurrencyRef") or {}).get("value")
    if not (plan.vendor_currency and qbo_currency and qbo_currency != plan.vendor_currency):
        return None
    if plan.case == "both":
        reason = (
            f"{po.label()}: the vendor's currency is {plan.vendor_currency} in Autotask but "
            f"{qbo_currency} in QBO (vendor {vendor['DisplayName']!r}, Id {vendor['Id']}); with "
            "multi-currency on in both, they must match (PO-06)"
        )
        fix = (
            "give the vendor the same currency in both (a QBO vendor's currency cannot change: "
            "create a new QBO vendor in the right currency, or change the Autotask vendor's); "
        )
    else:
        reason = (
            f"{po.label()}: Autotask has no multi-currency, so the bill is in QBO's home currency "
            f"{plan.vendor_currency} at rate 1.00, but QBO vendor {vendor['DisplayName']!r} (Id "
            f"{vendor['Id']}) uses {qbo_currency} and QBO keeps a vendor's bills in its currency (PO-06)"
        )
        fix = f"use a QBO vendor in {plan.vendor_currency} for this Autotask organization; "
    return reason, fix + RETRY_HINT


# -- the create -------------------------------------------------------------------------------------


def create_vendors(
    state: LoadState, orders: list[PurchaseOrder], vendors: dict[str, dict[str, Any]], plans: dict[int, BillCurrency]
) -> None:
    """Create the missing vendors of these POs, each in its PO-06 currency (a dry run plans them);
    the POs of a vendor QBO refused fail."""
    payloads: dict[str, dict[str, Any]] = {}
    for po in orders:
        name = po.vendor_display_name
        if name.lower() not in vendors and name not in payloads:
            company = state.vendors.get(str(po.vendor_id)) or {"id": po.vendor_id, "companyName": po.vendor_name}
            payloads[name] = vendor_payload(company, name, plans[po.autotask_id].vendor_currency)
    created, faults = state.create_names("Vendor", "DisplayName", payloads)
    vendors.update(created)
    for po in orders:
        if po.vendor_display_name in faults:
            state.out.fail(
                po,
                f"{po.label()}: the QBO vendor {po.vendor_display_name!r} could not be created: "
                f"{faults[po.vendor_display_name]}",
                "fix what QBO names (the Autotask organization's name or address); " + RETRY_HINT,
            )
