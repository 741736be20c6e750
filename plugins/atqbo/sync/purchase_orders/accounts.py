"""The QBO accounts the PO sync credits and charges: the Accounts Payable account of each bill
(``po_ap_account`` for the home currency, PO-02; QBO's A/P account of the bill's currency for a
foreign one, CUR-03) and the expense account of the items it creates (``po_new_item_expense_account``,
PO-05), found by name.

CUR-03: QBO keeps one A/P account per currency ("Accounts Payable (A/P) - CAD", opened by QBO at the
currency's first transaction) and refuses a bill whose A/P account is in another currency than the
bill, a home-currency account on a foreign bill included (docs/api-facts.md 5.2). So a foreign bill
names the active A/P account whose CurrencyRef is its currency (the one named after
``po_ap_account`` with " - CAD" when there are several); when QBO has none yet, the bill names none
and QBO opens (or picks) its own account for that currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks.qbo import where_eq
from atqbo.qbo_names import find_account
from atqbo.settings import VARIABLE_NAME

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.settings import Settings
    from atqbo.sync.purchase_orders.currency import QboCurrencies

AP_ACCOUNT_TYPE = "Accounts Payable"


@dataclass(frozen=True)
class ApAccounts:
    """The A/P account each bill of a run is credited to (PO-02, CUR-03)."""

    home_id: str  # po_ap_account
    home_currency: str | None = None  # None: multi-currency is off in QBO, every bill is on po_ap_account
    foreign: dict[str, str] = field(default_factory=dict)  # currency -> Id of QBO's A/P account in it

    def for_currency(self, currency: str | None) -> str | None:
        """The APAccountRef of a bill in ``currency`` (None: the company's only currency); None means
        the bill names no A/P account, so QBO opens or picks its own account of that currency."""
        if currency is None or self.home_currency is None or currency == self.home_currency:
            return self.home_id
        return self.foreign.get(currency)


def account_currency(account: dict[str, Any], home_currency: str) -> str:
    """An account's currency: its CurrencyRef, else the home currency."""
    return str((account.get("CurrencyRef") or {}).get("value") or home_currency)


def find_ap_account(qbo: QuickBooksOnlineHook, settings: Settings, qbo_currencies: QboCurrencies) -> dict[str, Any]:
    """PO-02: the account named ``po_ap_account``; without it no bill can be sent, so the run stops.
    With multi-currency on it must be in the home currency (CUR-03: foreign bills use their own)."""
    name = settings.po_ap_account
    account = find_account(qbo, name)
    if account is None:
        raise AtqboConfigError(
            f"QBO has no active account named {name!r} (po_ap_account), so no purchase order can become a bill. "
            f"Fix: set po_ap_account in the {VARIABLE_NAME} Variable to the name of your Accounts Payable "
            "account in QBO (Chart of accounts), e.g. 'Accounts Payable (A/P)'"
        )
    if account.get("AccountType") != AP_ACCOUNT_TYPE:
        raise AtqboConfigError(
            f"the QBO account {name!r} (po_ap_account) is of type {account.get('AccountType')!r}, not "
            f"'Accounts Payable'; bills are credited to an Accounts Payable account. Fix: set po_ap_account in "
            f"the {VARIABLE_NAME} Variable to the name of an Accounts Payable account"
        )
    home = qbo_currencies.home
    if qbo_currencies.multi_currency and account_currency(account, home) != home:
        raise AtqboConfigError(
            f"the QBO account {name!r} (po_ap_account) is in {account_currency(account, home)}, not in the home "
            f"currency {home}; po_ap_account is the A/P account of home-currency bills, and a bill in another "
            f"currency is credited to QBO's A/P account of that currency by itself (CUR-03). Fix: set po_ap_account "
            f"in the {VARIABLE_NAME} Variable to the name of your {home} Accounts Payable account, e.g. "
            "'Accounts Payable (A/P)'"
        )
    return account


def pick_currency_ap_account(
    accounts: Iterable[dict[str, Any]], currency: str, home_account: dict[str, Any], home_currency: str
) -> dict[str, Any] | None:
    """CUR-03: of QBO's accounts, the active A/P account in ``currency``: the one QBO names after the
    home account ("Accounts Payable (A/P) - CAD") when there are several, else the oldest; None when
    the company has none in that currency yet."""
    candidates = sorted(
        (
            a
            for a in accounts
            if a.get("AccountType") == AP_ACCOUNT_TYPE
            and a.get("Active", True)
            and account_currency(a, home_currency) == currency
        ),
        key=lambda a: (len(str(a["Id"])), str(a["Id"])),  # QBO Ids are numbers sent as text
    )
    named = f"{home_account['Name']} - {currency}".casefold()
    return next((a for a in candidates if str(a.get("Name", "")).casefold() == named), None) or next(
        iter(candidates), None
    )


def find_ap_accounts(
    qbo: QuickBooksOnlineHook,
    home_account: dict[str, Any],
    qbo_currencies: QboCurrencies,
    bill_currencies: Iterable[str | None],
) -> ApAccounts:
    """PO-02 and CUR-03: the A/P account of each currency the run's bills are in. QBO's A/P accounts
    are read once, and only when a bill is in a foreign currency."""
    home_id = str(home_account["Id"])
    if not qbo_currencies.multi_currency:
        return ApAccounts(home_id)
    home = qbo_currencies.home
    foreign = sorted({c for c in bill_currencies if c and c != home})
    if not foreign:
        return ApAccounts(home_id, home)
    accounts = list(qbo.query_all("Account", where=[where_eq("AccountType", AP_ACCOUNT_TYPE)], order_by="Id"))
    found = {c: pick_currency_ap_account(accounts, c, home_account, home) for c in foreign}
    return ApAccounts(home_id, home, {c: str(a["Id"]) for c, a in found.items() if a is not None})


def find_expense_account_id(qbo: QuickBooksOnlineHook, settings: Settings) -> str | None:
    """PO-05: the Id of the account named ``po_new_item_expense_account``, or None when QBO has none."""
    account = find_account(qbo, settings.po_new_item_expense_account)
    return str(account["Id"]) if account else None
