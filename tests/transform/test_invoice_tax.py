"""Sales tax and currency on a QBO invoice (TAX-01, TAX-02, TAX-04, TAX-05, CUR-01, CUR-02), as pure
functions: the plan's line codes, the payload's tax fields, QBO's tax predicted from the codes'
rates, and the QBO company's tax codes (``atqbo.transform.tax_codes``)."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from atqbo.sync.invoices.plan import plan_from_doc, plan_to_doc
from atqbo.sync.invoices.taxes import currency_problem, refuse_before_writing
from atqbo.transform.invoices import QboCompany, build_invoice_payload, customer_payload
from atqbo.transform.invoices.tax import tax_code_names, tax_difference
from atqbo.transform.tax_codes import TaxCodes
from tests.transform.test_invoices import (
    CODES,
    COMPANY_ID,
    INVOICE_ID,
    make_company,
    make_invoice,
    make_item,
    make_settings,
    plan_one,
    refs_for,
    sales_lines,
)

# A UK company's tax list, as QBO serves it (names and rates of a real UK company)
UK_RATES = [
    {"Id": "1", "Name": "20.0% S", "RateValue": 20},
    {"Id": "2", "Name": "0.0% Z", "RateValue": 0},
    {"Id": "3", "Name": "5.0% R", "RateValue": 5},
]


def _code(code_id: str, name: str, *rate_ids: str) -> dict:
    rates = [{"TaxRateRef": {"value": r}, "TaxTypeApplicable": "TaxOnAmount"} for r in rate_ids]
    return {"Id": code_id, "Name": name, "Active": True, "SalesTaxRateList": {"TaxRateDetail": rates}}


UK_CODES = TaxCodes.from_records(
    [
        _code("10", "20.0% S", "1"),
        _code("11", "Exempt"),
        _code("12", "No VAT"),
        _code("13", "0.0% Z", "2"),
        _code("14", "5.0% R", "3"),
    ],
    UK_RATES,
)
UK = QboCompany(tax_regime="global", class_tracking="none", custom_txn_numbers=True, home_currency="GBP")
UK_SETTINGS = {"qbo_edition": "non-US", "sales_tax_code": "20.0% S", "exempt_sales_tax_code": "Exempt"}
CATEGORIES = {1: "Standard", 2: "Reduced", 3: "Zero rated"}
REGIONS = {1: "England", 2: "Ontario"}


def uk_settings(**changes):
    return make_settings(**{**UK_SETTINGS, **changes})


def taxed_item(item_id: int, percent: str, code: int = 10, quantity: float = 2.0, rate: float = 125.0, **fields):
    """A billing item Autotask taxed at ``percent`` (its taxDollars, rounded per item as Autotask does)."""
    item = make_item(item_id, code=code, quantity=quantity, rate=rate, **fields)
    tax = (Decimal(str(item["extendedPrice"])) * Decimal(percent) / 100).quantize(Decimal("0.01"))
    item["taxDollars"] = float(tax)
    item["totalAmount"] = float(Decimal(str(item["extendedPrice"])) + tax)
    return item


def uk_plan(items, settings=None, company=None, codes=None, currencies=None, internal="GBP"):
    tax = sum(Decimal(str(i["taxDollars"])) for i in items)
    billing_codes = codes or {
        10: {**CODES[10], "taxCategoryID": 1},
        11: {**CODES[11], "taxCategoryID": 3},
    }
    return plan_one(
        items,
        settings or uk_settings(),
        make_invoice(items, tax=float(tax)),
        companies={COMPANY_ID: company or make_company(taxRegionID=1)},
        billing_codes=billing_codes,
        tax_categories=CATEGORIES,
        tax_regions=REGIONS,
        currencies=currencies or {},
        internal_currency=internal,
    )


def uk_payload(plan, settings=None, company=UK):
    settings = settings or uk_settings()
    ids, _ = UK_CODES.ids(tax_code_names(plan, company, settings))
    return build_invoice_payload(plan, refs_for(plan, company, settings, tax_codes=ids), company, settings)[0]


# -- the company's tax codes ------------------------------------------------------------------------


def test_tax01_tax_codes_are_found_by_name_exactly_else_ignoring_case_and_spaces():
    assert UK_CODES.find("20.0% S")["Id"] == "10"
    assert UK_CODES.find("  20.0%   s ")["Id"] == "10"
    assert UK_CODES.find("20% S") is None
    found, missing = UK_CODES.ids(["Exempt", "no vat", "Zero", "Exempt"])
    assert found == {"Exempt": "11", "no vat": "12"} and missing == ["Zero"]
    assert UK_CODES.describe() == "20.0% S (20%), Exempt (0%), No VAT (0%), 0.0% Z (0%), 5.0% R (5%)"
    assert (
        UK_CODES.has_own_codes and not TaxCodes.from_records([_code("TAX", "TAX"), _code("NON", "NON")]).has_own_codes
    )


def test_tax01_a_code_of_two_rates_adds_them_and_an_unknown_rate_is_not_guessed():
    codes = TaxCodes.from_records(
        [_code("20", "GST/PST BC", "1", "2"), _code("21", "Mystery", "9")],
        [{"Id": "1", "RateValue": 5}, {"Id": "2", "RateValue": 7}],
    )
    assert codes.percent(codes.find("GST/PST BC"), "SalesTaxRateList") == Decimal(12)
    assert codes.percent(codes.find("Mystery"), "SalesTaxRateList") is None


# -- TAX-01 non-US line codes ---------------------------------------------------------------------------


def test_tax01_non_us_lines_carry_the_sales_code_and_amounts_are_net_of_tax_with_no_tax_line():
    items = [taxed_item(1, "20"), taxed_item(2, "20", code=10, quantity=1.0, rate=75.0)]
    plan = uk_plan(items)
    assert plan.decision == "send", plan.reason
    assert [line.tax_code for line in plan.lines if line.kind == "item"] == ["20.0% S", "20.0% S"]
    assert not [line for line in plan.lines if line.kind == "tax"]  # tax is never income
    payload = uk_payload(plan)
    assert payload["GlobalTaxCalculation"] == "TaxExcluded"
    assert [line["SalesItemLineDetail"]["TaxCodeRef"] for line in sales_lines(payload)] == [{"value": "10"}] * 2
    assert [line["Amount"] for line in sales_lines(payload)] == [250.0, 75.0]
    assert "TxnTaxDetail" not in payload
    assert tax_difference(plan, UK_CODES, UK, uk_settings()) is None  # 20% of 325.00 = 65.00, Autotask's


def test_tax01_tax_code_map_by_region_and_category_then_category_then_region():
    settings = uk_settings(tax_code_map={"England:Reduced": "5.0% R", "zero RATED": "0.0% Z", "Ontario": "No VAT"})
    items = [
        taxed_item(1, "20"),  # category Standard, region England: not mapped -> sales_tax_code
        taxed_item(2, "5", code=12),  # Reduced in England
        taxed_item(3, "0", code=11),  # Zero rated, any region (key without case)
    ]
    codes = {10: {**CODES[10], "taxCategoryID": 1}, 11: {**CODES[11], "taxCategoryID": 3}}
    codes[12] = {**CODES[10], "id": 12, "taxCategoryID": 2}
    plan = uk_plan(items, settings, codes=codes)
    lines = [line for line in plan.lines if line.kind == "item"]
    assert [line.tax_code for line in lines] == ["20.0% S", "5.0% R", "0.0% Z"]
    assert "category 'Reduced'" in lines[1].tax_reason and "region 'England'" in lines[1].tax_reason
    assert tax_difference(plan, UK_CODES, UK, settings) is None
    # the same items for a company in Ontario: the region's code wins over sales_tax_code
    ontario = uk_plan(items, settings, company=make_company(taxRegionID=2), codes=codes)
    assert [line.tax_code for line in ontario.lines if line.kind == "item"] == ["No VAT", "No VAT", "0.0% Z"]


def test_tax01_qbo_tax_from_the_codes_differing_from_autotask_is_refused_line_by_line():
    items = [taxed_item(1, "20"), taxed_item(2, "5", code=10, quantity=1.0, rate=75.0)]  # Autotask: 50.00 + 3.75
    plan = uk_plan(items)
    reason, fix = tax_difference(plan, UK_CODES, UK, uk_settings())
    assert f"Autotask invoice {INVOICE_ID}" in reason
    assert "QBO would compute 65.00 of tax from the lines' tax codes, Autotask's tax is 53.75" in reason
    assert "difference +11.25" in reason
    assert "billing item 2 (75.00, category 'Standard', region 'England'): Autotask taxes it 3.75" in reason
    assert "QBO's code '20.0% S' (20%) would tax it 15.00" in reason
    assert "billing item 1" not in reason  # its tax agrees
    assert "tax_code_map" in fix and "5.0% R (5%)" in fix


def test_tax01_rounding_per_line_against_qbo_rounding_per_rate_is_not_a_difference():
    # three lines of 0.05 taxed at 20% each: Autotask 0.01 x 3 = 0.03, QBO 20% of 0.15 = 0.03
    # and seven lines of 0.025 -> Autotask rounds each 0.005 up to 0.01 (0.07), QBO 20% of 0.175 (0.04)
    items = [taxed_item(n, "20", quantity=1.0, rate=0.025) for n in range(1, 8)]
    plan = uk_plan(items)
    assert plan.tax == Decimal("0.07")
    assert tax_difference(plan, UK_CODES, UK, uk_settings()) is None  # within half a cent per line
    assert tax_difference(plan, UK_CODES, UK, uk_settings(rounding_tolerance="0")) is None


def test_tax01_a_code_qbo_does_not_have_stops_the_invoice_before_anything_is_written():
    settings = uk_settings(sales_tax_code="Standard 20%")
    plan = uk_plan([taxed_item(1, "20")], settings)
    ids, failures = refuse_before_writing([plan], UK, UK_CODES, settings)
    reason, fix = failures[INVOICE_ID]
    assert "QBO has no active tax code named 'Standard 20%'" in reason
    assert "sales_tax_code" in fix and "20.0% S (20%)" in fix


# -- TAX-02 exempt customers and untaxed lines ----------------------------------------------------------


def test_tax02_a_tax_exempt_company_gets_the_exempt_code_on_every_line():
    items = [make_item(1), make_item(2, code=11, quantity=1.0, rate=75.0)]
    plan = uk_plan(items, company=make_company(taxRegionID=1, isTaxExempt=True))
    assert plan.tax_exempt
    assert {line.tax_code for line in plan.lines if line.kind == "item"} == {"Exempt"}
    assert {line.tax_reason for line in plan.lines if line.kind == "item"} == {"tax-exempt company"}
    assert [line["SalesItemLineDetail"]["TaxCodeRef"] for line in sales_lines(uk_payload(plan))] == [
        {"value": "11"}
    ] * 2
    assert tax_difference(plan, UK_CODES, UK, uk_settings()) is None


def test_tax02_a_line_autotask_does_not_tax_gets_the_exempt_code():
    items = [taxed_item(1, "20"), make_item(2, code=10, quantity=1.0, rate=75.0)]  # the second untaxed
    plan = uk_plan(items)
    lines = [line for line in plan.lines if line.kind == "item"]
    assert [line.tax_code for line in lines] == ["20.0% S", "Exempt"]
    assert lines[1].tax_reason.startswith("Autotask does not tax it")
    assert tax_difference(plan, UK_CODES, UK, uk_settings()) is None


def test_tax02_without_an_exempt_code_an_untaxed_line_stops_the_invoice_naming_the_setting():
    items = [make_item(1)]
    plan = uk_plan(items, uk_settings(exempt_sales_tax_code=None), company=make_company(isTaxExempt=True))
    assert plan.decision == "error"
    assert "billing item 1 must not be taxed (the company is tax-exempt in Autotask)" in plan.reason
    assert "exempt_sales_tax_code" in plan.fix


# -- TAX-04 US automated sales tax, exempt customers -----------------------------------------------------


def test_tax04_an_exempt_company_is_created_non_taxable_and_lines_carry_no_code_under_ast():
    company = make_company(isTaxExempt=True)
    assert customer_payload(company, "Contoso Dental", make_settings(), non_taxable=True)["Taxable"] is False
    assert "Taxable" not in customer_payload(company, "Contoso Dental", make_settings())
    items = [taxed_item(1, "7.25")]
    plan = plan_one(items, invoice=make_invoice(items, tax=items[0]["taxDollars"]), companies={COMPANY_ID: company})
    ast = QboCompany(tax_regime="automated", class_tracking="none", custom_txn_numbers=True)
    payload = build_invoice_payload(plan, refs_for(plan, ast), ast, make_settings())[0]
    assert not [line for line in sales_lines(payload) if "TaxCodeRef" in line["SalesItemLineDetail"]]
    assert "TxnTaxDetail" not in payload and len(sales_lines(payload)) == 1  # QBO taxes; no tax line


# -- TAX-05 US tax_mode autotask: Autotask's tax is QBO's tax --------------------------------------------


@pytest.mark.parametrize(
    ("regime", "expected"),
    [
        ("automated", {"TxnTaxCodeRef": {"value": "TAX"}, "TotalTax": 18.13}),  # the AST override
        ("manual", {"TxnTaxCodeRef": {"value": "7"}, "TotalTax": 18.13}),  # the company's own code
        ("none", {"TotalTax": 18.13}),  # no sales tax in QBO: it keeps what it is sent
    ],
)
def test_tax05_autotask_tax_is_the_invoice_tax_never_an_income_line(regime, expected):
    settings = make_settings(tax_mode="autotask", sales_tax_code="OH State")
    items = [taxed_item(1, "7.25")]  # 250.00, tax 18.13
    plan = plan_one(items, settings, make_invoice(items, tax=18.13))
    assert not [line for line in plan.lines if line.kind == "tax"]
    company = QboCompany(tax_regime=regime, class_tracking="none", custom_txn_numbers=True)
    payload = build_invoice_payload(
        plan, refs_for(plan, company, settings, tax_codes={"OH State": "7"}), company, settings
    )[0]
    assert payload["TxnTaxDetail"] == expected
    assert [line["Amount"] for line in sales_lines(payload)] == [250.0]
    taxable = {line["SalesItemLineDetail"].get("TaxCodeRef", {}).get("value") for line in sales_lines(payload)}
    assert taxable == ({"TAX"} if regime == "manual" else {None})


def test_tax05_an_invoice_with_no_tax_is_sent_with_the_non_taxable_override_under_ast():
    settings = make_settings(tax_mode="autotask")
    plan = plan_one(settings=settings)
    ast = QboCompany(tax_regime="automated", class_tracking="none", custom_txn_numbers=True)
    payload = build_invoice_payload(plan, refs_for(plan, ast, settings), ast, settings)[0]
    assert payload["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "NON"}, "TotalTax": 0}


def test_tax05_manual_tax_code_whose_rate_is_not_autotasks_is_refused_before_writing():
    manual_codes = TaxCodes.from_records([_code("7", "OH State", "1")], [{"Id": "1", "RateValue": "5.75"}])
    settings = make_settings(tax_mode="autotask", sales_tax_code="OH State")
    items = [taxed_item(1, "7.25")]
    plan = plan_one(items, settings, make_invoice(items, tax=18.13))
    manual = QboCompany(tax_regime="manual", class_tracking="none", custom_txn_numbers=True)
    reason, _ = tax_difference(plan, manual_codes, manual, settings)
    assert "QBO would compute 14.38 of tax" in reason and "Autotask's tax is 18.13" in reason
    right = TaxCodes.from_records([_code("7", "OH State", "1")], [{"Id": "1", "RateValue": "7.25"}])
    assert tax_difference(plan, right, manual, settings) is None


# -- CUR-01 / CUR-02 currency ---------------------------------------------------------------------------


def test_cur01_the_invoice_and_a_new_customer_carry_the_autotask_companys_currency():
    items = [taxed_item(1, "20")]
    plan = uk_plan(items, company=make_company(taxRegionID=1, currencyID=3), currencies={1: "GBP", 3: "EUR"})
    assert plan.currency == "EUR"
    multi = replace(UK, multi_currency=True)
    assert uk_payload(plan, company=multi)["CurrencyRef"] == {"value": "EUR"}
    assert "CurrencyRef" not in uk_payload(plan, company=UK)  # single currency: QBO's home currency
    home = uk_plan(items, currencies={1: "GBP", 3: "EUR"})
    assert home.currency == "GBP" and uk_payload(home, company=multi)["CurrencyRef"] == {"value": "GBP"}
    customer = customer_payload(make_company(currencyID=3), "Contoso Dental", uk_settings(), currency="EUR")
    assert customer["CurrencyRef"] == {"value": "EUR"}


def test_cur02_a_foreign_currency_invoice_into_a_single_currency_company_is_refused_with_the_fix():
    plan = uk_plan([taxed_item(1, "20")], company=make_company(currencyID=3), currencies={1: "GBP", 3: "EUR"})
    reason, fix = currency_problem(plan, UK)
    assert "Autotask bills the company in EUR, but multi-currency is off in QBO (home currency GBP)" in reason
    assert "turn on multi-currency" in fix
    assert currency_problem(plan, replace(UK, multi_currency=True)) is None
    _, failures = refuse_before_writing([plan], UK, UK_CODES, uk_settings())
    assert failures[INVOICE_ID][0] == reason


def test_tax01_a_plan_keeps_its_tax_codes_currency_and_autotask_tax_through_staging():
    """The load step works on plans staged as JSON: what the tax checks read comes back as it was."""
    items = [taxed_item(1, "20"), make_item(2, code=10, quantity=1.0, rate=75.0)]
    plan = uk_plan(items, company=make_company(taxRegionID=1, currencyID=3), currencies={3: "EUR"})
    again = plan_from_doc(json.loads(json.dumps(plan_to_doc(plan), default=str)))
    assert again == plan
    assert [line.autotask_tax for line in again.lines if line.kind == "item"] == [Decimal("50.00"), Decimal("0.00")]


def test_tax05_us_manual_tax_takes_the_invoice_code_of_the_companys_region_from_tax_code_map():
    """A multi-state MSP: Ohio's code by default, Pennsylvania's for a company in that tax region."""
    codes = TaxCodes.from_records(
        [_code("7", "Columbus, OH", "1", "2"), _code("8", "PA State", "3")],
        [{"Id": "1", "RateValue": "5.75"}, {"Id": "2", "RateValue": "1.5"}, {"Id": "3", "RateValue": "6"}],
    )
    settings = make_settings(
        tax_mode="autotask", sales_tax_code="Columbus, OH", tax_code_map={"pennsylvania": "PA State"}
    )
    manual = QboCompany(tax_regime="manual", class_tracking="none", custom_txn_numbers=True)
    items = [taxed_item(1, "6")]  # 250.00 at 6% = 15.00
    regions = {1: "Ohio", 2: "Pennsylvania"}

    def plan_in(region_id: int):
        return plan_one(
            items,
            settings,
            make_invoice(items, tax=15.0),
            companies={COMPANY_ID: make_company(taxRegionID=region_id)},
            tax_regions=regions,
        )

    pa = plan_in(2)
    assert pa.tax_region == "Pennsylvania" and tax_code_names(pa, manual, settings) == ["PA State"]
    assert tax_difference(pa, codes, manual, settings) is None
    payload = build_invoice_payload(pa, refs_for(pa, manual, settings, tax_codes={"PA State": "8"}), manual, settings)[
        0
    ]
    assert payload["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "8"}, "TotalTax": 15.0}
    oh = plan_in(1)  # not mapped: sales_tax_code, whose 7.25% would not be Autotask's 6%
    assert tax_code_names(oh, manual, settings) == ["Columbus, OH"]
    reason, _ = tax_difference(oh, codes, manual, settings)
    assert "QBO would compute 18.13 of tax" in reason and "Autotask's tax is 15.00" in reason
