"""The named real-tenant seeds (``--seed us-ast | us-manual-tax | uk-vat | ca-gst | au-gst``), each
loaded into a reset sandbox and read back over real HTTP: Autotask's invoices agree with its tax
rates (recomputed here from the tables, not trusted from the seed), the QBO company is the profile's
(country, automated sales tax, multi-currency, tax codes) and agrees with Autotask on what atqbo
already pushed, the real-tenant Autotask data is there, and the public clients (python-quickbooks,
py-autotask) read it unchanged. The settings each profile ships are valid atqbo settings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.taxcode import TaxCode

from atqbo.settings import parse_settings
from sandbox.__main__ import main
from sandbox.seeds import SEED_NAMES, load_seed
from sandbox.seeds.profile_autotask import API_USER_NAME, API_USER_SECRET
from sandbox.seeds.profiles import FOREIGN_COMPANY, PROFILE_NAMES, PROFILE_SETTINGS, PROFILES
from tests.net_support import REPO
from tests.sandbox.autotask_support import ALL_IDS
from tests.sandbox.qbo_support import fault_of
from tests.sandbox.test_autotask_thirdparty import AutotaskAuth, make_client
from tests.sandbox.test_qbo_thirdparty import auth_client, new_invoice, new_item, qb  # noqa: F401 (fixtures)

CENT = Decimal("0.01")
# The QBO company each profile is: (Country, automated sales tax, multi-currency, home currency,
# the CompanyCurrency list, the tax codes by name).
QBO_SIDE: dict[str, tuple[str, bool, bool, str, list[str], list[str]]] = {
    "us-ast": ("US", True, True, "USD", ["CAD"], []),
    "us-manual-tax": ("US", False, True, "USD", ["CAD"], ["TAX", "NON", "Columbus, OH"]),
    "uk-vat": ("GB", False, True, "GBP", ["EUR"], ["20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"]),
    "ca-gst": ("CA", False, True, "CAD", ["USD"], ["GST", "HST ON", "GST/PST BC", "Exempt", "Zero-rated"]),
    "au-gst": ("AU", False, False, "AUD", [], ["GST", "GST free"]),
}


@pytest.fixture(params=PROFILE_NAMES)
def profile(request, fresh_sandbox) -> str:
    """Each named seed in turn, loaded the way ``python -m sandbox --seed NAME`` loads it."""
    fresh_sandbox.seed(load_seed(request.param))
    return request.param


def every(autotask, entity: str) -> list[dict[str, Any]]:
    """Every record of ``entity``, page after page."""
    page = autotask.query(entity, ALL_IDS)
    records = list(page["items"])
    while page["pageDetails"].get("nextPageUrl"):
        page = autotask.call("GET", page["pageDetails"]["nextPageUrl"]).json()
        records.extend(page["items"])
    return records


def dec(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- loading ---------------------------------------------------------------------------------------


def test_every_named_seed_is_a_seed_name_and_loads_whole(profile, autotask, qbo):
    assert profile in SEED_NAMES
    assert len(every(autotask, "Invoices")) == 40
    assert autotask.count("PurchaseOrders", ALL_IDS) == 11
    assert qbo.query("select count(*) from Invoice")["totalCount"] == 15
    assert qbo.query("select count(*) from Payment")["totalCount"] == 3


def test_a_named_seed_loads_through_the_control_endpoint_and_its_state_loads_back(fresh_sandbox, qbo):
    response = requests.post(f"{fresh_sandbox.base_url}/_sandbox/seed", params={"name": "ca-gst"}, timeout=30)
    assert response.json() == {"status": "seeded"}
    state = fresh_sandbox.state()
    fresh_sandbox.reset()
    fresh_sandbox.seed(state)
    assert fresh_sandbox.state()["autotask"]["Invoices"] == state["autotask"]["Invoices"]
    assert qbo.query("select * from TaxCode where Name = 'HST ON'")["TaxCode"][0]["Id"] == "2"


def test_an_unknown_seed_name_is_refused_naming_the_names(capsys):
    assert main(["--seed", "fr-tva", "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert "seed 'fr-tva' refused" in error
    assert "empty, demo, us-ast, us-manual-tax, uk-vat, ca-gst, au-gst, multi-company nor a JSON file" in error


def test_python_m_sandbox_starts_with_a_named_seed():
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--seed", "uk-vat", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("sandbox listening on http://127.0.0.1:"), first + process.stderr.read()
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- Autotask ------------------------------------------------------------------------------------


def test_autotask_invoice_totals_agree_with_the_tax_rates(profile, autotask):
    """Each line's tax is its amount at the taxes of its company's region and its code's category
    (a cent per tax of rounding), none for an exempt company or a non-billable line; each invoice's
    totalTaxValue is its lines' tax and invoiceTotal their amounts plus it."""
    companies = {c["id"]: c for c in every(autotask, "Companies")}
    categories = {c["id"]: c["taxCategoryID"] for c in every(autotask, "BillingCodes")}
    taxes: dict[tuple[int, int], list[Decimal]] = defaultdict(list)
    for tax in every(autotask, "Taxes"):
        taxes[(tax["taxRegionID"], tax["taxCategoryID"])].append(dec(tax["taxRate"]))
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in every(autotask, "BillingItems"):
        lines[item["invoiceID"]].append(item)
    taxed = 0
    for invoice in every(autotask, "Invoices"):
        company = companies[invoice["companyID"]]
        assert company["taxRegionID"] is not None and lines[invoice["id"]]
        for item in lines[invoice["id"]]:
            rates = taxes.get((company["taxRegionID"], categories[item["billingCodeID"]]), [])
            if company["isTaxExempt"] or item["nonBillable"]:
                rates = []
            exact = sum((dec(item["totalAmount"]) * rate / 100 for rate in rates), Decimal(0))
            assert abs(dec(item["taxDollars"]) - exact) <= CENT * len(rates), (invoice["invoiceNumber"], item)
            taxed += bool(item["taxDollars"])
        tax = sum((dec(item["taxDollars"]) for item in lines[invoice["id"]]), Decimal(0))
        amounts = sum((dec(item["totalAmount"]) for item in lines[invoice["id"]]), Decimal(0))
        assert (dec(invoice["totalTaxValue"]), dec(invoice["invoiceTotal"])) == (tax, amounts + tax)
    assert taxed > 10  # the check above ran on taxed lines, not only on untaxed ones


