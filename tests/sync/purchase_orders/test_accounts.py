"""The accounts the PO sync credits and charges (atqbo.sync.purchase_orders.accounts): po_ap_account
(PO-02) and the A/P account of each foreign currency (CUR-03)."""

from __future__ import annotations

from urllib.parse import unquote_plus

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.sync.purchase_orders.accounts import ApAccounts, find_ap_accounts, pick_currency_ap_account
from atqbo.sync.purchase_orders.currency import QboCurrencies
from atqbo.sync.purchase_orders.extract import extract_purchase_orders
from atqbo.sync.purchase_orders.load import load_purchase_orders
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import hooks_for, make_run, run_sync

HOME_AP = {"Id": "4", "Name": "Accounts Payable (A/P)", "AccountType": "Accounts Payable"}
QBO_ON = QboCurrencies(multi_currency=True, home="USD")
MAPLE_PO = 39600021


def _queries(sandbox) -> list[str]:
    """The QBO query statements sent (token refreshes are requests too)."""
    return [unquote_plus(r["query"]) for r in sandbox.requests.list("qbo") if r["path"].endswith("/query")]


def _ap(account_id: str, name: str, currency: str, **more) -> dict:
    return {
        "Id": account_id,
        "Name": name,
        "AccountType": "Accounts Payable",
        "CurrencyRef": {"value": currency},
        **more,
    }


def test_po02_an_ap_account_that_does_not_exist_stops_the_run_naming_the_setting(sandbox, ledger):
    run = make_run("r1", po_ap_account="Trade Payables")
    autotask, qbo = hooks_for(ledger)
    extract_purchase_orders(run, autotask, ledger)
    with pytest.raises(AtqboConfigError, match="po_ap_account"):
        load_purchase_orders(run, qbo, ledger)
    assert ps.writes(sandbox, "qbo") == []


def test_cur03_the_ap_account_of_a_currency_is_the_one_named_after_po_ap_account_else_the_oldest():
    accounts = [
        _ap("41", "Trade Creditors CAD", "CAD"),
        _ap("140", "Accounts Payable (A/P) - CAD", "CAD"),
        _ap("9", "Old Creditors CAD", "CAD", Active=False),
        _ap("42", "Accounts Payable (A/P) - EUR", "EUR"),
        {"Id": "5", "Name": "Accounts Payable (A/P) - GBP", "AccountType": "Other Current Liability"},
        {"Id": "4", **HOME_AP},  # no CurrencyRef: the home currency
    ]
    assert pick_currency_ap_account(accounts, "CAD", HOME_AP, "USD")["Id"] == "140"  # QBO's own name
    assert pick_currency_ap_account(accounts[:1] + accounts[2:], "CAD", HOME_AP, "USD")["Id"] == "41"
    assert pick_currency_ap_account(accounts, "EUR", HOME_AP, "USD")["Id"] == "42"
    assert pick_currency_ap_account(accounts, "USD", HOME_AP, "USD")["Id"] == "4"
    assert pick_currency_ap_account(accounts, "GBP", HOME_AP, "USD") is None  # not an A/P account


def test_cur03_a_bill_uses_po_ap_account_in_the_home_currency_and_else_its_currency_account_or_none():
    accounts = ApAccounts("4", "USD", {"CAD": "140"})
    assert (accounts.for_currency("USD"), accounts.for_currency(None)) == ("4", "4")
    assert accounts.for_currency("CAD") == "140"
    assert accounts.for_currency("EUR") is None  # QBO opens its A/P account in EUR with the bill
    assert ApAccounts("4").for_currency("CAD") == "4"  # multi-currency off: one currency, one account


def test_cur03_a_cad_bill_is_credited_to_the_cad_ap_account_qbo_has(sandbox, ledger):
    ps.multi_currency_qbo(sandbox)
    sandbox.seed(
        {
            "qbo": {
                "Account": [
                    _ap("41", "Trade Creditors CAD", "CAD"),
                    _ap("42", "Accounts Payable (A/P) - CAD", "CAD"),
                ]
            }
        }
    )
    ps.canadian_vendor(sandbox)
    ps.add_po(sandbox, MAPLE_PO, ps.MAPLE, ps.DELL, 2, 1200.0)
    outcomes = run_sync(make_run("r1"), ledger)
    assert outcomes[MAPLE_PO]["outcome"] == "transferred"
    bills = ps.bills(sandbox)
    assert bills[MAPLE_PO]["CurrencyRef"]["value"] == "CAD"
    assert bills[MAPLE_PO]["APAccountRef"] == {"value": "42", "name": "Accounts Payable (A/P) - CAD"}
    assert bills[ps.PO_OK]["APAccountRef"]["value"] == ps.ACCOUNT_AP  # USD: po_ap_account


def test_cur03_without_a_cad_ap_account_qbo_opens_one_and_the_next_run_names_it(sandbox, ledger):
    ps.multi_currency_qbo(sandbox)
    ps.canadian_vendor(sandbox)
    ps.add_po(sandbox, MAPLE_PO, ps.MAPLE, ps.DELL, 1, 1200.0)
    run_sync(make_run("r1"), ledger)
    opened = ps.bills(sandbox)[MAPLE_PO]["APAccountRef"]
    assert opened["name"] == "Accounts Payable (A/P) - CAD"
    _, qbo = hooks_for(ledger)
    home = {**HOME_AP, "Id": ps.ACCOUNT_AP}
    assert find_ap_accounts(qbo, home, QBO_ON, ["USD", "CAD"]) == ApAccounts(
        ps.ACCOUNT_AP, "USD", {"CAD": opened["value"]}
    )


def test_cur03_qbo_ap_accounts_are_read_only_when_a_bill_is_in_a_foreign_currency(sandbox, ledger):
    _, qbo = hooks_for(ledger)
    sandbox.requests.clear()
    home = {**HOME_AP, "Id": ps.ACCOUNT_AP}
    assert find_ap_accounts(qbo, home, QBO_ON, ["USD", None]) == ApAccounts(ps.ACCOUNT_AP, "USD")
    assert find_ap_accounts(qbo, home, QboCurrencies(False, "USD"), ["CAD"]) == ApAccounts(ps.ACCOUNT_AP)
    assert _queries(sandbox) == []
    find_ap_accounts(qbo, home, QBO_ON, ["CAD"])
    (read,) = _queries(sandbox)
    assert "AccountType = 'Accounts Payable'" in read


def test_cur03_po_ap_account_in_a_foreign_currency_stops_the_run_naming_the_setting(sandbox, ledger):
    ps.multi_currency_qbo(sandbox)
    sandbox.seed({"qbo": {"Account": [_ap("42", "Accounts Payable (A/P) - CAD", "CAD")]}})
    run = make_run("r1", po_ap_account="Accounts Payable (A/P) - CAD")
    autotask, qbo = hooks_for(ledger)
    extract_purchase_orders(run, autotask, ledger)
    with pytest.raises(AtqboConfigError) as raised:
        load_purchase_orders(run, qbo, ledger)
    message = str(raised.value)
    assert "'Accounts Payable (A/P) - CAD' (po_ap_account) is in CAD, not in the home currency USD" in message
    assert "Fix: set po_ap_account" in message
    assert ps.writes(sandbox, "qbo") == []
