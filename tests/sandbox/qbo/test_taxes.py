"""Sales and purchase tax over real HTTP, by regime: a global (non-US) company's tax codes on every
line and the tax QBO computes from them, a US company's manual tax codes, and automated sales tax
with its exemptions and override. (The US company without either keeps the client's TotalTax:
tests/sandbox/qbo/test_invoices.py.)"""

from __future__ import annotations

import pytest

from tests.sandbox.qbo.tax_support import (
    account_expense_line,
    item_expense_line,
    profile_seed,
    sales_line,
    tax_lines,
)
from tests.sandbox.qbo_support import fault_of

MISSING_RATE = "Business Validation Error: Make sure all your transactions have a {} rate before you save."


@pytest.mark.parametrize(("name", "word"), [("uk-vat", "VAT"), ("ca-gst", "GST/HST"), ("au-gst", "GST")])
def test_a_global_company_refuses_any_line_without_a_tax_code_with_its_country_wording(fresh_sandbox, qbo, name, word):
    fresh_sandbox.seed(profile_seed(name))
    vendor = qbo.query("select * from Vendor")["Vendor"][0]["Id"]
    purchasable = next(i["Id"] for i in qbo.query("select * from Item")["Item"] if "ExpenseAccountRef" in i)
    for entity, body in (
        ("invoice", {"CustomerRef": {"value": "1"}, "Line": [sales_line("1", 1, 10)]}),
        ("bill", {"VendorRef": {"value": vendor}, "Line": [item_expense_line(purchasable, 1, 10)]}),
        ("bill", {"VendorRef": {"value": vendor}, "Line": [account_expense_line("3", 10)]}),
    ):
        error = fault_of(qbo.post(entity, body))
        assert (error["code"], error["Detail"]) == ("6000", MISSING_RATE.format(word))
        assert error["Message"] == "A business validation error has occurred while processing your request"


def test_a_line_tax_code_must_be_a_live_code_of_the_company(fresh_sandbox, qbo):
    doc = profile_seed("uk-vat")
    doc["qbo"]["TaxCode"].append({"Id": "6", "Name": "17.5% S", "Active": False, "SalesTaxRateList": {}})
    fresh_sandbox.seed(doc)
    for code, expected in (("99", "2500"), ("TAX", "2500"), ("6", "610")):
        error = fault_of(qbo.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [sales_line("1", 1, 10, code)]}))
        assert (error["code"], error["element"]) == (expected, "Line.SalesItemLineDetail.TaxCodeRef")


def test_a_global_company_computes_the_tax_and_ignores_the_clients(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("uk-vat"))
    body = {
        "CustomerRef": {"value": "1"},
        "Line": [sales_line("1", 1, 100, "1")],
        "TxnTaxDetail": {"TotalTax": 3.5, "TaxLine": [{"Amount": 3.5, "DetailType": "TaxLineDetail"}]},
    }
    invoice = qbo.create("Invoice", body)
    assert (invoice["TxnTaxDetail"]["TotalTax"], invoice["TotalAmt"]) == (20, 120)
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"
    line = invoice["Line"][0]
    assert line["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "1"} and line["Amount"] == 100
    assert invoice["TxnTaxDetail"]["TaxLine"] == [
        {
            "Amount": 20,
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": {"value": "1"},
                "PercentBased": True,
                "TaxPercent": 20,
                "NetAmountTaxable": 100,
            },
        }
    ]


def test_tax_is_rounded_once_per_rate_not_per_line(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("uk-vat"))
    # 20% of 10.03 is 2.006 per line (2.01 each, 4.02 together); of 20.06 it is 4.012 -> 4.01.
    lines = [sales_line("2", 1, 10.03, "1"), sales_line("2", 1, 10.03, "1")]
    invoice = qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": lines})
    assert tax_lines(invoice) == {"1": (4.01, 20.06)}
    assert invoice["TotalAmt"] == 24.07


