"""Autotask reads over real HTTP: items, the routes the real API does not have, queries by GET and
POST, id-cursor paging past 500 records, MaxRecords and IncludeFields."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

from tests.sandbox.autotask_support import (
    ALL_IDS,
    AT_RESOURCE_ID,
    a_company,
    companies,
    seed,
)


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
