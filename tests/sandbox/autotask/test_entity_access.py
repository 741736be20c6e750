"""An API user's entity permissions (its security level, the seed's ``api_users[].entity_access``),
over real HTTP: a denied query (query, count, next page, item read), create or update is HTTP 500
with the real permission text, other verbs, entities and users are unaffected, entityInformation
stays readable and reports the user's access, and a bad ``entity_access`` is refused naming the
key."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from sandbox.core import SeedError
from tests.sandbox.autotask_support import ALL_IDS, a_company, invoice_world, seed

CLERK, CLERK_SECRET, CLERK_RESOURCE = "clerk-api@sandbox.local", "clerk-secret", 29682901
OTHER, OTHER_SECRET, OTHER_RESOURCE = "other-api@sandbox.local", "other-secret", 29682902
ACCESS = {
    "PurchaseOrders": {"query": False},
    "Invoices": {"update": False, "query": True},
    "Companies": {"create": False},
    "PurchaseOrderItems": {"create": False, "update": False},
}
RESOURCES = [
    {"id": CLERK_RESOURCE, "firstName": "API", "lastName": "Clerk", "isActive": True},
    {"id": OTHER_RESOURCE, "firstName": "API", "lastName": "Other", "isActive": True},
]
USERS = [
    {"username": CLERK, "secret": CLERK_SECRET, "resourceID": CLERK_RESOURCE, "entity_access": ACCESS},
    {"username": OTHER, "secret": OTHER_SECRET, "resourceID": OTHER_RESOURCE},
]


def denied(verb: str) -> dict:
    return {"errors": [f"The logged in Resource does not have the adequate permissions to {verb} this entity."]}


@pytest.fixture
def world(autotask):
    """An invoice, a vendor with a purchase order and an item, and two more API users: the clerk
    (restricted by ``ACCESS``) and another with no entity_access."""
    invoice_world(autotask.server)
    seed(
        autotask.server,
        Resources=RESOURCES,
        api_users=USERS,
        Companies=[a_company(id=601, companyName="Ingram Micro", companyType=7)],
        Products=[{"id": 401, "name": "Dell OptiPlex 7020", "productBillingCodeID": 501, "unitCost": 899}],
        PurchaseOrders=[{"id": 301, "vendorID": 601, "status": 1}, {"id": 302, "vendorID": 601, "status": 1}],
        PurchaseOrderItems=[{"id": 351, "orderID": 301, "productID": 401, "quantity": 1, "unitCost": 899}],
    )
    return autotask


@pytest.fixture
def clerk(world, autotask_client):
    return autotask_client(world.server, username=CLERK, secret=CLERK_SECRET)


def test_a_denied_query_is_a_500_for_query_count_next_and_get(clerk):
    body = {"filter": [ALL_IDS], "MaxRecords": 1}
    search = quote(json.dumps(body), safe="")
    paging = quote(json.dumps({"pageSize": 1, "previousIds": [-1], "nextIds": [302]}), safe="")
    for method, path, kwargs in [
        ("POST", "PurchaseOrders/query", {"json": body}),
        ("GET", f"PurchaseOrders/query?search={search}", {}),
        ("POST", "PurchaseOrders/query/count", {"json": body}),
        ("POST", f"PurchaseOrders/query/next?paging={paging}", {"json": body}),
        ("GET", "PurchaseOrders/301", {}),
        ("GET", "purchaseorders/999", {}),  # a missing id too: no {"item": null}
    ]:
        response = clerk.call(method, path, **kwargs)
        assert (response.status_code, response.json()) == (500, denied("query")), path


def test_a_denied_create_or_update_is_a_500_and_changes_nothing(clerk, world):
    refused = clerk.call("POST", "Companies", json=a_company(companyName="Not created"))
    assert (refused.status_code, refused.json()) == (500, denied("create"))
    assert world.count("Companies", {"op": "eq", "field": "companyName", "value": "Not created"}) == 0
    for method in ("PATCH", "PUT"):
        refused = clerk.call(method, "Invoices", json={"id": 801, "comments": "changed"})
        assert (refused.status_code, refused.json()) == (500, denied("update"))
    assert world.get("Invoices", 801)["comments"] == "May"
    # through the parent, the child entity's permissions decide
    item = {"productID": 401, "quantity": 2, "unitCost": 899}
    refused = clerk.call("POST", "PurchaseOrders/302/Items", json=item)
    assert (refused.status_code, refused.json()) == (500, denied("create"))
    refused = clerk.call("PATCH", "PurchaseOrders/301/Items", json={"id": 351, "quantity": 5})
    assert (refused.status_code, refused.json()) == (500, denied("update"))
    assert world.count("PurchaseOrderItems", ALL_IDS) == 1 and world.get("PurchaseOrderItems", 351)["quantity"] == 1


def test_the_verbs_and_entities_left_out_are_allowed(clerk):
    assert clerk.ids("Invoices", ALL_IDS) == [801] and clerk.get("Invoices", 801)["invoiceNumber"] == "INV-1001"
    assert clerk.count("Companies", ALL_IDS) == 3
    assert clerk.call("PATCH", "Companies", json={"id": 701, "city": "Dayton"}).json() == {"itemId": 701}
    assert clerk.ids("PurchaseOrderItems", ALL_IDS) == [351]
    assert clerk.call("PATCH", "PurchaseOrders", json={"id": 302, "status": 2}).json() == {"itemId": 302}
    # a verb the entity lacks is still the 405 it always was, not a permission error
    assert clerk.call("POST", "Invoices", json={"companyID": 701}).status_code == 405


def test_other_api_users_are_unaffected(world, autotask_client):
    other = autotask_client(world.server, username=OTHER, secret=OTHER_SECRET)
    for client in (world, other):
        assert client.ids("PurchaseOrders", ALL_IDS) == [301, 302]
        assert client.get("PurchaseOrders", 301)["vendorID"] == 601
        assert client.create("Companies", a_company(companyName=f"Made by {client.headers['UserName']}"))
        assert client.call("PATCH", "Invoices", json={"id": 801, "comments": "ok"}).json() == {"itemId": 801}


def test_entity_information_stays_readable_and_reports_the_users_access(clerk, world):
    def info(client, entity: str) -> dict:
        response = client.call("GET", f"{entity}/entityInformation")
        assert response.status_code == 200, response.text
        return response.json()["info"]

    verbs = ("canQuery", "userAccessForQuery", "canCreate", "userAccessForCreate", "canUpdate", "userAccessForUpdate")
    seen = {
        entity: tuple(info(clerk, entity)[k] for k in verbs) for entity in ("PurchaseOrders", "Invoices", "Companies")
    }
    assert seen == {
        "PurchaseOrders": (True, "None", True, "All", True, "All"),
        "Invoices": (True, "All", False, "None", True, "None"),
        "Companies": (True, "All", True, "None", True, "All"),
    }
    assert info(world, "PurchaseOrders")["userAccessForQuery"] == "All"  # the main API user
    fields = clerk.call("GET", "PurchaseOrders/entityInformation/fields")
    assert fields.status_code == 200 and any(f["name"] == "status" for f in fields.json()["fields"])


def test_entity_access_round_trips_in_the_state_and_merges_with_its_user(world, autotask_client):
    state = world.server.state()["autotask"]
    assert [u.get("entity_access") for u in state["api_users"]] == [ACCESS, None]
    world.server.reset()
    world.server.seed({"autotask": state})
    assert world.server.state()["autotask"] == state
    # seeding the user again without entity_access gives it every right back
    seed(world.server, api_users=[{k: v for k, v in USERS[0].items() if k != "entity_access"}])
    assert autotask_client(world.server, username=CLERK, secret=CLERK_SECRET).ids("PurchaseOrders", ALL_IDS)


@pytest.mark.parametrize(
    "access, expected",
    [
        (["PurchaseOrders"], 'api_users[0].entity_access must be an object of entity name -> {"query": bool'),
        ({"PurchaseOrder": {"query": False}}, "api_users[0].entity_access.PurchaseOrder is not an entity the sandbox"),
        ({"PurchaseOrders": {"delete": False}}, "api_users[0].entity_access.PurchaseOrders takes only query, create"),
        ({"PurchaseOrders": False}, "api_users[0].entity_access.PurchaseOrders takes only query, create and update"),
        ({"Invoices": {"update": "no"}}, "api_users[0].entity_access.Invoices.update must be true or false, got 'no'"),
    ],
)
def test_a_bad_entity_access_is_refused_whole_naming_the_key(fresh_sandbox, access, expected):
    before = fresh_sandbox.state()
    user = {"username": CLERK, "secret": CLERK_SECRET, "resourceID": CLERK_RESOURCE, "entity_access": access}
    with pytest.raises(SeedError) as refused:
        fresh_sandbox.seed({"autotask": {"Resources": RESOURCES[:1], "api_users": [user]}})
    assert expected in str(refused.value)
    assert fresh_sandbox.state() == before
