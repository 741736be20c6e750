"""The complete real-tenant Autotask seed (``real_tenant_seed.json``: a Canadian MSP with customers
billed in CAD and AUD, one tax-exempt, tax regions, categories and rates, work covered by a
contract, a non-billable line, an API user restricted to one line of business whose security
level denies querying purchase orders and updating invoices, purchase order statuses spelt the
tenant's way, both real-tenant settings on), seeded from its file and read back over HTTP, one behaviour per test.

The file is the example the named real-tenant seeds are written from; every key it uses is
described in sandbox/README.md ("Autotask", "Seeds and state").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.seeds import load_seed
from tests.sandbox.autotask_support import ALL_IDS, picklist

SEED = Path(__file__).with_name("real_tenant_seed.json")
HELPDESK_USER, HELPDESK_SECRET = "helpdesk-api@northwind.example", "helpdesk-secret"


def eq(field: str, value) -> dict:
    return {"op": "eq", "field": field, "value": value}


@pytest.fixture
def tenant(autotask):
    autotask.server.seed(load_seed(str(SEED)))
    return autotask


@pytest.fixture
def helpdesk_api(tenant, autotask_client):
    return autotask_client(tenant.server, username=HELPDESK_USER, secret=HELPDESK_SECRET)


def test_companies_carry_their_currency_tax_region_and_exemption(tenant):
    companies = {c["id"]: c for c in tenant.query("Companies", {"op": "gt", "field": "id", "value": 0})["items"]}
    currencies = {c["id"]: c["name"] for c in tenant.query("Currencies", ALL_IDS)["items"]}
    regions = {r["id"]: r["name"] for r in tenant.query("TaxRegions", ALL_IDS)["items"]}
    seen = {
        c["companyName"]: (currencies[c["currencyID"]], regions[c["taxRegionID"]], c["isTaxExempt"])
        for c in companies.values()
    }
    assert seen == {
        "Maple Dental": ("CAD", "Ontario", False),
        "Harbour Freight Pty": ("AUD", "Australia", False),
        "Northern Lights First Nation": ("CAD", "Ontario", True),
    }


def test_tax_rates_are_kept_per_region_and_category(tenant):
    codes = {c["name"]: c["taxCategoryID"] for c in tenant.query("BillingCodes", ALL_IDS)["items"]}
    hardware_in_ontario = tenant.query("Taxes", eq("taxRegionID", 1), eq("taxCategoryID", codes["Workstation"]))
    assert [(t["taxName"], t["taxRate"]) for t in hardware_in_ontario["items"]] == [("HST", 13.0)]
    quebec_labour = tenant.query("Taxes", eq("taxRegionID", 3), eq("taxCategoryID", 1))["items"]
    assert sum(t["taxRate"] for t in quebec_labour) == pytest.approx(14.975)  # GST and QST, two rows
    assert codes["Travel"] is None  # a code without a tax category


def test_invoices_carry_their_tax_in_the_customers_currency(tenant):
    invoices = {i["invoiceNumber"]: i for i in tenant.query("Invoices", ALL_IDS)["items"]}
    assert [(n, i["totalTaxValue"], i["taxRegionName"]) for n, i in sorted(invoices.items())] == [
        ("INV-2001", 175.5, "Ontario"),
        ("INV-2002", 57.5, "Australia"),
        ("INV-2003", 0.0, None),  # the tax-exempt customer
    ]
    aud_lines = tenant.query("BillingItems", eq("invoiceID", 802))["items"]
    assert sum(i["extendedPrice"] + i["taxDollars"] for i in aud_lines) == invoices["INV-2002"]["invoiceTotal"]
    # the internalCurrency* amounts are in the tenant's own currency (CAD), the others in AUD
    assert [(i["extendedPrice"], i["internalCurrencyExtendedPrice"]) for i in aud_lines] == [
        (500.0, 450.0),
        (75.0, 67.5),
    ]


def test_covered_work_is_billed_below_rate_times_quantity_and_says_which_contract(tenant):
    item = tenant.get("BillingItems", 901)
    assert item["extendedPrice"] < item["rate"] * item["quantity"] and item["nonBillable"] == 0
    contract = tenant.get("Contracts", item["contractID"])
    types = picklist(tenant, "Contracts", "contractType")
    assert (contract["contractName"], types[str(contract["contractType"])]) == (
        "Maple Dental block hours",
        "Block Hours",
    )


def test_a_non_billable_line_is_on_the_invoice_at_zero(tenant):
    item = tenant.get("BillingItems", 903)
    assert (item["nonBillable"], item["extendedPrice"], item["totalAmount"], item["taxDollars"]) == (1, 0.0, 0.0, 0.0)
    assert item["rate"] * item["quantity"] == 150.0


def test_the_restricted_api_user_sees_its_line_of_business_and_lines_of_none(tenant, helpdesk_api):
    assert tenant.ids("BillingItems", ALL_IDS) == [901, 902, 903, 904, 905, 906]
    assert helpdesk_api.ids("BillingItems", ALL_IDS) == [901, 903, 905, 906]  # Helpdesk, or no line of business
    assert helpdesk_api.count("BillingItems", eq("invoiceID", 801)) == 2
    assert helpdesk_api.call("GET", "BillingItems/902").json() == {"item": None}
    assert helpdesk_api.ids("Contracts", ALL_IDS) == [601]


def test_the_restricted_api_user_sees_the_whole_invoice_but_not_all_its_lines(tenant, helpdesk_api):
    invoice = helpdesk_api.get("Invoices", 801)
    assert invoice == tenant.get("Invoices", 801)
    lines = helpdesk_api.query("BillingItems", eq("invoiceID", 801))["items"]
    visible = sum(i["totalAmount"] + i["taxDollars"] for i in lines)
    assert visible == 169.5 and invoice["invoiceTotal"] == 1525.5


def test_the_restricted_api_users_security_level_refuses_what_it_may_not_do(tenant, helpdesk_api):
    permission = "The logged in Resource does not have the adequate permissions to {} this entity."
    refused = helpdesk_api.call("POST", "PurchaseOrders/query/count", json={"filter": [ALL_IDS]})
    assert (refused.status_code, refused.json()) == (500, {"errors": [permission.format("query")]})
    refused = helpdesk_api.call("PATCH", "Invoices", json={"id": 801, "comments": "changed"})
    assert (refused.status_code, refused.json()) == (500, {"errors": [permission.format("update")]})
    info = helpdesk_api.call("GET", "Invoices/entityInformation").json()["info"]
    assert (info["canUpdate"], info["userAccessForUpdate"], info["userAccessForQuery"]) == (True, "None", "All")
    assert tenant.count("PurchaseOrders", ALL_IDS) == 0  # the main API user is unrestricted


def test_purchase_order_statuses_are_spelt_the_tenants_way(tenant):
    assert picklist(tenant, "PurchaseOrders", "status") == {
        "1": "New",
        "2": "Sent to supplier",
        "3": "Partly received",
        "4": "Received",
        "5": "Cancelled",
    }
    fields = tenant.call("GET", "PurchaseOrders/entityInformation/fields").json()["fields"]
    status = next(f for f in fields if f["name"] == "status")
    assert [v["label"] for v in status["picklistValues"] if not v["isActive"]] == ["Partly received"]


def test_clearing_a_string_with_an_empty_string_leaves_it_set_for_not_exist(tenant):
    unsynced = {"op": "notExist", "field": "invoiceNumber"}
    tenant.call("PATCH", "Invoices", json={"id": 801, "invoiceNumber": ""})
    assert tenant.get("Invoices", 801)["invoiceNumber"] == ""
    assert tenant.ids("Invoices", unsynced) == []
    tenant.call("PATCH", "Invoices", json={"id": 801, "invoiceNumber": None})
    assert tenant.ids("Invoices", unsynced) == [801]


@pytest.mark.parametrize(
    "entity, include, refused",
    [
        ("Invoices", ["invoiceNumber", "dueDate"], "dueDate in the Invoice Entity is not queryable"),
        ("Companies", ["companyName", "userDefinedFields"], "Unable to find userDefinedFields in the Company Entity"),
        ("BillingItems", ["lineItemFullDescription"], "lineItemFullDescription in the BillingItem Entity"),
    ],
)
def test_the_fields_the_docs_say_cannot_be_queried_are_refused(tenant, entity, include, refused):
    response = tenant.call("POST", f"{entity}/query", json={"filter": [ALL_IDS], "IncludeFields": include})
    assert response.status_code == 500 and refused in response.json()["errors"][0]
