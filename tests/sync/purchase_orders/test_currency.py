"""PO-06, multi-currency (atqbo.sync.purchase_orders.currency): the rules, and the cases a run meets
against the sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest

from atqbo.sync.purchase_orders.currency import (
    AutotaskCurrencies,
    BillCurrency,
    QboCurrencies,
    plan_bill_currency,
)
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import make_run, run_sync

USD_ONLY = AutotaskCurrencies(internal="USD", active=("USD",), codes={1: "USD", 2: "CAD"})
USD_AND_CAD = AutotaskCurrencies(internal="USD", active=("CAD", "USD"), codes={1: "USD", 2: "CAD"})
QBO_ON = QboCurrencies(multi_currency=True, home="USD")
QBO_OFF = QboCurrencies(multi_currency=False, home="USD")


def test_po06_autotask_multi_currency_is_several_active_currencies_or_a_vendor_in_another_currency():
    assert not USD_ONLY.multi_currency_for({"currencyID": 1})
    assert not USD_ONLY.multi_currency_for({"currencyID": None})  # no currency: the internal one
    assert USD_ONLY.multi_currency_for({"currencyID": 2})  # CAD is inactive, the vendor still uses it
    assert USD_AND_CAD.multi_currency_for({"currencyID": 1})
    assert USD_ONLY.of_vendor({"currencyID": 2}) == "CAD" and USD_ONLY.of_vendor({}) == "USD"


@pytest.mark.parametrize(
    ("autotask_multi", "qbo", "vendor_currency", "expected"),
    [
        (True, QBO_ON, "CAD", BillCurrency("both", "CAD", None, "CAD")),  # QBO's rate for the date
        (True, QBO_ON, "USD", BillCurrency("both", "USD", Decimal(1), "USD")),
        (False, QBO_ON, "USD", BillCurrency("qbo_only", "USD", Decimal(1), "USD")),  # home currency at 1.00
        (True, QBO_OFF, "CAD", BillCurrency("autotask_only", None, None, None)),  # nothing can be sent
        (False, QBO_OFF, "USD", BillCurrency("single", None, None, None)),
    ],
)
def test_po06_the_three_multi_currency_cases(autotask_multi, qbo, vendor_currency, expected):
    assert plan_bill_currency(autotask_multi, qbo, vendor_currency) == expected


def test_po06_both_on_a_missing_vendor_is_created_in_its_autotask_currency(sandbox, ledger):
    ps.multi_currency_qbo(sandbox)
    ps.canadian_vendor(sandbox)
    ps.add_po(sandbox, 39600021, ps.MAPLE, ps.DELL, 2, 1200.0)
    outcomes = run_sync(make_run("r1"), ledger)
    assert outcomes[39600021]["outcome"] == "transferred"
    assert ps.named(sandbox, "Vendor")["Maple Leaf Supply"]["CurrencyRef"]["value"] == "CAD"
    bill = ps.bills(sandbox)[39600021]
    assert bill["CurrencyRef"]["value"] == "CAD" and bill["TotalAmt"] == 2400


def test_po06_a_vendor_in_another_currency_without_qbo_multi_currency_is_an_error(sandbox, ledger):
    ps.canadian_vendor(sandbox, active_cad=False)  # one active currency, but Maple still bills in CAD
    ps.add_po(sandbox, 39600021, ps.MAPLE, ps.DELL, 1, 1200.0)
    outcomes = run_sync(make_run("r1"), ledger)
    assert outcomes[39600021]["outcome"] == "failed" and "uses CAD" in outcomes[39600021]["reason"]
    assert outcomes[ps.PO_OK]["outcome"] == "transferred"  # the USD vendors are not held up
    assert ps.external_numbers(sandbox)[39600021] == "ERROR"