def test_tax_inclusive_amounts_keep_the_gross_and_restate_the_line_net(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("au-gst"))
    body = {
        "CustomerRef": {"value": "1"},
        "GlobalTaxCalculation": "TaxInclusive",
        # 99.99 including 10% GST: net 90.90 (99.99 / 1.1 = 90.9000 -> 90.90), GST 9.09 -> total 99.99.
        "Line": [sales_line("1", 1, 99.99, "1")],
    }
    invoice = qbo.create("Invoice", body)
    line = invoice["Line"][0]
    assert (line["Amount"], line["SalesItemLineDetail"]["TaxInclusiveAmt"]) == (90.9, 99.99)
    assert (invoice["TxnTaxDetail"]["TotalTax"], invoice["TotalAmt"]) == (9.09, 99.99)
    # the invoice read back and saved whole again keeps its amounts (no tax on tax)
    again = qbo.create("Invoice", {**invoice, "sparse": False})
    assert (again["Line"][0]["Amount"], again["TotalAmt"], again["SyncToken"]) == (90.9, 99.99, "1")
    # TaxInclusiveAmt, when sent, is the gross whatever the Amount says
    sent = sales_line("1", 2, 50, "1")
    sent["SalesItemLineDetail"]["TaxInclusiveAmt"] = 110
    other = qbo.create("Invoice", {**body, "Line": [sent]})
    assert (other["Line"][0]["Amount"], other["Line"][0]["SalesItemLineDetail"]["UnitPrice"]) == (100, 50)
    assert (other["TxnTaxDetail"]["TotalTax"], other["TotalAmt"]) == (10, 110)


def test_not_applicable_is_out_of_scope_of_tax_and_other_values_are_refused(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("ca-gst"))
    body = {"CustomerRef": {"value": "1"}, "GlobalTaxCalculation": "NotApplicable", "Line": [sales_line("1", 1, 95)]}
    invoice = qbo.create("Invoice", body)
    assert (invoice["TxnTaxDetail"], invoice["TotalAmt"]) == ({"TotalTax": 0}, 95)
    error = fault_of(qbo.post("invoice", {**body, "GlobalTaxCalculation": "Inclusive"}))
    assert (error["code"], error["element"]) == ("2170", "GlobalTaxCalculation")


def test_a_bill_takes_the_purchase_rates_of_its_codes(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("ca-gst"))
    # GST/PST BC charges GST and PST on sales but only GST (recoverable) on purchases: 5% of 200.
    bill = qbo.create("Bill", {"VendorRef": {"value": "3"}, "Line": [account_expense_line("3", 200, "3")]})
    assert tax_lines(bill) == {"1": (10, 200)}
    assert bill["TotalAmt"] == 210 and bill["Line"][0]["AccountBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": "3"}


