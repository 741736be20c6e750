"""The QBO half of a named real-tenant seed: the demo's QBO half turned into the company of a
``Profile`` (``sandbox.seeds.profiles``).

From the profile document (``qbo_profiles/NAME.json``) it takes the CompanyInfo, the tax and currency
preferences and the tax agencies, rates and codes, not that document's own customers and items (the
demo's are kept). With multi-currency on it adds the foreign currency (CompanyCurrency, an exchange
rate, its A/R and A/P accounts) and puts the Autotask company billed in it in that currency. The
invoices atqbo already pushed mirror the profile's Autotask invoices (their totals changed with the
recomputed tax). In a non-US company every invoice line names a tax code: the documents entered
before atqbo the profile's sales code, the pushed ones the code the profile's settings give each
Autotask line, one line per code, so that QBO's tax equals Autotask's; items name their tax codes;
the demo's payments pay the same share of the taxed totals; addresses are in the profile's country.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.seeds.profiles import FOREIGN_COMPANY, PROFILE_SETTINGS, Profile, qbo_profile

CENT = Decimal("0.01")
SYNCED_NOTE = "Autotask invoice "  # + the Autotask invoice id: the demo's pushed documents


def build(demo: dict[str, Any], autotask: dict[str, Any], profile: Profile, today: date) -> dict[str, Any]:
    """The QBO part of ``profile``'s seed, from the demo's QBO part and the profile's Autotask part."""
    part = copy.deepcopy(demo)
    document = qbo_profile(profile.name)["qbo"]
    part["CompanyInfo"] = {**part["CompanyInfo"], **copy.deepcopy(document["CompanyInfo"])}
    preferences = copy.deepcopy(part.get("Preferences", {}))
    for key, values in document["Preferences"].items():
        preferences[key] = {**preferences.get(key, {}), **copy.deepcopy(values)}
    preferences["CurrencyPrefs"]["MultiCurrencyEnabled"] = profile.qbo_multi_currency
    part["Preferences"] = preferences
    for entity in ("TaxAgency", "TaxRate", "TaxCode"):
        if document.get(entity):
            part[entity] = copy.deepcopy(document[entity])
    if profile.qbo_multi_currency:
        _add_foreign_currency(part, profile, today)
    if profile.cities:
        _move_addresses(part, profile)
    codes = _TaxCodes(part, profile)
    _mirror_synced_invoices(part, autotask, codes)
    if codes.is_global:
        _name_tax_codes(part, codes)
    return part


class _TaxCodes:
    """The profile's tax codes by name, and which one each Autotask line is sent with."""

    def __init__(self, part: dict[str, Any], profile: Profile) -> None:
        self.is_global = profile.country != "US"
        self.settings = PROFILE_SETTINGS[profile.name]
        self.by_name = {code["Name"]: code for code in part.get("TaxCode", [])}
        self.rates = {rate["Id"]: Decimal(str(rate["RateValue"])) for rate in part.get("TaxRate", [])}

    def id_of(self, name: str) -> str:
        return self.by_name[name]["Id"]

    def for_line(self, category: str | None, exempt_company: bool) -> str:
        """The name of the code atqbo's settings give an Autotask line (`tax_code_map`, else the sales
        code; the exempt code for a tax-exempt company)."""
        if exempt_company:
            return self.settings["exempt_sales_tax_code"]
        return self.settings["tax_code_map"].get(category, self.settings["sales_tax_code"])

    def taxed_total(self, amounts: dict[str, Decimal]) -> Decimal:
        """A global company's invoice total: its line amounts by code Id plus each sales rate,
        rounded once per rate over the lines it taxes (``sandbox.qbo.taxes``)."""
        bases: dict[str, Decimal] = defaultdict(Decimal)
        for code_id, amount in amounts.items():
            code = next(c for c in self.by_name.values() if c["Id"] == code_id)
            for detail in code["SalesTaxRateList"]["TaxRateDetail"]:
                bases[detail["TaxRateRef"]["value"]] += amount
        tax = sum((_money(base * self.rates[rate] / 100) for rate, base in bases.items()), Decimal(0))
        return sum(amounts.values(), Decimal(0)) + tax


def _add_foreign_currency(part: dict[str, Any], profile: Profile, today: date) -> None:
    """The foreign currency, its rate since 90 days ago, its A/R and A/P accounts, and the customer
    billed in it (which has no transactions in QBO yet)."""
    code = profile.foreign.code
    part["CompanyCurrency"] = [{"Code": code}]
    part["ExchangeRate"] = [
        {"SourceCurrencyCode": code, "AsOfDate": (today - timedelta(days=90)).isoformat(), "Rate": profile.foreign_rate}
    ]
    part["Account"] = part.get("Account", []) + [
        {
            "Name": f"Accounts Receivable (A/R) - {code}",
            "AccountType": "Accounts Receivable",
            "CurrencyRef": {"value": code},
        },
        {"Name": f"Accounts Payable (A/P) - {code}", "AccountType": "Accounts Payable", "CurrencyRef": {"value": code}},
    ]
    customer = next(c for c in part["Customer"] if c["DisplayName"] == FOREIGN_COMPANY)
    customer["CurrencyRef"] = {"value": code}


