"""Multi-currency over real HTTP: a customer's or vendor's currency (fixed once it has transactions,
added to the company's currencies), one foreign currency per transaction, exchange rates (sent, set
for a date, or QBO's own), home amounts, and the A/R and A/P account of each currency."""

from __future__ import annotations

import pytest

from sandbox.core import SeedError
from tests.sandbox.qbo.tax_support import account_expense_line, item_expense_line, sales_line
from tests.sandbox.qbo_support import fault_of, set_preferences

ONE_CURRENCY = "Business Validation Error: You can only use one foreign currency per transaction."


def multi_currency(qbo, books) -> dict:
    """Multi-currency on, and a customer and a vendor in CAD; returns them."""
    set_preferences(qbo, {"CurrencyPrefs": {"MultiCurrencyEnabled": True}})
    return {
        "customer": qbo.customer("Maple Leaf Dental", CurrencyRef={"value": "CAD"}),
        "vendor": qbo.create("Vendor", {"DisplayName": "Maple Leaf Supply", "CurrencyRef": {"value": "CAD"}}),
    }


def test_without_multi_currency_only_the_home_currency_is_accepted(qbo, books):
    body = {
        "CustomerRef": {"value": books["customer"]["Id"]},
        "CurrencyRef": {"value": "CAD"},
        "Line": [sales_line(books["item"]["Id"], 1, 10)],
    }
    error = fault_of(qbo.post("invoice", body))
    assert error["code"] == "6000" and "Multicurrency is not enabled" in error["Detail"]
    assert (
        fault_of(qbo.post("customer", {"DisplayName": "Loonie Co", "CurrencyRef": {"value": "CAD"}}))["code"] == "6000"
    )
    assert fault_of(qbo.call("GET", "exchangerate", params={"sourcecurrencycode": "CAD"}))["code"] == "6000"


def test_a_transaction_is_in_its_customers_or_vendors_currency(qbo, books):
    cad = multi_currency(qbo, books)
    # left out, the currency is the customer's (and the rate QBO's: 0.73 USD per CAD from its feed)
    invoice = qbo.create(
        "Invoice",
        {
            "CustomerRef": {"value": cad["customer"]["Id"]},
            "TxnDate": "2024-05-15",
            "Line": [sales_line(books["item"]["Id"], 1, 100)],
        },
    )
    assert (invoice["CurrencyRef"], invoice["ExchangeRate"], invoice["HomeTotalAmt"]) == (
        {"value": "CAD", "name": "Canadian Dollar"},
        0.73,
        73,
    )
    # another currency is a second foreign currency: the real fault, naming both
    usd = {
        "CustomerRef": {"value": cad["customer"]["Id"]},
        "CurrencyRef": {"value": "USD"},
        "Line": [sales_line(books["item"]["Id"], 1, 100)],
    }
    error = fault_of(qbo.post("invoice", usd))
    assert error["code"] == "6000" and error["Detail"].startswith(ONE_CURRENCY)
    assert "USD" in error["Detail"] and "CAD" in error["Detail"] and error["element"] == "CurrencyRef"
    payment = {
        "CustomerRef": {"value": cad["customer"]["Id"]},
        "CurrencyRef": {"value": "EUR"},
        "TotalAmt": 5,
        "Line": [],
    }
    assert fault_of(qbo.post("payment", payment))["Detail"].startswith(ONE_CURRENCY)


def test_a_home_currency_ap_account_on_a_foreign_bill_is_refused_even_before_the_currency_has_its_own(qbo, books):
    cad = multi_currency(qbo, books)
    home_ap = {
        "VendorRef": {"value": cad["vendor"]["Id"]},
        "APAccountRef": {"value": "4"},
        "Line": [account_expense_line("3", 50)],
    }
    refusals = []
    # CAD has no A/P account yet: the home one is refused all the same (real QBO mixes no currencies)
    refusals.append(fault_of(qbo.post("bill", home_ap)))
    assert qbo.query("select * from Account where Name LIKE '%- CAD'") == {}  # nothing opened by the refusal
    opened = qbo.create("Bill", {**home_ap, "APAccountRef": None})  # QBO's choice: opens A/P - CAD
    assert opened["APAccountRef"]["name"] == "Accounts Payable (A/P) - CAD"
    refusals.append(fault_of(qbo.post("bill", home_ap)))  # and once it has one
    for error in refusals:
        assert error["code"] == "6000" and error["Detail"].startswith(ONE_CURRENCY)
        assert "'Accounts Payable (A/P)' is an account in USD" in error["Detail"]
    assert qbo.create("Bill", {**home_ap, "APAccountRef": {"value": opened["APAccountRef"]["value"]}})["TotalAmt"] == 50
    receivable = {
        "CustomerRef": {"value": cad["customer"]["Id"]},
        "ARAccountRef": {"value": opened["APAccountRef"]["value"]},  # CAD, but the invoice is named in USD
        "CurrencyRef": {"value": "USD"},
        "Line": [sales_line(books["item"]["Id"], 1, 10)],
    }
    assert fault_of(qbo.post("invoice", receivable))["Detail"].startswith(ONE_CURRENCY)


