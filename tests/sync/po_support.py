"""Seeds and look-ups shared by the purchase order sync's tests (logic and DAG).

A small tenant with every case the PO rows need: Autotask POs in and out of the window and in
every status, vendors that QBO has, lacks, or knows as a customer; products whose QBO item exists
(purchasable or not) or is missing. Dates are fixed: the DAG tests run at ``LOGICAL_DATE`` (data
interval 11:45-12:00 UTC that day), the logic tests use the same window with a 14-day look-back.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

LOGICAL_DATE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
INTERVAL_START = LOGICAL_DATE - timedelta(minutes=15)
WINDOW_END = LOGICAL_DATE
WINDOW_START = INTERVAL_START - timedelta(days=14)

ACTION_TYPE = 3  # an Autotask to-do action type (free integer in the sandbox)
API_RESOURCE = 29682885  # the API user's resource, present after a sandbox reset
REPORT_TO = "purchasing@msp.example"
SETTINGS: dict[str, Any] = {
    "todo_action_type": ACTION_TYPE,
    "todo_resource_id": API_RESOURCE,
    "report_to": [REPORT_TO],
}

USD, CAD = 1, 2  # Autotask currency ids

# Autotask vendor companies
INGRAM, PAX8, CONTOSO, MAPLE = 39400001, 39400002, 39400003, 39400004
VENDOR_NAMES = {INGRAM: "Ingram Micro", PAX8: "Pax8", CONTOSO: "Contoso Dental", MAPLE: "Maple Leaf Supply"}
# Autotask products
DELL, MX_KEYS, REMOTE_SUPPORT, UBIQUITI = 39500001, 39500002, 39500003, 39500004
PRODUCT_NAMES = {
    DELL: "Dell OptiPlex 7020",
    MX_KEYS: "Logitech MX Keys",
    REMOTE_SUPPORT: "Remote Support",
    UBIQUITI: "Ubiquiti Switch 24 PoE",
}
# QBO records
QBO_INGRAM, QBO_CONTOSO_CUSTOMER, QBO_DELL, QBO_REMOTE = "70", "58", "10", "11"
ACCOUNT_COGS, ACCOUNT_AP = "3", "4"

# Autotask purchase orders
PO_OK = 39600001  # Ingram (a QBO vendor), Dell (a purchasable QBO item): a plain bill
PO_NEW = 39600002  # Pax8 (not in QBO), Logitech (not in QBO): both created
PO_CLASH = 39600003  # vendor "Contoso Dental" is a QBO customer
PO_NOT_PURCHASABLE = 39600004  # Ingram, "Remote Support" is a QBO service item without an expense account
PO_LATER = 39600005  # Ingram, Ubiquiti (not in QBO): after PO_NEW, for "error and stop"
PO_NEW_STATUS = 39600011  # status New
PO_OLD = 39600012  # Submitted 20 days before the run: outside a 14-day look-back
PO_BILLED = 39600013  # Submitted, External PO Number already set
PO_RECEIVED = 39600014  # Received Full
PO_CANCELED = 39600015  # Canceled
ELIGIBLE = {PO_OK, PO_NEW, PO_CLASH, PO_NOT_PURCHASABLE, PO_LATER}


def _stamp(days_before: float) -> str:
    return (LOGICAL_DATE - timedelta(days=days_before)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _po(po_id: int, vendor: int, days_before: float, status: int = 2, external: str | None = None, **extra) -> dict:
    return {
        "id": po_id,
        "vendorID": vendor,
        "status": status,
        "createDateTime": _stamp(days_before),
        "submitDateTime": _stamp(days_before - 0.05) if status >= 2 else None,
        "externalPONumber": external,
        "freight": 0.0,
        **extra,
    }


def _item(item_id: int, po_id: int, product: int, quantity: int, cost: float) -> dict:
    return {
        "id": item_id,
        "orderID": po_id,
        "productID": product,
        "quantity": quantity,
        "unitCost": cost,
        "memo": f"{PRODUCT_NAMES[product]} for the Dayton office",
    }


def autotask_seed() -> dict[str, Any]:
    vendors = [
        {
            "id": vid,
            "companyName": name,
            "companyType": 7,
            "phone": "800-555-0100",
            "currencyID": USD,
            "address1": "1 Supply Way",
            "city": "Columbus",
            "state": "OH",
            "postalCode": "43215",
        }
        for vid, name in VENDOR_NAMES.items()
    ]
    return {
        "Currencies": [
            {
                "id": USD,
                "name": "USD",
                "description": "US Dollar",
                "isActive": True,
                "isInternalCurrency": True,
                "exchangeRate": 1.0,
            },
            {
                "id": CAD,
                "name": "CAD",
                "description": "Canadian Dollar",
                "isActive": False,
                "isInternalCurrency": False,
                "exchangeRate": 1.36,
            },
        ],
        "Companies": vendors,
        "Products": [
            {"id": pid, "name": name, "sku": f"SKU-{pid}", "unitCost": 99.5, "description": f"{name} (stock)"}
            for pid, name in PRODUCT_NAMES.items()
        ],
        "PurchaseOrders": [
            _po(PO_OK, INGRAM, 2, freight=25.0),
            _po(PO_NEW, PAX8, 3),
            _po(PO_CLASH, CONTOSO, 4),
            _po(PO_NOT_PURCHASABLE, INGRAM, 5),
            _po(PO_LATER, INGRAM, 6),
            _po(PO_NEW_STATUS, INGRAM, 1, status=1),
            _po(PO_OLD, INGRAM, 20),
            _po(PO_BILLED, INGRAM, 2, external="1001"),
            _po(PO_RECEIVED, INGRAM, 3, status=4),
            _po(PO_CANCELED, INGRAM, 3, status=5),
        ],
        "PurchaseOrderItems": [
            _item(39700001, PO_OK, DELL, 2, 899.0),
            _item(39700002, PO_NEW, MX_KEYS, 3, 99.5),
            _item(39700003, PO_CLASH, DELL, 1, 899.0),
            _item(39700004, PO_NOT_PURCHASABLE, REMOTE_SUPPORT, 4, 125.0),
            _item(39700005, PO_LATER, UBIQUITI, 2, 379.0),
            _item(39700006, PO_NEW_STATUS, DELL, 1, 899.0),
            _item(39700007, PO_OLD, DELL, 1, 899.0),
            _item(39700008, PO_BILLED, DELL, 1, 899.0),
            _item(39700009, PO_RECEIVED, DELL, 1, 899.0),
            _item(39700010, PO_CANCELED, DELL, 1, 899.0),
        ],
    }


def qbo_seed() -> dict[str, Any]:
    return {
        "Vendor": [{"Id": QBO_INGRAM, "DisplayName": "Ingram Micro", "CompanyName": "Ingram Micro"}],
        "Customer": [{"Id": QBO_CONTOSO_CUSTOMER, "DisplayName": "Contoso Dental"}],
        "Item": [
            {
                "Id": QBO_DELL,
                "Name": "Dell OptiPlex 7020",
                "Type": "NonInventory",
                "PurchaseCost": 899,
                "IncomeAccountRef": {"value": "2"},
                "ExpenseAccountRef": {"value": ACCOUNT_COGS},
            },
            {"Id": QBO_REMOTE, "Name": "Remote Support", "Type": "Service", "IncomeAccountRef": {"value": "1"}},
        ],
    }


def reset_and_seed(sandbox, monkeypatch, settings: dict[str, Any] | None = None) -> None:
    """Reset the sandbox, load the tenant, point the connections at it again (a reset brings back
    the initial QBO refresh token) and set the atqbo_settings Variable."""
    sandbox.reset()
    sandbox.seed({"autotask": autotask_seed(), "qbo": qbo_seed()})
    for conn_id, conn in sandbox.connections().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    set_settings(monkeypatch, **(settings or {}))
    sandbox.requests.clear()


def set_settings(monkeypatch, **changes) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({**SETTINGS, **changes}))


def multi_currency_qbo(sandbox, vendors: list[dict[str, Any]] = ()) -> None:
    """Turn QBO multi-currency on (and add vendors, e.g. in CAD)."""
    sandbox.seed({"qbo": {"Preferences": {"CurrencyPrefs": {"MultiCurrencyEnabled": True}}, "Vendor": list(vendors)}})


def uk_vat_qbo(sandbox) -> None:
    """Make the QBO company a UK VAT one, as the profile sandbox/seeds/qbo_profiles/uk-vat.json has
    it (country GB, home currency GBP, HMRC's rates and the codes "20.0% S", "5.0% R", "0.0% Z",
    "Exempt", "No VAT"); the PO tenant's vendors, customer and items stay."""
    from tests.sandbox.qbo.tax_support import profile_seed

    profile = profile_seed("uk-vat")["qbo"]
    sandbox.seed({"qbo": {k: profile[k] for k in ("CompanyInfo", "Preferences", "TaxAgency", "TaxRate", "TaxCode")}})


