"""Builders for the tax and currency tests of the QBO emulator: the company profiles' seed documents
(``sandbox/seeds/qbo_profiles/*.json``, one per named seed), and transaction lines with tax codes.

A profile file is the ``qbo`` part of a seed document for a company of that kind, multi-currency off;
``profile_seed(name, multi_currency=True)`` turns multi-currency on and adds a customer and a vendor
in a foreign currency, the rate of that currency on 2024-05-01, and its A/R and A/P accounts.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.seeds.profiles import PROFILE_NAMES, PROFILES, qbo_profile

__all__ = ["PROFILE_NAMES"]
# The foreign currency each profile's multi-currency variant trades in, and its rate on 2024-05-01
# (the named seeds' own).
FOREIGN = {name: (profile.foreign.code, profile.foreign_rate) for name, profile in PROFILES.items()}
FOREIGN_CUSTOMER_ID = "91"
FOREIGN_VENDOR_ID = "92"


def profile_seed(name: str, *, multi_currency: bool = False) -> dict[str, Any]:
    """The seed document of a profile, optionally with multi-currency on (and foreign parties)."""
    doc = qbo_profile(name)
    if multi_currency:
        code, rate = FOREIGN[name]
        part = doc["qbo"]
        part["Preferences"] = copy.deepcopy(part["Preferences"])
        part["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"] = True
        part["ExchangeRate"] = [{"SourceCurrencyCode": code, "AsOfDate": "2024-05-01", "Rate": rate}]
        # The accounts QBO keeps for the currency once the company has traded in it: a foreign
        # transaction that names none uses them (sandbox.qbo.currency.check_currency_account).
        part["Account"] = part.get("Account", []) + [
            {
                "Name": f"Accounts Receivable (A/R) - {code}",
                "AccountType": "Accounts Receivable",
                "CurrencyRef": {"value": code},
            },
            {
                "Name": f"Accounts Payable (A/P) - {code}",
                "AccountType": "Accounts Payable",
                "CurrencyRef": {"value": code},
            },
        ]
        part["Customer"] = part["Customer"] + [
            {"Id": FOREIGN_CUSTOMER_ID, "DisplayName": f"Overseas Client ({code})", "CurrencyRef": {"value": code}}
        ]
        part["Vendor"] = part["Vendor"] + [
            {"Id": FOREIGN_VENDOR_ID, "DisplayName": f"Overseas Supplier ({code})", "CurrencyRef": {"value": code}}
        ]
    return doc


def sales_line(item_id: str, qty: float, price: float, code: str | None = None, **detail: Any) -> dict[str, Any]:
    """An invoice line of ``qty`` x ``price`` of an item, with a TaxCodeRef when ``code`` is given."""
    body: dict[str, Any] = {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": price, **detail}
    if code is not None:
        body["TaxCodeRef"] = {"value": code}
    return {"Amount": round(qty * price, 2), "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": body}


def item_expense_line(item_id: str, qty: float, cost: float, code: str | None = None) -> dict[str, Any]:
    """A bill line of ``qty`` x ``cost`` of a purchasable item."""
    body: dict[str, Any] = {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": cost}
    if code is not None:
        body["TaxCodeRef"] = {"value": code}
    return {
        "Amount": round(qty * cost, 2),
        "DetailType": "ItemBasedExpenseLineDetail",
        "ItemBasedExpenseLineDetail": body,
    }


def account_expense_line(account_id: str, amount: float, code: str | None = None) -> dict[str, Any]:
    """A bill line of ``amount`` on an expense account."""
    body: dict[str, Any] = {"AccountRef": {"value": account_id}}
    if code is not None:
        body["TaxCodeRef"] = {"value": code}
    return {"Amount": amount, "DetailType": "AccountBasedExpenseLineDetail", "AccountBasedExpenseLineDetail": body}


def tax_lines(record: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """TaxRate Id -> (tax amount, net amount taxable) of a transaction's TxnTaxDetail."""
    return {
        t["TaxLineDetail"]["TaxRateRef"]["value"]: (t["Amount"], t["TaxLineDetail"]["NetAmountTaxable"])
        for t in record["TxnTaxDetail"].get("TaxLine", [])
    }
