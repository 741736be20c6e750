"""The sandbox's Autotask PSA emulator over real HTTP: zones, authentication, endpoints, paging,
writes and their rules, picklists, limits, seeds and state, fault injection, and the demo seed.

Filter-grammar cases live in test_autotask_filter.py; a third-party client in
test_autotask_thirdparty.py.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from sandbox.core import SeedError
from sandbox.seeds import demo_autotask
from sandbox.server import Sandbox

AT_USER = "atqbo-api@sandbox.local"
AT_SECRET = "sandbox-secret"
AT_CODE = "ATQBOSANDBOX"
AT_RESOURCE_ID = 29682885
ALL_IDS = {"op": "gte", "field": "id", "value": 0}


def seed(server: Sandbox, **part) -> None:
    server.seed({"autotask": part})


def control(server: Sandbox, method: str, what: str, doc=None) -> requests.Response:
    return requests.request(method, f"{server.base_url}/_sandbox/{what}", json=doc, timeout=10)


def companies(n: int, start: int = 0, **fields) -> list[dict]:
    return [
        {
            "companyName": f"Company {i:04d}",
            "companyType": 1,
            "phone": "555-0100",
            "ownerResourceID": AT_RESOURCE_ID,
            **fields,
        }
        for i in range(start, start + n)
    ]


def a_company(**fields) -> dict:
    return {**companies(1)[0], "companyName": "Contoso Dental", **fields}


def invoice_world(server: Sandbox) -> None:
    """One customer with one invoice and a line, and the lookups they reference."""
    seed(
        server,
        PaymentTerms=[{"id": 1, "name": "Net 30 Days", "paymentDueInDays": 30}, {"id": 2, "name": "Due on Receipt"}],
        BillingCodes=[
            {"id": 501, "name": "Remote Support", "externalNumber": "SUP-REM", "billingCodeType": 1, "useType": 1}
        ],
        OrganizationalLevel1s=[{"id": 1, "name": "Managed Services"}],
        OrganizationalLevel2s=[{"id": 1, "name": "Helpdesk"}],
        OrganizationalLevelAssociations=[{"id": 1, "organizationalLevel1ID": 1, "organizationalLevel2ID": 1}],
        Companies=[a_company(id=701)],
        Invoices=[
            {
                "id": 801,
                "companyID": 701,
                "invoiceNumber": "INV-1001",
                "invoiceTotal": 250.0,
                "invoiceDateTime": "2024-05-31T00:00:00Z",
                "paymentTerm": 1,
                "comments": "May",
            }
        ],
        BillingItems=[
            {
                "id": 901,
                "invoiceID": 801,
                "companyID": 701,
                "billingCodeID": 501,
                "quantity": 2,
                "rate": 125,
                "totalAmount": 250,
                "organizationalLevelAssociationID": 1,
            }
        ],
    )


# -- zones -------------------------------------------------------------------------------------


def test_zone_information_points_at_this_server_without_auth(fresh_sandbox):
    base = fresh_sandbox.base_url
    for path in (
        "/atservicesrest/v1.0/zoneInformation",
        "/ATServicesRest/V1.0/ZoneInformation",
        "/ws1/atservicesrest/v1.0/zoneinformation",
        "/ws9/ATSERVICESREST/v1.0/zoneInformation",
    ):
        response = requests.get(base + path, params={"user": AT_USER.upper()}, timeout=5)
        assert response.status_code == 200, path
        assert response.json() == {
            "zoneName": "Sandbox Zone ws1",
            "url": f"{base}/ws1/atservicesrest/",
            "webUrl": f"{base}/ws1/",
            "ci": 29680,
        }
    # The URL is built from the Host header the client used, so it stays reachable through it.
    response = requests.get(
        f"{base}/atservicesrest/v1.0/zoneInformation",
        params={"user": AT_USER},
        headers={"Host": "localhost:1234"},
        timeout=5,
    )
    assert response.json()["url"] == "http://localhost:1234/ws1/atservicesrest/"


@pytest.mark.parametrize("user", ["nobody@example.com", "", None])
def test_zone_information_unknown_or_blank_user_is_500(fresh_sandbox, user):
    params = {} if user is None else {"user": user}
    response = requests.get(f"{fresh_sandbox.base_url}/atservicesrest/v1.0/zoneInformation", params=params, timeout=5)
    assert response.status_code == 500
    assert response.json() == {"errors": ["Zone information could not be determined"]}


def test_calls_on_the_bare_prefix_or_another_zone_are_401(autotask):
    base = autotask.server.base_url
    for prefix in ("/atservicesrest", "/ws2/atservicesrest", "/webservices5/atservicesrest"):
        response = autotask.call("POST", f"{base}{prefix}/v1.0/Companies/query", json={"filter": [ALL_IDS]})
        assert response.status_code == 401, prefix
        assert "zoneInformation" in response.json()["errors"][0]
    assert (
        autotask.call("POST", f"{base}/WS1/ATServicesRest/V1.0/companies/QUERY", json={"filter": [ALL_IDS]}).status_code
        == 200
    )


def test_zone_move_needs_rediscovery(autotask):
    old_url = autotask.url
    seed(autotask.server, zone="ws2")
    assert autotask.call("POST", "Companies/query/count", json={"filter": [ALL_IDS]}).status_code == 401
    assert autotask.discover() == f"{autotask.server.base_url}/ws2/atservicesrest/v1.0/" != old_url
    assert autotask.count("Companies", ALL_IDS) == 1
    assert autotask.server.state()["autotask"]["zone"] == "ws2"
    autotask.server.reset()
    assert autotask.discover().endswith("/ws1/atservicesrest/v1.0/")


# -- authentication -----------------------------------------------------------------------------


def test_auth_failures_use_the_real_status_codes(autotask):
    def count_with(**headers) -> requests.Response:
        return autotask.call("POST", "Companies/query/count", json={"filter": [ALL_IDS]}, headers=headers)

    bad_user = count_with(UserName="someone@else.example")
    assert bad_user.status_code == 500 and bad_user.json()["errors"]
    bad_secret = count_with(Secret="wrong-secret")
    assert bad_secret.status_code == 401 and bad_secret.json()["errors"]
    assert "wrong-secret" not in bad_secret.text and AT_SECRET not in bad_secret.text
    bad_code = count_with(ApiIntegrationCode="NOPE")
    assert bad_code.status_code == 500 and bad_code.json() == {"errors": ["IntegrationCode is invalid."]}
    no_headers = requests.post(autotask.url + "Companies/query/count", json={"filter": [ALL_IDS]}, timeout=5)
    assert no_headers.status_code == 500
    # Header names are case-insensitive; the user name is an email, compared without case
    lower = {"apiintegrationcode": AT_CODE.lower(), "username": AT_USER.upper(), "secret": AT_SECRET}
    assert requests.post(
        autotask.url + "Companies/query/count", json={"filter": [ALL_IDS]}, headers=lower, timeout=5
    ).json() == {"queryCount": 1}


def test_seeded_credentials_replace_the_defaults_until_reset(autotask, autotask_client):
    seed(autotask.server, credentials={"username": "api@msp.example", "secret": "n3w", "integration_code": "CODE2"})
    assert autotask.call("GET", "Companies/0").status_code == 500
    other = autotask_client(autotask.server, "api@msp.example", "n3w", "CODE2")
    assert other.get("Companies", 0)["id"] == 0
    assert control(autotask.server, "GET", "connections").json()["autotask_default"] == {
        "conn_type": "autotask",
        "host": autotask.server.base_url,
        "login": "api@msp.example",
        "password": "n3w",
        "extra": {"integration_code": "CODE2"},
    }
    assert control(autotask.server, "POST", "reset").status_code == 200
    assert autotask.get("Companies", 0)["id"] == 0


# -- reads and paging --------------------------------------------------------------------------


def test_get_item_and_null_for_a_missing_id(autotask):
    item = autotask.get("Companies", 0)
    assert item["companyName"] == "Sandbox MSP (local company)" and item["userDefinedFields"] == []
    assert autotask.get("Companies", 123456789) is None
    assert autotask.get("resources", AT_RESOURCE_ID)["isActive"] is True  # entity names are case-insensitive


def test_routes_the_real_api_does_not_have(autotask):
    not_get = {"Message": "The requested resource does not support http method 'GET'."}
    for path in ("Companies", "Invoices", "Companies/query"):  # a bare query GET has no search: no action
        response = autotask.call("GET", path)
        assert (response.status_code, response.json()) == (405, not_get), path
    assert autotask.call("DELETE", "Companies/0").status_code == 405
    assert autotask.call("POST", "Companies/0").status_code == 405
    assert autotask.call("PUT", "Companies/query", json={}).status_code == 405
    missing = autotask.call("GET", "Widgets/1")
    assert missing.status_code == 404 and "Message" in missing.json()
    assert autotask.call("GET", autotask.url.replace("v1.0/", "v2.0/") + "Companies/0").status_code == 404


def test_query_by_get_search_and_by_post_agree(autotask):
    seed(autotask.server, Companies=companies(12))
    search = {"filter": [{"op": "contains", "field": "companyName", "value": "y 000"}], "MaxRecords": 5}
    by_get = autotask.call("GET", "Companies/query", params={"search": json.dumps(search)}).json()
    by_post = autotask.call("POST", "Companies/query", json=search).json()
    assert [i["id"] for i in by_get["items"]] == [i["id"] for i in by_post["items"]]
    assert len(by_get["items"]) == 5
    assert autotask.call("GET", "Companies/query/count", params={"search": json.dumps(search)}).json() == {
        "queryCount": 10
    }
    assert autotask.call("POST", "Companies/query/count", json=search).json() == {"queryCount": 10}
    bad = autotask.call("GET", "Companies/query", params={"search": "{not json"})
    assert bad.status_code == 500 and bad.json()["errors"]


def test_paging_past_500_with_the_post_cursor(autotask):
    seed(autotask.server, Companies=companies(1203))
    body = {"filter": [ALL_IDS]}
    seen: list[int] = []
    url, pages = autotask.url + "Companies/query", []
    while url:
        response = autotask.call("POST", url, json=body)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page["pageDetails"])
        seen += [item["id"] for item in page["items"]]
        url = page["pageDetails"]["nextPageUrl"]
    assert [p["count"] for p in pages] == [500, 500, 204]
    assert all(p["requestCount"] == 500 for p in pages)
    assert len(seen) == 1204 and seen == sorted(set(seen)) and seen[0] == 0
    assert pages[0]["prevPageUrl"] is None and pages[1]["prevPageUrl"]

    # The cursor is an absolute URL on this server and zone, id-based, with no search in it.
    next_url = pages[0]["nextPageUrl"]
    parsed = urlparse(next_url)
    assert next_url.startswith(f"{autotask.server.base_url}/ws1/atservicesrest/V1.0/Companies/query/next?")
    paging = json.loads(parse_qs(parsed.query)["paging"][0])
    assert paging == {"pageSize": 500, "previousIds": [-1], "nextIds": [seen[500]]}
    assert "search" not in parse_qs(parsed.query)

    # A GET of a POST query's next page is what the real API refuses (ASP.NET's 405 body).
    response = autotask.call("GET", next_url)
    assert response.status_code == 405
    assert response.json() == {"Message": "The requested resource does not support http method 'GET'."}

    # prevPageUrl goes back one page
    back = autotask.call("POST", pages[1]["prevPageUrl"], json=body).json()
    assert [i["id"] for i in back["items"]] == seen[:500]


def test_paging_of_a_get_query_continues_by_get(autotask):
    seed(autotask.server, Companies=companies(7))
    search = json.dumps({"filter": [ALL_IDS], "maxRecords": 3})
    page = autotask.call("GET", "Companies/query", params={"search": search}).json()
    seen = [i["id"] for i in page["items"]]
    while page["pageDetails"]["nextPageUrl"]:
        assert "search=" in page["pageDetails"]["nextPageUrl"]
        page = autotask.call("GET", page["pageDetails"]["nextPageUrl"]).json()
        seen += [i["id"] for i in page["items"]]
    assert len(seen) == 8 and seen == sorted(seen)


def test_cursor_follows_ids_not_positions(autotask):
    seed(autotask.server, Companies=companies(6))
    first = autotask.query("Companies", ALL_IDS, MaxRecords=4)
    newest = autotask.create("Companies", a_company())
    rest = autotask.call("POST", first["pageDetails"]["nextPageUrl"], json={"filter": [ALL_IDS]}).json()
    assert [i["id"] for i in rest["items"]][-1] == newest  # created after page 1, still found
    assert len(first["items"]) + len(rest["items"]) == 8


def test_max_records_and_include_fields(autotask):
    seed(autotask.server, Companies=companies(10, city="Columbus"))
    page = autotask.query("Companies", ALL_IDS, MaxRecords=7, IncludeFields=["companyName", "City"])
    assert page["pageDetails"]["count"] == 7 and page["pageDetails"]["requestCount"] == 7
    assert page["items"][1] == {"id": page["items"][1]["id"], "companyName": "Company 0000", "city": "Columbus"}
    paging = json.loads(parse_qs(urlparse(page["pageDetails"]["nextPageUrl"]).query)["paging"][0])
    assert paging["pageSize"] == 7
    rest = autotask.call(
        "POST", page["pageDetails"]["nextPageUrl"], json={"filter": [ALL_IDS], "IncludeFields": ["companyName"]}
    ).json()
    assert rest["pageDetails"]["count"] == 4 and set(rest["items"][0]) == {"id", "companyName"}
    response = autotask.call("POST", "Companies/query", json={"filter": [ALL_IDS], "IncludeFields": ["colour"]})
    assert response.status_code == 500 and response.json() == {
        "errors": ["Unable to find colour in the Company Entity"]
    }


# -- writes ------------------------------------------------------------------------------------


def test_create_company_assigns_id_and_defaults(autotask):
    before = datetime.now(UTC).replace(microsecond=0)
    new_id = autotask.create(
        "Companies", a_company(userDefinedFields=[{"name": "Invoice Email", "value": "ap@c.example"}])
    )
    assert new_id >= 29680000
    item = autotask.get("Companies", new_id)
    assert item["companyName"] == "Contoso Dental" and item["isActive"] is True
    assert item["createdByResourceID"] == AT_RESOURCE_ID
    assert (
        item["createDate"].endswith("Z") and datetime.fromisoformat(item["createDate"].replace("Z", "+00:00")) >= before
    )
    assert item["userDefinedFields"] == [{"name": "Invoice Email", "value": "ap@c.example"}]
    # field names in bodies are matched without case, as the real JSON binding does
    assert (
        autotask.get("Companies", autotask.create("Companies", {**a_company(), "CITY": "Dayton"}))["city"] == "Dayton"
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"phone": None}, "Missing required field phone for the Company Entity"),
        ({"ownerResourceID": 42}, "Value does not reference an existing entity for ownerResourceID . "),
        ({"parentCompanyID": 777}, "Value does not reference an existing entity for parentCompanyID . "),
        ({"companyType": 5}, "Value 5 is not a valid picklist value for companyType"),
        (
            {"createDate": "2024-01-01T00:00:00Z"},
            "The field createDate in the Company Entity is read-only and cannot be set",
        ),
        ({"Active": True}, "Unable to find Active in the Company Entity"),
        ({"isActive": "yes"}, "Value 'yes' is not valid for isActive (boolean) in the Company Entity"),
        ({"companyName": "x" * 101}, "companyName in the Company Entity is longer than 100 characters"),
        ({"id": 5}, "id must not be set when creating a Company; the API assigns it"),
    ],
)
def test_create_rules_give_500_with_the_reason(autotask, change, message):
    response = autotask.call("POST", "Companies", json={**a_company(), **change})
    assert response.status_code == 500
    assert response.json() == {"errors": [message]}
    assert autotask.count("Companies", ALL_IDS) == 1  # nothing was created


def test_entities_accept_only_the_verbs_of_the_real_api(autotask):
    invoice_world(autotask.server)
    refused = [
        ("POST", "Invoices", {"companyID": 701}),
        ("POST", "BillingItems", {"invoiceID": 801}),
        ("PATCH", "BillingCodes", {"id": 501, "name": "x"}),
        ("POST", "BillingCodes", {"name": "x"}),
        ("POST", "Resources", {"firstName": "x"}),
        ("POST", "Currencies", {"name": "EUR"}),
        ("POST", "CompanyToDos", {"companyID": 0}),  # children are written through the parent
        ("PATCH", "PurchaseOrderItems", {"id": 1}),
        ("PATCH", "Companies/701", {"id": 701, "city": "x"}),  # PATCH goes to the entity root
    ]
    for method, path, body in refused:
        response = autotask.call(method, path, json=body)
        assert response.status_code == 405, (method, path, response.text)
        assert response.json() == {"Message": f"The requested resource does not support http method '{method}'."}
    assert autotask.call("PATCH", "Resources", json={"id": AT_RESOURCE_ID, "title": "Robot"}).json() == {
        "itemId": AT_RESOURCE_ID
    }


def test_invoice_updates_only_its_writable_fields(autotask):
    invoice_world(autotask.server)
    response = autotask.call(
        "PATCH",
        "Invoices",
        json={
            "id": 801,
            "webServiceDate": "2024-06-03T09:15:00-04:00",
            "paidDate": "2024-06-04T23:59:00-07:00",
            "invoiceNumber": "1042",
            "comments": "Synced to QBO",
            "invoiceTotal": 250.0,  # read-only but unchanged: accepted (GET, modify, PUT round trips)
        },
    )
    assert response.json() == {"itemId": 801}
    invoice = autotask.get("Invoices", 801)
    assert invoice["webServiceDate"] == "2024-06-03T13:15:00Z"  # stored in UTC
    assert invoice["paidDate"] == "2024-06-04T00:00:00Z"  # date-only: the time part is dropped
    assert (invoice["invoiceNumber"], invoice["comments"]) == ("1042", "Synced to QBO")

    for body, field in (
        ({"id": 801, "invoiceTotal": 1.0}, "invoiceTotal"),
        ({"id": 801, "isVoided": True}, "isVoided"),
        ({"id": 801, "companyID": 0}, "companyID"),
    ):
        response = autotask.call("PATCH", "Invoices", json=body)
        assert response.status_code == 500
        assert response.json() == {
            "errors": [f"The field {field} in the Invoice Entity is read-only and cannot be updated"]
        }
    response = autotask.call("PATCH", "Invoices", json={"id": 801, "lineOfBusiness": "x"})
    assert response.json() == {"errors": ["Unable to find lineOfBusiness in the Invoice Entity"]}
    response = autotask.call("PATCH", "Invoices", json={"id": 801, "webServiceDate": "yesterday"})
    assert response.status_code == 500 and "webServiceDate" in response.json()["errors"][0]

    # An empty string clears a field (stored as null), which is how a marker is reset
    autotask.call("PATCH", "Invoices", json={"id": 801, "invoiceNumber": "", "webServiceDate": None})
    cleared = autotask.get("Invoices", 801)
    assert cleared["invoiceNumber"] is None and cleared["webServiceDate"] is None
    assert autotask.ids("Invoices", {"op": "notExist", "field": "webServiceDate"}) == [801]

    # PUT is a full update: writable fields left out become null
    autotask.call("PUT", "Invoices", json={"id": 801, "comments": "only this"})
    put = autotask.get("Invoices", 801)
    assert (put["comments"], put["paidDate"], put["invoiceTotal"]) == ("only this", None, 250.0)


def test_update_of_a_missing_record_or_without_id_is_500(autotask):
    response = autotask.call("PATCH", "Companies", json={"id": 99999, "city": "x"})
    assert (
        response.status_code == 500 and "No matching records found for Company id 99999" in response.json()["errors"][0]
    )
    response = autotask.call("PATCH", "Companies", json={"city": "x"})
    assert response.status_code == 500 and "id" in response.json()["errors"][0]
    response = autotask.call("PATCH", "Companies", json={"id": 0, "phone": None})
    assert response.json() == {"errors": ["Missing required field phone for the Company Entity"]}
    response = autotask.call("PATCH", "Companies", data="[1, 2]", headers={"Content-Type": "application/json"})
    assert response.status_code == 500


def test_udfs_merge_by_name_on_update(autotask):
    new_id = autotask.create(
        "Companies", a_company(userDefinedFields=[{"name": "Invoice Email", "value": "a@x.example"}])
    )
    autotask.call(
        "PATCH",
        "Companies",
        json={
            "id": new_id,
            "userDefinedFields": [
                {"name": "invoice email", "value": "b@x.example"},
                {"name": "QBO Customer Id", "value": 58},
            ],
        },
    )
    assert autotask.get("Companies", new_id)["userDefinedFields"] == [
        {"name": "Invoice Email", "value": "b@x.example"},
        {"name": "QBO Customer Id", "value": "58"},
    ]


def todo(**fields) -> dict:
    return {
        "actionType": 3,
        "assignedToResourceID": AT_RESOURCE_ID,
        "activityDescription": "Invoice INV-1001 failed: fix the customer name",
        "startDateTime": "2024-06-03T09:00:00Z",
        "endDateTime": "2024-06-03T09:30:00Z",
        **fields,
    }


def test_company_todos_are_written_through_the_parent(autotask):
    response = autotask.call("POST", "Companies/0/ToDos", json=todo())
    todo_id = response.json()["itemId"]
    stored = autotask.get("CompanyToDos", todo_id)
    assert stored["companyID"] == 0 and stored["creatorResourceID"] == AT_RESOURCE_ID
    assert stored["startDateTime"] == "2024-06-03T09:00:00Z" and stored["createDateTime"].endswith("Z")
    assert autotask.ids("CompanyToDos", {"op": "eq", "field": "companyID", "value": 0}) == [todo_id]

    assert autotask.call(
        "PATCH", "Companies/0/todos", json={"id": todo_id, "completedDate": "2024-06-04T10:00:00Z"}
    ).json() == {"itemId": todo_id}
    assert autotask.get("CompanyToDos", todo_id)["completedDate"] == "2024-06-04T10:00:00Z"
    other = autotask.create("Companies", a_company())
    assert (
        autotask.call("PATCH", f"Companies/{other}/ToDos", json={"id": todo_id, "activityDescription": "x"}).status_code
        == 500
    )

    for body, message in (
        (todo(actionType=None), "Missing required field actionType for the CompanyToDo Entity"),
        (todo(assignedToResourceID=5), "Value does not reference an existing entity for assignedToResourceID . "),
        (todo(endDateTime="2024-06-03T08:00:00Z"), "endDateTime must be on or after startDateTime"),
        (todo(companyID=other), f"companyID {other} does not match the parent id 0 in the URL"),
    ):
        response = autotask.call("POST", "Companies/0/ToDos", json=body)
        assert (response.status_code, response.json()) == (500, {"errors": [message]})
    response = autotask.call("POST", "Companies/424242/ToDos", json=todo())
    assert response.json() == {"errors": ["Value does not reference an existing entity for companyID . "]}

    assert autotask.call("DELETE", f"Companies/0/ToDos/{todo_id}").json() == {"itemId": todo_id}
    assert autotask.get("CompanyToDos", todo_id) is None
    assert autotask.call("DELETE", f"Companies/0/ToDos/{todo_id}").status_code == 500


def test_purchase_order_items_follow_the_order_status(autotask):
    seed(
        autotask.server,
        Companies=[a_company(id=601, companyName="Ingram Micro", companyType=7)],
        BillingCodes=[{"id": 502, "name": "Hardware", "billingCodeType": 2}],
        Products=[{"id": 401, "name": "Dell OptiPlex 7020", "productBillingCodeID": 502, "unitCost": 899}],
    )
    po_id = autotask.create("PurchaseOrders", {"vendorID": 601, "status": 1, "shipToName": "MSP"})
    assert autotask.get("PurchaseOrders", po_id)["submitDateTime"] is None
    item_id = autotask.call(
        "POST", f"PurchaseOrders/{po_id}/Items", json={"productID": 401, "quantity": 2, "unitCost": 899}
    ).json()["itemId"]
    assert autotask.get("PurchaseOrderItems", item_id)["orderID"] == po_id
    bad = autotask.call("POST", f"PurchaseOrders/{po_id}/Items", json={"productID": 999, "quantity": 1, "unitCost": 1})
    assert bad.json() == {"errors": ["Value does not reference an existing entity for productID . "]}
    assert autotask.call("POST", "PurchaseOrders", json={"vendorID": 12, "status": 1}).json() == {
        "errors": ["Value does not reference an existing entity for vendorID . "]
    }

    assert autotask.call("PATCH", "PurchaseOrders", json={"id": po_id, "status": 2}).status_code == 200
    assert autotask.get("PurchaseOrders", po_id)["submitDateTime"].endswith("Z")
    refused = autotask.call(
        "POST", f"PurchaseOrders/{po_id}/Items", json={"productID": 401, "quantity": 1, "unitCost": 1}
    )
    assert refused.status_code == 500 and "status New" in refused.json()["errors"][0]
    assert (
        autotask.call("PATCH", f"PurchaseOrders/{po_id}/Items", json={"id": item_id, "quantity": 3}).status_code == 200
    )
    autotask.call("PATCH", "PurchaseOrders", json={"id": po_id, "status": 4, "externalPONumber": "1042"})
    assert autotask.get("PurchaseOrders", po_id)["externalPONumber"] == "1042"
    assert (
        autotask.call("PATCH", f"PurchaseOrders/{po_id}/Items", json={"id": item_id, "quantity": 4}).status_code == 500
    )
    assert autotask.call("PATCH", "PurchaseOrders", json={"id": po_id, "status": 9}).status_code == 500


# -- entityInformation and picklists -----------------------------------------------------------


def picklist(autotask, entity: str, field: str) -> dict[str, str] | None:
    fields = autotask.call("GET", f"{entity}/entityInformation/fields").json()["fields"]
    spec = next(f for f in fields if f["name"] == field)
    if not spec["isPickList"]:
        return None
    return {v["value"]: v["label"] for v in spec["picklistValues"]}


def test_fixed_and_live_picklists(autotask):
    invoice_world(autotask.server)
    assert picklist(autotask, "Companies", "companyType") == {
        "1": "Customer",
        "2": "Lead",
        "3": "Prospect",
        "4": "Dead",
        "6": "Cancellation",
        "7": "Vendor",
        "8": "Partner",
    }
    assert picklist(autotask, "PurchaseOrders", "status") == {
        "1": "New",
        "2": "Submitted",
        "3": "Received Partial",
        "4": "Received Full",
        "5": "Canceled",
    }
    assert picklist(autotask, "Invoices", "paymentTerm") == {"1": "Net 30 Days", "2": "Due on Receipt"}
    assert picklist(autotask, "PurchaseOrders", "paymentTerm") == {"1": "Net 30 Days", "2": "Due on Receipt"}
    assert picklist(autotask, "BillingItems", "billingItemType")["1"] == "Labor"
    assert picklist(autotask, "BillingCodes", "billingCodeType") and picklist(autotask, "BillingCodes", "useType")
    assert picklist(autotask, "PurchaseOrders", "vendorID") is None

    fields = {f["name"]: f for f in autotask.call("GET", "invoices/ENTITYINFORMATION/fields").json()["fields"]}
    assert {name for name, f in fields.items() if not f["isReadOnly"]} == {
        "comments",
        "paidDate",
        "webServiceDate",
        "invoiceNumber",
    }
    assert fields["companyID"]["isReference"] and fields["companyID"]["referenceEntityType"] == "Company"
    assert fields["dueDate"]["isQueryable"] is False and fields["invoiceTotal"]["dataType"] == "double"
    sample = fields["paymentTerm"]
    assert set(sample) == {
        "name",
        "dataType",
        "length",
        "isRequired",
        "isReadOnly",
        "isQueryable",
        "isReference",
        "referenceEntityType",
        "isPickList",
        "picklistValues",
        "picklistParentValueField",
        "isSupportedWebhookField",
    }
    assert set(sample["picklistValues"][0]) == {
        "value",
        "label",
        "isDefaultValue",
        "sortOrder",
        "parentValue",
        "isActive",
        "isSystem",
    }


def test_entity_information_and_udf_definitions(autotask):
    info = {
        name: autotask.call("GET", f"{name}/entityInformation").json()["info"]
        for name in ("Companies", "Invoices", "BillingCodes", "CompanyToDos")
    }
    assert (info["Companies"]["canCreate"], info["Companies"]["canUpdate"]) == (True, True)
    assert (info["Invoices"]["canCreate"], info["Invoices"]["canUpdate"]) == (False, True)
    assert (info["BillingCodes"]["canCreate"], info["BillingCodes"]["canUpdate"], info["BillingCodes"]["canQuery"]) == (
        False,
        False,
        True,
    )
    assert info["CompanyToDos"]["canDelete"] is True and info["Companies"]["name"] == "Company"
    autotask.create("Companies", a_company(userDefinedFields=[{"name": "Invoice Email", "value": None}]))
    udfs = autotask.call("GET", "Companies/entityInformation/userDefinedFields").json()["fields"]
    assert [u["name"] for u in udfs] == ["Invoice Email"]


# -- limits ------------------------------------------------------------------------------------


def test_threshold_counts_adds_latency_and_refuses_past_100_percent(autotask):
    server = autotask.server
    limits = control(
        server,
        "POST",
        "limits",
        {"autotask": {"request_threshold": 8, "latency_at_50pct_s": 0.25, "latency_at_75pct_s": 0.5}},
    ).json()["autotask"]
    assert limits["request_threshold"] == 8 and limits["used_requests"] == 0

    def timed() -> tuple[int, float, dict]:
        started = time.monotonic()
        response = autotask.call("GET", "ThresholdInformation")
        return response.status_code, time.monotonic() - started, response.json()

    results = [timed() for _ in range(9)]
    counts = [body.get("currentTimeframeRequestCount") for _, _, body in results[:8]]
    assert counts == [1, 2, 3, 4, 5, 6, 7, 8]  # every call counts, zone discovery did not
    assert results[0][2]["externalRequestThreshold"] == 8 and results[0][2]["requestThresholdTimeframe"] == 60
    waits = [elapsed for _, elapsed, _ in results[:8]]
    assert max(waits[:3]) < 0.25  # under 50%: no added latency
    assert all(0.25 <= w < 0.5 for w in waits[3:5])  # 4/8 and 5/8: at least 50%
    assert all(w >= 0.5 for w in waits[5:8])  # 6/8 and up: at least 75%
    status, elapsed, body = results[8]
    assert status == 429 and "Request threshold exceeded" in body["errors"][0] and elapsed < 0.25
    assert control(server, "GET", "limits").json()["autotask"]["used_requests"] == 8  # the refusal is not counted
    requests.get(f"{server.base_url}/atservicesrest/v1.0/zoneInformation", params={"user": AT_USER}, timeout=5)
    assert control(server, "GET", "limits").json()["autotask"]["used_requests"] == 8


def test_rolling_window_frees_capacity_in_sandbox_time(autotask_client):
    # time scale 3600: a sandbox hour passes in one real second
    server = Sandbox(port=0, time_scale=3600).start()
    try:
        client = autotask_client(server)
        server.set_limits({"autotask": {"request_threshold": 3}})
        assert [client.call("GET", "Companies/0").status_code for _ in range(4)] == [200, 200, 200, 429]
        time.sleep(1.1)
        assert client.call("GET", "Companies/0").status_code == 200
        # used_requests fills the window as if other integrations had made the calls
        server.set_limits({"autotask": {"used_requests": 3}})
        assert client.call("GET", "ThresholdInformation").status_code == 429
    finally:
        server.stop()


def test_fourth_concurrent_call_per_endpoint_is_refused(autotask):
    control(autotask.server, "POST", "limits", {"autotask": {"latency_ms": 600}})
    barrier = threading.Barrier(5)
    results: dict[str, list[requests.Response]] = {"Companies": [], "Invoices": []}

    def call(entity: str) -> None:
        barrier.wait()
        results[entity].append(autotask.call("POST", f"{entity}/query/count", json={"filter": [ALL_IDS]}))

    threads = [threading.Thread(target=call, args=("Companies",)) for _ in range(4)]
    threads.append(threading.Thread(target=call, args=("Invoices",)))  # another endpoint is not affected
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    statuses = sorted(r.status_code for r in results["Companies"])
    assert statuses == [200, 200, 200, 429]
    refused = next(r for r in results["Companies"] if r.status_code == 429)
    assert "at most 3 concurrent requests" in refused.json()["errors"][0]
    assert [r.status_code for r in results["Invoices"]] == [200]
    control(autotask.server, "POST", "limits", {"autotask": {"latency_ms": 0}})
    assert autotask.count("Companies", ALL_IDS) == 1  # the gate was released


def test_base_latency_and_limit_validation(autotask):
    control(autotask.server, "POST", "limits", {"autotask": {"latency_ms": 250}})
    started = time.monotonic()
    autotask.get("Companies", 0)
    assert time.monotonic() - started >= 0.25
    bad = control(autotask.server, "POST", "limits", {"autotask": {"threads": 5}})
    assert bad.status_code == 400 and "threads" in bad.json()["error"]
    assert control(autotask.server, "POST", "limits", {"autotask": {"request_threshold": 0}}).status_code == 400
    autotask.server.reset()
    assert autotask.server.limits()["autotask"] == {
        "request_threshold": 10000,
        "threshold_window_s": 3600,
        "latency_at_50pct_s": 0.5,
        "latency_at_75pct_s": 1.0,
        "concurrent_per_endpoint": 3,
        "latency_ms": 0,
        "used_requests": 0,
    }


# -- control endpoints: faults and the request log ----------------------------------------------


def add_fault(server: Sandbox, **rule) -> None:
    response = control(server, "POST", "faults", {"api": "autotask", **rule})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "mode, status",
    [("error_500", 500), ("error_503", 503), ("throttle_429", 429)],
)
def test_injected_error_responses(autotask, mode, status):
    add_fault(autotask.server, path="Companies/query", mode=mode, times=1)
    response = autotask.call("POST", "Companies/query", json={"filter": [ALL_IDS]})
    assert response.status_code == status
    if mode == "error_503":
        assert "Service Unavailable" in response.text
    elif mode == "error_500":
        assert response.json() == {"Message": "An error has occurred."}  # a crash, not a validation error
    else:
        assert response.json()["errors"]
    assert autotask.call("POST", "Companies/query", json={"filter": [ALL_IDS]}).status_code == 200  # times=1
    log = control(autotask.server, "GET", "requests?api=autotask").json()
    assert [(r["status"], r["fault"]) for r in log if r["path"].endswith("/query")] == [(status, mode), (200, None)]


def test_timeout_fault_holds_past_the_client_timeout(autotask):
    add_fault(autotask.server, method="GET", path=r"Companies/0$", mode="timeout", latency_ms=700, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        autotask.call("GET", "Companies/0", timeout=0.2)
    assert autotask.get("Companies", 0)["id"] == 0
    # The sandbox logs the held request when it lets go; wait for that so that the next test's
    # request log starts clean, however slow the machine.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not [
        r for r in control(autotask.server, "GET", "requests?api=autotask").json() if r["fault"] == "timeout"
    ]:
        time.sleep(0.05)


def test_commit_then_error_applies_the_write_but_answers_502(autotask):
    add_fault(autotask.server, method="POST", path="Companies$", mode="commit_then_error", times=1)
    response = autotask.call("POST", "Companies", json=a_company(companyName="Maybe Co"))
    assert response.status_code == 502
    assert autotask.count("Companies", {"op": "eq", "field": "companyName", "value": "Maybe Co"}) == 1


def test_drop_connection_and_latency_faults(autotask):
    add_fault(autotask.server, path="Companies/0", mode="drop_connection", times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        autotask.call("GET", "Companies/0")
    add_fault(autotask.server, path="Companies/0", mode="latency", latency_ms=300, times=1)
    started = time.monotonic()
    assert autotask.get("Companies", 0)["id"] == 0
    assert time.monotonic() - started >= 0.3


def test_request_log_and_reset_via_control_endpoints(autotask):
    server = autotask.server
    autotask.get("Companies", 0)
    log = control(server, "GET", "requests?api=autotask").json()
    assert [(r["method"], r["path"].rsplit("/", 2)[-2:], r["status"]) for r in log] == [
        ("GET", ["v1.0", "zoneInformation"], 200),
        ("GET", ["Companies", "0"], 200),
    ]
    assert control(server, "DELETE", "requests").status_code == 200
    assert control(server, "GET", "requests?api=autotask").json() == []
    seed(server, Companies=companies(3))
    assert control(server, "POST", "reset").status_code == 200
    assert autotask.count("Companies", ALL_IDS) == 1


# -- seeds and state ---------------------------------------------------------------------------


def test_reset_leaves_the_local_company_and_the_api_resource(fresh_sandbox):
    state = fresh_sandbox.state()["autotask"]
    assert [c["id"] for c in state["Companies"]] == [0]
    assert [(r["id"], r["isActive"]) for r in state["Resources"]] == [(AT_RESOURCE_ID, True)]
    assert state["credentials"] == {"username": AT_USER, "secret": AT_SECRET, "integration_code": AT_CODE}
    assert state["zone"] == "ws1"
    assert all(
        state[name] == [] for name in ("Invoices", "BillingItems", "PurchaseOrders", "CompanyToDos", "Currencies")
    )


def test_seed_assigns_missing_ids_and_keeps_given_ones(autotask):
    seed(autotask.server, Companies=[a_company(id=5), a_company(companyName="No Id")])
    ids = [c["id"] for c in autotask.server.state()["autotask"]["Companies"]]
    assert ids[:2] == [0, 5] and ids[2] >= 29680000
    assert autotask.create("Companies", a_company()) > ids[2]  # API ids continue after seeded ones


@pytest.mark.parametrize(
    "part, expected",
    [
        (
            {"Invoices": [{"id": 1, "companyID": 404}]},
            "Invoices[0] (id 1): Value does not reference an existing entity for companyID",
        ),
        ({"BillingItems": [{"invoiceID": 5}]}, "BillingItems[0]"),
        ({"Companies": [{"companyName": "A", "colour": "red"}]}, "Companies[0]: unknown field 'colour'"),
        ({"Companies": [{"id": 3, "companyName": "A"}, {"id": 3, "companyName": "B"}]}, "id 3 appears twice"),
        ({"Companies": [{"companyType": 1}]}, "companyName is required"),
        ({"Companies": [{"companyName": "A", "companyType": 99}]}, "not a valid picklist value for companyType"),
        ({"PurchaseOrders": [{"vendorID": 31337, "status": 1}]}, "vendorID"),
        ({"Contacts": []}, "unknown keys ['Contacts']"),
        ({"credentials": {"password": "x"}}, "credentials"),
        ({"zone": "ws 2"}, "zone"),
        ({"Companies": {"companyName": "A"}}, "Companies must be a list"),
    ],
)
def test_bad_seeds_are_refused_whole(fresh_sandbox, part, expected):
    before = fresh_sandbox.state()
    good = {"Companies": companies(2, start=50)} if "Companies" not in part else {}
    with pytest.raises(SeedError) as info:
        fresh_sandbox.seed({"autotask": {**good, **part}})
    assert expected in str(info.value)
    assert fresh_sandbox.state() == before
    response = control(fresh_sandbox, "POST", "seed", {"autotask": {**good, **part}})
    assert response.status_code == 400 and expected in response.json()["error"]


def test_seed_references_may_point_inside_the_seed_or_at_existing_records(fresh_sandbox):
    invoice_world(fresh_sandbox)
    seed(fresh_sandbox, BillingItems=[{"invoiceID": 801, "companyID": 701, "billingCodeID": 501}])
    assert len(fresh_sandbox.state()["autotask"]["BillingItems"]) == 2


def test_state_round_trips_through_a_seed(fresh_sandbox):
    invoice_world(fresh_sandbox)
    seed(
        fresh_sandbox,
        zone="ws7",
        credentials={"secret": "other"},
        Currencies=[{"id": 1, "name": "USD", "isInternalCurrency": True}],
    )
    state = fresh_sandbox.state()["autotask"]
    fresh_sandbox.reset()
    fresh_sandbox.seed({"autotask": state})
    assert fresh_sandbox.state()["autotask"] == state
    via_http = control(fresh_sandbox, "GET", "state").json()["autotask"]
    assert via_http == json.loads(json.dumps(state))


# -- the demo seed -----------------------------------------------------------------------------


def test_demo_seed_is_deterministic_and_consistent(autotask):
    today = date(2025, 3, 10)
    part = demo_autotask.build(today)
    assert part == demo_autotask.build(today)
    autotask.server.seed({"autotask": part})
    everything = {"filter": [ALL_IDS]}

    def all_of(entity: str) -> list[dict]:
        out, url = [], autotask.url + f"{entity}/query"
        while url:
            page = autotask.call("POST", url, json=everything).json()
            out += page["items"]
            url = page["pageDetails"]["nextPageUrl"]
        return out

    types = {v: k for k, v in picklist(autotask, "Companies", "companyType").items()}
    customers = autotask.ids("Companies", {"op": "eq", "field": "companyType", "value": int(types["Customer"])})
    vendors = autotask.ids("Companies", {"op": "eq", "field": "companyType", "value": int(types["Vendor"])})
    assert len(customers) == 30 and len(vendors) == 4
    assert autotask.count("Companies", {"op": "exist", "field": "Invoice Email", "udf": True}) >= 10
    assert autotask.count("Companies", {"op": "eq", "field": "billToAddressToUse", "value": 2}) >= 5

    invoices = all_of("Invoices")
    items = all_of("BillingItems")
    assert 35 <= len(invoices) <= 45
    start, end = today - timedelta(days=30), today - timedelta(days=1)
    assert all(start <= date.fromisoformat(i["invoiceDateTime"][:10]) <= end for i in invoices)
    unsynced = [i for i in invoices if i["webServiceDate"] is None]
    assert len(unsynced) > len(invoices) / 2 and len(invoices) - len(unsynced) >= 2
    assert sum(i["isVoided"] for i in invoices) == 1
    assert all(i["invoiceNumber"].startswith("INV-") and i["fromDate"] < i["toDate"] for i in invoices)
    assert any(i["orderNumber"] for i in invoices)
    by_invoice: dict[int, list[dict]] = {}
    for item in items:
        by_invoice.setdefault(item["invoiceID"], []).append(item)
    lobs = {a["id"] for a in all_of("OrganizationalLevelAssociations")}
    for invoice in invoices:
        lines = by_invoice[invoice["id"]]
        assert 2 <= len(lines) <= 8
        expected = sum(line["totalAmount"] for line in lines) + (invoice["totalTaxValue"] or 0)
        assert abs(invoice["invoiceTotal"] - expected) < 0.005, invoice["invoiceNumber"]
        assert {line["organizationalLevelAssociationID"] for line in lines} <= lobs
    assert len({line["organizationalLevelAssociationID"] for line in items}) >= 4
    assert any(len(line["description"]) > 4000 for line in items)

    status = {v: k for k, v in picklist(autotask, "PurchaseOrders", "status").items()}
    orders = all_of("PurchaseOrders")
    assert {str(o["status"]) for o in orders} == set(status.values())
    recent = datetime.combine(today - timedelta(days=14), datetime.min.time(), tzinfo=UTC)
    eligible = autotask.ids(
        "PurchaseOrders",
        {"op": "eq", "field": "status", "value": int(status["Submitted"])},
        {"op": "gte", "field": "createDateTime", "value": recent.isoformat()},
        {"op": "notExist", "field": "externalPONumber"},
    )
    assert len(eligible) >= 2
    po_items = all_of("PurchaseOrderItems")
    assert {i["orderID"] for i in po_items} == {o["id"] for o in orders}
    assert {o["vendorID"] for o in orders} <= set(vendors)

    assert autotask.count("Resources", {"op": "eq", "field": "isActive", "value": True}) >= 2
    currencies = all_of("Currencies")
    assert [c["name"] for c in currencies if c["isInternalCurrency"]] == ["USD"]
    assert picklist(autotask, "Invoices", "paymentTerm") and len(all_of("PaymentTerms")) == 4
    assert all(p["productBillingCodeID"] and p["defaultVendorID"] in vendors for p in all_of("Products"))
    synced = demo_autotask.synced_invoices(today)
    assert [s["invoiceNumber"] for s in synced] == [i["invoiceNumber"] for i in invoices if i["webServiceDate"]]