def test_qbo_opens_one_ar_and_one_ap_account_per_currency_at_its_first_transaction(qbo, books):
    cad = multi_currency(qbo, books)
    assert qbo.query("select * from Account where Name LIKE '%- CAD'") == {}  # not with the customer
    for _ in range(2):
        qbo.create(
            "Invoice",
            {"CustomerRef": {"value": cad["customer"]["Id"]}, "Line": [sales_line(books["item"]["Id"], 1, 10)]},
        )
        bill = qbo.create(
            "Bill", {"VendorRef": {"value": cad["vendor"]["Id"]}, "Line": [account_expense_line("3", 10)]}
        )
    accounts = qbo.query("select * from Account where Name LIKE '%- CAD'")["Account"]
    assert [(a["Name"], a["AccountType"], a["CurrencyRef"]["value"]) for a in accounts] == [
        ("Accounts Receivable (A/R) - CAD", "Accounts Receivable", "CAD"),
        ("Accounts Payable (A/P) - CAD", "Accounts Payable", "CAD"),
    ]
    assert bill["APAccountRef"] == {"value": accounts[1]["Id"], "name": "Accounts Payable (A/P) - CAD"}
    # a home-currency bill keeps the home A/P account
    home = qbo.create("Bill", {"VendorRef": {"value": books["vendor"]["Id"]}, "Line": [account_expense_line("3", 10)]})
    assert home["APAccountRef"]["value"] == "4" and home["ExchangeRate"] == 1


def test_a_seeded_currency_account_is_used_instead_of_a_new_one(fresh_sandbox, qbo):
    fresh_sandbox.seed(
        {
            "qbo": {
                "Preferences": {"CurrencyPrefs": {"MultiCurrencyEnabled": True}},
                "Account": [
                    {
                        "Id": "40",
                        "Name": "Trade Creditors CAD",
                        "AccountType": "Accounts Payable",
                        "CurrencyRef": {"value": "CAD"},
                    }
                ],
                "Vendor": [{"Id": "7", "DisplayName": "Maple Leaf Supply", "CurrencyRef": {"value": "CAD"}}],
            }
        }
    )
    bill = qbo.create("Bill", {"VendorRef": {"value": "7"}, "Line": [account_expense_line("3", 10)]})
    assert bill["APAccountRef"] == {"value": "40", "name": "Trade Creditors CAD"}


def test_exchange_rates_sent_set_for_a_date_or_qbos_own(qbo, books):
    cad = multi_currency(qbo, books)
    for as_of, rate in (("2024-05-01", 0.74), ("2024-06-01", 0.75)):
        response = qbo.post("exchangerate", {"SourceCurrencyCode": "CAD", "AsOfDate": as_of, "Rate": rate})
        assert response.status_code == 200, response.text
        assert response.json()["ExchangeRate"]["TargetCurrencyCode"] == "USD"

    def invoice(day: str, **extra) -> dict:
        body = {
            "CustomerRef": {"value": cad["customer"]["Id"]},
            "TxnDate": day,
            "Line": [sales_line(books["item"]["Id"], 1, 1000)],
            **extra,
        }
        return qbo.create("Invoice", body)

    assert [invoice(day)["ExchangeRate"] for day in ("2024-04-30", "2024-05-31", "2024-06-01")] == [0.73, 0.74, 0.75]
    sent = invoice("2024-05-31", ExchangeRate=0.7)
    assert (sent["ExchangeRate"], sent["HomeTotalAmt"], sent["HomeBalance"]) == (0.7, 700, 700)
    assert fault_of(qbo.post("invoice", {**sent, "Id": None, "ExchangeRate": 0}))["element"] == "ExchangeRate"
    # the rate QBO applies on a date, and the rates set
    read = qbo.call("GET", "exchangerate", params={"sourcecurrencycode": "CAD", "asofdate": "2024-05-20"}).json()
    assert read["ExchangeRate"]["Rate"] == 0.74 and read["ExchangeRate"]["AsOfDate"] == "2024-05-20"
    rows = qbo.query("select * from ExchangeRate where SourceCurrencyCode = 'CAD'")["ExchangeRate"]
    assert [(r["AsOfDate"], r["Rate"]) for r in rows] == [("2024-05-01", 0.74), ("2024-06-01", 0.75)]
    update = qbo.post(
        "exchangerate", {"SourceCurrencyCode": "CAD", "AsOfDate": "2024-05-01", "Rate": 0.72, "SyncToken": "0"}
    )
    assert update.json()["ExchangeRate"]["SyncToken"] == "1"
    stale = {"SourceCurrencyCode": "CAD", "AsOfDate": "2024-05-01", "Rate": 0.71, "SyncToken": "0"}
    assert fault_of(qbo.post("exchangerate", stale))["code"] == "5010"


