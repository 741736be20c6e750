"""The Autotask half of the built-in ``demo`` seed: a small MSP's PSA, dated relative to ``today``.

Built from the shared names in ``sandbox.seeds.demo`` so that it overlaps the QBO half the way a
real MSP's books do. What it holds:

- the MSP itself (company id 0), two active resources, USD as the internal currency;
- the payment terms, divisions and lines of business, billing codes and products of demo.py;
- the customers (companyType Customer) with addresses and phones, some billed at a separate
  bill-to address, some with an "Invoice Email" user-defined field; the vendors (Vendor);
- 40 invoices dated over the 30 days before ``today``, each with 2-8 billing items across lines
  of business; ``invoiceTotal`` = sum of the items' ``totalAmount`` + ``totalTaxValue`` (sales
  tax on hardware lines only). The oldest six were already synced (``webServiceDate`` set), one
  of them has since been voided; the rest are unsynced. One line has a description over 4,000
  characters; some invoices carry a PO number (``orderNumber``);
- purchase orders in every status, with items; four Submitted ones have a blank
  ``externalPONumber``, three of them created within the last 14 days.

Deterministic: the same ``today`` always gives the same document (a fixed random seed).
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sandbox.seeds.demo import BILLING_CODES, COMPANIES, DIVISIONS, PAYMENT_TERMS, PRODUCTS, VENDORS

BILLING_ADMIN_ID = 29682886
TECHNICIAN_ID = 29682887
USD_ID, CAD_ID = 1, 2
US_COUNTRY_ID = 237
INVOICE_EMAIL_UDF = "Invoice Email"
SALES_TAX_RATE = 0.0725
INVOICE_COUNT = 40
SYNCED_INVOICES = 6  # the oldest ones
VOIDED_INVOICE_INDEX = 4  # synced, then voided in Autotask
LONG_DESCRIPTION_INVOICE_INDEX = 10

# Which line of business each billing code (by externalNumber, None = Travel) bills under.
LOB_BY_CODE: dict[str | None, tuple[str, str]] = {
    "MS-DEV": ("Managed Services", "Monitoring"),
    "MS-USR": ("Managed Services", "Helpdesk"),
    "SUP-REM": ("Managed Services", "Helpdesk"),
    "SUP-ONS": ("Managed Services", "Helpdesk"),
    "SUP-AH": ("Managed Services", "Helpdesk"),
    "BDR-01": ("Managed Services", "Security"),
    "FW-SUB": ("Managed Services", "Security"),
    "M365-BP": ("Managed Services", "Helpdesk"),
    "PRJ-LAB": ("Professional Services", "Projects"),
    "HW-WS": ("Professional Services", "Hardware"),
    "HW-SW": ("Professional Services", "Hardware"),
    None: ("Professional Services", "Projects"),
}
RECURRING = {"MS-DEV", "MS-USR", "BDR-01", "FW-SUB", "M365-BP"}
LABOR = {"SUP-REM", "SUP-ONS", "SUP-AH", "PRJ-LAB"}
HARDWARE = {"HW-WS", "HW-SW"}

# (billingCodeType, billingItemType, subType) per kind of code; values from the sandbox picklists.
CODE_TYPES = {"recurring": (4, 8, 5), "labor": (1, 1, 1), "hardware": (2, 4, 2), "expense": (3, 10, 6)}

PRODUCT_SOURCING = {  # sku -> (billing code externalNumber, default vendor name, manufacturer)
    "DELL-7020": ("HW-WS", "Dell Technologies", "Dell"),
    "UBQ-USW24": ("HW-SW", "Ingram Micro", "Ubiquiti"),
    "APC-BX1500": ("HW-WS", "TD Synnex", "APC by Schneider Electric"),
    "LOG-MXK": ("HW-WS", "Ingram Micro", "Logitech"),
}

STREETS = ["Main St", "Oak Ave", "Market St", "Lake Shore Dr", "Elm St", "Broadway", "Pine Rd", "Cedar Ln", "High St"]
CITIES = [
    ("Columbus", "OH", "43004"),
    ("Dayton", "OH", "45402"),
    ("Cleveland", "OH", "44113"),
    ("Pittsburgh", "PA", "15222"),
    ("Indianapolis", "IN", "46204"),
    ("Louisville", "KY", "40202"),
]
TICKET_TITLES = [
    "Printer offline at front desk",
    "New user onboarding",
    "VPN connection drops",
    "Outlook profile rebuild",
    "Server patching after hours",
    "Wi-Fi dead zone in warehouse",
    "Laptop replacement setup",
    "Firewall rule change request",
]


def build(today: date) -> dict[str, Any]:
    """The Autotask seed part for ``today`` (invoices and POs are dated before it)."""
    rng = random.Random(20240531)
    midnight = datetime.combine(today, time(0, 0), tzinfo=UTC)

    payment_terms = [
        {
            "id": index,
            "name": name,
            "description": name,
            "isActive": True,
            "paymentDueInDays": _due_days(name),
        }
        for index, (name, _in_qbo) in enumerate(PAYMENT_TERMS, start=1)
    ]
    term_id = {t["name"]: t["id"] for t in payment_terms}
    term_days = {t["id"]: t["paymentDueInDays"] for t in payment_terms}
    level1s, level2s, associations, association_id = _organizational_levels()
    billing_codes = [_billing_code(index, *code) for index, code in enumerate(BILLING_CODES)]
    code_by_number = {code["externalNumber"]: code for code in billing_codes}
    resources = [
        _resource(BILLING_ADMIN_ID, "Alex", "Morgan", "Billing Manager"),
        _resource(TECHNICIAN_ID, "Sam", "Rivera", "Service Technician"),
    ]
    currencies = [
        _currency(USD_ID, "USD", "US Dollar", "$", 1.0, active=True, internal=True),
        _currency(CAD_ID, "CAD", "Canadian Dollar", "C$", 1.36, active=False, internal=False),
    ]
    local_company = _local_company(midnight)
    customers = [_customer(rng, index, name, midnight) for index, (name, _in_qbo) in enumerate(COMPANIES)]
    vendors = [_vendor(rng, index, name, midnight) for index, (name, _in_qbo) in enumerate(VENDORS)]
    vendor_id = {v["companyName"]: v["id"] for v in vendors}
    products = [_product(index, *product, code_by_number, vendor_id) for index, product in enumerate(PRODUCTS)]

    invoices, billing_items = _invoices(
        rng, midnight, customers, code_by_number, association_id, term_id, term_days, products
    )
    purchase_orders, po_items = _purchase_orders(rng, midnight, customers, vendors, products, local_company, term_id)

    return {
        "Resources": resources,
        "Currencies": currencies,
        "PaymentTerms": payment_terms,
        "OrganizationalLevel1s": level1s,
        "OrganizationalLevel2s": level2s,
        "OrganizationalLevelAssociations": associations,
        "BillingCodes": billing_codes,
        "Companies": [local_company, *customers, *vendors],
        "Products": products,
        "Invoices": invoices,
        "BillingItems": billing_items,
        "PurchaseOrders": purchase_orders,
        "PurchaseOrderItems": po_items,
    }


def synced_invoices(today: date) -> list[dict[str, Any]]:
    """The demo invoices already synced to QBO (``webServiceDate`` set), for the QBO half to
    hold matching documents: id, invoiceNumber, companyName, invoiceTotal, invoice date, voided."""
    part = build(today)
    names = {c["id"]: c["companyName"] for c in part["Companies"]}
    return [
        {
            "id": inv["id"],
            "invoiceNumber": inv["invoiceNumber"],
            "companyName": names[inv["companyID"]],
            "invoiceTotal": inv["invoiceTotal"],
            "invoiceDate": inv["invoiceDateTime"][:10],
            "isVoided": inv["isVoided"],
        }
        for inv in part["Invoices"]
        if inv["webServiceDate"]
    ]


# -- records -----------------------------------------------------------------------------------


def _organizational_levels() -> tuple[
    list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[tuple[str, str], int]
]:
    """Divisions (level 1), lines of business (level 2), their associations, and the association
    id of each (division, line of business)."""
    level1s, level2s, associations = [], [], []
    association_id: dict[tuple[str, str], int] = {}
    for division in DIVISIONS:
        level1s.append(
            {"id": len(level1s) + 1, "name": division, "description": f"{division} division", "isActive": True}
        )
        for lob in DIVISIONS[division]:
            level2s.append(
                {"id": len(level2s) + 1, "name": lob, "description": f"{lob} line of business", "isActive": True}
            )
            associations.append(
                {
                    "id": len(associations) + 1,
                    "organizationalLevel1ID": level1s[-1]["id"],
                    "organizationalLevel2ID": level2s[-1]["id"],
                    "isActive": True,
                }
            )
            association_id[(division, lob)] = associations[-1]["id"]
    return level1s, level2s, associations, association_id


def _billing_code(index: int, name: str, number: str | None, price: float, _in_qbo: str | None) -> dict[str, Any]:
    kind = _code_kind(number)
    return {
        "id": 29682801 + index,
        "name": name,
        "externalNumber": number,
        "description": f"{name} ({_kind_label(kind)})",
        "billingCodeType": CODE_TYPES[kind][0],
        "useType": 1,
        "unitPrice": price,
        "unitCost": round(price * (0.8 if kind == "hardware" else 0.35), 2),
        "markupRate": None,
        "generalLedgerAccount": "4100" if kind == "hardware" else "4000",
        "isActive": True,
        "isExcludedFromNewContracts": False,
        "afterHoursWorkType": 1 if number == "SUP-AH" else None,
    }


def _local_company(midnight: datetime) -> dict[str, Any]:
    """Company 0, the MSP itself."""
    return {
        "id": 0,
        "companyName": "Northstar Managed IT",
        "companyNumber": "MSP",
        "companyType": 8,
        "address1": "200 Civic Center Dr",
        "city": "Columbus",
        "state": "OH",
        "postalCode": "43215",
        "countryID": US_COUNTRY_ID,
        "phone": "614-555-0100",
        "webAddress": "https://northstar-it.example",
        "ownerResourceID": BILLING_ADMIN_ID,
        "currencyID": USD_ID,
        "createDate": _stamp(midnight - timedelta(days=3650)),
        "userDefinedFields": [{"name": INVOICE_EMAIL_UDF, "value": None}],
    }


def _product(
    index: int,
    name: str,
    sku: str,
    cost: float,
    _in_qbo: bool,
    code_by_number: dict[str | None, dict[str, Any]],
    vendor_id: dict[str, int],
) -> dict[str, Any]:
    code_number, vendor_name, manufacturer = PRODUCT_SOURCING[sku]
    return {
        "id": 29683701 + index,
        "name": name,
        "sku": sku,
        "description": f"{manufacturer} {name}",
        "manufacturerName": manufacturer,
        "manufacturerProductName": name,
        "unitCost": cost,
        "unitPrice": round(cost * 1.3, 2),
        "msrp": round(cost * 1.45, 2),
        "productBillingCodeID": code_by_number[code_number]["id"],
        "defaultVendorID": vendor_id[vendor_name],
        "vendorProductNumber": f"V-{sku}",
        "isActive": True,
        "isSerialized": sku == "DELL-7020",
        "doesNotRequireProcurement": False,
    }


def _customer(rng: random.Random, index: int, name: str, midnight: datetime) -> dict[str, Any]:
    city, state, zip_code = CITIES[index % len(CITIES)]
    record: dict[str, Any] = {
        "id": 29683501 + index,
        "companyName": name,
        "companyNumber": f"C{1001 + index}",
        "companyType": 1,
        "address1": f"{rng.randint(10, 9800)} {rng.choice(STREETS)}",
        "address2": "Suite 200" if index % 5 == 0 else None,
        "city": city,
        "state": state,
        "postalCode": zip_code,
        "countryID": US_COUNTRY_ID,
        "phone": f"614-555-{1100 + index:04d}",
        "webAddress": f"https://{_slug(name)}.example",
        "ownerResourceID": BILLING_ADMIN_ID,
        "currencyID": USD_ID,
        "isTaxExempt": index % 7 == 3,
        "billToAddressToUse": 1,
        "createDate": _stamp(midnight - timedelta(days=400 + 17 * index, hours=-9)),
        "userDefinedFields": [
            {"name": INVOICE_EMAIL_UDF, "value": f"billing@{_slug(name)}.example" if index % 3 != 2 else None}
        ],
    }
    if index % 4 == 1:  # billed at a separate address
        record.update(
            billToAddressToUse=2,
            billingAddress1=f"PO Box {rng.randint(100, 9999)}",
            billToCity=city,
            billToState=state,
            billToZipCode=zip_code,
            billToCountryID=US_COUNTRY_ID,
            billToAttention="Accounts Payable",
        )
    return record


def _vendor(rng: random.Random, index: int, name: str, midnight: datetime) -> dict[str, Any]:
    city, state, zip_code = CITIES[(index + 2) % len(CITIES)]
    return {
        "id": 29683601 + index,
        "companyName": name,
        "companyNumber": f"V{101 + index}",
        "companyType": 7,
        "address1": f"{rng.randint(100, 9000)} {rng.choice(STREETS)}",
        "city": city,
        "state": state,
        "postalCode": zip_code,
        "countryID": US_COUNTRY_ID,
        "phone": f"800-555-{2100 + index:04d}",
        "ownerResourceID": BILLING_ADMIN_ID,
        "currencyID": USD_ID,
        "createDate": _stamp(midnight - timedelta(days=900 + index)),
        "userDefinedFields": [{"name": INVOICE_EMAIL_UDF, "value": None}],
    }


def _invoices(
    rng: random.Random,
    midnight: datetime,
    customers: list[dict[str, Any]],
    code_by_number: dict[str | None, dict[str, Any]],
    association_id: dict[tuple[str, str], int],
    term_id: dict[str, int],
    term_days: dict[int, int],
    products: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``INVOICE_COUNT`` invoices, oldest first over the 30 days before today, with their billing items."""
    invoices: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    obrien = next(i for i, c in enumerate(customers) if c["companyName"].startswith("O'Brien"))
    numbers = list(code_by_number)
    for index in range(INVOICE_COUNT):
        company = customers[obrien if index == 7 else rng.randrange(len(customers))]
        days_ago = 30 - (index * 29) // (INVOICE_COUNT - 1)  # oldest first: 30 .. 1 days before today
        invoice_day = midnight - timedelta(days=days_ago)
        created = invoice_day + timedelta(hours=22, minutes=14, seconds=5)
        term = (
            term_id["Net 45"]
            if index == 12
            else [term_id["Net 30 Days"], term_id["Net 15 Days"], term_id["Due on Receipt"]][company["id"] % 3]
        )
        invoice_id = 29684001 + index
        order_number = f"PO-{7700 + index}" if index % 4 == 2 else None
        invoice = _InvoicePlan(invoice_id, index, company, invoice_day, created, order_number)

        lines: list[dict[str, Any]] = []
        for line_no in range(rng.randint(2, 8)):
            number = rng.choice(numbers)
            line = _billing_item(rng, invoice, line_no, code_by_number[number], number, association_id, products)
            lines.append({"id": 29685001 + len(items) + len(lines), **line})
        items.extend(lines)
        invoices.append(_invoice(invoice, lines, term, term_days[term], midnight))
    return invoices, items


