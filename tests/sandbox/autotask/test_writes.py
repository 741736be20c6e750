"""Autotask writes over real HTTP: creates and their defaults, the write rules and their 500s, the
verbs each entity accepts, updates (read-only and writable fields, UDFs), and children written
through their parent (to-dos, purchase order items)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.sandbox.autotask_support import (
    ALL_IDS,
    AT_RESOURCE_ID,
    a_company,
    invoice_world,
    seed,
)


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
