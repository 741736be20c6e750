"""The Autotask half of a named real-tenant seed: the demo's Autotask half turned into the PSA of a
``Profile`` (``sandbox.seeds.profiles``).

What it adds to the demo's records: the tax regions, categories and taxes of the profile's country
(every customer in a region, every billing code in a category), the home and one foreign currency
(one customer billed in it: its amounts converted at the Autotask exchange rate), a block-hour
contract and a line it covers (billed below rate x quantity), a non-billable line (shown at 0), an
API user restricted to the Managed Services lines of business, ``keep_empty_strings`` as the profile
says; outside the US, the MSP's and the companies' addresses in that country. Then every invoice's
tax is recomputed from the tax tables: each tax is rounded once per invoice (half up) and its cents
are spread over the lines it taxes, so a line's ``taxDollars`` is within a cent of amount x rate per
tax (what ``sandbox.autotask.tax_totals`` checks), ``totalTaxValue`` is the lines' tax and
``invoiceTotal`` their amounts plus it.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.seeds.demo_autotask import LOB_BY_CODE
from sandbox.seeds.profiles import (
    COVERED_INVOICE_INDEX,
    FOREIGN_COMPANY,
    NON_BILLABLE_INVOICE_INDEX,
    RESTRICTED_DIVISION,
    Profile,
)

CENT = Decimal("0.01")
HOME_CURRENCY_ID, FOREIGN_CURRENCY_ID = 1, 2
CUSTOMER, VENDOR = 1, 7
API_USER_RESOURCE_ID = 29682890
API_USER_NAME = "helpdesk-api@northstar-it.example"
API_USER_SECRET = "helpdesk-secret"
CONTRACT_ID = 29687001
BLOCK_HOURS_CONTRACT = 4  # contractType picklist: Block Hours
COVERED_CODE = "SUP-REM"


def build(demo: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """The Autotask part of ``profile``'s seed, from the demo's Autotask part (left unchanged)."""
    part = copy.deepcopy(demo)
    companies = {c["id"]: c for c in part["Companies"]}
    foreign = next((c for c in part["Companies"] if c["companyName"] == FOREIGN_COMPANY), None)
    if foreign is None or any(inv["webServiceDate"] for inv in part["Invoices"] if inv["companyID"] == foreign["id"]):
        raise ValueError(f"demo seed: {FOREIGN_COMPANY!r} must be a customer whose invoices are all unsynced")
    for index in (COVERED_INVOICE_INDEX, NON_BILLABLE_INVOICE_INDEX):
        invoice = part["Invoices"][index]
        if invoice["webServiceDate"] or invoice["companyID"] == foreign["id"]:
            raise ValueError(f"demo seed: invoice {invoice['id']} must be unsynced and in the home currency")
    part["settings"] = {"keep_empty_strings": profile.keep_empty_strings}
    part["Currencies"] = _currencies(profile)
    if profile.cities:
        _move_addresses(part, profile)
    part.update(_tax_tables(profile))
    _assign_tax_tables(part, profile, foreign)
    _bill_in_foreign_currency(part, foreign, profile)
    _add_covered_and_non_billable_lines(part, companies)
    _add_restricted_api_user(part)
    recompute_invoice_tax(part)
    return part


def foreign_exchange_rate(profile: Profile) -> float:
    """Autotask's rate of the foreign currency: foreign units per internal (home) unit."""
    return round(1 / profile.foreign_rate, 4)


def _currencies(profile: Profile) -> list[dict[str, Any]]:
    def currency(currency_id: int, code: str, name: str, symbol: str, rate: float, internal: bool) -> dict[str, Any]:
        return {
            "id": currency_id,
            "name": code,
            "description": name,
            "displaySymbol": symbol,
            "exchangeRate": rate,
            "isActive": True,
            "isInternalCurrency": internal,
            "currencyPositiveFormat": f"{symbol}X",
            "currencyNegativeFormat": f"({symbol}X)",
        }

    home, foreign = profile.home, profile.foreign
    return [
        currency(HOME_CURRENCY_ID, home.code, home.description, home.symbol, 1.0, True),
        currency(
            FOREIGN_CURRENCY_ID,
            foreign.code,
            foreign.description,
            foreign.symbol,
            foreign_exchange_rate(profile),
            False,
        ),
    ]