class _InvoicePlan(NamedTuple):
    """What an invoice's lines and record are built from."""

    id: int
    index: int  # 0 = the oldest
    company: dict[str, Any]
    day: datetime  # midnight UTC of the invoice date
    created: datetime
    order_number: str | None


def _billing_item(
    rng: random.Random,
    invoice: _InvoicePlan,
    line_no: int,
    code: dict[str, Any],
    number: str | None,
    association_id: dict[tuple[str, str], int],
    products: list[dict[str, Any]],
) -> dict[str, Any]:
    """One line of ``invoice`` (without its id) billing ``code``; sales tax on hardware of taxable customers."""
    company, invoice_day = invoice.company, invoice.day
    kind = _code_kind(number)
    quantity = _quantity(rng, number)
    rate = code["unitPrice"]
    extended = round(quantity * rate, 2)
    tax = round(extended * SALES_TAX_RATE, 2) if kind == "hardware" and not company["isTaxExempt"] else 0.0
    name = _line_name(rng, kind, code, products)
    description = name
    if invoice.index == LONG_DESCRIPTION_INVOICE_INDEX and line_no == 0:
        description = "Project notes: " + " ".join(
            f"Step {n}: migrated mailboxes, verified DNS records and documented the change." for n in range(1, 60)
        )
    _type, item_type, sub_type = CODE_TYPES[kind]
    return {
        "invoiceID": invoice.id,
        "companyID": company["id"],
        "billingCodeID": code["id"],
        "billingItemType": item_type,
        "subType": sub_type,
        "organizationalLevelAssociationID": association_id[LOB_BY_CODE[number]],
        "itemName": name,
        "description": description,
        "lineItemFullDescription": description,
        "itemDate": _stamp(invoice_day - timedelta(days=rng.randint(1, 27), hours=-rng.randint(8, 17))),
        "quantity": quantity,
        "rate": rate,
        "extendedPrice": extended,
        "totalAmount": extended,
        "taxDollars": tax,
        "ourCost": round(quantity * code["unitCost"], 2),
        "internalCurrencyRate": rate,
        "internalCurrencyExtendedPrice": extended,
        "internalCurrencyTaxDollars": tax,
        "internalCurrencyTotalAmount": extended,
        "nonBillable": 0,
        "itemApproverID": BILLING_ADMIN_ID,
        "accountManagerWhenApprovedID": BILLING_ADMIN_ID,
        "postedDate": _stamp(invoice_day),
        "postedOnTime": _stamp(invoice.created),
        "purchaseOrderNumber": invoice.order_number,
        "webServiceDate": None,
    }


