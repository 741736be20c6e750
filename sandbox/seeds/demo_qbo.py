"""The QuickBooks Online half of the ``demo`` seed: the MSP's books as they stand before atqbo runs.

Built from the shared names in ``sandbox.seeds.demo``: the customers, vendors, items, terms and
classes that already exist in QBO (the entries flagged True there), last month's invoices for
some of those customers, and a few payments (one spanning two invoices, one partial). It also
holds the invoices atqbo had already synced (``demo_autotask.synced_invoices``) with their
customers, as atqbo would have created them, so a first run finds them in QBO.
Deterministic for a given ``today``; all dates are relative to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

from sandbox.qbo.defaults import (
    ACCOUNT_AR,
    ACCOUNT_CHECKING,
    ACCOUNT_COGS,
    ACCOUNT_INVENTORY_ASSET,
    ACCOUNT_PRODUCT_INCOME,
    ACCOUNT_SERVICES_INCOME,
    ACCOUNT_UNDEPOSITED,
    custom_field_prefs,
)
from sandbox.qbo.times import PACIFIC
from sandbox.seeds.demo import BILLING_CODES, COMPANIES, PAYMENT_TERMS, PRODUCTS, QBO_CLASSES, VENDORS
from sandbox.seeds.demo_autotask import synced_invoices

CITIES = [
    ("Columbus", "OH", "43004"),
    ("Dayton", "OH", "45402"),
    ("Cincinnati", "OH", "45202"),
    ("Cleveland", "OH", "44113"),
    ("Toledo", "OH", "43604"),
    ("Akron", "OH", "44308"),
]

TERM_DAYS = {"Net 30 Days": 30, "Net 15 Days": 15, "Due on Receipt": 0, "Net 45": 45}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def _address(index: int) -> dict[str, str]:
    city, state, postal = CITIES[index % len(CITIES)]
    return {
        "Line1": f"{100 + 10 * index} Main St",
        "City": city,
        "CountrySubDivisionCode": state,
        "PostalCode": postal,
        "Country": "USA",
    }


def _entered_on(day: date) -> dict[str, str]:
    """MetaData for a record keyed in on ``day`` at 09:00 US Pacific (QBO's clock)."""
    stamp = datetime(day.year, day.month, day.day, 9, 0, tzinfo=PACIFIC).isoformat(timespec="seconds")
    return {"CreateTime": stamp, "LastUpdatedTime": stamp}


def build(today: date) -> dict[str, Any]:
    """The ``qbo`` part of the demo seed document."""
    this_month = today.replace(day=1)
    last_month_end = this_month - timedelta(days=1)
    last_month = last_month_end.replace(day=1)

    terms, term_ids = _terms()
    net30 = term_ids.get("Net 30 Days")
    classes = [{"Id": str(5000000000000000001 + i), "Name": name} for i, name in enumerate(QBO_CLASSES)]
    name_ids = count(1)  # Customers and Vendors share QBO's name-list Id sequence
    customers = [_customer(index, name, str(next(name_ids)), net30) for index, name in enumerate(_in_qbo(COMPANIES))]
    customer_ids = {c["DisplayName"]: c["Id"] for c in customers}
    vendors = [_vendor(index, name, str(next(name_ids)), net30) for index, name in enumerate(_in_qbo(VENDORS))]
    items, item_ids = _items(last_month)
    service_codes = [(n, p) for n, _e, p, m in BILLING_CODES if m is not None and n in item_ids]
    invoices = _last_month_invoices(customers, item_ids, service_codes, classes, last_month, last_month_end)
    payments = _payments(invoices, last_month_end)
    synced = _synced_invoices(
        today, customers, customer_ids, name_ids, item_ids[service_codes[0][0]], 1001 + len(invoices) + len(payments)
    )
    return {
        "Preferences": {
            "SalesFormsPrefs": {
                "CustomField": custom_field_prefs({1: "PO Number"}, enabled=[1]),
                "CustomTxnNumbers": True,
            },
        },
        "CompanyInfo": {"CompanyName": "Northwind IT Services", "LegalName": "Northwind IT Services LLC"},
        "Term": terms,
        "Class": classes,
        "Customer": customers,
        "Vendor": vendors,
        "Item": items,
        "Invoice": invoices + synced,
        "Payment": payments,
    }


def _in_qbo(names: list[tuple[str, bool]]) -> list[str]:
    """The names flagged as already in QBO."""
    return [name for name, in_qbo in names if in_qbo]


def _terms() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The payment terms QBO already has, and their Ids by name."""
    terms = []
    term_ids: dict[str, str] = {}
    for index, (name, _in_qbo) in enumerate((t for t in PAYMENT_TERMS if t[1]), start=1):
        term_ids[name] = str(index)
        terms.append({"Id": str(index), "Name": name, "Type": "STANDARD", "DueDays": TERM_DAYS.get(name, 30)})
    return terms, term_ids


def _customer(index: int, name: str, cid: str, net30: str | None) -> dict[str, Any]:
    """A customer that was in QBO before atqbo (Net 30 on every other one)."""
    record = {
        "Id": cid,
        "DisplayName": name,
        "CompanyName": name,
        "PrimaryEmailAddr": {"Address": f"ap@{slug(name)}.example"},
        "PrimaryPhone": {"FreeFormNumber": f"(614) 555-{1000 + index:04d}"},
        "BillAddr": _address(index),
    }
    if net30 and index % 2 == 0:
        record["SalesTermRef"] = {"value": net30}
    return record


def _vendor(index: int, name: str, vid: str, net30: str | None) -> dict[str, Any]:
    record = {
        "Id": vid,
        "DisplayName": name,
        "CompanyName": name,
        "PrimaryEmailAddr": {"Address": f"orders@{slug(name)}.example"},
        "BillAddr": _address(index + 3),
    }
    if net30:
        record["TermRef"] = {"value": net30}
    return record


def _items(last_month: date) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Service items for the billing codes QBO has (by name or by external number), then the
    products it has; and the item Id of each billing code by name."""
    items = []
    item_ids: dict[str, str] = {}  # billing code name -> QBO item Id
    for name, external, price, match in BILLING_CODES:
        if match is None:
            continue
        qbo_name = name if match == "name" else external
        assert qbo_name, f"billing code {name!r} is matched by externalNumber but has none"
        iid = str(len(items) + 1)
        item_ids[name] = iid
        items.append(
            {
                "Id": iid,
                "Name": qbo_name,
                "Description": name,
                "Type": "Service",
                "UnitPrice": price,
                "IncomeAccountRef": {"value": ACCOUNT_SERVICES_INCOME},
            }
        )
    products = [(name, sku, cost) for name, sku, cost, in_qbo in PRODUCTS if in_qbo]
    for position, (name, sku, cost) in enumerate(products):
        items.append(_product_item(str(len(items) + 1), name, sku, cost, position == 0, last_month))
    return items, item_ids


def _product_item(iid: str, name: str, sku: str, cost: float, stocked: bool, last_month: date) -> dict[str, Any]:
    """A purchasable product: the first one stocked (Inventory), the others bought to order (NonInventory)."""
    item = {
        "Id": iid,
        "Name": name,
        "Sku": sku,
        "Description": name,
        "PurchaseDesc": name,
        "UnitPrice": round(cost * 1.25, 2),
        "PurchaseCost": cost,
        "Taxable": True,
        "IncomeAccountRef": {"value": ACCOUNT_PRODUCT_INCOME},
        "ExpenseAccountRef": {"value": ACCOUNT_COGS},
    }
    if stocked:
        item.update(
            {
                "Type": "Inventory",
                "AssetAccountRef": {"value": ACCOUNT_INVENTORY_ASSET},
                "TrackQtyOnHand": True,
                "QtyOnHand": 5,
                "InvStartDate": last_month.isoformat(),
            }
        )
    else:
        item["Type"] = "NonInventory"
    return item


def _last_month_invoices(
    customers: list[dict[str, Any]],
    item_ids: dict[str, str],
    service_codes: list[tuple[str, float]],
    classes: list[dict[str, Any]],
    last_month: date,
    last_month_end: date,
) -> list[dict[str, Any]]:
    """Nine invoices of last month entered in QBO before atqbo (the first customer has two)."""
    invoices = []
    customer_names = [c["DisplayName"] for c in customers]
    customer_ids = {c["DisplayName"]: c["Id"] for c in customers}
    plan: list[tuple[str, int]] = [(name, i) for i, name in enumerate(customer_names[:8])]
    plan.append((customer_names[0], 8))  # a second invoice for the first customer
    for number, (customer_name, index) in enumerate(plan):
        txn_date = last_month + timedelta(days=min(2 * index + 1, (last_month_end - last_month).days))
        lines = []
        for offset in range(1 + index % 3):
            code_name, price = service_codes[(index + offset * 2) % len(service_codes)]
            qty = 1 + (index + offset) % 4
            lines.append(
                {
                    "Description": f"{code_name} - {last_month.strftime('%B %Y')}",
                    "Amount": round(qty * price, 2),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item_ids[code_name]},
                        "Qty": qty,
                        "UnitPrice": price,
                        "ServiceDate": txn_date.isoformat(),
                    },
                }
            )
        invoice = {
            "Id": str(1001 + number),
            "DocNumber": str(1001 + number),
            "TxnDate": txn_date.isoformat(),
            "CustomerRef": {"value": customer_ids[customer_name]},
            "PrivateNote": "Entered in QuickBooks before atqbo",
            "Line": lines,
        }
        if classes:
            invoice["ClassRef"] = {"value": classes[0]["Id"]}
        invoice["MetaData"] = _entered_on(txn_date)
        invoices.append(invoice)
    return invoices


