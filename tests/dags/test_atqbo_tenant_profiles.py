"""atqbo_invoices, atqbo_invoice_voids, atqbo_payments and atqbo_purchase_orders, run with dag.test()
on each QBO company profile of the sandbox (US automated sales tax, US manual sales tax, UK VAT,
Canada GST/HST, Australia GST), with an Autotask tenant whose tax matches the country: a taxed
invoice, a tax-exempt company's invoice, an invoice of a company Autotask bills in a foreign
currency, and a purchase order. Checked record by record in the sandbox's QBO books (totals and tax
as QBO computed them, line tax codes, customers' currency and taxability, bills' purchase tax) and
Autotask state (TAX-01..05, CUR-01, CUR-02)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pendulum
import pytest

from tests.dags.dag_support import load_dag, task_states, work_state
from tests.dags.tenant_support import export_connections
from tests.sandbox.qbo.tax_support import FOREIGN, profile_seed

pytestmark = pytest.mark.integration

TODAY = date.today()
REPORT_TO = "billing@msp.example"
LABOUR, HARDWARE = 501, 502  # billing codes
LOCAL, TAXED, EXEMPT, FOREIGN_CO = 0, 701, 702, 703  # Autotask companies
INV_TAXED, INV_EXEMPT, INV_FOREIGN = 801, 802, 803


@dataclass(frozen=True)
class Profile:
    """A QBO company profile and the Autotask tax of the same country: the rate of each billing code."""

    name: str
    home: str
    region: str
    rates: dict[int, str]  # billing code -> Autotask tax rate (percent) in the region
    settings: dict[str, Any]
    hardware_name: str = "Workstation"  # the hardware billing code's name (an item of the QBO company in the US)
    line_codes: dict[int, str] = field(default_factory=dict)  # billing code -> QBO tax code Id of its line (non-US)
    exempt_code: str | None = None  # QBO tax code Id of an exempt company's lines (non-US)

    @property
    def foreign(self) -> str:
        return FOREIGN[self.name][0]


PROFILES = {
    # AST taxes the lines of taxable items at 7% (the sandbox's fixed rate): the hardware is a taxable QBO item
    "us-ast": Profile("us-ast", "USD", "Ohio", {HARDWARE: "7"}, {}, hardware_name="APC Back-UPS 1500"),
    # the company's own code "Columbus, OH" (5.75% + 1.5%) is its default; tax_mode autotask names it
    "us-manual-tax": Profile(
        "us-manual-tax",
        "USD",
        "Ohio",
        {HARDWARE: "7.25"},
        {"tax_mode": "autotask", "sales_tax_code": "Columbus, OH"},
        hardware_name="APC Back-UPS 1500",
    ),
    "uk-vat": Profile(
        "uk-vat",
        "GBP",
        "England",
        {LABOUR: "20", HARDWARE: "20"},
        {"qbo_edition": "non-US", "sales_tax_code": "20.0% S", "exempt_sales_tax_code": "Exempt"},
        line_codes={LABOUR: "1", HARDWARE: "1"},
        exempt_code="4",
    ),
    "ca-gst": Profile(
        "ca-gst",
        "CAD",
        "Ontario",
        {LABOUR: "13", HARDWARE: "13"},
        {
            "qbo_edition": "non-US",
            "sales_tax_code": "GST",
            "exempt_sales_tax_code": "Exempt",
            "tax_code_map": {"Ontario": "HST ON"},
        },
        line_codes={LABOUR: "2", HARDWARE: "2"},
        exempt_code="4",
    ),
    "au-gst": Profile(
        "au-gst",
        "AUD",
        "New South Wales",
        {LABOUR: "10", HARDWARE: "10"},
        {"qbo_edition": "non-US", "sales_tax_code": "GST", "exempt_sales_tax_code": "GST free"},
        line_codes={LABOUR: "1", HARDWARE: "1"},
        exempt_code="2",
    ),
}


def _dt(days_ago: int) -> str:
    return f"{TODAY - timedelta(days=days_ago)}T00:00:00Z"


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _item(iid: int, invoice: int, company: int, code: int, qty: str, rate: str, tax_percent: str) -> dict:
    extended = _money(Decimal(qty) * Decimal(rate))
    tax = _money(extended * Decimal(tax_percent) / 100)
    return {
        "id": iid,
        "invoiceID": invoice,
        "companyID": company,
        "billingCodeID": code,
        "billingItemType": 1,
        "organizationalLevelAssociationID": 1,
        "itemName": "Work",
        "description": f"Billing item {iid}",
        "itemDate": _dt(3),
        "quantity": float(qty),
        "rate": float(rate),
        "extendedPrice": float(extended),
        "totalAmount": float(extended),  # before tax, as the sandbox's tenants keep it
        "taxDollars": float(tax),
    }


def _invoice(iid: int, company: int, items: list[dict]) -> dict:
    tax = sum(Decimal(str(i["taxDollars"])) for i in items)
    total = sum(Decimal(str(i["totalAmount"])) for i in items) + tax
    return {
        "id": iid,
        "companyID": company,
        "invoiceNumber": f"INV-{iid}",
        "invoiceDateTime": _dt(2),
        "fromDate": _dt(32),
        "toDate": _dt(2),
        "dueDate": f"{TODAY + timedelta(days=28)}T00:00:00Z",
        "paymentTerm": 1,
        "invoiceTotal": float(total),
        "totalTaxValue": float(tax),
        "taxRegionName": None,
        "comments": "Thank you.",
        "isVoided": False,
    }


def autotask_tenant(p: Profile) -> dict:
    """The Autotask half: the profile's currency as the internal one, one foreign currency, the region's
    taxes; three companies (taxed, tax-exempt, billed in the foreign currency) and an invoice each."""
    rate = lambda code: p.rates.get(code, "0")  # noqa: E731
    taxed = [
        _item(901, INV_TAXED, TAXED, LABOUR, "2", "125", rate(LABOUR)),
        _item(902, INV_TAXED, TAXED, HARDWARE, "1", "400", rate(HARDWARE)),
    ]
    exempt = [_item(903, INV_EXEMPT, EXEMPT, LABOUR, "1", "125", "0")]
    foreign = [_item(904, INV_FOREIGN, FOREIGN_CO, LABOUR, "2", "100", rate(LABOUR))]
    company = {"companyType": 1, "phone": "555-0100", "address1": "1 High Street", "city": "Springfield"}
    return {
        "Currencies": [
            {
                "id": 1,
                "name": p.home,
                "description": p.home,
                "displaySymbol": "$",
                "exchangeRate": 1.0,
                "isActive": True,
                "isInternalCurrency": True,
            },
            {
                "id": 2,
                "name": p.foreign,
                "description": p.foreign,
                "displaySymbol": "$",
                "exchangeRate": FOREIGN[p.name][1],
                "isActive": True,
                "isInternalCurrency": False,
            },
        ],
        "PaymentTerms": [{"id": 1, "name": "Net 30", "paymentDueInDays": 30}],
        "OrganizationalLevel1s": [{"id": 1, "name": "Managed Services"}],
        "OrganizationalLevel2s": [{"id": 1, "name": "Helpdesk"}],
        "OrganizationalLevelAssociations": [{"id": 1, "organizationalLevel1ID": 1, "organizationalLevel2ID": 1}],
        "TaxRegions": [{"id": 1, "name": p.region}],
        "TaxCategories": [{"id": 1, "name": "Labour"}, {"id": 2, "name": "Goods"}],
        "Taxes": [
            {
                "id": n,
                "taxRegionID": 1,
                "taxCategoryID": category,
                "taxName": "Sales tax",
                "taxRate": float(p.rates[code]),
                "isCompounded": False,
            }
            for n, (code, category) in enumerate(((LABOUR, 1), (HARDWARE, 2)), start=1)
            if code in p.rates
        ],
        "BillingCodes": [
            {
                "id": LABOUR,
                "name": "Remote Support",
                "externalNumber": "SUP-REM",
                "billingCodeType": 1,
                "useType": 1,
                "unitPrice": 125.0,
                "taxCategoryID": 1,
                "isActive": True,
            },
            {
                "id": HARDWARE,
                "name": p.hardware_name,
                "externalNumber": "HW",
                "billingCodeType": 2,
                "useType": 1,
                "unitPrice": 400.0,
                "taxCategoryID": 2,
                "isActive": True,
            },
        ],
        "Companies": [
            {
                "id": LOCAL,
                "companyName": "Springfield IT (local company)",
                "companyType": 8,
                "currencyID": 1,
                "taxRegionID": 1,
            },
            {
                **company,
                "id": TAXED,
                "companyName": "Maple Dental",
                "currencyID": 1,
                "taxRegionID": 1,
                "isTaxExempt": False,
            },
            {
                **company,
                "id": EXEMPT,
                "companyName": "Riverside Charity",
                "currencyID": 1,
                "taxRegionID": 1,
                "isTaxExempt": True,
            },
            {
                **company,
                "id": FOREIGN_CO,
                "companyName": "Overseas Holdings",
                "currencyID": 2,
                "taxRegionID": 1,
                "isTaxExempt": False,
            },
        ],
        "Invoices": [
            _invoice(INV_TAXED, TAXED, taxed),
            _invoice(INV_EXEMPT, EXEMPT, exempt),
            _invoice(INV_FOREIGN, FOREIGN_CO, foreign),
        ],
        "BillingItems": taxed + exempt + foreign,
    }


class Tenant:
    def __init__(self, sandbox, monkeypatch, profile: Profile, multi_currency: bool):
        self.sb = sandbox
        self.monkeypatch = monkeypatch
        self.profile = profile
        sandbox.reset()
        sandbox.seed(
            {"autotask": autotask_tenant(profile), **profile_seed(profile.name, multi_currency=multi_currency)}
        )
        export_connections(sandbox, monkeypatch)  # after the reset: the valid refresh token
        self.settings()

    def settings(self, **changes) -> None:
        values = {"report_to": [REPORT_TO], **self.profile.settings, **changes}
        self.monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(values))

    def run(self, dag_id: str, conf: dict | None = None, later: timedelta = timedelta(0)):
        dagrun = load_dag(dag_id).test(logical_date=pendulum.now("UTC") + later, run_conf=conf)
        assert work_state(dagrun) == "success", task_states(dagrun)
        return dagrun

    def at_invoices(self) -> dict[int, dict]:
        return {i["id"]: i for i in self.sb.state()["autotask"]["Invoices"]}

    def qbo_invoices(self) -> dict[int, dict]:
        """Autotask invoice id -> the QBO invoice atqbo created for it (by its PrivateNote)."""
        out = {}
        for inv in self.sb.state()["qbo"].get("Invoice", []):
            found = re.search(r"Autotask invoice (\d+)", inv.get("PrivateNote") or "")
            if found:
                out[int(found.group(1))] = inv
        return out

    def customers(self) -> dict[str, dict]:
        return {c["DisplayName"]: c for c in self.sb.state()["qbo"]["Customer"]}

    def invoice_writes(self) -> list[dict]:
        return [
            r
            for r in self.sb.requests.list("qbo")
            if r["method"] == "POST" and ("/invoice" in r["path"].lower() or "/batch" in r["path"].lower())
        ]

    def report(self) -> str:
        mails = [m for m in self.sb.mail.messages() if m["subject"].startswith("[atqbo] invoices")]
        assert mails, [m["subject"] for m in self.sb.mail.messages()]
        return mails[-1]["html"].replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")


@pytest.fixture
def make_tenant(airflow_db, sandbox_connections, monkeypatch):
    def make(name: str, multi_currency: bool = False, **changes: Any) -> Tenant:
        return Tenant(sandbox_connections, monkeypatch, replace(PROFILES[name], **changes), multi_currency)

    return make


def _tax(inv: dict) -> Decimal:
    return Decimal(str((inv.get("TxnTaxDetail") or {}).get("TotalTax", 0)))


def _sales_lines(inv: dict) -> list[dict]:
    return [line for line in inv["Line"] if line.get("DetailType") == "SalesItemLineDetail"]


@pytest.mark.parametrize("name", list(PROFILES))
def test_tax01_tax04_cur02_invoices_voids_and_payments_on_every_company_profile(make_tenant, name):
    """Each profile, multi-currency off: the taxed invoice's QBO total and tax are Autotask's to the cent,
    with no tax line; the exempt company's invoice has no tax; the foreign-currency invoice is refused
    before anything is written for it (CUR-02). Then a void and a payment go through on the same books."""
    tenant = make_tenant(name)
    p = tenant.profile
    tenant.run("atqbo_invoices")

    at, books = tenant.at_invoices(), tenant.qbo_invoices()
    assert set(books) == {INV_TAXED, INV_EXEMPT}
    for autotask_id in (INV_TAXED, INV_EXEMPT):
        inv = books[autotask_id]
        assert Decimal(str(inv["TotalAmt"])) == Decimal(str(at[autotask_id]["invoiceTotal"])), (name, autotask_id)
        assert _tax(inv) == Decimal(str(at[autotask_id]["totalTaxValue"])), (name, autotask_id)
        items = {line["SalesItemLineDetail"]["ItemRef"]["name"] for line in _sales_lines(inv)}
        assert "Autotask Sales Tax" not in items  # tax is never income
        assert at[autotask_id]["webServiceDate"]  # marked synced
    assert _tax(books[INV_TAXED]) > 0 and _tax(books[INV_EXEMPT]) == 0
    customers = tenant.customers()
    if p.line_codes:  # non-US: every line names the code of its region and category, exempt lines the exempt code
        assert books[INV_TAXED]["GlobalTaxCalculation"] == "TaxExcluded"
        codes = [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in _sales_lines(books[INV_TAXED])]
        assert codes == [p.line_codes[LABOUR], p.line_codes[HARDWARE]]
        exempt = {line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in _sales_lines(books[INV_EXEMPT])}
        assert exempt == {p.exempt_code}
    else:  # US: the exempt company's customer is not taxable (TAX-04)
        assert customers["Riverside Charity"]["Taxable"] is False
        assert customers["Maple Dental"].get("Taxable", True) is not False
        if name == "us-ast":  # Autotask does not tax the labour: its new item is not taxable
            assert {i["Name"]: i for i in tenant.sb.state()["qbo"]["Item"]}["Remote Support"]["Taxable"] is False
    # CUR-02: the company billed in another currency is not booked in the home currency
    assert INV_FOREIGN not in books and "Overseas Holdings" not in customers
    report = tenant.report()
    assert f"Autotask bills the company in {p.foreign}, but multi-currency is off in QBO (home currency {p.home})" in (
        report
    )

    # a void and a payment on the same books
    tenant.settings(void_sync_enabled=True, payment_sync_enabled=True)
    # voided before the run's window ends (the window ends at the last quarter hour)
    voided_at = (datetime.now(UTC) - timedelta(minutes=30)).isoformat(timespec="seconds").replace("+00:00", "Z")
    tenant.sb.seed({"autotask": {"Invoices": [{**at[INV_TAXED], "isVoided": True, "voidedDate": voided_at}]}})
    tenant.run("atqbo_invoice_voids")
    voided = tenant.qbo_invoices()[INV_TAXED]
    assert (voided["TotalAmt"], voided["PrivateNote"][:7]) == (0, "Voided "), voided

    from atqbo.hooks.qbo import QuickBooksOnlineHook

    exempt_invoice = books[INV_EXEMPT]
    QuickBooksOnlineHook("qbo_default").create(
        "Payment",
        {
            "TxnDate": str(TODAY),
            "CustomerRef": exempt_invoice["CustomerRef"],
            "TotalAmt": exempt_invoice["TotalAmt"],
            "Line": [
                {
                    "Amount": exempt_invoice["TotalAmt"],
                    "LinkedTxn": [{"TxnId": exempt_invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    tenant.run("atqbo_payments", later=timedelta(hours=1))  # hourly: the window ends at the last full hour
    assert (tenant.at_invoices()[INV_EXEMPT].get("paidDate") or "")[:10] == str(TODAY)


@pytest.mark.parametrize("name", ["us-ast", "uk-vat", "ca-gst"])
def test_cur01_with_multi_currency_the_foreign_companys_invoice_and_customer_are_in_its_currency(make_tenant, name):
    tenant = make_tenant(name, multi_currency=True)
    tenant.run("atqbo_invoices")
    at, books = tenant.at_invoices(), tenant.qbo_invoices()
    assert set(books) == {INV_TAXED, INV_EXEMPT, INV_FOREIGN}
    foreign = books[INV_FOREIGN]
    assert foreign["CurrencyRef"]["value"] == tenant.profile.foreign
    assert Decimal(str(foreign["TotalAmt"])) == Decimal(str(at[INV_FOREIGN]["invoiceTotal"]))
    assert tenant.customers()["Overseas Holdings"]["CurrencyRef"]["value"] == tenant.profile.foreign
    assert books[INV_TAXED]["CurrencyRef"]["value"] == tenant.profile.home
    assert tenant.customers()["Maple Dental"]["CurrencyRef"]["value"] == tenant.profile.home


def test_tax01_an_invoice_naming_a_tax_code_qbo_lacks_is_not_sent_and_nothing_is_written_for_it(make_tenant):
    """sales_tax_code misspelt: the two taxed invoices are refused before any write for them (no
    customer, no item, no invoice), with the name and QBO's codes; the exempt one goes out."""
    tenant = make_tenant("uk-vat", multi_currency=True)
    tenant.settings(sales_tax_code="Standard 20%")
    tenant.run("atqbo_invoices")
    assert set(tenant.qbo_invoices()) == {INV_EXEMPT}
    assert {"Maple Dental", "Overseas Holdings"}.isdisjoint(tenant.customers())
    report = tenant.report()
    assert "QBO has no active tax code named 'Standard 20%'" in report and "20.0% S (20%)" in report
    at = tenant.at_invoices()
    assert at[INV_EXEMPT]["webServiceDate"] and not at[INV_TAXED]["webServiceDate"]


