"""Tests of ``AutotaskHook``'s vocabulary against the sandbox's Autotask emulator over HTTP: queries
with nested filters, paging by nextPageUrl, ``in`` look-ups, writes and child records, picklists.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from atqbo.hooks import autotask as at
from atqbo.hooks.autotask import AutotaskPicklistError
from tests.hooks.autotask_support import (
    API_RESOURCE_ID,
    API_USER,
    SECRET,
    autotask_hook,
    autotask_requests,
    control,
    seed_companies,
)


def test_query_with_nested_filters_matches_the_grammar(box):
    companies = seed_companies(box, 40)
    hook = autotask_hook()
    # Mark some companies so that the filter has something to tell apart.
    vendor = hook.picklist_value("Companies", "companyType", "Vendor")
    for c in companies[:10]:
        hook.update("Companies", c["id"], {"companyType": vendor})
    for c in companies[5:15]:
        hook.update("Companies", c["id"], {"city": "Columbus"})
    chosen = [c["id"] for c in companies[20:25]]

    found = hook.query_all(
        "Companies",
        [
            at.begins_with("companyName", "company 00"),  # case-insensitive, like the real database
            at.or_(
                at.and_(at.eq("companyType", vendor), at.not_exist("city")),
                at.in_("id", chosen + [0]),  # id 0 (the local company) fails the name test
            ),
        ],
        include_fields=["companyName", "companyType", "city"],
    )
    expected = [c["id"] for c in companies[:5]] + chosen
    assert [r["id"] for r in found] == expected
    assert set(found[0]) == {"id", "companyName", "companyType", "city"}
    assert hook.count("Companies", at.contains("companyName", "pany 003")) == 10


def test_paging_past_500_follows_next_page_urls_by_post(box):
    companies = seed_companies(box, 1100)
    hook = autotask_hook()
    records = hook.query_all("Companies", at.gte("id", 0), include_fields=["companyName"])
    ids = [r["id"] for r in records]
    assert len(ids) == 1101 and ids == sorted(set(ids)) and ids[-1] == companies[-1]["id"]
    pages = list(autotask_requests(box, "/Companies/query"))
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in pages] == [
        ("POST", "query"),
        ("POST", "next"),
        ("POST", "next"),
    ]
    assert hook.calls_made["POST Companies/query"] == 1 and hook.calls_made["POST Companies/query/next"] == 2

    assert len(hook.query_all("Companies", max_records=700)) == 700
    assert len(autotask_requests(box, "/Companies/query")) == 5  # 700 records: two more pages, not three


def test_get_many_uses_in_queries_of_at_most_500_ids(box):
    companies = seed_companies(box, 1100)
    wanted = [c["id"] for c in companies] + [companies[0]["id"], 99_999_999]  # a duplicate and a missing id
    hook = autotask_hook()
    found = hook.get_many("Companies", wanted, include_fields=["companyName"])
    assert sorted(r["id"] for r in found) == sorted(c["id"] for c in companies)
    assert len(autotask_requests(box, "/Companies/query")) == 3  # 1,101 distinct ids -> 500 + 500 + 101

    control(box, "DELETE", "requests")
    assert len(autotask_hook().get_many("Companies", wanted[:50], chunk_size=20)) == 50
    assert len(autotask_requests(box, "/Companies/query")) == 3
    assert autotask_hook().get_many("Companies", []) == []
    with pytest.raises(ValueError, match="chunk_size"):
        hook.get_many("Companies", wanted, chunk_size=501)


def test_get_returns_the_record_or_none(box):
    hook = autotask_hook()
    assert hook.test_connection() == (True, f"Connected to {hook.zone_url()}; 1 of 10000 requests used this hour")
    assert hook.get("Companies", 0)["companyName"] == "Sandbox MSP (local company)"
    assert hook.get("Companies", 123456789) is None


def test_create_update_and_child_todo(box):
    hook = autotask_hook()
    company_id = hook.create(
        "Companies",
        {
            "companyName": "Contoso Dental",
            "companyType": hook.picklist_value("Companies", "companyType", "customer"),
            "phone": "614-555-0100",
            "ownerResourceID": API_RESOURCE_ID,
        },
    )
    assert hook.update("Companies", company_id, {"city": "Columbus"}) == company_id
    stored = hook.get("Companies", company_id)
    assert (stored["companyName"], stored["city"], stored["phone"]) == ("Contoso Dental", "Columbus", "614-555-0100")

    start = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    todo_id = hook.create_todo(
        company_id, 1, API_RESOURCE_ID, "Invoice 1042 failed: fix the customer", start, start + timedelta(hours=1)
    )
    todos = hook.query_all("CompanyToDos", at.eq("companyID", company_id))
    assert [(t["id"], t["activityDescription"], t["startDateTime"]) for t in todos] == [
        (todo_id, "Invoice 1042 failed: fix the customer", "2024-06-03T09:00:00Z")
    ]
    assert any(
        r["method"] == "POST" and r["path"].endswith(f"/Companies/{company_id}/ToDos") for r in autotask_requests(box)
    )


def test_picklists_come_from_entity_information_and_are_cached(box):
    hook = autotask_hook()
    fields = requests.get(
        f"{hook.zone_url()}/PurchaseOrders/entityInformation/fields",
        headers={"ApiIntegrationCode": "ATQBOSANDBOX", "UserName": API_USER, "Secret": SECRET},
        timeout=10,
    ).json()["fields"]
    status = next(f for f in fields if f["name"] == "status")
    truth = {v["value"]: v["label"] for v in status["picklistValues"]}

    assert hook.picklist("PurchaseOrders", "status") == truth
    submitted = next(value for value, label in truth.items() if label == "Submitted")
    assert hook.picklist_value("PurchaseOrders", "Status", "  submitted ") == int(submitted)
    with pytest.raises(AutotaskPicklistError) as info:
        hook.picklist_value("PurchaseOrders", "status", "Shipped")
    assert "'Shipped'" in str(info.value) and "Received Partial" in str(info.value)
    with pytest.raises(AutotaskPicklistError, match="not a picklist"):
        hook.picklist("PurchaseOrders", "vendorID")
    assert hook.calls_made["GET PurchaseOrders/entityInformation/fields"] == 1


def test_bey08_entity_information_says_what_the_api_user_may_do(box):
    hook = autotask_hook()

    invoices = hook.entity_information("Invoices")
    todos = hook.entity_information("CompanyToDos")

    assert hook.api_user_name == API_USER
    assert invoices["canQuery"] is True and invoices["canCreate"] is False and invoices["canUpdate"] is True
    assert invoices["userAccessForQuery"] == "All" and invoices["userAccessForCreate"] == "None"
    assert todos["canCreate"] is True and todos["userAccessForCreate"] == "All"
    assert [f"{r['method']} {r['path'].split('/v1.0/')[-1]}" for r in autotask_requests(box, "entityInformation")] == [
        "GET Invoices/entityInformation",
        "GET CompanyToDos/entityInformation",
    ]


def test_query_in_and_update_many_three_at_a_time_with_refusals_per_record(box, monkeypatch):
    import threading
    import time

    from atqbo.hooks.autotask import AutotaskAuthError, AutotaskError, AutotaskNotFoundError, AutotaskValidationError

    hook = autotask_hook()
    kind = hook.picklist_value("Companies", "companyType", "customer")
    ids = [
        hook.create(
            "Companies",
            {"companyName": f"Co {i}", "companyType": kind, "phone": "1", "ownerResourceID": API_RESOURCE_ID},
        )
        for i in range(5)
    ]
    found = hook.query_in("Companies", "id", [*ids, ids[0]], include_fields=["id", "city"], chunk_size=2)
    assert sorted(r["id"] for r in found) == sorted(ids)
    assert hook.query_in("Companies", "id", []) == []

    in_flight, most = 0, 0
    lock = threading.Lock()
    real_update = hook.update

    def counting_update(entity, record_id, fields):
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            time.sleep(0.05)
            return real_update(entity, record_id, fields)
        finally:
            with lock:
                in_flight -= 1

    monkeypatch.setattr(hook, "update", counting_update)
    written: list[int] = []
    changes = [(i, {"city": "Columbus"}) for i in ids] + [(987654321, {"city": "Nowhere"})]
    refused = hook.update_many("Companies", changes, on_written=written.append)
    assert list(refused) == [987654321]
    assert isinstance(refused[987654321], (AutotaskNotFoundError, AutotaskValidationError))
    assert sorted(written) == sorted(ids) and most == 3  # Autotask's thread limit, never more
    assert {hook.get("Companies", i)["city"] for i in ids} == {"Columbus"}
    assert at.record_refused(refused[987654321])
    assert not at.record_refused(AutotaskAuthError("x", status=401)) and not at.record_refused(AutotaskError("x"))