def _payments(invoices: list[dict[str, Any]], last_month_end: date) -> list[dict[str, Any]]:
    """Three payments on last month's end: one pays both of the first customer's invoices, one
    half of an invoice, one an invoice in full."""

    def total(invoice: dict[str, Any]) -> float:
        return round(sum(line["Amount"] for line in invoice["Line"]), 2)

    first_a, first_b = invoices[0], invoices[-1]  # both belong to the first customer
    partial = invoices[1]
    full = invoices[2]
    payment_date = last_month_end.isoformat()
    return [
        {
            "Id": str(1001 + len(invoices)),
            "TxnDate": payment_date,
            "CustomerRef": dict(first_a["CustomerRef"]),
            "TotalAmt": round(total(first_a) + total(first_b), 2),
            "PaymentRefNum": "CHK-4410",
            "MetaData": _entered_on(last_month_end),
            "DepositToAccountRef": {"value": ACCOUNT_UNDEPOSITED},
            "Line": [
                {"Amount": total(first_a), "LinkedTxn": [{"TxnId": first_a["Id"], "TxnType": "Invoice"}]},
                {"Amount": total(first_b), "LinkedTxn": [{"TxnId": first_b["Id"], "TxnType": "Invoice"}]},
            ],
        },
        {
            "Id": str(1002 + len(invoices)),
            "TxnDate": payment_date,
            "CustomerRef": dict(partial["CustomerRef"]),
            "TotalAmt": round(total(partial) / 2, 2),
            "PaymentRefNum": "ACH-2291",
            "MetaData": _entered_on(last_month_end),
            "DepositToAccountRef": {"value": ACCOUNT_CHECKING},
            "Line": [
                {"Amount": round(total(partial) / 2, 2), "LinkedTxn": [{"TxnId": partial["Id"], "TxnType": "Invoice"}]}
            ],
        },
        {
            "Id": str(1003 + len(invoices)),
            "TxnDate": payment_date,
            "CustomerRef": dict(full["CustomerRef"]),
            "TotalAmt": total(full),
            "PaymentRefNum": "CHK-4415",
            "MetaData": _entered_on(last_month_end),
            "ARAccountRef": {"value": ACCOUNT_AR},
            "Line": [{"Amount": total(full), "LinkedTxn": [{"TxnId": full["Id"], "TxnType": "Invoice"}]}],
        },
    ]