# UK VAT settings: a non-US company whose bills carry the standard-rate purchase code (TAX-03).
UK_SETTINGS: dict[str, Any] = {"qbo_edition": "non-US", "purchase_tax_code": "20.0% S", "invoice_sync_enabled": False}
UK_STANDARD_CODE = "1"  # the Id of "20.0% S" in the profile


def canadian_vendor(sandbox, active_cad: bool = True) -> None:
    """Maple Leaf Supply bills in CAD in Autotask; CAD active (Autotask multi-currency on) or not."""
    state = sandbox.state()["autotask"]
    currencies = [{**c, "isActive": True} if c["id"] == CAD and active_cad else c for c in state["Currencies"]]
    companies = [{**c, "currencyID": CAD} for c in state["Companies"] if c["id"] == MAPLE]
    sandbox.seed({"autotask": {"Currencies": currencies, "Companies": companies}})


def add_po(sandbox, po_id: int, vendor: int, product: int, quantity: int, cost: float, days_before: float = 1) -> None:
    sandbox.seed(
        {
            "autotask": {
                "PurchaseOrders": [_po(po_id, vendor, days_before)],
                "PurchaseOrderItems": [_item(po_id + 100000, po_id, product, quantity, cost)],
            }
        }
    )


# -- looking at the sandbox ------------------------------------------------------------------------------


