"""The real-tenant settings over real HTTP, each against the demo tenant's default:
``keep_empty_strings`` (a string cleared with "" stays "", so notExist misses it; null clears) and
``refuse_unqueryable_fields`` (the fields the vendor documents as not queryable, and
userDefinedFields, refused in IncludeFields as well as in filters)."""

from __future__ import annotations

import pytest

from tests.sandbox.autotask_support import ALL_IDS, AT_RESOURCE_ID, invoice_world, seed

UNSYNCED = {"op": "notExist", "field": "invoiceNumber"}


def patch(autotask, body: dict) -> None:
    response = autotask.call("PATCH", "Invoices", json=body)
    assert response.json() == {"itemId": body["id"]}, response.text


def refusal(autotask, entity: str, body: dict) -> str | None:
    """The error of a query of ``entity`` with ``body`` (filter defaulted), None when it is answered."""
    response = autotask.call("POST", f"{entity}/query", json={"filter": [ALL_IDS], **body})
    return response.json()["errors"][0] if response.status_code == 500 else None


def test_by_default_an_empty_string_is_stored_as_null(autotask):
    invoice_world(autotask.server)
    patch(autotask, {"id": 801, "invoiceNumber": ""})
    assert autotask.get("Invoices", 801)["invoiceNumber"] is None
    assert autotask.ids("Invoices", UNSYNCED) == [801]


def test_a_tenant_keeping_empty_strings_leaves_a_record_cleared_with_empty_string_set(autotask):
    invoice_world(autotask.server)
    seed(autotask.server, settings={"keep_empty_strings": True})
    patch(autotask, {"id": 801, "invoiceNumber": ""})
    assert autotask.get("Invoices", 801)["invoiceNumber"] == ""
    assert autotask.ids("Invoices", UNSYNCED) == []
    assert autotask.ids("Invoices", {"op": "exist", "field": "invoiceNumber"}) == [801]
    assert autotask.ids("Invoices", {"op": "eq", "field": "invoiceNumber", "value": ""}) == [801]
    assert autotask.ids("Invoices", {"op": "beginsWith", "field": "invoiceNumber", "value": "INV"}) == []


def test_clearing_with_null_clears_whatever_the_setting(autotask):
    invoice_world(autotask.server)
    seed(autotask.server, settings={"keep_empty_strings": True})
    patch(autotask, {"id": 801, "invoiceNumber": None, "comments": None})
    assert autotask.ids("Invoices", UNSYNCED) == [801]
    assert autotask.get("Invoices", 801)["comments"] is None


def test_a_tenant_keeping_empty_strings_keeps_them_in_creates_and_user_defined_fields(autotask):
    seed(autotask.server, settings={"keep_empty_strings": True})
    company = {"companyName": "Contoso", "companyType": 1, "phone": "555-0100", "ownerResourceID": AT_RESOURCE_ID}
    new_id = autotask.create("Companies", {**company, "city": "", "userDefinedFields": [{"name": "PO", "value": ""}]})
    stored = autotask.get("Companies", new_id)
    assert (stored["city"], stored["userDefinedFields"]) == ("", [{"name": "PO", "value": ""}])
    assert autotask.ids("Companies", {"op": "notExist", "field": "PO", "udf": True}) == [0]  # only the local company


@pytest.mark.parametrize(
    "entity, body",
    [
        ("Invoices", {"IncludeFields": ["invoiceNumber", "dueDate"]}),
        ("Companies", {"IncludeFields": ["companyName", "userDefinedFields"]}),
        ("BillingItems", {"IncludeFields": ["lineItemFullDescription"]}),
        ("BillingItems", {"filter": [{"op": "contains", "field": "lineItemGroupDescription", "value": "x"}]}),
    ],
)
def test_by_default_the_documented_unqueryable_fields_may_be_included(autotask, entity, body):
    invoice_world(autotask.server)
    assert refusal(autotask, entity, body) is None


@pytest.mark.parametrize(
    "entity, body, expected",
    [
        (
            "Invoices",
            {"IncludeFields": ["invoiceNumber", "dueDate"]},
            "The field dueDate in the Invoice Entity is not queryable",
        ),
        (
            "Companies",
            {"IncludeFields": ["companyName", "userDefinedFields"]},
            "Unable to find userDefinedFields in the Company Entity",
        ),
        (
            "BillingItems",
            {"IncludeFields": ["lineItemFullDescription"]},
            "The field lineItemFullDescription in the BillingItem Entity is not queryable",
        ),
        (
            "BillingItems",
            {"filter": [{"op": "contains", "field": "lineItemGroupDescription", "value": "x"}]},
            "The field lineItemGroupDescription in the BillingItem Entity is not queryable",
        ),
    ],
)
def test_a_strict_tenant_refuses_the_documented_unqueryable_fields(autotask, entity, body, expected):
    invoice_world(autotask.server)
    seed(autotask.server, settings={"refuse_unqueryable_fields": True})
    assert refusal(autotask, entity, body) == expected


def test_filtering_on_due_date_or_tax_region_id_is_refused_by_every_tenant(autotask):
    invoice_world(autotask.server)
    due = {"filter": [{"op": "gt", "field": "dueDate", "value": "2024-01-01"}]}
    region = {"filter": [{"op": "eq", "field": "taxRegionID", "value": 1}]}
    assert refusal(autotask, "Invoices", due) == "The field dueDate in the Invoice Entity is not queryable"
    # The docs list taxRegionID too, but no Invoice model has it: the unknown-field error.
    unknown = "Unable to find taxRegionID in the Invoice Entity"
    assert refusal(autotask, "Invoices", region) == unknown
    assert refusal(autotask, "Invoices", {"IncludeFields": ["taxRegionID"]}) == unknown


def test_a_strict_tenant_still_returns_udfs_in_full_records_and_by_label(autotask):
    seed(
        autotask.server,
        settings={"refuse_unqueryable_fields": True},
        Companies=[{"id": 5, "companyName": "A", "userDefinedFields": [{"name": "Invoice Email", "value": "a@x"}]}],
    )
    assert autotask.get("Companies", 5)["userDefinedFields"] == [{"name": "Invoice Email", "value": "a@x"}]
    udf = {"op": "eq", "field": "Invoice Email", "value": "a@x", "udf": True}
    assert autotask.ids("Companies", udf) == [5]


def test_a_strict_tenant_reports_the_documented_fields_as_not_queryable(autotask):
    def queryable(entity: str) -> dict[str, bool]:
        fields = autotask.call("GET", f"{entity}/entityInformation/fields").json()["fields"]
        return {f["name"]: f["isQueryable"] for f in fields}

    assert queryable("BillingItems")["lineItemFullDescription"] is True
    seed(autotask.server, settings={"refuse_unqueryable_fields": True})
    assert queryable("BillingItems")["lineItemFullDescription"] is False
    assert queryable("Invoices")["dueDate"] is False and queryable("Invoices")["invoiceNumber"] is True
