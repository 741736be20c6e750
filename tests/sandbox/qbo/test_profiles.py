"""The five company profiles the seeds are named after (``sandbox/seeds/qbo_profiles/*.json``), each seeded over real
HTTP into a reset sandbox, with and without multi-currency: a taxed invoice and a bill in each, their
totals worked out by hand below."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.qbo.tax_support import (
    FOREIGN,
    FOREIGN_CUSTOMER_ID,
    FOREIGN_VENDOR_ID,
    PROFILE_NAMES,
    account_expense_line,
    item_expense_line,
    profile_seed,
    sales_line,
    tax_lines,
)
from tests.sandbox.qbo_support import fault_of

# name -> (invoice body, its TotalTax, its TotalAmt, its tax lines by rate: (tax, net), bill body, its TotalAmt)
HOME_CASES: dict[str, tuple[dict[str, Any], float, float, dict[str, tuple[float, float]], dict[str, Any], float]] = {
    # 7% automated tax on the taxable UPS (2 x 240 = 480 -> 33.60); the service is NON. 1680 + 33.60.
    "us-ast": (
        {"CustomerRef": {"value": "1"}, "Line": [sales_line("2", 2, 240), sales_line("1", 10, 120)]},
        33.6,
        1713.6,
        {"1": (33.6, 480)},
        {"VendorRef": {"value": "3"}, "Line": [item_expense_line("2", 2, 189)]},
        378,
    ),
    # The company's default tax code, Columbus OH: 5.75% Ohio (27.60) + 1.5% Franklin County (7.20) on 480.
    "us-manual-tax": (
        {"CustomerRef": {"value": "1"}, "Line": [sales_line("2", 2, 240), sales_line("1", 10, 120)]},
        34.8,
        1714.8,
        {"1": (27.6, 480), "2": (7.2, 480)},
        {"VendorRef": {"value": "3"}, "Line": [item_expense_line("2", 2, 189)]},
        378,
    ),
    # 20% on 450 + 30.09 = 480.09 -> 96.018 -> 96.02; 5% on 100 -> 5.00; 0% on 25; No VAT (15) has no rate.
    # Lines 620.09 + VAT 101.02 = 721.11. Bill: 20% on 378 = 75.60, exempt 40: 418 + 75.60 = 493.60.
    "uk-vat": (
        {
            "CustomerRef": {"value": "1"},
            "Line": [
                sales_line("1", 10, 45, "1"),
                sales_line("2", 3, 10.03, "1"),
                sales_line("3", 1, 100, "2"),
                sales_line("4", 1, 25, "3"),
                sales_line("5", 1, 15, "5"),
            ],
        },
        101.02,
        721.11,
        {"1": (96.02, 480.09), "2": (5.0, 100), "3": (0, 25)},
        {
            "VendorRef": {"value": "2"},
            "Line": [item_expense_line("6", 2, 189, "1"), account_expense_line("3", 40, "4")],
        },
        493.6,
    ),
    # HST ON 13% of 1140 = 148.20; GST/PST BC on 100: GST 5.00 + PST 7.00; zero-rated 200, exempt 50.
    # Lines 1490 + 160.20 = 1650.20. Bill: HST 13% of 250 = 32.50, GST 5% of 80 = 4.00: 330 + 36.50.
    "ca-gst": (
        {
            "CustomerRef": {"value": "1"},
            "Line": [
                sales_line("1", 12, 95, "2"),
                sales_line("2", 1, 200, "5"),
                sales_line("3", 1, 50, "4"),
                sales_line("4", 1, 100, "3"),
            ],
        },
        160.2,
        1650.2,
        {"2": (148.2, 1140), "5": (0, 200), "4": (0, 50), "1": (5.0, 100), "3": (7.0, 100)},
        {
            "VendorRef": {"value": "3"},
            "Line": [item_expense_line("5", 4, 62.5, "2"), account_expense_line("3", 80, "1")],
        },
        366.5,
    ),
    # Prices include GST: 1100 -> net 1000, 3 x 55 = 165 -> net 150; GST 10% of 1150 = 115.00; GST free 200.
    # Total = the gross entered: 1100 + 165 + 200 = 1465. Bill (tax exclusive): 5 x 44 = 220 + 22 GST.
    "au-gst": (
        {
            "CustomerRef": {"value": "1"},
            "GlobalTaxCalculation": "TaxInclusive",
            "Line": [sales_line("1", 1, 1100, "1"), sales_line("2", 3, 55, "1"), sales_line("3", 1, 200, "2")],
        },
        115,
        1465,
        {"1": (115.0, 1150), "2": (0, 200)},
        {"VendorRef": {"value": "2"}, "Line": [item_expense_line("4", 5, 44, "1")]},
        242,
    ),
}

# name -> (foreign invoice lines, their total, foreign bill lines, their total): untaxed lines, so the
# home amounts are the totals at the profile's rate on 2024-05-01 (tax_support.FOREIGN).
FOREIGN_CASES: dict[str, tuple[list[dict[str, Any]], float, list[dict[str, Any]], float]] = {
    "us-ast": ([sales_line("1", 10, 120)], 1200, [item_expense_line("2", 2, 189)], 378),
    "us-manual-tax": ([sales_line("1", 10, 120)], 1200, [item_expense_line("2", 2, 189)], 378),
    "uk-vat": ([sales_line("1", 10, 45, "5")], 450, [account_expense_line("3", 200, "5")], 200),
    "ca-gst": ([sales_line("2", 1, 200, "5")], 200, [account_expense_line("3", 100, "5")], 100),
    "au-gst": ([sales_line("3", 1, 200, "2")], 200, [account_expense_line("3", 100, "2")], 100),
}
# The home amounts, by hand: 1200 x 0.74 = 888, 378 x 0.74 = 279.72; 450 x 0.85 = 382.50, 200 x 0.85 = 170;
# 200 x 1.37 = 274, 100 x 1.37 = 137; 200 x 0.91 = 182, 100 x 0.91 = 91.
HOME_AMOUNTS = {
    "us-ast": (888, 279.72),
    "us-manual-tax": (888, 279.72),
    "uk-vat": (382.5, 170),
    "ca-gst": (274, 137),
    "au-gst": (182, 91),
}


@pytest.mark.parametrize("multi_currency", [False, True], ids=["one-currency", "multi-currency"])
@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_a_profile_seeds_and_taxes_an_invoice_and_a_bill_as_worked_out_by_hand(
    fresh_sandbox, qbo, name, multi_currency
):
    fresh_sandbox.seed(profile_seed(name, multi_currency=multi_currency))
    invoice_body, total_tax, total, by_rate, bill_body, bill_total = HOME_CASES[name]

    invoice = qbo.create("Invoice", {**invoice_body, "TxnDate": "2024-05-15"})
    assert (invoice["TxnTaxDetail"]["TotalTax"], invoice["TotalAmt"], invoice["Balance"]) == (total_tax, total, total)
    assert tax_lines(invoice) == by_rate
    bill = qbo.create("Bill", {**bill_body, "TxnDate": "2024-05-15"})
    assert (bill["TotalAmt"], bill["Balance"]) == (bill_total, bill_total)
    if not multi_currency:
        return

    code, rate = FOREIGN[name]
    invoice_lines, invoice_total, bill_lines, foreign_bill_total = FOREIGN_CASES[name]
    home_invoice, home_bill = HOME_AMOUNTS[name]
    foreign = qbo.create(
        "Invoice", {"CustomerRef": {"value": FOREIGN_CUSTOMER_ID}, "TxnDate": "2024-05-15", "Line": invoice_lines}
    )
    assert foreign["CurrencyRef"]["value"] == code and foreign["ExchangeRate"] == rate
    assert (foreign["TotalAmt"], foreign["HomeTotalAmt"], foreign["HomeBalance"]) == (
        invoice_total,
        home_invoice,
        home_invoice,
    )
    foreign_bill = qbo.create(
        "Bill", {"VendorRef": {"value": FOREIGN_VENDOR_ID}, "TxnDate": "2024-05-15", "Line": bill_lines}
    )
    assert (foreign_bill["TotalAmt"], foreign_bill["HomeTotalAmt"]) == (foreign_bill_total, home_bill)
    assert foreign_bill["APAccountRef"]["name"] == f"Accounts Payable (A/P) - {code}"
    receivable = qbo.query(f"select * from Account where Name = 'Accounts Receivable (A/R) - {code}'")["Account"]
    assert [a["CurrencyRef"]["value"] for a in receivable] == [code]
    home_ap = {"VendorRef": {"value": FOREIGN_VENDOR_ID}, "APAccountRef": {"value": "4"}, "Line": bill_lines}
    assert fault_of(qbo.post("bill", home_ap))["Detail"].startswith(
        "Business Validation Error: You can only use one foreign currency per transaction."
    )


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_a_profile_reads_back_its_country_and_preferences(fresh_sandbox, qbo, name):
    doc = profile_seed(name)
    fresh_sandbox.seed(doc)
    info = qbo.call("GET", f"companyinfo/{qbo.realm_id}").json()["CompanyInfo"]
    assert info["Country"] == doc["qbo"]["CompanyInfo"]["Country"]
    assert info["CompanyName"] == doc["qbo"]["CompanyInfo"]["CompanyName"]
    prefs = qbo.call("GET", "preferences").json()["Preferences"]
    for section, values in doc["qbo"]["Preferences"].items():
        assert {k: prefs[section][k] for k in values} == values
    if info["Country"] == "GB":  # the US default address leaves nothing behind
        assert "CountrySubDivisionCode" not in info["CompanyAddr"] and info["CompanyAddr"]["PostalCode"] == "RG1 2HG"
