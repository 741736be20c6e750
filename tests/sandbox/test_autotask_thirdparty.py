"""Fidelity check: the public ``py-autotask`` client (2.3.0) against the sandbox's Autotask API.

The client is pointed at the sandbox the way its API allows: its zone-discovery URL
(``AutotaskAuth.ZONE_INFO_URL``) is set to the sandbox's, everything else is the client's own
code. It proves zone detection, creates (a company, a to-do through its parent), filtered
queries, paging past 500 records, get and update, a second API user restricted to one line
of business reading tax regions and only its own billing items, and a third whose security level
denies an entity getting the 500 permission refusal. Where py-autotask is wrong about the real API
(see sandbox/README.md, "Autotask"), the tests pin the client's behaviour and show the call the
real API takes, made through the client's own authenticated session.
"""

from __future__ import annotations

import warnings

import pytest

from tests.sandbox.autotask_support import AT_CODE, AT_RESOURCE_ID, AT_SECRET, AT_USER

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # py-autotask 2.3.0 still uses pydantic v1 config names
        from py_autotask import AutotaskClient
        from py_autotask.auth import AutotaskAuth
        from py_autotask.exceptions import AutotaskAPIError, AutotaskAuthError
except ImportError as exc:  # not installed, or one of its imports missing
    pytest.skip(
        f"py-autotask is not importable ({exc}); install it with "
        "`pip install --no-deps py-autotask==2.3.0` (requirements-clients.txt) to run the third-party client checks",
        allow_module_level=True,
    )


@pytest.fixture
def client(fresh_sandbox):
    AutotaskAuth.clear_zone_cache()  # the client caches zones per user in a class attribute
    yield make_client(fresh_sandbox)
    AutotaskAuth.clear_zone_cache()


def make_client(server, username: str = AT_USER, secret: str = AT_SECRET) -> AutotaskClient:
    at = AutotaskClient.create(username=username, integration_code=AT_CODE, secret=secret)
    at.auth.ZONE_INFO_URL = f"{server.base_url}/atservicesrest/v1.0/zoneInformation"
    return at


def company(name: str, **fields) -> dict:
    return {"companyName": name, "companyType": 1, "phone": "614-555-0100", "ownerResourceID": AT_RESOURCE_ID, **fields}


def test_zone_detection_finds_the_sandbox(client, fresh_sandbox):
    assert client.auth.api_url == f"{fresh_sandbox.base_url}/ws1/atservicesrest/"
    assert client.auth.zone_info.zone_name == "Sandbox Zone ws1" and client.auth.zone_info.ci == 29680
    assert client.auth.test_connection() is True
    paths = [r["path"] for r in fresh_sandbox.requests.list("autotask")]
    assert paths == ["/atservicesrest/v1.0/zoneInformation", "/ws1/atservicesrest/v1.0/Companies/query"]


def test_unknown_user_and_wrong_secret_surface_as_auth_errors(fresh_sandbox):
    AutotaskAuth.clear_zone_cache()
    with pytest.raises(AutotaskAuthError, match="Zone information could not be determined"):
        _ = make_client(fresh_sandbox, username="nobody@example.com").auth.api_url
    AutotaskAuth.clear_zone_cache()
    with pytest.raises(AutotaskAuthError):
        make_client(fresh_sandbox, secret="wrong").companies.get(0)
    AutotaskAuth.clear_zone_cache()


def test_create_company_and_todo_then_get(client):
    company_id = client.companies.create(company("Contoso Dental", city="Columbus")).item_id
    stored = client.companies.get(company_id)
    assert (stored["companyName"], stored["city"], stored["isActive"]) == ("Contoso Dental", "Columbus", True)
    assert client.companies.get(987654321) is None  # {"item": null}

    todo_id = client.entities.company_to_dos.create(
        {
            "companyID": company_id,  # py-autotask posts it to /Companies/{companyID}/ToDos
            "actionType": 1,
            "assignedToResourceID": AT_RESOURCE_ID,
            "activityDescription": "Invoice INV-1001 failed",
            "startDateTime": "2024-06-03T09:00:00Z",
            "endDateTime": "2024-06-03T09:30:00Z",
        }
    ).item_id
    todo = client.entities.company_to_dos.get(todo_id)
    assert (todo["companyID"], todo["activityDescription"]) == (company_id, "Invoice INV-1001 failed")