def _invoice(
    invoice: _InvoicePlan, lines: list[dict[str, Any]], term: int, due_days: int, midnight: datetime
) -> dict[str, Any]:
    """The invoice record: its total is the lines' amounts plus their tax; the oldest ones are synced."""
    index, company, invoice_day, created = invoice.index, invoice.company, invoice.day, invoice.created
    subtotal = round(sum(line["totalAmount"] for line in lines), 2)
    tax_total = round(sum(line["taxDollars"] for line in lines), 2)
    synced = index < SYNCED_INVOICES
    voided = index == VOIDED_INVOICE_INDEX
    return {
        "id": invoice.id,
        "batchID": 700 + index // 10,
        "companyID": company["id"],
        "invoiceNumber": f"INV-{1001 + index}",
        "invoiceDateTime": _stamp(invoice_day),
        "createDateTime": _stamp(created),
        "creatorResourceID": BILLING_ADMIN_ID,
        "fromDate": _stamp(invoice_day - timedelta(days=30)),
        "toDate": _stamp(invoice_day - timedelta(days=1)),
        "dueDate": _stamp(invoice_day + timedelta(days=due_days)),
        "paymentTerm": term,
        "invoiceEditorTemplateID": 102,
        "invoiceTotal": round(subtotal + tax_total, 2),
        "totalTaxValue": tax_total,
        "taxRegionName": None if tax_total == 0 else f"{company['state']} Sales Tax",
        "orderNumber": invoice.order_number,
        "comments": "Thank you for your business." if index % 3 == 0 else None,
        "isVoided": voided,
        "voidedDate": _stamp(midnight - timedelta(days=2, hours=-10)) if voided else None,
        "voidedByResourceID": BILLING_ADMIN_ID if voided else None,
        "webServiceDate": _stamp(created + timedelta(hours=2)) if synced else None,
        "paidDate": None,
    }