def test_autotask_has_the_country_s_tax_tables_and_currencies(profile, autotask):
    spec = PROFILES[profile]
    assert [r["name"] for r in every(autotask, "TaxRegions")] == list(spec.regions)
    assert [c["name"] for c in every(autotask, "TaxCategories")] == list(spec.categories)
    expected_taxes = sorted(
        (tax_name, rate)
        for categories in spec.regions.values()
        for rows in categories.values()
        for tax_name, rate in rows
    )
    assert sorted((t["taxName"], t["taxRate"]) for t in every(autotask, "Taxes")) == expected_taxes
    currencies = {c["id"]: c for c in every(autotask, "Currencies")}
    internal = [c["name"] for c in currencies.values() if c["isInternalCurrency"]]
    assert internal == [spec.home.code]
    billed_in = {c["companyName"]: currencies[c["currencyID"]]["name"] for c in every(autotask, "Companies")}
    assert {name for name, code in billed_in.items() if code != spec.home.code} == {FOREIGN_COMPANY}
    assert billed_in[FOREIGN_COMPANY] == spec.foreign.code
    assert currencies[2]["isActive"] is True and currencies[2]["exchangeRate"] == round(1 / spec.foreign_rate, 4)


def test_the_foreign_company_is_billed_in_its_currency(profile, autotask):
    """Its lines' amounts are in its currency (at Autotask's rate: foreign units per home unit), the
    internal ones in the home currency."""
    foreign = autotask.query("Companies", {"op": "eq", "field": "companyName", "value": FOREIGN_COMPANY})["items"][0]
    exchange_rate = dec(autotask.get("Currencies", foreign["currencyID"])["exchangeRate"])
    invoices = autotask.ids("Invoices", {"op": "eq", "field": "companyID", "value": foreign["id"]})
    assert invoices and all(autotask.get("Invoices", i)["webServiceDate"] is None for i in invoices)
    items = autotask.query("BillingItems", {"op": "in", "field": "invoiceID", "value": invoices})["items"]
    for item in items:
        assert dec(item["rate"]) == money(dec(item["internalCurrencyRate"]) * exchange_rate)
        assert dec(item["extendedPrice"]) == money(dec(item["quantity"]) * dec(item["rate"]))


def test_a_tax_exempt_company_has_untaxed_invoices(profile, autotask):
    exempt = autotask.ids("Companies", {"op": "eq", "field": "isTaxExempt", "value": True})
    invoices = autotask.query("Invoices", {"op": "in", "field": "companyID", "value": exempt})["items"]
    assert invoices and all(invoice["totalTaxValue"] == 0 for invoice in invoices)