def _move_addresses(part: dict[str, Any], profile: Profile) -> None:
    """Outside the US: the MSP and every company in the profile's country (Autotask's country ids
    are tenant data the sandbox does not know, so ``countryID`` is left out)."""
    for index, company in enumerate(part["Companies"]):
        city, state, postal = profile.cities[index % len(profile.cities)]
        if company["id"] == 0:
            company.update(profile.msp_address)
        else:
            company.update(city=city, state=state, postalCode=postal)
        company["countryID"] = None
        if profile.phone_prefix:
            company["phone"] = f"{profile.phone_prefix} {1000 + index:04d}"
        if company.get("billToAddressToUse") == 2:
            company.update(billToCity=city, billToState=state, billToZipCode=postal, billToCountryID=None)
    for order in part["PurchaseOrders"]:
        msp = part["Companies"][0]
        order.update(shipToCity=msp["city"], shipToState=msp["state"], shipToPostalCode=msp["postalCode"])
        order.update(shipToAddress1=msp["address1"], phone=msp["phone"])


def _tax_tables(profile: Profile) -> dict[str, list[dict[str, Any]]]:
    regions = [{"id": i, "name": name} for i, name in enumerate(profile.regions, start=1)]
    categories = [
        {"id": i, "name": name, "description": f"{name} ({profile.name})"}
        for i, name in enumerate(profile.categories, start=1)
    ]
    category_id = {c["name"]: c["id"] for c in categories}
    taxes = [
        {
            "taxRegionID": region["id"],
            "taxCategoryID": category_id[category],
            "taxName": tax_name,
            "taxRate": rate,
            "isCompounded": False,
        }
        for region in regions
        for category, rows in profile.regions[region["name"]].items()
        for tax_name, rate in rows
    ]
    taxes = [{"id": i, **tax} for i, tax in enumerate(taxes, start=1)]
    return {"TaxRegions": regions, "TaxCategories": categories, "Taxes": taxes}


def _assign_tax_tables(part: dict[str, Any], profile: Profile, foreign: dict[str, Any]) -> None:
    """Every billing code in a category, the MSP and every customer in a region."""
    category_id = {c["name"]: c["id"] for c in part["TaxCategories"]}
    region_id = {r["name"]: r["id"] for r in part["TaxRegions"]}
    for code in part["BillingCodes"]:
        code["taxCategoryID"] = category_id[profile.code_categories.get(code["externalNumber"], profile.categories[0])]
    for company in part["Companies"]:
        if company["companyType"] == VENDOR:
            continue
        region = profile.region_of_state.get(company["state"]) or profile.region_of_state[None]
        if company is foreign and profile.foreign_region:
            region = profile.foreign_region
        company["taxRegionID"] = region_id[region]


def _bill_in_foreign_currency(part: dict[str, Any], foreign: dict[str, Any], profile: Profile) -> None:
    """The foreign company's currency, and its lines' amounts in it (the internal amounts kept)."""
    foreign["currencyID"] = FOREIGN_CURRENCY_ID
    rate = Decimal(str(foreign_exchange_rate(profile)))
    for item in part["BillingItems"]:
        if item["companyID"] != foreign["id"]:
            continue
        unit = _money(Decimal(str(item["rate"])) * rate)
        full = item["extendedPrice"] == float(_money(Decimal(str(item["quantity"])) * Decimal(str(item["rate"]))))
        extended = (
            _money(Decimal(str(item["quantity"])) * unit)
            if full
            else _money(Decimal(str(item["extendedPrice"])) * rate)
        )
        item.update(rate=float(unit), extendedPrice=float(extended), totalAmount=float(extended))


