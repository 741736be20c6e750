"""The billing entities a real tenant adds to the demo's, over real HTTP: the tax tables (TaxRegions,
TaxCategories, Taxes) and who references them, Contracts and the billing items they cover, and
OrganizationalResources (query only)."""

from __future__ import annotations

import pytest

from sandbox.core import SeedError
from tests.sandbox.autotask_support import ALL_IDS, a_company, invoice_world, picklist, seed


def test_tax_tables_are_created_queried_and_described_like_other_entities(autotask):
    region = autotask.create("TaxRegions", {"name": "Ontario"})
    category = autotask.create("TaxCategories", {"name": "Labour", "description": "Services"})
    tax = autotask.create("Taxes", {"taxRegionID": region, "taxCategoryID": category, "taxName": "HST", "taxRate": 13})
    assert autotask.get("TaxRegions", region)["isActive"] is True
    assert autotask.query("Taxes", {"op": "eq", "field": "taxRegionID", "value": region})["items"] == [
        {
            "id": tax,
            "isCompounded": None,
            "taxCategoryID": category,
            "taxName": "HST",
            "taxRate": 13.0,
            "taxRegionID": region,
            "userDefinedFields": [],
        }
    ]
    fields = {f["name"]: f for f in autotask.call("GET", "Taxes/entityInformation/fields").json()["fields"]}
    assert (fields["taxRegionID"]["referenceEntityType"], fields["taxCategoryID"]["referenceEntityType"]) == (
        "TaxRegion",
        "TaxCategory",
    )
    info = autotask.call("GET", "TaxCategories/entityInformation").json()["info"]
    assert (info["canCreate"], info["canUpdate"], info["canDelete"]) == (True, True, False)


@pytest.mark.parametrize(
    "entity, body, field",
    [
        ("Taxes", {"taxRegionID": 404, "taxCategoryID": 1, "taxName": "HST", "taxRate": 13}, "taxRegionID"),
        ("Companies", a_company(taxRegionID=404), "taxRegionID"),
        ("PurchaseOrders", {"vendorID": 0, "status": 1, "taxRegionID": 404}, "taxRegionID"),
    ],
)
def test_a_tax_region_that_does_not_exist_is_refused(autotask, entity, body, field):
    seed(autotask.server, TaxCategories=[{"id": 1, "name": "Labour"}])
    response = autotask.call("POST", entity, json=body)
    assert response.status_code == 500
    assert response.json()["errors"] == [f"Value does not reference an existing entity for {field} . "]


def test_missing_tax_fields_are_refused(autotask):
    response = autotask.call("POST", "Taxes", json={"taxName": "HST"})
    assert response.json()["errors"] == ["Missing required field taxCategoryID for the Tax Entity"]


def test_a_billing_code_names_its_tax_category(fresh_sandbox):
    with pytest.raises(SeedError, match=r"BillingCodes\[0\] \(id 501\): .* for taxCategoryID"):
        seed(fresh_sandbox, BillingCodes=[{"id": 501, "name": "Remote Support", "taxCategoryID": 9}])
    seed(
        fresh_sandbox,
        TaxCategories=[{"id": 9, "name": "Labour"}],
        BillingCodes=[{"id": 501, "name": "Remote Support", "taxCategoryID": 9}],
    )
    assert fresh_sandbox.state()["autotask"]["BillingCodes"][0]["taxCategoryID"] == 9


def test_a_contract_is_created_with_its_type_dates_and_status(autotask):
    seed(autotask.server, Companies=[a_company(id=701)])
    assert picklist(autotask, "Contracts", "contractType") == {
        "1": "Time and Materials",
        "3": "Fixed Price",
        "4": "Block Hours",
        "6": "Retainer",
        "7": "Recurring Service",
        "8": "Per Ticket",
    }
    missing = autotask.call("POST", "Contracts", json={"companyID": 701, "contractName": "Block", "contractType": 4})
    assert missing.json()["errors"] == ["Missing required field endDate for the Contract Entity"]
    bad_type = {"companyID": 701, "contractName": "Block", "contractType": 2, "status": 1}
    dates = {"startDate": "2024-01-01", "endDate": "2024-12-31"}
    refused = autotask.call("POST", "Contracts", json={**bad_type, **dates})
    assert refused.json()["errors"] == ["Value 2 is not a valid picklist value for contractType"]
    new_id = autotask.create("Contracts", {**bad_type, **dates, "contractType": 4})
    assert autotask.get("Contracts", new_id)["startDate"] == "2024-01-01T00:00:00Z"


def test_a_billing_item_covered_by_a_contract_names_one_that_exists(fresh_sandbox):
    invoice_world(fresh_sandbox)
    covered = {"id": 902, "invoiceID": 801, "companyID": 701, "quantity": 3, "rate": 150, "extendedPrice": 150}
    with pytest.raises(SeedError, match=r"BillingItems\[0\] \(id 902\): .* for contractID"):
        seed(fresh_sandbox, BillingItems=[{**covered, "contractID": 601}])
    seed(
        fresh_sandbox,
        Contracts=[{"id": 601, "companyID": 701, "contractName": "Block hours", "contractType": 4}],
        BillingItems=[{**covered, "contractID": 601}],
    )
    assert fresh_sandbox.state()["autotask"]["BillingItems"][1]["contractID"] == 601


def test_organizational_resources_are_read_only_through_the_api(autotask):
    seed(
        autotask.server,
        OrganizationalLevel1s=[{"id": 1, "name": "Managed Services"}],
        OrganizationalLevel2s=[{"id": 1, "name": "Helpdesk"}],
        OrganizationalLevelAssociations=[{"id": 1, "organizationalLevel1ID": 1, "organizationalLevel2ID": 1}],
        OrganizationalResources=[{"id": 3, "resourceID": 29682885, "organizationalLevelAssociationID": 1}],
    )
    rows = autotask.query("OrganizationalResources", ALL_IDS)["items"]
    assert [(r["resourceID"], r["organizationalLevelAssociationID"]) for r in rows] == [(29682885, 1)]
    post = autotask.call("POST", "OrganizationalResources", json={"resourceID": 29682885})
    assert post.status_code == 405
