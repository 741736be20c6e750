"""A company's currencies and what multi-currency asks of each record.

With ``Preferences.CurrencyPrefs.MultiCurrencyEnabled`` off, everything is in the home currency. With
it on: a customer or vendor has one currency (the home one unless set when it is created), fixed once
it has transactions, and a currency new to the company joins its CompanyCurrency list; a transaction
is in its customer's or vendor's currency (any other is a second currency, refused with QBO's "one
foreign currency" fault), at the ExchangeRate sent or the company's rate for its date, with its home
amounts computed; its A/R or A/P account is the one of its currency, which QBO opens at the
currency's first transaction ("Accounts Payable (A/P) - CAD"); an account in another currency (a
home-currency one on a foreign transaction included) is refused (``check_currency_account``).

Records a write creates alongside the one it saves (a CompanyCurrency, an account) are listed in the
record's ``_create`` (entity, body) pairs; ``sandbox.qbo.writes`` checks and stores them with it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.checks import claim_name
from sandbox.qbo.exchange_rates import rate_on
from sandbox.qbo.faults import business, one_foreign_currency, required
from sandbox.qbo.schema import CURRENCY_NAMES
from sandbox.qbo.values import dec, id_key, money, number_out, ref_value

# The names of the home-currency A/R and A/P accounts of a new company (foreign ones add " - CAD").
CURRENCY_ACCOUNT_NAMES = {
    "Accounts Receivable": "Accounts Receivable (A/R)",
    "Accounts Payable": "Accounts Payable (A/P)",
}


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def check_currency(books: Company, record: dict[str, Any], default: str | None = None) -> str:
    """The record's CurrencyRef (``default``, else the home currency, when it names none): with
    multi-currency off only the home currency, with it on any currency the sandbox knows."""
    code = ref_value(record.get("CurrencyRef")) or default or books.home_currency
    if not books.multi_currency and code != books.home_currency:
        raise business(
            f"Multicurrency is not enabled for this company, so everything is in {books.home_currency}; "
            f"CurrencyRef {code} cannot be used.",
            "CurrencyRef",
        )
    if code not in CURRENCY_NAMES:
        raise business(
            f"{code} is not a currency QuickBooks supports: use an ISO 4217 code such as CAD or EUR.", "CurrencyRef"
        )
    record["CurrencyRef"] = currency_ref(code)
    return code


def check_party_currency(books: Company, entity: str, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """A Customer's or Vendor's currency: the home one unless given at creation, kept by an update
    that leaves it out, and fixed once the customer or vendor has transactions."""
    old = ref_value(existing.get("CurrencyRef")) if existing else None
    code = check_currency(books, record, default=old)
    if existing is not None and old and code != old and _has_transactions(books, entity, existing["Id"]):
        kind = entity.lower()
        raise business(
            f"The currency of {kind} '{existing['DisplayName']}' is {old} and can't be changed: the {kind} has "
            f"transactions. Create another {kind} in {code} for transactions in {code}.",
            "CurrencyRef",
        )
    _join_company_currencies(books, record, code)


def check_transaction_currency(books: Company, record: dict[str, Any], party: dict[str, Any], kind: str) -> str:
    """A transaction's currency (its customer's or vendor's ``party`` when it names none; any other is
    refused) and, with multi-currency on, its ExchangeRate: the one sent, else the company's rate for
    its TxnDate (1 for the home currency). Returns the currency."""
    party_code = ref_value(party.get("CurrencyRef")) or books.home_currency
    code = check_currency(books, record, default=party_code)
    if books.multi_currency and code != party_code:
        party_kind = "customer" if kind in ("invoice", "payment") else "vendor"
        raise one_foreign_currency(
            f"The {kind} is in {code} but {party_kind} '{party['DisplayName']}' is in {party_code}: a {kind} is "
            f"in its {party_kind}'s currency (leave CurrencyRef out), or use a {party_kind} in {code}."
        )
    if books.multi_currency:
        if code == books.home_currency:
            rate = Decimal(1)
        elif record.get("ExchangeRate") not in (None, ""):
            rate = dec(record["ExchangeRate"], "ExchangeRate")
            if rate <= 0:
                raise business(f"The exchange rate of {code} must be more than 0.", "ExchangeRate")
        else:
            rate = rate_on(books, code, record["TxnDate"])
        record["ExchangeRate"] = number_out(rate)
    return code


def set_home_amounts(books: Company, record: dict[str, Any]) -> None:
    """HomeTotalAmt (and HomeBalance) of a transaction: its amounts at its ExchangeRate."""
    if not books.multi_currency:
        return
    rate = dec(record.get("ExchangeRate", 1), "ExchangeRate")
    record["ExchangeRate"] = number_out(rate)
    record["HomeTotalAmt"] = money(Decimal(str(record["TotalAmt"])) * rate)
    if "Balance" in record:
        record["HomeBalance"] = money(Decimal(str(record["Balance"])) * rate)


def check_currency_account(
    books: Company, record: dict[str, Any], key: str, account_type: str, currency: str, *, set_default: bool
) -> None:
    """The A/R or A/P account (``key``, already a checked reference when given) of a transaction in
    ``currency``: one in that currency. Left out, it is the company's account of that type in that
    currency (``set_default``: named on the record), opened when the currency has none yet.

    An account in another currency is refused, a home-currency one on a foreign transaction
    included, whether or not the company has an account in the transaction's currency yet: real QBO
    refuses a transaction whose A/R or A/P account mixes currencies (docs/api-facts.md 5.2)."""
    if key in record:
        account = books.get("Account", record[key]["value"])
        account_currency = ref_value((account or {}).get("CurrencyRef")) or books.home_currency
        if account_currency != currency:
            raise one_foreign_currency(
                f"{key} '{record[key]['name']}' is an account in {account_currency} and the transaction is in "
                f"{currency}: leave {key} out, or name the {account_type} account in {currency}."
            )
        return
    account = _account_in(books, account_type, currency)
    if account is None and currency != books.home_currency:
        account = _open_currency_account(books, record, account_type, currency)
    if account is not None and set_default:
        record[key] = {"value": account["Id"], "name": account["Name"]}


def normalize_company_currency(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """CompanyCurrency: a foreign currency the company uses (multi-currency on), by its ISO code."""
    if not books.multi_currency:
        raise business("Multicurrency is not enabled for this company; turn it on before adding currencies.", "Code")
    code = str(record.get("Code") or "").strip().upper()
    if not code:
        raise required("Code")
    if code not in CURRENCY_NAMES:
        raise business(f"{code} is not a currency QuickBooks supports.", "Code")
    if code == books.home_currency:
        raise business(f"{code} is the home currency, not a foreign currency of the company.", "Code")
    if existing is not None and existing["Code"] != code:
        raise business("The Code of a currency can't be changed; add the other currency instead.", "Code")
    claim_name(books, "CompanyCurrency", code, "CompanyCurrency", existing, "currency")
    record["Code"] = code
    record["Name"] = CURRENCY_NAMES[code]
    record.setdefault("Active", True)


def set_home_currency(books: Company, old: str) -> None:
    """A company created in another home currency than the reset one (a seed's CurrencyPrefs): its
    accounts, customers and vendors in the old home currency are in the new one. QBO fixes the home
    currency when the company is created, so a company with transactions cannot change it."""
    if any(books.records[kind] for kind in ("Invoice", "Bill", "Payment")):
        raise business(
            f"The home currency is {old} and the company has transactions: the home currency is set when a "
            "company is created. Seed CurrencyPrefs.HomeCurrency into a reset sandbox.",
            "CurrencyPrefs.HomeCurrency",
        )
    if books.home_currency not in CURRENCY_NAMES:
        raise business(f"{books.home_currency} is not a currency QuickBooks supports.", "CurrencyPrefs.HomeCurrency")
    for kind in ("Account", "Customer", "Vendor"):
        for record in books.records[kind].values():
            if ref_value(record.get("CurrencyRef")) == old:
                record["CurrencyRef"] = currency_ref(books.home_currency)


# -- helpers -----------------------------------------------------------------------------------------


def _has_transactions(books: Company, entity: str, party_id: str) -> bool:
    if entity == "Customer":
        kinds, ref_key = ("Invoice", "Payment"), "CustomerRef"
    else:
        kinds, ref_key = ("Bill",), "VendorRef"
    return any(ref_value(r.get(ref_key)) == party_id for kind in kinds for r in books.records[kind].values())


def _join_company_currencies(books: Company, record: dict[str, Any], code: str) -> None:
    """A currency new to the company is added to its CompanyCurrency list (Intuit: 'If specified
    currency is not currently in the company's currency list, it is added')."""
    if not books.multi_currency or code == books.home_currency:
        return
    if ("CompanyCurrency", code.casefold()) in books.names:
        return
    if any(entity == "CompanyCurrency" for entity, _ in record.get("_create", [])):
        return
    record.setdefault("_create", []).append(("CompanyCurrency", {"Code": code}))


def _account_in(books: Company, account_type: str, currency: str) -> dict[str, Any] | None:
    """The company's first active account of ``account_type`` in ``currency`` (a batch's own new ones
    included: QBO's, not the client's, choice)."""
    for account in sorted(books.records["Account"].values(), key=lambda a: id_key(a["Id"])):
        in_currency = (ref_value(account.get("CurrencyRef")) or books.home_currency) == currency
        if account.get("AccountType") == account_type and account.get("Active", True) and in_currency:
            return account
    return None


def _open_currency_account(books: Company, record: dict[str, Any], account_type: str, currency: str) -> dict[str, Any]:
    """The account QBO opens at a currency's first transaction, named after the home-currency one
    ("Accounts Payable (A/P) - CAD"), created with the record."""
    home = _account_in(books, account_type, books.home_currency)
    account = {
        "Id": books.peek_id("Account"),
        "Name": f"{home['Name'] if home else CURRENCY_ACCOUNT_NAMES[account_type]} - {currency}",
        "AccountType": account_type,
        "CurrencyRef": {"value": currency},
    }
    record.setdefault("_create", []).append(("Account", account))
    return account