def test_void_zeroes_a_global_invoice_with_its_tax(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("au-gst"))
    body = {
        "CustomerRef": {"value": "1"},
        "GlobalTaxCalculation": "TaxInclusive",
        "Line": [sales_line("1", 1, 1100, "1")],
    }
    invoice = qbo.create("Invoice", body)
    voided = qbo.create("Invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    assert voided["TotalAmt"] == 0 and voided["TxnTaxDetail"]["TotalTax"] == 0
    assert voided["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"] == 0


# -- US, manual sales tax --------------------------------------------------------------------------------


def test_manual_tax_uses_the_transaction_code_else_the_customers_else_the_companys(fresh_sandbox, qbo):
    doc = profile_seed("us-manual-tax")
    doc["qbo"]["TaxRate"].append({"Id": "3", "Name": "Delaware County", "RateValue": 1.25, "AgencyRef": {"value": "1"}})
    doc["qbo"]["TaxCode"].append(
        {
            "Id": "4",
            "Name": "Delaware, OH",
            "SalesTaxRateList": {"TaxRateDetail": [{"TaxRateRef": {"value": "1"}}, {"TaxRateRef": {"value": "3"}}]},
        }
    )
    doc["qbo"]["Customer"].append({"Id": "9", "DisplayName": "Olentangy Vets", "DefaultTaxCodeRef": {"value": "4"}})
    fresh_sandbox.seed(doc)
    hardware = [sales_line("2", 1, 1000)]  # taxable item: TAX
    # the company's default code (Columbus): 57.50 + 15.00
    assert tax_lines(qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": hardware})) == {
        "1": (57.5, 1000),
        "2": (15.0, 1000),
    }
    # the customer's (Delaware): 57.50 + 12.50
    delaware = qbo.create("Invoice", {"CustomerRef": {"value": "9"}, "Line": hardware})
    assert tax_lines(delaware) == {"1": (57.5, 1000), "3": (12.5, 1000)}
    assert delaware["TxnTaxDetail"]["TxnTaxCodeRef"] == {"value": "4"} and delaware["TotalAmt"] == 1070
    # the transaction's, whatever TotalTax the client says
    chosen = qbo.create(
        "Invoice",
        {
            "CustomerRef": {"value": "9"},
            "Line": hardware,
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "3"}, "TotalTax": 1},
        },
    )
    assert (chosen["TxnTaxDetail"]["TotalTax"], chosen["TotalAmt"]) == (72.5, 1072.5)
    assert chosen["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}
    unknown = {"CustomerRef": {"value": "1"}, "Line": hardware, "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "77"}}}
    assert fault_of(qbo.post("invoice", unknown))["element"] == "TxnTaxDetail.TxnTaxCodeRef"


def test_manual_tax_spares_non_lines_and_exempt_customers(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("us-manual-tax"))
    non = sales_line("2", 1, 1000, "NON")  # a taxable item marked NON on the line
    invoice = qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [non]})
    assert (invoice["TxnTaxDetail"]["TotalTax"], invoice["TotalAmt"]) == (0, 1000)
    library = qbo.get("Customer", "2")  # seeded with TaxExemptionReasonId 3 (local government)
    assert (library["Taxable"], library["TaxExemptionReasonId"]) == (False, 3)
    exempt = qbo.create("Invoice", {"CustomerRef": {"value": "2"}, "Line": [sales_line("2", 1, 1000)]})
    assert (exempt["TxnTaxDetail"]["TotalTax"], exempt["TotalAmt"]) == (0, 1000)


# -- US, automated sales tax -----------------------------------------------------------------------------


def test_automated_tax_spares_a_tax_exempt_customer(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("us-ast"))
    lines = [sales_line("2", 2, 240)]
    assert qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": lines})["TotalAmt"] == 513.6
    exempt = qbo.create("Invoice", {"CustomerRef": {"value": "2"}, "Line": lines})
    assert (exempt["TxnTaxDetail"]["TotalTax"], exempt["TotalAmt"]) == (0, 480)
    taxable_again = qbo.create("Customer", {"DisplayName": "Reseller Co", "TaxExemptionReasonId": 9, "Taxable": True})
    assert taxable_again["Taxable"] is True
    error = fault_of(qbo.post("customer", {"DisplayName": "Odd Exemption", "TaxExemptionReasonId": 16}))
    assert (error["code"], error["element"]) == ("2170", "TaxExemptionReasonId")


def test_the_automated_tax_override_needs_both_the_code_and_the_total(fresh_sandbox, qbo):
    fresh_sandbox.seed(profile_seed("us-ast"))
    lines = [sales_line("2", 2, 240)]  # 7% of 480 = 33.60
    override = {"TxnTaxCodeRef": {"value": "4"}, "TotalTax": 40}
    invoice = qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": lines, "TxnTaxDetail": override})
    assert (invoice["TxnTaxDetail"]["TotalTax"], invoice["TotalAmt"]) == (40, 520)
    assert invoice["TxnTaxDetail"]["TxnTaxCodeRef"] == {"value": "4"}
    assert invoice["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["OverrideDeltaAmount"] == 6.4
    total_only = qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": lines, "TxnTaxDetail": {"TotalTax": 40}})
    assert total_only["TxnTaxDetail"]["TotalTax"] == 33.6  # ignored without a code
    code_only = {"TxnTaxCodeRef": {"value": "4"}}
    assert (
        qbo.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": lines, "TxnTaxDetail": code_only})["TotalAmt"]
        == 513.6
    )