def _purchase_orders(
    rng: random.Random,
    midnight: datetime,
    customers: list[dict[str, Any]],
    vendors: list[dict[str, Any]],
    products: list[dict[str, Any]],
    local_company: dict[str, Any],
    term_id: dict[str, int],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Purchase orders in every status, each with 1-3 items."""
    # (status, days before today created, externalPONumber)
    plan = [
        (1, 1, None),
        (1, 3, None),
        (2, 2, None),
        (2, 5, None),
        (2, 9, None),
        (2, 20, None),  # outside a 14-day look-back
        (2, 6, "1042"),  # already billed in QBO
        (3, 12, "1038"),
        (4, 25, "1031"),
        (4, 40, "1017"),
        (5, 8, None),
    ]
    orders, items = [], []
    for index, (status, days_ago, external) in enumerate(plan):
        order_id = 29686001 + index
        created = midnight - timedelta(days=days_ago) + timedelta(hours=15, minutes=30)
        vendor = vendors[index % len(vendors)]
        customer = customers[rng.randrange(len(customers))]
        orders.append(
            _purchase_order(
                order_id, index, status, external, created, vendor, customer, local_company, term_id["Net 30 Days"]
            )
        )
        for _ in range(rng.randint(1, 3)):
            product = rng.choice(products)
            items.append(
                {
                    "id": 29686101 + len(items),
                    "orderID": order_id,
                    "productID": product["id"],
                    "quantity": rng.randint(1, 10),
                    "unitCost": product["unitCost"],
                    "memo": product["name"],
                    "estimatedArrivalDate": _stamp(created + timedelta(days=5)),
                }
            )
    return orders, items


def _purchase_order(
    order_id: int,
    index: int,
    status: int,
    external: str | None,
    created: datetime,
    vendor: dict[str, Any],
    customer: dict[str, Any],
    local_company: dict[str, Any],
    payment_term: int,
) -> dict[str, Any]:
    """A purchase order for ``customer``, shipped to the MSP, stamped as its status says."""
    return {
        "id": order_id,
        "vendorID": vendor["id"],
        "status": status,
        "createDateTime": _stamp(created),
        "creatorResourceID": TECHNICIAN_ID,
        "submitDateTime": _stamp(created + timedelta(hours=1)) if status >= 2 else None,
        "cancelDateTime": _stamp(created + timedelta(days=1)) if status == 5 else None,
        "externalPONumber": external,
        "purchaseForCompanyID": customer["id"],
        "paymentTerm": payment_term,
        "shippingType": 1,
        "shipToName": local_company["companyName"],
        "shipToAddress1": local_company["address1"],
        "shipToCity": local_company["city"],
        "shipToState": local_company["state"],
        "shipToPostalCode": local_company["postalCode"],
        "phone": local_company["phone"],
        "freight": 0.0 if index % 3 else 25.0,
        "generalMemo": f"For {customer['companyName']}",
        "vendorInvoiceNumber": f"VI-{5500 + index}" if status >= 3 else None,
    }


def _resource(resource_id: int, first: str, last: str, title: str) -> dict[str, Any]:
    return {
        "id": resource_id,
        "firstName": first,
        "lastName": last,
        "title": title,
        "email": f"{first.lower()}.{last.lower()}@northstar-it.example",
        "userName": f"{first[0].lower()}{last.lower()}",
        "initials": f"{first[0]}{last[0]}",
        "isActive": True,
        "resourceType": "Employee",
        "licenseType": 1,
        "officePhone": "614-555-0100",
    }


def _currency(
    currency_id: int, code: str, name: str, symbol: str, rate: float, active: bool, internal: bool
) -> dict[str, Any]:
    return {
        "id": currency_id,
        "name": code,
        "description": name,
        "displaySymbol": symbol,
        "exchangeRate": rate,
        "isActive": active,
        "isInternalCurrency": internal,
        "currencyPositiveFormat": f"{symbol}X",
        "currencyNegativeFormat": f"({symbol}X)",
    }


# -- small helpers -------------------------------------------------------------------------------


def _code_kind(number: str | None) -> str:
    if number in RECURRING:
        return "recurring"
    if number in LABOR:
        return "labor"
    if number in HARDWARE:
        return "hardware"
    return "expense"


def _kind_label(kind: str) -> str:
    return {"recurring": "recurring service", "labor": "labor", "hardware": "hardware", "expense": "expense"}[kind]


def _quantity(rng: random.Random, number: str | None) -> float:
    if number == "MS-DEV":
        return float(rng.randint(5, 60))
    if number in ("MS-USR", "M365-BP"):
        return float(rng.randint(3, 40))
    if number in ("BDR-01", "FW-SUB"):
        return float(rng.randint(1, 3))
    if number in LABOR:
        return rng.randint(2, 24) / 4  # quarter hours
    if number in HARDWARE:
        return float(rng.randint(1, 3))
    return float(rng.randint(1, 2))


def _line_name(rng: random.Random, kind: str, code: dict[str, Any], products: list[dict[str, Any]]) -> str:
    if kind == "labor":
        return f"{code['name']}: {rng.choice(TICKET_TITLES)}"
    if kind == "hardware":
        sold = [p for p in products if p["productBillingCodeID"] == code["id"]]
        return rng.choice(sold)["name"] if sold else code["name"]
    if kind == "expense":
        return "Travel to client site"
    return code["name"]


def _due_days(term_name: str) -> int:
    match = re.search(r"(\d+)", term_name)
    return int(match.group(1)) if match else 0


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())[:24]


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