def test_one_line_is_covered_by_a_contract_and_one_is_non_billable(profile, autotask):
    covered = autotask.query("BillingItems", {"op": "exist", "field": "contractID"})["items"]
    assert [(i["quantity"], i["rate"], i["extendedPrice"]) for i in covered] == [(3.0, 125.0, 125.0)]
    contract = autotask.get("Contracts", covered[0]["contractID"])
    assert (contract["companyID"], contract["contractType"]) == (covered[0]["companyID"], 4)  # block hours
    goodwill = autotask.query("BillingItems", {"op": "eq", "field": "nonBillable", "value": 1})["items"]
    assert [(i["quantity"], i["extendedPrice"], i["totalAmount"], i["taxDollars"]) for i in goodwill] == [
        (1.0, 0.0, 0.0, 0.0)
    ]
    assert {covered[0]["invoiceID"], goodwill[0]["invoiceID"]} <= set(
        autotask.ids("Invoices", {"op": "notExist", "field": "webServiceDate"})
    )


def test_the_extra_api_user_sees_only_its_lines_of_business(profile, autotask, autotask_client):
    restricted = autotask_client(autotask.server, username=API_USER_NAME, secret=API_USER_SECRET)
    everything = {item["id"] for item in every(autotask, "BillingItems")}
    seen = {item["id"] for item in every(restricted, "BillingItems")}
    assert seen and seen < everything
    managed = {a["id"] for a in every(autotask, "OrganizationalLevelAssociations") if a["organizationalLevel1ID"] == 1}
    assert {item["organizationalLevelAssociationID"] for item in every(restricted, "BillingItems")} <= managed
    assert every(restricted, "Invoices") == every(autotask, "Invoices")  # invoices are not secured


def test_keep_empty_strings_is_on_but_in_us_ast(profile, autotask):
    invoice = autotask.ids("Invoices", {"op": "notExist", "field": "webServiceDate"})[0]
    response = autotask.call("PATCH", "Invoices", json={"id": invoice, "invoiceNumber": ""})
    assert response.json() == {"itemId": invoice}
    assert autotask.get("Invoices", invoice)["invoiceNumber"] == ("" if profile != "us-ast" else None)


# -- QBO -----------------------------------------------------------------------------------------


def test_the_qbo_company_is_the_profile_s(profile, qbo):
    country, automated, multi_currency, home, currencies, codes = QBO_SIDE[profile]
    preferences = qbo.call("GET", "preferences").json()["Preferences"]
    assert qbo.call("GET", f"companyinfo/{qbo.realm_id}").json()["CompanyInfo"]["Country"] == country
    assert preferences["TaxPrefs"]["PartnerTaxEnabled"] is automated
    assert preferences["CurrencyPrefs"]["MultiCurrencyEnabled"] is multi_currency
    assert preferences["CurrencyPrefs"]["HomeCurrency"]["value"] == home
    if multi_currency:
        assert [c["Code"] for c in qbo.query("select * from CompanyCurrency").get("CompanyCurrency", [])] == currencies
    assert sorted(c["Name"] for c in qbo.query("select * from TaxCode").get("TaxCode", [])) == sorted(codes)
    settings = PROFILE_SETTINGS[profile]
    named = [settings[key] for key in ("sales_tax_code", "exempt_sales_tax_code", "purchase_tax_code") if settings[key]]
    assert set(named) | set(settings["tax_code_map"].values()) <= set(codes)


def test_the_foreign_customer_is_in_its_currency_where_qbo_has_multi_currency(profile, qbo):
    spec = PROFILES[profile]
    customer = qbo.query(f"select * from Customer where DisplayName = '{FOREIGN_COMPANY}'")["Customer"][0]
    if spec.qbo_multi_currency:
        assert customer["CurrencyRef"]["value"] == spec.foreign.code
        rate = qbo.call("GET", "exchangerate", params={"sourcecurrencycode": spec.foreign.code}).json()
        assert rate["ExchangeRate"]["Rate"] == spec.foreign_rate
    else:  # au-gst: NZD is refused, as atqbo must refuse the NZD company's invoices
        assert customer["CurrencyRef"]["value"] == spec.home.code
        body = {"DisplayName": "Auckland Dental (NZD)", "CurrencyRef": {"value": spec.foreign.code}}
        assert "Multicurrency is not enabled" in fault_of(qbo.post("customer", body))["Detail"]