def test_tax01_an_unmapped_region_taxed_at_another_rate_is_refused_line_by_line(make_tenant):
    """Ontario's HST is 13%; without tax_code_map the lines would go out at GST (5%) and QBO would
    undercharge the tax: the taxed invoice is not sent, the exempt one is."""
    tenant = make_tenant("ca-gst")
    tenant.settings(tax_code_map={})
    tenant.run("atqbo_invoices")
    assert set(tenant.qbo_invoices()) == {INV_EXEMPT}
    report = tenant.report()
    assert "QBO would compute 32.50 of tax from the lines' tax codes, Autotask's tax is 84.50" in report
    assert "billing item 902 (400.00, category 'Goods', region 'Ontario'): Autotask taxes it 52.00" in report


def test_tax05_us_ast_with_tax_mode_autotask_overrides_qbos_tax_with_autotasks(make_tenant):
    """Autotask taxes the labour too (at 5%): QBO's own 7% on the hardware would not be it, so the
    invoice carries Autotask's tax as the override."""
    tenant = make_tenant("us-ast", rates={LABOUR: "5", HARDWARE: "7"}, settings={"tax_mode": "autotask"})
    tenant.run("atqbo_invoices")
    at, inv = tenant.at_invoices()[INV_TAXED], tenant.qbo_invoices()[INV_TAXED]
    assert at["totalTaxValue"] == 40.5  # 12.50 + 28.00
    assert _tax(inv) == Decimal("40.50") and Decimal(str(inv["TotalAmt"])) == Decimal("690.50")
    assert inv["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "TAX"


def _rename_company(tenant: Tenant, company_id: int, name: str) -> None:
    company = next(c for c in tenant.sb.state()["autotask"]["Companies"] if c["id"] == company_id)
    tenant.sb.seed({"autotask": {"Companies": [{**company, "companyName": name}]}})


def test_tax04_an_existing_taxable_customer_of_an_exempt_company_is_made_non_taxable_first(make_tenant):
    """The exempt Autotask company is already a QBO customer, taxable: atqbo makes it non-taxable before
    its invoice goes out, so QBO's automated sales tax does not tax it."""
    tenant = make_tenant("us-ast", rates={LABOUR: "7", HARDWARE: "7"})
    _rename_company(tenant, EXEMPT, "Contoso Dental")  # QBO customer 1 of the profile
    assert tenant.customers()["Contoso Dental"].get("Taxable", True) is not False
    tenant.run("atqbo_invoices")
    customer = tenant.customers()["Contoso Dental"]
    assert customer["Id"] == "1" and customer["Taxable"] is False
    exempt = tenant.qbo_invoices()[INV_EXEMPT]
    assert _tax(exempt) == 0 and exempt["CustomerRef"]["value"] == "1"


def test_cur01_an_existing_customer_in_another_currency_fails_the_invoice_with_both_currencies(make_tenant):
    """QBO's customer of that name is in EUR (fixed once it has transactions), Autotask bills the company
    in GBP: the invoice is not sent in either currency."""
    tenant = make_tenant("uk-vat", multi_currency=True)
    _rename_company(tenant, TAXED, "Overseas Client (EUR)")  # the profile's EUR customer
    tenant.run("atqbo_invoices")
    assert INV_TAXED not in tenant.qbo_invoices()
    report = tenant.report()
    assert "Overseas Client (EUR)" in report and "EUR" in report and "GBP" in report
    assert not tenant.at_invoices()[INV_TAXED]["webServiceDate"]


def test_tax04_items_atqbo_creates_under_ast_are_taxable_as_autotask_taxes_them(make_tenant):
    """Autotask taxes the labour too: the "Remote Support" item atqbo creates is taxable, so QBO's
    automated sales tax (7%) taxes both lines and QBO's total is Autotask's; an item Autotask does not
    tax is created non-taxable."""
    tenant = make_tenant("us-ast", rates={LABOUR: "7", HARDWARE: "7"})
    tenant.run("atqbo_invoices")
    at, inv = tenant.at_invoices()[INV_TAXED], tenant.qbo_invoices()[INV_TAXED]
    assert at["totalTaxValue"] == 45.5  # 17.50 + 28.00
    assert _tax(inv) == Decimal("45.50") and Decimal(str(inv["TotalAmt"])) == Decimal("695.50")
    items = {i["Name"]: i for i in tenant.sb.state()["qbo"]["Item"]}
    assert items["Remote Support"]["Taxable"] is True
    assert _tax(tenant.qbo_invoices()[INV_EXEMPT]) == 0  # the exempt customer is not taxed


PURCHASE_CODES = {  # profile -> (purchase_tax_code, its Id, its purchase rate)
    "uk-vat": ("20.0% S", "1", "20"),
    "ca-gst": ("HST ON", "2", "13"),
    "au-gst": ("GST", "1", "10"),
}


@pytest.mark.parametrize("name", list(PROFILES))
def test_tax03_a_purchase_order_becomes_a_bill_with_the_countrys_purchase_tax_on_every_profile(make_tenant, name):
    """A submitted PO of 2 x 300.00 (one vendor, one product, both new to QBO): a non-US bill carries the
    purchase tax code on its line and QBO adds that code's tax (UK 120.00, Ontario 78.00, Australia 60.00);
    a US bill carries no code and no tax."""
    tenant = make_tenant(name)
    stamp = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    currencies = tenant.sb.state()["autotask"]["Currencies"]
    tenant.sb.seed(
        {
            "autotask": {
                # one active currency: with a second one Autotask's multi-currency would need QBO's (PO-06)
                "Currencies": [{**c, "isActive": c["isInternalCurrency"]} for c in currencies],
                "Companies": [
                    {
                        "id": 704,
                        "companyName": "Northwind Distribution",
                        "companyType": 7,
                        "phone": "555-0104",
                        "currencyID": 1,
                    }
                ],
                "Products": [
                    {"id": 601, "name": "Rack Server", "sku": "SRV-1", "unitCost": 300.0, "description": "Rack server"}
                ],
                "PurchaseOrders": [
                    {
                        "id": 651,
                        "vendorID": 704,
                        "status": 2,
                        "createDateTime": stamp,
                        "submitDateTime": stamp,
                        "externalPONumber": None,
                        "freight": 0.0,
                    }
                ],
                "PurchaseOrderItems": [
                    {
                        "id": 661,
                        "orderID": 651,
                        "productID": 601,
                        "quantity": 2,
                        "unitCost": 300.0,
                        "memo": "Rack servers for the office",
                    }
                ],
            }
        }
    )
    code = PURCHASE_CODES.get(name)
    tenant.settings(todo_action_type=3, todo_resource_id=29682885, purchase_tax_code=code[0] if code else None)
    tenant.run("atqbo_purchase_orders")

    (bill,) = [b for b in tenant.sb.state()["qbo"].get("Bill", []) if "Autotask PO 651" in (b.get("PrivateNote") or "")]
    (line,) = [line for line in bill["Line"] if "ExpenseLineDetail" in line.get("DetailType", "")]
    detail = line[line["DetailType"]]
    assert Decimal(str(line["Amount"])) == Decimal("600")
    if code:
        tax = Decimal(600) * Decimal(code[2]) / 100
        assert detail["TaxCodeRef"]["value"] == code[1] and bill["GlobalTaxCalculation"] == "TaxExcluded"
        assert (_tax(bill), Decimal(str(bill["TotalAmt"]))) == (tax, 600 + tax)
    else:
        assert "TaxCodeRef" not in detail and Decimal(str(bill["TotalAmt"])) == 600
    assert tenant.sb.state()["autotask"]["PurchaseOrders"][-1]["externalPONumber"]  # written back
