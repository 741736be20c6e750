"""The QBO accounts the PO sync names in its settings: the Accounts Payable account its bills are
credited to (``po_ap_account``, PO-02) and the expense account of the items it creates
(``po_new_item_expense_account``, PO-05), found by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atqbo.exceptions import AtqboConfigError
from atqbo.qbo_names import find_account
from atqbo.settings import VARIABLE_NAME

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.settings import Settings


def find_ap_account(qbo: QuickBooksOnlineHook, settings: Settings) -> str:
    """PO-02: the account named ``po_ap_account``; without it no bill can be sent, so the run stops."""
    name = settings.po_ap_account
    account = find_account(qbo, name)
    if account is None:
        raise AtqboConfigError(
            f"QBO has no active account named {name!r} (po_ap_account), so no purchase order can become a bill. "
            f"Fix: set po_ap_account in the {VARIABLE_NAME} Variable to the name of your Accounts Payable "
            "account in QBO (Chart of accounts), e.g. 'Accounts Payable (A/P)'"
        )
    if account.get("AccountType") != "Accounts Payable":
        raise AtqboConfigError(
            f"the QBO account {name!r} (po_ap_account) is of type {account.get('AccountType')!r}, not "
            f"'Accounts Payable'; bills are credited to an Accounts Payable account. Fix: set po_ap_account in "
            f"the {VARIABLE_NAME} Variable to the name of an Accounts Payable account"
        )
    return str(account["Id"])


def find_expense_account_id(qbo: QuickBooksOnlineHook, settings: Settings) -> str | None:
    """PO-05: the Id of the account named ``po_new_item_expense_account``, or None when QBO has none."""
    account = find_account(qbo, settings.po_new_item_expense_account)
    return str(account["Id"]) if account else None