def test_what_atqbo_pushed_has_autotask_s_totals_and_tax(profile, qbo, autotask):
    """The documents atqbo already pushed: QBO's TotalAmt is Autotask's invoiceTotal; in a non-US
    company QBO computed the tax from the lines' codes and it is Autotask's totalTaxValue."""
    autotask_invoices = {str(i["id"]): i for i in every(autotask, "Invoices")}
    pushed = [
        doc
        for doc in qbo.query("select * from Invoice")["Invoice"]
        if doc.get("PrivateNote", "").startswith("Autotask invoice ")
    ]
    assert len(pushed) == 6
    for doc in pushed:
        source = autotask_invoices[doc["PrivateNote"].split()[-1]]
        assert doc["TotalAmt"] == source["invoiceTotal"], doc["DocNumber"]
        if PROFILES[profile].country != "US":
            assert doc["TxnTaxDetail"]["TotalTax"] == source["totalTaxValue"], doc["DocNumber"]


def test_a_non_us_profile_refuses_a_line_without_a_tax_code(profile, qbo):
    customer = qbo.query("select * from Customer where DisplayName = 'Contoso Dental'")["Customer"][0]
    item = qbo.query("select * from Item where Name = 'Remote Support'")["Item"][0]
    response = qbo.post("invoice", qbo.invoice_body(customer["Id"], item["Id"], 125.0))
    if PROFILES[profile].country == "US":
        assert response.status_code == 200, response.text
    else:
        assert fault_of(response)["code"] == "6000"


def test_the_payments_entered_before_atqbo_still_pay_their_invoices(profile, qbo):
    """The first customer's two invoices paid in full, one half paid, one in full, taxed or not."""
    balances = {doc["Id"]: (doc["Balance"], doc["TotalAmt"]) for doc in qbo.query("select * from Invoice")["Invoice"]}
    assert [balances[i][0] for i in ("1001", "1003", "1009")] == [0, 0, 0]
    assert balances["1002"][0] == pytest.approx(balances["1002"][1] / 2, abs=0.01)


# -- the profiles' settings ---------------------------------------------------------------------------


