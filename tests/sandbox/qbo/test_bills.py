"""QBO bills over real HTTP: purchasable items on item lines, and the vendor's currency."""

from __future__ import annotations

from tests.sandbox.qbo_support import fault_of, set_preferences


def test_bill_lines_need_a_purchasable_item(qbo, books):
    bill = {
        "VendorRef": {"value": books["vendor"]["Id"]},
        "Line": [
            {
                "Amount": 378,
                "DetailType": "ItemBasedExpenseLineDetail",
                "ItemBasedExpenseLineDetail": {
                    "ItemRef": {"value": books["product"]["Id"]},
                    "Qty": 2,
                    "UnitPrice": 189,
                },
            },
            {
                "Amount": 25,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "3"}},
            },
        ],
    }
    created = qbo.create("Bill", bill)
    assert created["TotalAmt"] == 403 and created["Balance"] == 403
    assert created["APAccountRef"] == {"value": "4", "name": "Accounts Payable (A/P)"}
    assert qbo.get("Vendor", books["vendor"]["Id"])["Balance"] == 403

    bill["Line"][0]["ItemBasedExpenseLineDetail"]["ItemRef"] = {"value": books["item"]["Id"]}  # sale-only service
    error = fault_of(qbo.post("bill", bill))
    assert error["code"] == "6000" and "expense account" in error["Detail"]
    assert error["element"] == "Line.ItemBasedExpenseLineDetail.ItemRef"


def test_vendor_currency_must_match_the_bill_with_multicurrency_on(qbo, books):
    line = [
        {
            "Amount": 10,
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "3"}},
        }
    ]
    eur_bill = {"VendorRef": {"value": books["vendor"]["Id"]}, "CurrencyRef": {"value": "EUR"}, "Line": line}
    assert fault_of(qbo.post("bill", eur_bill))["code"] == "6000"  # multi-currency off: home currency only
    set_preferences(qbo, {"CurrencyPrefs": {"MultiCurrencyEnabled": True}})
    error = fault_of(qbo.post("bill", eur_bill))
    assert error["code"] == "6000" and "EUR" in error["Detail"] and "USD" in error["Detail"]
    euro_vendor = qbo.create("Vendor", {"DisplayName": "Pax8 Europe", "CurrencyRef": {"value": "EUR"}})
    bill = qbo.create("Bill", {**eur_bill, "VendorRef": {"value": euro_vendor["Id"]}, "ExchangeRate": 1.1})
    assert bill["CurrencyRef"] == {"value": "EUR", "name": "Euro"} and bill["HomeTotalAmt"] == 11.0