def _move_addresses(part: dict[str, Any], profile: Profile) -> None:
    for index, record in enumerate(part["Customer"] + part["Vendor"]):
        city, state, postal = profile.cities[index % len(profile.cities)]
        address = {**record.get("BillAddr", {}), "City": city, "PostalCode": postal, "Country": profile.address_country}
        address.pop("CountrySubDivisionCode", None)
        if state:
            address["CountrySubDivisionCode"] = state
        record["BillAddr"] = address
        if "PrimaryPhone" in record and profile.phone_prefix:
            record["PrimaryPhone"] = {"FreeFormNumber": f"{profile.phone_prefix} {2000 + index:04d}"}


def _mirror_synced_invoices(part: dict[str, Any], autotask: dict[str, Any], codes: _TaxCodes) -> None:
    """The documents atqbo pushed before the demo starts, at the profile's Autotask totals: one line
    of the invoice total in a US company, one line per tax code in a global one."""
    invoices = {str(inv["id"]): inv for inv in autotask["Invoices"]}
    companies = {c["id"]: c for c in autotask["Companies"]}
    category_names = {c["id"]: c["name"] for c in autotask["TaxCategories"]}
    categories = {c["id"]: category_names.get(c.get("taxCategoryID")) for c in autotask["BillingCodes"]}
    items_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in autotask["BillingItems"]:
        items_of[item["invoiceID"]].append(item)
    for document in part["Invoice"]:
        note = document.get("PrivateNote") or ""
        if not note.startswith(SYNCED_NOTE):
            continue
        source = invoices[note.removeprefix(SYNCED_NOTE)]
        template = document["Line"][0]
        if not codes.is_global:
            document["Line"] = [_one_line(template, template["Description"], Decimal(str(source["invoiceTotal"])))]
            continue
        exempt = bool(companies[source["companyID"]].get("isTaxExempt"))
        amounts: dict[str, Decimal] = defaultdict(Decimal)
        for item in items_of[source["id"]]:
            name = codes.for_line(categories[item["billingCodeID"]], exempt)
            amounts[name] += Decimal(str(item["totalAmount"]))
        document["Line"] = [
            _one_line(template, f"{template['Description']} ({name})", amount, codes.id_of(name))
            for name, amount in amounts.items()
            if amount
        ]


def _one_line(
    template: dict[str, Any], description: str, amount: Decimal, code_id: str | None = None
) -> dict[str, Any]:
    line = copy.deepcopy(template)
    line["Description"] = description
    line["Amount"] = float(amount)
    detail = line["SalesItemLineDetail"]
    detail.update(Qty=1, UnitPrice=float(amount))
    if code_id is not None:
        detail["TaxCodeRef"] = {"value": code_id}
    return line


def _name_tax_codes(part: dict[str, Any], codes: _TaxCodes) -> None:
    """A global company: items name their sales (and purchase) code, the documents entered before
    atqbo name the sales code on every line, and the payments pay the same share of the taxed totals."""
    sales = codes.id_of(codes.settings["sales_tax_code"])
    purchase = codes.id_of(codes.settings["purchase_tax_code"])
    for item in part["Item"]:
        item["SalesTaxCodeRef"] = {"value": sales}
        if "ExpenseAccountRef" in item:
            item["PurchaseTaxCodeRef"] = {"value": purchase}
    totals_before: dict[str, Decimal] = {}
    totals_after: dict[str, Decimal] = {}
    for document in part["Invoice"]:
        amounts: dict[str, Decimal] = defaultdict(Decimal)
        totals_before[document["Id"]] = sum((Decimal(str(line["Amount"])) for line in document["Line"]), Decimal(0))
        for line in document["Line"]:
            detail = line["SalesItemLineDetail"]
            detail.setdefault("TaxCodeRef", {"value": sales})
            amounts[detail["TaxCodeRef"]["value"]] += Decimal(str(line["Amount"]))
        totals_after[document["Id"]] = codes.taxed_total(amounts)
    for payment in part.get("Payment", []):
        for line in payment["Line"]:
            paid = line["LinkedTxn"][0]["TxnId"]
            share = Decimal(str(line["Amount"])) / totals_before[paid]
            line["Amount"] = float(_money(totals_after[paid] * share))
        payment["TotalAmt"] = float(sum((Decimal(str(line["Amount"])) for line in payment["Line"]), Decimal(0)))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
