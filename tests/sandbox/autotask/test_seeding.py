"""Autotask seeds and state: what a reset leaves, ids, refusals of a bad seed as a whole,
references inside the seed, the state round trip, and the demo tenant."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from sandbox.core import SeedError
from sandbox.seeds import demo_autotask
from tests.sandbox.autotask_support import (
    ALL_IDS,
    AT_CODE,
    AT_RESOURCE_ID,
    AT_SECRET,
    AT_USER,
    a_company,
    companies,
    control,
    invoice_world,
    picklist,
    seed,
)


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
