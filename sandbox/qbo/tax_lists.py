"""A company's tax setup: TaxAgency (who collects), TaxRate (a percentage an agency collects) and
TaxCode (what a transaction line names: one or more sales rates and one or more purchase rates).

QBO creates rates and codes through its TaxService resource, which the sandbox does not serve; they
come from the seed document (``TaxAgency``, ``TaxRate``, ``TaxCode``), checked by the rules here, and
are then read and queried like any list. How transactions use them is ``sandbox.qbo.taxes``.
"""

from __future__ import annotations

from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.checks import check_lengths, check_optional_ref, check_ref, claim_name
from sandbox.qbo.faults import business, invalid_enum, invalid_property, required
from sandbox.qbo.values import dec, number_out

TAX_TYPES_APPLICABLE = ("TaxOnAmount", "TaxOnAmountPlusTax", "TaxOnTax")
RATE_LISTS = ("SalesTaxRateList", "PurchaseTaxRateList")
# A US company's line-level codes (Id and Name "TAX" / "NON"): taxable or not, no rates of their own.
PSEUDO_CODES = ("TAX", "NON")


def normalize_tax_agency(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """TaxAgency: a unique DisplayName; tracked on sales and purchases unless it says otherwise."""
    name = record.get("DisplayName")
    if not isinstance(name, str) or not name.strip():
        raise required("DisplayName")
    check_lengths("TaxAgency", record)
    claim_name(books, "TaxAgency", name, "TaxAgency", existing, "tax agency")
    record.setdefault("TaxTrackedOnSales", True)
    record.setdefault("TaxTrackedOnPurchases", True)


def normalize_tax_rate(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """TaxRate: a unique Name, a RateValue (percent, 0-100) and the agency that collects it."""
    name = record.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required("Name")
    check_lengths("TaxRate", record)
    claim_name(books, "TaxRate", name, "TaxRate", existing, "tax rate")
    if record.get("RateValue") in (None, ""):
        raise required("RateValue")
    rate = dec(record["RateValue"], "RateValue")
    if not 0 <= rate <= 100:
        raise business(f"Tax rate '{name}' has RateValue {rate}: a rate is a percentage from 0 to 100.", "RateValue")
    record["RateValue"] = number_out(rate)
    check_optional_ref(books, record, "AgencyRef", "TaxAgency")
    record.setdefault("Active", True)
    record.setdefault("SpecialTaxType", "NONE")
    record.setdefault("DisplayType", "ReadOnly")


def normalize_tax_code(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """TaxCode: a unique Name and its sales and purchase rate lists, each rate an existing TaxRate.
    QBO sets TaxGroup (a group of rates, as every code but the US pseudo codes TAX and NON is) and
    Taxable (always true but for NON)."""
    name = record.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required("Name")
    check_lengths("TaxCode", record)
    claim_name(books, "TaxCode", name, "TaxCode", existing, "tax code")
    pseudo = name in PSEUDO_CODES
    for key in RATE_LISTS:
        details = (record.get(key) or {}).get("TaxRateDetail") or []
        if not isinstance(details, list):
            raise invalid_property(f"{key}.TaxRateDetail specified is unsupported or invalid", key)
        record[key] = {"TaxRateDetail": [_checked_rate_detail(books, d, f"{key}.TaxRateDetail") for d in details]}
    record["TaxGroup"] = not pseudo
    record["Taxable"] = name != "NON"
    record.setdefault("Active", True)
    record.setdefault("Hidden", False)
    record.setdefault("TaxCodeConfigType", "USER_DEFINED")


def _checked_rate_detail(books: Company, detail: Any, element: str) -> dict[str, Any]:
    if not isinstance(detail, dict):
        raise invalid_property(f"{element} specified is unsupported or invalid", element)
    if "TaxRateRef" not in detail:
        raise required(f"{element}.TaxRateRef")
    out = dict(detail)
    out["TaxRateRef"] = check_ref(books, detail["TaxRateRef"], "TaxRate", f"{element}.TaxRateRef")
    out["TaxTypeApplicable"] = detail.get("TaxTypeApplicable", "TaxOnAmount")
    if out["TaxTypeApplicable"] not in TAX_TYPES_APPLICABLE:
        raise invalid_enum(f"{element}.TaxTypeApplicable", out["TaxTypeApplicable"])
    out["TaxOrder"] = int(dec(detail.get("TaxOrder", 0), f"{element}.TaxOrder"))
    return out