def test_query_with_filters_include_fields_and_count(client, fresh_sandbox):
    fresh_sandbox.seed(
        {
            "autotask": {
                "Companies": [company(f"Company {i:03d}", city="Dayton" if i % 2 else "Columbus") for i in range(30)]
            }
        }
    )
    page = client.companies.query(
        [
            {"op": "beginsWith", "field": "companyName", "value": "company 00"},
            {"op": "eq", "field": "city", "value": "dayton"},
        ]
    )
    assert [item["companyName"] for item in page.items] == [
        "Company 001",
        "Company 003",
        "Company 005",
        "Company 007",
        "Company 009",
    ]
    assert page.page_details.count == 5 and page.page_details.next_page_url is None

    narrow = client.companies.query(
        {
            "filter": [{"op": "in", "field": "companyName", "value": ["Company 010", "Company 011"]}],
            "maxRecords": 1,
            "includeFields": ["companyName"],
        }
    )
    assert len(narrow.items) == 1 and set(narrow.items[0]) == {"id", "companyName"}
    assert narrow.page_details.request_count == 1 and narrow.page_details.next_page_url
    assert client.count("Companies", {"filter": [{"op": "eq", "field": "city", "value": "Columbus"}]}) == 15


def test_paging_past_500_records(client, fresh_sandbox):
    fresh_sandbox.seed({"autotask": {"Companies": [company(f"Company {i:04d}") for i in range(1100)]}})
    body = {"filter": [{"op": "gte", "field": "id", "value": 0}]}
    first = client.query("Companies", body)
    seen = [item["id"] for item in first.items]
    next_url = first.page_details.next_page_url
    while next_url:
        # The real API wants the original body POSTed to the nextPageUrl; the client's session
        # carries the auth headers.
        response = client.session.post(next_url, json=body, timeout=10)
        response.raise_for_status()
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        next_url = page["pageDetails"]["nextPageUrl"]
    assert len(seen) == 1101 and seen == sorted(set(seen))


def test_query_all_of_py_autotask_stops_after_the_first_page(client, fresh_sandbox):
    """A py-autotask bug, pinned: query_all tries offset paging (no such thing in Autotask) and
    returns the first 500 records without following nextPageUrl."""
    fresh_sandbox.seed({"autotask": {"Companies": [company(f"Company {i:04d}") for i in range(600)]}})
    assert len(client.companies.query_all()) == 500
    assert client.count("Companies", {"filter": [{"op": "gte", "field": "id", "value": 0}]}) == 601


def test_update(client):
    company_id = client.companies.create(company("Fabrikam Legal LLP")).item_id
    # py-autotask PATCHes /Companies/{id}; the real API has PATCH only on the entity root
    # (swagger: /V1.0/Companies/{id} is GET and DELETE), so it gets ASP.NET's 405.
    with pytest.raises(AutotaskAPIError, match="405"):
        client.companies.update({"id": company_id, "city": "Columbus"})
    response = client.session.patch(
        f"{client.auth.api_url}v1.0/Companies", json={"id": company_id, "city": "Columbus"}, timeout=10
    )
    assert response.json() == {"itemId": company_id}
    assert client.companies.get(company_id)["city"] == "Columbus"


def test_field_info_gives_picklists(client):
    fields = {f["name"]: f for f in client.get_field_info("PurchaseOrders")["fields"]}
    labels = [v["label"] for v in fields["status"]["picklistValues"]]
    assert labels == ["New", "Submitted", "Received Partial", "Received Full", "Canceled"]
    assert client.get_entity_info("BillingCodes")["info"]["canCreate"] is False


