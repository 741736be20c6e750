"""More API users and line-of-business security, over real HTTP: each API user is a resource; one
associated with lines of business (OrganizationalResources) sees only billing items and
contracts of those lines or of none, in queries, counts, gets and updates, while everything else
(the invoice included) is unchanged for it."""

from __future__ import annotations

import pytest

from tests.sandbox.autotask_support import ALL_IDS, AT_RESOURCE_ID, invoice_world, seed

LOB_USER, LOB_SECRET, LOB_RESOURCE = "projects-api@sandbox.local", "projects-secret", 29682901
HELPDESK, PROJECTS = 1, 2  # organizational level associations


def lines_world(server, restrict_to: list[int] | None = None, resource: int = LOB_RESOURCE) -> None:
    """``invoice_world`` plus a Projects line, a line of no line of business, contracts, and a second
    API user; ``restrict_to`` associates ``resource`` with those lines of business."""
    invoice_world(server)
    seed(
        server,
        Resources=[{"id": LOB_RESOURCE, "firstName": "API", "lastName": "Projects", "isActive": True}],
        api_users=[{"username": LOB_USER, "secret": LOB_SECRET, "resourceID": LOB_RESOURCE}],
        OrganizationalLevel1s=[{"id": 2, "name": "Professional Services"}],
        OrganizationalLevel2s=[{"id": 2, "name": "Projects"}],
        OrganizationalLevelAssociations=[{"id": PROJECTS, "organizationalLevel1ID": 2, "organizationalLevel2ID": 2}],
        OrganizationalResources=[
            {"resourceID": resource, "organizationalLevelAssociationID": line} for line in restrict_to or []
        ],
        BillingItems=[
            {"id": 902, "invoiceID": 801, "companyID": 701, "totalAmount": 400, "organizationalLevelAssociationID": 2},
            {"id": 903, "invoiceID": 801, "companyID": 701, "totalAmount": 50},
        ],
        Contracts=[
            {
                "id": 601,
                "companyID": 701,
                "contractName": "Helpdesk block hours",
                "contractType": 4,
                "status": 1,
                "organizationalLevelAssociationID": HELPDESK,
            },
            {"id": 602, "companyID": 701, "contractName": "Migration", "contractType": 3, "status": 1},
        ],
    )


@pytest.fixture
def projects_api(autotask, autotask_client):
    lines_world(autotask.server, restrict_to=[PROJECTS])
    return autotask_client(autotask.server, username=LOB_USER, secret=LOB_SECRET)


def test_an_added_api_user_discovers_its_zone_and_authenticates_with_its_own_secret(autotask, autotask_client):
    lines_world(autotask.server)
    other = autotask_client(autotask.server, username=LOB_USER.upper(), secret=LOB_SECRET)
    assert other.url == autotask.url
    assert other.ids("BillingItems", ALL_IDS) == [901, 902, 903]  # no lines of business: sees everything
    wrong = other.call("GET", "Companies/0", headers={"Secret": "sandbox-secret"})
    assert wrong.status_code == 401 and "sandbox-secret" not in wrong.text


def test_a_restricted_user_queries_only_its_lines_and_lines_of_none(projects_api):
    assert projects_api.ids("BillingItems", ALL_IDS) == [902, 903]
    assert projects_api.count("BillingItems", {"op": "eq", "field": "invoiceID", "value": 801}) == 2
    assert projects_api.ids("Contracts", ALL_IDS) == [602]


def test_a_restricted_user_reads_another_lines_records_as_missing(projects_api):
    assert projects_api.get("BillingItems", 901) is None
    assert projects_api.get("Contracts", 601) is None
    assert projects_api.get("BillingItems", 902)["totalAmount"] == 400.0


def test_a_restricted_user_cannot_update_another_lines_item(projects_api, autotask):
    refused = projects_api.call("PATCH", "BillingItems", json={"id": 901, "purchaseOrderNumber": "PO-1"})
    assert refused.status_code == 500 and "No matching records found for BillingItem id 901" in refused.text
    allowed = projects_api.call("PATCH", "BillingItems", json={"id": 902, "purchaseOrderNumber": "PO-2"})
    assert allowed.json() == {"itemId": 902}
    assert [autotask.get("BillingItems", i)["purchaseOrderNumber"] for i in (901, 902)] == [None, "PO-2"]


def test_the_invoice_is_the_same_for_a_restricted_user_so_its_lines_fall_short(projects_api, autotask):
    invoice = projects_api.get("Invoices", 801)
    assert invoice == autotask.get("Invoices", 801)
    visible = projects_api.query("BillingItems", {"op": "eq", "field": "invoiceID", "value": 801})["items"]
    everything = autotask.query("BillingItems", {"op": "eq", "field": "invoiceID", "value": 801})["items"]
    assert sum(i["totalAmount"] for i in visible) == 450.0
    assert sum(i["totalAmount"] for i in everything) == 700.0


def test_other_entities_are_not_filtered_by_line_of_business(projects_api, autotask):
    for entity in ("Invoices", "Companies", "BillingCodes", "OrganizationalLevelAssociations"):
        assert projects_api.ids(entity, ALL_IDS) == autotask.ids(entity, ALL_IDS)


def test_a_restricted_user_may_create_a_contract_it_then_cannot_see(projects_api, autotask):
    contract = {
        "companyID": 701,
        "contractName": "Helpdesk retainer",
        "contractType": 6,
        "status": 1,
        "startDate": "2024-06-01",
        "endDate": "2025-05-31",
        "organizationalLevelAssociationID": HELPDESK,
    }
    new_id = projects_api.create("Contracts", contract)
    assert projects_api.get("Contracts", new_id) is None and autotask.get("Contracts", new_id) is not None


def test_the_main_api_user_is_restricted_by_its_own_organizational_resources(autotask):
    lines_world(autotask.server, restrict_to=[HELPDESK], resource=AT_RESOURCE_ID)
    assert autotask.ids("BillingItems", ALL_IDS) == [901, 903]
    assert autotask.server.state()["autotask"]["BillingItems"][1]["id"] == 902  # the control surface sees all