def bills(sandbox) -> dict[int, dict[str, Any]]:
    """atqbo's bills in QBO by Autotask PO id; fails on two bills for one PO."""
    out: dict[int, dict[str, Any]] = {}
    for bill in sandbox.state()["qbo"].get("Bill", []):
        match = re.match(r"Autotask PO (\d+)", bill.get("PrivateNote") or "")
        if match:
            assert int(match.group(1)) not in out, f"two QBO bills for Autotask PO {match.group(1)}"
            out[int(match.group(1))] = bill
    return out


def purchase_orders(sandbox) -> dict[int, dict[str, Any]]:
    return {po["id"]: po for po in sandbox.state()["autotask"]["PurchaseOrders"]}


def external_numbers(sandbox) -> dict[int, str | None]:
    return {po_id: po.get("externalPONumber") for po_id, po in purchase_orders(sandbox).items()}


def todos(sandbox) -> list[dict[str, Any]]:
    return sandbox.state()["autotask"].get("CompanyToDos", [])


def named(sandbox, entity: str, field: str = "DisplayName") -> dict[str, dict[str, Any]]:
    return {r[field]: r for r in sandbox.state()["qbo"].get(entity, [])}


def writes(sandbox, api: str | None = None) -> list[dict[str, Any]]:
    """Every request that could change Autotask or QBO: anything but reads, queries and token refreshes."""
    out = []
    for r in sandbox.requests.list(api):
        path = r["path"].lower().rstrip("/")
        if r["method"] in ("GET", "HEAD"):
            continue
        if r["method"] == "POST" and (
            path.endswith(("/query", "/query/count")) or "/query/next" in path or path.endswith("/tokens/bearer")
        ):
            continue
        out.append(r)
    return out