def _add_covered_and_non_billable_lines(part: dict[str, Any], companies: dict[int, dict[str, Any]]) -> None:
    """A remote-support line on one invoice, partly covered by its company's block-hour contract
    (3 hours worked, 1 billed), and a goodwill line on another, non-billable (shown at 0)."""
    invoices = part["Invoices"]
    code = next(c for c in part["BillingCodes"] if c["externalNumber"] == COVERED_CODE)
    association = _association_id(part, *LOB_BY_CODE[COVERED_CODE])
    next_id = max(item["id"] for item in part["BillingItems"]) + 1
    covered_invoice = invoices[COVERED_INVOICE_INDEX]
    company = companies[covered_invoice["companyID"]]
    part["Contracts"] = [
        {
            "id": CONTRACT_ID,
            "companyID": company["id"],
            "contractName": f"{company['companyName']} block hours",
            "contractType": BLOCK_HOURS_CONTRACT,
            "status": 1,
            "startDate": covered_invoice["fromDate"][:4] + "-01-01T00:00:00Z",
            "endDate": covered_invoice["fromDate"][:4] + "-12-31T00:00:00Z",
            "organizationalLevelAssociationID": association,
        }
    ]
    rate = code["unitPrice"]
    covered = _support_line(part, covered_invoice, code, association, "Remote Support: server migration", 3.0)
    covered.update(id=next_id, extendedPrice=rate, totalAmount=rate, contractID=CONTRACT_ID)
    covered.update(internalCurrencyExtendedPrice=rate, internalCurrencyTotalAmount=rate)
    goodwill_invoice = invoices[NON_BILLABLE_INVOICE_INDEX]
    goodwill = _support_line(part, goodwill_invoice, code, association, "Remote Support: printer fix (goodwill)", 1.0)
    goodwill.update(id=next_id + 1, extendedPrice=0.0, totalAmount=0.0, nonBillable=1)
    goodwill.update(internalCurrencyExtendedPrice=0.0, internalCurrencyTotalAmount=0.0)
    part["BillingItems"].extend([covered, goodwill])


def _support_line(
    part: dict[str, Any], invoice: dict[str, Any], code: dict[str, Any], association: int, name: str, hours: float
) -> dict[str, Any]:
    """A labour line of ``invoice`` dated like its first line (amounts set by the caller)."""
    first = next(item for item in part["BillingItems"] if item["invoiceID"] == invoice["id"])
    return {
        **first,
        "billingCodeID": code["id"],
        "billingItemType": 1,
        "subType": 1,
        "organizationalLevelAssociationID": association,
        "itemName": name,
        "description": name,
        "lineItemFullDescription": name,
        "quantity": hours,
        "rate": code["unitPrice"],
        "ourCost": round(hours * code["unitCost"], 2),
        "internalCurrencyRate": code["unitPrice"],
        "taxDollars": 0.0,
        "internalCurrencyTaxDollars": 0.0,
        "nonBillable": 0,
        "contractID": None,
    }


def _add_restricted_api_user(part: dict[str, Any]) -> None:
    """A second API user (its own resource) restricted to the lines of business of one division."""
    part["Resources"].append(
        {
            "id": API_USER_RESOURCE_ID,
            "firstName": "API",
            "lastName": "Helpdesk billing",
            "email": API_USER_NAME,
            "userName": "helpdesk-api",
            "isActive": True,
            "resourceType": "Employee",
            "userType": "API User (system)",
        }
    )
    part["api_users"] = [{"username": API_USER_NAME, "secret": API_USER_SECRET, "resourceID": API_USER_RESOURCE_ID}]
    division = next(d["id"] for d in part["OrganizationalLevel1s"] if d["name"] == RESTRICTED_DIVISION)
    part["OrganizationalResources"] = [
        {"id": index, "resourceID": API_USER_RESOURCE_ID, "organizationalLevelAssociationID": association["id"]}
        for index, association in enumerate(
            (a for a in part["OrganizationalLevelAssociations"] if a["organizationalLevel1ID"] == division), start=1
        )
    ]