def test_a_restricted_api_user_through_the_client_sees_only_its_line_of_business(fresh_sandbox):
    """A second API user, associated with one line of business, signs in through py-autotask's own
    zone detection and reads tax regions and billing items as the real API would show them."""
    fresh_sandbox.seed(
        {
            "autotask": {
                "Resources": [{"id": 29682901, "firstName": "API", "lastName": "Helpdesk", "isActive": True}],
                "api_users": [
                    {"username": "helpdesk-api@sandbox.local", "secret": "helpdesk-secret", "resourceID": 29682901}
                ],
                "TaxRegions": [{"id": 1, "name": "Ontario"}, {"id": 2, "name": "Australia"}],
                "OrganizationalLevel1s": [{"id": 1, "name": "Managed Services"}],
                "OrganizationalLevel2s": [{"id": 1, "name": "Helpdesk"}, {"id": 2, "name": "Projects"}],
                "OrganizationalLevelAssociations": [
                    {"id": 1, "organizationalLevel1ID": 1, "organizationalLevel2ID": 1},
                    {"id": 2, "organizationalLevel1ID": 1, "organizationalLevel2ID": 2},
                ],
                "OrganizationalResources": [{"resourceID": 29682901, "organizationalLevelAssociationID": 1}],
                "Companies": [company("Maple Dental", id=701, taxRegionID=1)],
                "Invoices": [{"id": 801, "companyID": 701, "invoiceTotal": 450.0}],
                "BillingItems": [
                    {"id": 901, "invoiceID": 801, "totalAmount": 150.0, "organizationalLevelAssociationID": 1},
                    {"id": 902, "invoiceID": 801, "totalAmount": 300.0, "organizationalLevelAssociationID": 2},
                ],
            }
        }
    )
    AutotaskAuth.clear_zone_cache()
    helpdesk = make_client(fresh_sandbox, username="helpdesk-api@sandbox.local", secret="helpdesk-secret")
    try:
        regions = helpdesk.query("TaxRegions", {"filter": [{"op": "gte", "field": "id", "value": 0}]})
        assert [r["name"] for r in regions.items] == ["Ontario", "Australia"]
        lines = helpdesk.query("BillingItems", {"filter": [{"op": "eq", "field": "invoiceID", "value": 801}]})
        assert [i["id"] for i in lines.items] == [901]
        assert helpdesk.companies.get(701)["taxRegionID"] == 1
    finally:
        AutotaskAuth.clear_zone_cache()


def test_a_permission_refusal_reaches_the_client_as_a_500(fresh_sandbox):
    """An API user whose security level denies querying purchase orders: py-autotask raises its API
    error for the 500 (it keeps only a ``message`` key, so the errors array is not in the
    exception), and the body, read through the client's own session, carries the real text."""
    fresh_sandbox.seed(
        {
            "autotask": {
                "Resources": [{"id": 29682901, "firstName": "API", "lastName": "Clerk", "isActive": True}],
                "api_users": [
                    {
                        "username": "clerk-api@sandbox.local",
                        "secret": "clerk-secret",
                        "resourceID": 29682901,
                        "entity_access": {"PurchaseOrders": {"query": False}, "Companies": {"create": False}},
                    }
                ],
            }
        }
    )
    AutotaskAuth.clear_zone_cache()
    clerk = make_client(fresh_sandbox, username="clerk-api@sandbox.local", secret="clerk-secret")
    try:
        with pytest.raises(AutotaskAPIError, match="HTTP 500"):
            clerk.get("PurchaseOrders", 1)
        base = f"{clerk.auth.api_url}v1.0"
        query = clerk.session.post(
            f"{base}/PurchaseOrders/query", json={"filter": [{"op": "gte", "field": "id", "value": 0}]}, timeout=10
        )
        create = clerk.session.post(f"{base}/Companies", json=company("Not created"), timeout=10)
        for response, verb in ((query, "query"), (create, "create")):
            assert response.status_code == 500
            # django-autotask's test for a permission error (FORBIDDEN_ERROR_MESSAGE in its text)
            assert "The logged in Resource does not have the adequate permissions" in response.text
            assert response.json() == {
                "errors": [f"The logged in Resource does not have the adequate permissions to {verb} this entity."]
            }
        assert clerk.get_entity_info("PurchaseOrders")["info"]["userAccessForQuery"] == "None"
        assert clerk.companies.get(0)["id"] == 0  # other entities as before
    finally:
        AutotaskAuth.clear_zone_cache()