def _synced_invoices(
    today: date,
    customers: list[dict[str, Any]],
    customer_ids: dict[str, str],
    name_ids: Iterator[int],
    item_id: str,
    first_id: int,
) -> list[dict[str, Any]]:
    """Invoices atqbo already pushed before the demo starts (the Autotask half marks them with
    webServiceDate): their customers (added to ``customers`` where missing) and documents exist in
    QBO, none voided there yet."""
    synced = []
    for number, done in enumerate(synced_invoices(today)):
        name = done["companyName"]
        if name not in customer_ids:
            cid = str(next(name_ids))
            customer_ids[name] = cid
            customers.append(
                {"Id": cid, "DisplayName": name, "CompanyName": name, "BillAddr": _address(len(customers))}
            )
        day = date.fromisoformat(done["invoiceDate"])
        synced.append(
            {
                "Id": str(first_id + number),
                "DocNumber": done["invoiceNumber"],
                "TxnDate": done["invoiceDate"],
                "CustomerRef": {"value": customer_ids[name]},
                "PrivateNote": f"Autotask invoice {done['id']}",
                "Line": [
                    {
                        "Description": f"Autotask invoice {done['invoiceNumber']}",
                        "Amount": done["invoiceTotal"],
                        "DetailType": "SalesItemLineDetail",
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": item_id},
                            "Qty": 1,
                            "UnitPrice": done["invoiceTotal"],
                        },
                    }
                ],
                "MetaData": _entered_on(day),
            }
        )
    return synced