def test_a_customers_currency_is_fixed_once_it_has_transactions(qbo, books):
    cad = multi_currency(qbo, books)
    customer = cad["customer"]
    # a full update that leaves the currency out keeps it
    kept = qbo.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "DisplayName": customer["DisplayName"]})
    assert kept["CurrencyRef"]["value"] == "CAD"
    moved = qbo.create(
        "Customer", {"Id": customer["Id"], "SyncToken": "1", "sparse": True, "CurrencyRef": {"value": "EUR"}}
    )
    assert moved["CurrencyRef"]["value"] == "EUR"  # no transactions yet
    qbo.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [sales_line(books["item"]["Id"], 1, 10)]})
    back = {"Id": customer["Id"], "SyncToken": "2", "sparse": True, "CurrencyRef": {"value": "CAD"}}
    error = fault_of(qbo.post("customer", back))
    assert error["code"] == "6000" and "can't be changed" in error["Detail"] and "Maple Leaf Dental" in error["Detail"]


def test_a_new_currency_joins_the_companys_currencies(qbo, books):
    multi_currency(qbo, books)
    assert [c["Code"] for c in qbo.query("select * from CompanyCurrency")["CompanyCurrency"]] == ["CAD"]
    added = qbo.create("CompanyCurrency", {"Code": "EUR"})
    assert (added["Name"], added["Active"]) == ("Euro", True)
    assert fault_of(qbo.post("companycurrency", {"Code": "USD"}))["code"] == "6000"  # the home currency
    assert fault_of(qbo.post("companycurrency", {"Code": "eur"}))["code"] == "6240"
    assert (
        fault_of(qbo.post("customer", {"DisplayName": "Zorkmid Ltd", "CurrencyRef": {"value": "ZZZ"}}))["code"]
        == "6000"
    )


def test_a_foreign_payment_reduces_the_invoice_in_both_currencies(qbo, books):
    cad = multi_currency(qbo, books)
    invoice = qbo.create(
        "Invoice",
        {
            "CustomerRef": {"value": cad["customer"]["Id"]},
            "ExchangeRate": 0.75,
            "Line": [sales_line(books["item"]["Id"], 1, 400)],
        },
    )
    payment = qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": cad["customer"]["Id"]},
            "ExchangeRate": 0.8,
            "TotalAmt": 100,
            "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert (payment["CurrencyRef"]["value"], payment["HomeTotalAmt"]) == ("CAD", 80)
    paid = qbo.get("Invoice", invoice["Id"])
    assert (paid["Balance"], paid["HomeBalance"]) == (300, 225)


def test_the_home_currency_is_set_when_the_company_is_created(fresh_sandbox, qbo, books):
    stale = qbo.call("GET", "preferences").json()["Preferences"]
    change = {"SyncToken": stale["SyncToken"], "sparse": True, "CurrencyPrefs": {"HomeCurrency": {"value": "CAD"}}}
    assert fault_of(qbo.post("preferences", change))["element"] == "CurrencyPrefs.HomeCurrency"
    bill = {"VendorRef": {"value": books["vendor"]["Id"]}, "Line": [item_expense_line(books["product"]["Id"], 1, 189)]}
    qbo.create("Bill", bill)
    with pytest.raises(SeedError, match="has transactions") as refused:
        fresh_sandbox.seed({"qbo": {"Preferences": {"CurrencyPrefs": {"HomeCurrency": {"value": "CAD"}}}}})
    assert "CurrencyPrefs.HomeCurrency" in str(refused.value)