def run_configuration():
    """scripts/configure_local_airflow.py (what `make run` stores in the atqbo_settings Variable)."""
    spec = importlib.util.spec_from_file_location(
        "configure_local_airflow", REPO / "scripts" / "configure_local_airflow.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_the_profile_settings_are_valid_atqbo_settings(name):
    settings = parse_settings({**PROFILE_SETTINGS[name], "invoice_sync_enabled": True})
    assert {key: getattr(settings, key) for key in PROFILE_SETTINGS[name]} == PROFILE_SETTINGS[name]


@pytest.mark.parametrize("name", [*PROFILE_NAMES, "demo"])
def test_make_run_stores_the_seed_s_tax_settings_with_the_demo_s(name):
    """`make run SEED=NAME` starts with the demo's settings and the seed's tax and currency keys, valid
    together (a non-US company syncing purchase orders needs purchase_tax_code)."""
    configure = run_configuration()
    stored = configure.seed_settings(load_seed(name), name)
    settings = parse_settings(stored)
    assert settings.todo_action_type == 1 and settings.po_number_custom_field == "PO Number"
    expected = PROFILE_SETTINGS["us-ast" if name == "demo" else name]
    assert {key: getattr(settings, key) for key in expected} == expected
    assert configure.tax_settings("seeds/mine.json") == {}


# -- public clients ------------------------------------------------------------------------------


def test_python_quickbooks_reads_the_uk_vat_seed(qb, fresh_sandbox):  # noqa: F811 (fixture)
    fresh_sandbox.seed(load_seed("uk-vat"))
    assert [c.Name for c in TaxCode.all(qb=qb)] == ["20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"]
    invoices = Invoice.all(qb=qb)
    assert len(invoices) == 15
    pushed = [i for i in invoices if (i.PrivateNote or "").startswith("Autotask invoice ")]
    sales_lines = [line for i in pushed for line in i.Line if line.DetailType == "SalesItemLineDetail"]
    assert len(pushed) == 6 and all(line.SalesItemLineDetail.TaxCodeRef.value for line in sales_lines)
    euro = Customer.filter(DisplayName=FOREIGN_COMPANY, qb=qb)[0]
    assert euro.CurrencyRef.value == "EUR"


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_python_quickbooks_reads_and_writes_every_named_seed(qb, fresh_sandbox, name):  # noqa: F811 (fixture)
    """On each seed python-quickbooks lists the tax codes and the foreign customer, and creates an
    invoice the way its users do: with a line tax code outside the US (the server computes the tax
    from its rates), without one in the US."""
    seed = load_seed(name)
    fresh_sandbox.seed(seed)
    codes = TaxCode.all(qb=qb)
    assert sorted(c.Name for c in codes) == sorted(c["Name"] for c in seed["qbo"].get("TaxCode", []))
    customer = Customer.filter(DisplayName=FOREIGN_COMPANY, qb=qb)[0]
    multi_currency = PROFILES[name].qbo_multi_currency
    assert customer.CurrencyRef.value == (PROFILES[name].foreign.code if multi_currency else PROFILES[name].home.code)
    home = next(c for c in Customer.all(qb=qb) if c.CurrencyRef.value == PROFILES[name].home.code)
    item = new_item(qb, f"Client item ({name})", 100.0)
    taxable = PROFILE_SETTINGS[name]["sales_tax_code"] if PROFILES[name].country != "US" else None
    code = next((c for c in codes if c.Name == taxable), None)
    invoice = new_invoice(qb, home, item, 2, f"TP-{name}", code.Id if code else None)
    assert invoice.Id and invoice.Line[0].Amount == 200
    if code is not None:
        rate = sum(
            Decimal(str(r["RateValue"]))
            for r in seed["qbo"]["TaxRate"]
            if r["Id"]
            in {
                d["TaxRateRef"]["value"]
                for d in next(c for c in seed["qbo"]["TaxCode"] if c["Id"] == code.Id)["SalesTaxRateList"][
                    "TaxRateDetail"
                ]
            }
        )
        assert Decimal(str(invoice.TxnTaxDetail.TotalTax)) == Decimal(200) * rate / 100
        assert Decimal(str(invoice.TotalAmt)) == Decimal(200) * (100 + rate) / 100


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_py_autotask_reads_every_named_seed(fresh_sandbox, name):
    seed = load_seed(name)
    fresh_sandbox.seed(seed)
    AutotaskAuth.clear_zone_cache()
    client = make_client(fresh_sandbox)
    try:
        regions = client.query("TaxRegions", {"filter": [ALL_IDS]})
        assert [r["name"] for r in regions.items] == [r["name"] for r in seed["autotask"]["TaxRegions"]]
        invoices = client.query("Invoices", {"filter": [ALL_IDS]})
        assert len(invoices.items) == len(seed["autotask"]["Invoices"])
        currencies = client.query("Currencies", {"filter": [ALL_IDS]})
        assert {c["name"] for c in currencies.items} == {PROFILES[name].home.code, PROFILES[name].foreign.code}
    finally:
        AutotaskAuth.clear_zone_cache()


def test_py_autotask_reads_the_uk_vat_seed(fresh_sandbox):
    fresh_sandbox.seed(load_seed("uk-vat"))
    AutotaskAuth.clear_zone_cache()
    client = make_client(fresh_sandbox)
    try:
        regions = client.query("TaxRegions", {"filter": [ALL_IDS]})
        assert [r["name"] for r in regions.items] == ["United Kingdom"]
        invoices = client.query("Invoices", {"filter": [ALL_IDS]})
        assert len(invoices.items) == 40
        taxes = client.query("Taxes", {"filter": [ALL_IDS]})
        assert [(t["taxName"], t["taxRate"]) for t in taxes.items] == [("VAT", 20.0)]
    finally:
        AutotaskAuth.clear_zone_cache()


def test_seeds_are_dated_from_today():
    """A named seed is built for a day like the demo: invoices in the 30 days before it."""
    today = date(2026, 3, 15)
    invoices = load_seed("ca-gst", today)["autotask"]["Invoices"]
    days = {date.fromisoformat(i["invoiceDateTime"][:10]) for i in invoices}
    assert min(days) == today - timedelta(days=30) and max(days) == today - timedelta(days=1)


def test_bey07_make_run_with_the_multi_company_seed_stores_its_example_routes():
    """`make run SEED=multi-company` routes the Australian customer to qbo_au and Professional Services
    to qbo_manual, each with its company's tax settings, valid with the rest; another seed, none."""
    from sandbox.seeds.multi_company import AU_CUSTOMER_NAME, COMPANY_SETTINGS

    configure = run_configuration()
    seed = load_seed("multi-company")
    settings = parse_settings(configure.seed_settings(seed, "multi-company"))
    au_id = next(c["id"] for c in seed["autotask"]["Companies"] if c["companyName"] == AU_CUSTOMER_NAME)
    assert [(r.qbo_conn_id, r.company_ids, r.divisions) for r in settings.routes] == [
        ("qbo_au", (au_id,), ()),
        ("qbo_manual", (), ("Professional Services",)),
    ]
    au = settings.for_company("qbo_au")
    assert {key: getattr(au, key) for key in COMPANY_SETTINGS["qbo_au"]} == COMPANY_SETTINGS["qbo_au"]
    assert configure.route_settings(load_seed("demo"), "demo") == {"qbo_routes": []}