def recompute_invoice_tax(part: dict[str, Any]) -> None:
    """Every invoice's tax from the tax tables: each tax of the company's region and the line's
    category, rounded once per invoice and spread over its lines by the cent; none for an exempt
    company or a non-billable line. Then ``totalTaxValue``, ``invoiceTotal`` and ``taxRegionName``."""
    companies = {c["id"]: c for c in part["Companies"]}
    categories = {c["id"]: c.get("taxCategoryID") for c in part["BillingCodes"]}
    regions = {r["id"]: r["name"] for r in part["TaxRegions"]}
    taxes: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for tax in part["Taxes"]:
        taxes[(tax["taxRegionID"], tax["taxCategoryID"])].append(tax)
    rates = {c["id"]: Decimal(str(c["exchangeRate"])) for c in part["Currencies"]}
    items_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in part["BillingItems"]:
        items_of[item["invoiceID"]].append(item)
    for invoice in part["Invoices"]:
        company = companies[invoice["companyID"]]
        lines = items_of[invoice["id"]]
        shares: dict[int, list[tuple[dict[str, Any], Decimal]]] = defaultdict(list)
        for item in lines:
            item["taxDollars"] = 0.0
            if company.get("isTaxExempt") or item["nonBillable"]:
                continue
            for tax in taxes.get((company.get("taxRegionID"), categories[item["billingCodeID"]]), []):
                exact = Decimal(str(item["totalAmount"])) * Decimal(str(tax["taxRate"])) / 100
                shares[tax["id"]].append((item, exact))
        for tax_shares in shares.values():
            for item, cents in _spread(tax_shares):
                item["taxDollars"] = float(Decimal(str(item["taxDollars"])) + cents)
        rate = rates.get(company.get("currencyID"), Decimal(1))
        for item in lines:
            item["internalCurrencyTaxDollars"] = float(_money(Decimal(str(item["taxDollars"])) / rate))
        subtotal = sum((Decimal(str(item["totalAmount"])) for item in lines), Decimal(0))
        tax_total = sum((Decimal(str(item["taxDollars"])) for item in lines), Decimal(0))
        invoice["totalTaxValue"] = float(tax_total)
        invoice["invoiceTotal"] = float(subtotal + tax_total)
        invoice["taxRegionName"] = regions.get(company.get("taxRegionID"))


def _spread(shares: list[tuple[dict[str, Any], Decimal]]) -> list[tuple[dict[str, Any], Decimal]]:
    """One tax on an invoice: its total (the exact shares' sum, rounded half up) as cents per line,
    each line's floor first, the cents left to the largest remainders."""
    total = _money(sum((exact for _, exact in shares), Decimal(0)))
    floors = [(exact / CENT).to_integral_value(ROUND_FLOOR) * CENT for _, exact in shares]
    left = int((total - sum(floors, Decimal(0))) / CENT)
    by_remainder = sorted(range(len(shares)), key=lambda i: shares[i][1] - floors[i], reverse=True)
    for i in by_remainder[:left]:
        floors[i] += CENT
    return [(item, floors[i]) for i, (item, _) in enumerate(shares)]


def _association_id(part: dict[str, Any], division: str, line: str) -> int:
    level1 = next(d["id"] for d in part["OrganizationalLevel1s"] if d["name"] == division)
    level2 = next(d["id"] for d in part["OrganizationalLevel2s"] if d["name"] == line)
    return next(
        a["id"]
        for a in part["OrganizationalLevelAssociations"]
        if (a["organizationalLevel1ID"], a["organizationalLevel2ID"]) == (level1, level2)
    )


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
