"""Tests of AutotaskHook: pure logic first, then real HTTP against the sandbox's Autotask emulator.

The HTTP tests start one sandbox for the module and reset it before each test. Connections come
from ``AIRFLOW_CONN_AUTOTASK_DEFAULT`` as the sandbox describes them; the hook's waits go through
a recording ``sleep`` so retries and pacing cost no wall time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks import autotask as at
from atqbo.hooks.autotask import (
    AutotaskAmbiguousWriteError,
    AutotaskAuthError,
    AutotaskBudgetExhaustedError,
    AutotaskError,
    AutotaskHook,
    AutotaskNotFoundError,
    AutotaskPicklistError,
    AutotaskServerError,
    AutotaskThrottledError,
    AutotaskValidationError,
)
from atqbo.hooks.autotask_errors import connection_refused
from atqbo.hooks.autotask_zones import zone_api_base
from atqbo.hooks.retry import RetryLater, retry_after_seconds

SECRET = "s3cret-Very-Private-4711"


class SleepRecorder:
    """Stands in for time.sleep: records each wait, optionally runs a callback on it."""

    def __init__(self, on_sleep=None):
        self.waits: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.on_sleep:
            self.on_sleep(len(self.waits))


def make_hook(**kwargs) -> AutotaskHook:
    kwargs.setdefault("sleep", SleepRecorder())
    return AutotaskHook(**kwargs)


# --- pure logic -------------------------------------------------------------------------------------


def test_filter_builders_produce_autotask_items():
    when = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert at.eq("isActive", True) == {"op": "eq", "field": "isActive", "value": True}
    assert at.gte("invoiceDateTime", when) == {"op": "gte", "field": "invoiceDateTime", "value": "2024-05-01T16:30:00Z"}
    assert at.in_("id", (1, 2)) == {"op": "in", "field": "id", "value": [1, 2]}
    assert at.not_exist("webServiceDate") == {"op": "notExist", "field": "webServiceDate"}
    assert at.eq("QBO Id", "58", udf=True) == {"op": "eq", "field": "QBO Id", "value": "58", "udf": True}
    assert at.or_(at.begins_with("companyName", "A"), at.exist("phone")) == {
        "op": "or",
        "items": [
            {"op": "beginsWith", "field": "companyName", "value": "A"},
            {"op": "exist", "field": "phone"},
        ],
    }


def test_normalize_filters_accepts_raw_dicts_and_fixes_operator_spelling():
    raw = [{"OP": "BEGINSWITH", "Field": "companyName", "Value": "Con"}, {"op": "or", "items": [at.eq("id", 1)]}]
    assert at.normalize_filters(raw) == [
        {"op": "beginsWith", "field": "companyName", "value": "Con"},
        {"op": "or", "items": [{"op": "eq", "field": "id", "value": 1}]},
    ]
    # A single item is a one-item filter; no filter selects everything (Autotask requires one).
    assert at.normalize_filters(at.eq("id", 3)) == [{"op": "eq", "field": "id", "value": 3}]
    assert at.normalize_filters(None) == [{"op": "gte", "field": "id", "value": 0}]


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"op": "ne", "field": "id", "value": 1}, "unknown operator 'ne'"),  # Autotask would silently drop it
        ({"op": "eq", "field": "paidDate", "value": None}, "exist()"),
        ({"op": "in", "field": "id", "value": []}, "non-empty list"),
        ({"op": "or", "items": []}, "non-empty 'items'"),
        ({"op": "eq", "value": 1}, "needs a 'field'"),
        ({"op": "eq", "field": "id"}, "needs a 'value'"),
    ],
)
def test_normalize_filters_refuses_what_autotask_would_misread(bad, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        at.normalize_filters([at.eq("isActive", True), bad])


@pytest.mark.parametrize(
    "zone, base",
    [
        (
            "https://webservices15.autotask.net/atservicesrest/",
            "https://webservices15.autotask.net/atservicesrest/v1.0",
        ),
        ("https://webservices5.autotask.net/ATServicesRest", "https://webservices5.autotask.net/ATServicesRest/v1.0"),
        ("http://127.0.0.1:8700/", "http://127.0.0.1:8700/atservicesrest/v1.0"),
    ],
)
def test_zone_url_becomes_api_base(zone, base):
    assert zone_api_base(zone) == base


def test_budget_share_outside_setting_range_is_refused():
    with pytest.raises(ValueError, match="budget_share"):
        AutotaskHook(budget_share=0.01)


def test_missing_connection_fields_name_the_fix(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_AUTOTASK_BROKEN",
        json.dumps({"conn_type": "autotask", "host": "http://127.0.0.1:9", "login": "api@example.com"}),
    )
    hook = make_hook(autotask_conn_id="autotask_broken")
    with pytest.raises(AtqboConfigError) as info:
        hook.zone_url()
    assert "password (Secret)" in str(info.value) and "extra.integration_code" in str(info.value)
    assert "autotask_broken" in str(info.value)


def test_repr_and_requests_never_show_secret(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_AUTOTASK_DEFAULT",
        json.dumps(
            {
                "conn_type": "autotask",
                "host": "http://127.0.0.1:9",
                "login": "api@example.com",
                "password": SECRET,
                "extra": {"integration_code": "INTCODE123"},
            }
        ),
    )
    hook = make_hook(max_retries=0)
    with pytest.raises(AutotaskServerError) as info:  # nothing listens on port 9
        hook.zone_url()
    assert SECRET not in repr(hook) and SECRET not in str(hook) and SECRET not in str(info.value)
    assert "api@example.com" in repr(hook)


def test_backoff_doubles_with_jitter_and_honours_retry_after(caplog):
    caplog.set_level(logging.WARNING, logger="atqbo.hooks.autotask")
    sleep = SleepRecorder()
    hook = make_hook(sleep=sleep, backoff_base=2.0, max_backoff=5.0, max_retry_after=30.0)
    failures = [RetryLater(AutotaskServerError("gave up"), "HTTP 503") for _ in range(3)]
    failures += [RetryLater(AutotaskThrottledError("gave up"), "HTTP 429", retry_after=s) for s in (7.0, 3600.0)]
    failures.append(RetryLater(AutotaskThrottledError("gave up"), "HTTP 429", throttled=True))

    def attempt(number: int) -> str:
        if number < len(failures):
            raise failures[number]
        return "answered"

    hook.max_retries = len(failures)
    assert hook._with_retries(attempt, "GET x") == "answered"
    assert 1.0 <= sleep.waits[0] <= 2.0 and 2.0 <= sleep.waits[1] <= 4.0 and 2.5 <= sleep.waits[2] <= 5.0
    assert sleep.waits[3:5] == [7.0, 30.0]
    # a 429 without Retry-After climbs like any failure (no longer climb: Autotask refuses past a thread limit)
    assert 2.5 <= sleep.waits[5] <= 5.0 and len(sleep.waits) == 6
    assert "Autotask GET x failed (HTTP 503); retry 1/6 in " in caplog.text
    assert "Autotask GET x failed (HTTP 429); retry 5/6 in 30.0 s" in caplog.text


def test_refused_connection_is_known_to_be_unsent():
    # A create is retried only when the request surely never reached Autotask.
    with pytest.raises(requests.ConnectionError) as refused:
        requests.post("http://127.0.0.1:9/atservicesrest/v1.0/Companies", timeout=2)
    assert connection_refused(refused.value)
    assert not connection_refused(requests.ConnectionError("Connection aborted.", ConnectionResetError(104, "reset")))


def test_retry_after_header_is_read_as_seconds_or_http_date():
    response = requests.Response()
    response.headers["Retry-After"] = "7"
    assert retry_after_seconds(response) == 7.0
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: no wait
    assert retry_after_seconds(response) == 0.0
    del response.headers["Retry-After"]
    assert retry_after_seconds(response) is None


# --- HTTP against the sandbox -----------------------------------------------------------------------

API_USER = "atqbo-api@sandbox.local"
API_RESOURCE_ID = 29682885  # the API-only resource the sandbox has after reset


@pytest.fixture(scope="module")
def sandbox_server():
    from sandbox import Sandbox

    server = Sandbox(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def box(sandbox_server, monkeypatch):
    """A reset sandbox whose Autotask secret is SECRET, and the connection pointing at it."""
    sandbox_server.reset()
    sandbox_server.seed({"autotask": {"credentials": {"secret": SECRET}}})
    AutotaskHook.clear_zone_cache()
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps(sandbox_server.connections()["autotask_default"]))
    yield sandbox_server
    AutotaskHook.clear_zone_cache()


def control(box, method: str, what: str, doc=None):
    response = requests.request(method, f"{box.base_url}/_sandbox/{what}", json=doc, timeout=10)
    response.raise_for_status()
    return response.json()


def autotask_requests(box, path_contains: str = "") -> list[dict]:
    return [r for r in control(box, "GET", "requests?api=autotask") if path_contains.lower() in r["path"].lower()]


def set_connection(monkeypatch, box, **changes):
    conn = box.connections()["autotask_default"]
    extra = {**conn["extra"], **changes.pop("extra", {})}
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps({**conn, **changes, "extra": extra}))


def seed_companies(box, n: int, **fields) -> list[dict]:
    companies = [
        {
            "companyName": f"Company {i:04d}",
            "companyType": 1,
            "phone": "555-0100",
            "ownerResourceID": API_RESOURCE_ID,
            "isActive": True,
            **fields,
        }
        for i in range(n)
    ]
    box.seed({"autotask": {"Companies": companies}})
    return [c for c in box.state()["autotask"]["Companies"] if c["id"] != 0]


def test_zone_discovery_is_cached_per_user_for_every_hook(box):
    first = make_hook()
    assert first.zone_url() == f"{box.base_url}/ws1/atservicesrest/v1.0"
    first.count("Companies")
    make_hook().count("Companies")  # a second hook in the same process reuses the zone
    assert len(autotask_requests(box, "zoneInformation")) == 1
    assert first.calls_made["GET zoneInformation"] == 1

    AutotaskHook.clear_zone_cache()
    make_hook().count("Companies")
    assert len(autotask_requests(box, "zoneInformation")) == 2


def test_zone_cache_expires_after_12_hours(box):
    now = [1000.0]
    hook = make_hook(clock=lambda: now[0])
    hook.zone_url()
    now[0] += 12 * 3600 - 1
    hook.zone_url()
    assert len(autotask_requests(box, "zoneInformation")) == 1
    now[0] += 2
    hook.zone_url()
    assert len(autotask_requests(box, "zoneInformation")) == 2


def test_zone_move_is_rediscovered_after_401_and_the_call_retried_once(box):
    hook = make_hook()
    assert hook.count("Companies") == 1  # the local company
    box.seed({"autotask": {"zone": "ws2"}})

    assert hook.count("Companies") == 1
    assert hook.zone_url().endswith("/ws2/atservicesrest/v1.0")
    tail = [(r["method"], r["path"].split("/atservicesrest")[0][-3:], r["status"]) for r in autotask_requests(box)][-3:]
    assert tail == [("POST", "ws1", 401), ("GET", "", 200), ("POST", "ws2", 200)]


def test_zone_move_in_the_middle_of_paging_continues_on_the_new_zone(box):
    seed_companies(box, 600)
    hook = make_hook()
    records = hook.query("Companies", at.gte("id", 0))
    first = next(records)
    box.seed({"autotask": {"zone": "ws2"}})
    rest = list(records)
    assert len(rest) + 1 == 601 and first["id"] == 0
    assert [r["status"] for r in autotask_requests(box, "query/next")] == [401, 200]


def test_err06_unknown_api_user_is_one_clear_auth_error(box, monkeypatch):
    set_connection(monkeypatch, box, login="nobody@example.com")
    hook = make_hook()
    with pytest.raises(AutotaskAuthError) as info:
        hook.count("Companies")
    message = str(info.value)
    assert "nobody@example.com" in message and "login of Airflow connection 'autotask_default'" in message
    assert info.value.status == 500
    assert len(autotask_requests(box)) == 1  # zoneInformation only: no retries, nothing else sent


def test_wrong_secret_is_auth_error_401_after_one_zone_recheck(box, monkeypatch):
    set_connection(monkeypatch, box, password="not-the-secret")
    with pytest.raises(AutotaskAuthError) as info:
        make_hook().count("Companies")
    assert (
        info.value.status == 401 and "Secret" in str(info.value) and "password of Airflow connection" in str(info.value)
    )
    assert "not-the-secret" not in str(info.value)
    assert [(r["path"].rsplit("/", 1)[-1], r["status"]) for r in autotask_requests(box)] == [
        ("zoneInformation", 200),
        ("ThresholdInformation", 401),
        ("zoneInformation", 200),  # the zone did not move: no second try
    ]


def test_wrong_integration_code_is_auth_error_with_autotasks_message(box, monkeypatch):
    set_connection(monkeypatch, box, extra={"integration_code": "WRONGCODE"})
    with pytest.raises(AutotaskAuthError) as info:
        make_hook().count("Companies")
    assert info.value.status == 500 and info.value.errors == ["IntegrationCode is invalid."]
    assert "IntegrationCode is invalid." in str(info.value) and "integration_code" in str(info.value)


def test_three_auth_headers_always_and_impersonation_only_on_writes(box, monkeypatch):
    set_connection(monkeypatch, box, extra={"impersonation_resource_id": API_RESOURCE_ID})
    hook = make_hook()
    sent: list[requests.PreparedRequest] = []
    hook.get_conn().hooks["response"].append(lambda response, **_: sent.append(response.request))
    hook.update("Companies", 0, {"phone": "555-0199"})
    reads = [r for r in sent if r.method == "GET" and "zoneInformation" not in r.url]
    writes = [r for r in sent if r.method == "PATCH"]
    zone = [r for r in sent if "zoneInformation" in r.url]
    assert reads and writes and zone
    for request in reads + writes:
        assert request.headers["ApiIntegrationCode"] == "ATQBOSANDBOX"
        assert request.headers["UserName"] == API_USER
        assert request.headers["Secret"] == SECRET
        assert request.headers["Content-Type"] == "application/json"
    assert all("ImpersonationResourceId" not in r.headers for r in reads)
    assert writes[0].headers["ImpersonationResourceId"] == str(API_RESOURCE_ID)
    assert "Secret" not in zone[0].headers  # zone discovery is anonymous


def test_query_with_nested_filters_matches_the_grammar(box):
    companies = seed_companies(box, 40)
    hook = make_hook()
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
    hook = make_hook()
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
    hook = make_hook()
    found = hook.get_many("Companies", wanted, include_fields=["companyName"])
    assert sorted(r["id"] for r in found) == sorted(c["id"] for c in companies)
    assert len(autotask_requests(box, "/Companies/query")) == 3  # 1,101 distinct ids -> 500 + 500 + 101

    control(box, "DELETE", "requests")
    assert len(make_hook().get_many("Companies", wanted[:50], chunk_size=20)) == 50
    assert len(autotask_requests(box, "/Companies/query")) == 3
    assert make_hook().get_many("Companies", []) == []
    with pytest.raises(ValueError, match="chunk_size"):
        hook.get_many("Companies", wanted, chunk_size=501)


def test_get_returns_the_record_or_none(box):
    hook = make_hook()
    assert hook.test_connection() == (True, f"Connected to {hook.zone_url()}; 1 of 10000 requests used this hour")
    assert hook.get("Companies", 0)["companyName"] == "Sandbox MSP (local company)"
    assert hook.get("Companies", 123456789) is None


def test_create_update_and_child_todo(box):
    hook = make_hook()
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


def test_validation_error_carries_autotasks_message_and_is_not_retried(box):
    hook = make_hook()
    with pytest.raises(AutotaskValidationError) as info:
        hook.create("Companies", {"companyName": "No Phone Ltd", "companyType": 1, "ownerResourceID": API_RESOURCE_ID})
    assert info.value.status == 500 and info.value.entity == "Companies"
    assert info.value.errors == ["Missing required field phone for the Company Entity"]
    assert "Missing required field phone" in str(info.value) and "POST Companies" in str(info.value)
    assert len([r for r in autotask_requests(box) if r["method"] == "POST"]) == 1

    with pytest.raises(AutotaskValidationError, match="Unable to find projectID in the Company Entity"):
        hook.count("Companies", at.eq("projectID", 1))


def test_missing_record_or_entity_is_not_found(box):
    hook = make_hook()
    with pytest.raises(AutotaskNotFoundError) as info:
        hook.update("Companies", 123456789, {"city": "Nowhere"})
    assert "No matching records found for Company id 123456789" in str(info.value) and "id 123456789" in str(info.value)
    with pytest.raises(AutotaskNotFoundError) as info:
        hook.count("Companys")
    assert info.value.status == 404
    assert len([r for r in autotask_requests(box) if r["method"] in ("PATCH", "POST")]) == 2  # neither retried


def test_picklists_come_from_entity_information_and_are_cached(box):
    hook = make_hook()
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


def test_429_is_retried_with_backoff_then_succeeds(box):
    control(box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": "throttle_429", "times": 2})
    sleep = SleepRecorder()
    hook = make_hook(sleep=sleep, backoff_base=1.0)
    assert hook.count("Companies") == 1
    assert [r["status"] for r in autotask_requests(box, "Companies/query")] == [429, 429, 200]
    assert len(sleep.waits) == 2 and 0.5 <= sleep.waits[0] <= 1.0 and 1.0 <= sleep.waits[1] <= 2.0


def test_503_is_retried_even_for_creates(box):
    control(
        box,
        "POST",
        "faults",
        {"api": "autotask", "method": "POST", "path": "Companies$", "mode": "error_503", "times": 1},
    )
    hook = make_hook()
    new_id = hook.create(
        "Companies", {"companyName": "Retry Co", "companyType": 1, "phone": "1", "ownerResourceID": API_RESOURCE_ID}
    )
    assert [r["status"] for r in autotask_requests(box) if r["method"] == "POST"] == [503, 200]
    assert [c["id"] for c in box.state()["autotask"]["Companies"] if c["companyName"] == "Retry Co"] == [new_id]


def test_unhandled_500_is_retried_on_reads(box):
    control(box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": "error_500", "times": 1})
    assert make_hook().count("Companies") == 1
    assert [r["status"] for r in autotask_requests(box, "Companies/query")] == [500, 200]


def test_unhandled_500_on_a_create_is_ambiguous(box):
    control(box, "POST", "faults", {"api": "autotask", "method": "POST", "path": "Companies$", "mode": "error_500"})
    with pytest.raises(AutotaskAmbiguousWriteError, match="may or may not have been created"):
        make_hook().create("Companies", {"companyName": "Maybe Co", "companyType": 1, "phone": "1"})


def test_dropped_connection_on_a_read_is_retried(box):
    control(
        box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": "drop_connection", "times": 1}
    )
    assert make_hook().count("Companies") == 1
    assert [r["status"] for r in autotask_requests(box, "Companies/query")] == [None, 200]


@pytest.mark.parametrize(
    "mode, error, status",
    [("throttle_429", AutotaskThrottledError, 429), ("error_503", AutotaskServerError, 503)],
)
def test_exhausted_retries_raise_the_typed_error(box, mode, error, status):
    control(box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": mode})
    sleep = SleepRecorder()
    with pytest.raises(error) as info:
        make_hook(max_retries=3, sleep=sleep).count("Companies")
    assert info.value.status == status and "after 4 attempts" in str(info.value)
    assert len(autotask_requests(box, "Companies/query")) == 4 and len(sleep.waits) == 3


@pytest.mark.parametrize("mode", ["commit_then_error", "drop_connection"])
def test_create_that_may_have_applied_is_an_ambiguous_write(box, mode):
    control(
        box, "POST", "faults", {"api": "autotask", "method": "POST", "path": "Companies$", "mode": mode, "times": 1}
    )
    hook = make_hook()
    with pytest.raises(AutotaskAmbiguousWriteError) as info:
        hook.create(
            "Companies", {"companyName": "Maybe Co", "companyType": 1, "phone": "1", "ownerResourceID": API_RESOURCE_ID}
        )
    assert not isinstance(info.value, AutotaskServerError)  # a generic server-error retry must not catch it
    assert "may or may not have been created" in str(info.value) and "Companies" in str(info.value)
    assert len([r for r in autotask_requests(box) if r["method"] == "POST"]) == 1  # not retried
    created = [c for c in box.state()["autotask"]["Companies"] if c["companyName"] == "Maybe Co"]
    assert len(created) == (1 if mode == "commit_then_error" else 0)


def test_create_that_timed_out_is_an_ambiguous_write(box, monkeypatch):
    set_connection(monkeypatch, box, extra={"timeout": 0.3})
    control(
        box,
        "POST",
        "faults",
        {"api": "autotask", "method": "POST", "path": "Companies$", "mode": "timeout", "latency_ms": 800, "times": 1},
    )
    with pytest.raises(AutotaskAmbiguousWriteError, match="ReadTimeout"):
        make_hook().create(
            "Companies", {"companyName": "Slow Co", "companyType": 1, "phone": "1", "ownerResourceID": API_RESOURCE_ID}
        )
    # The sandbox logs the held request when it lets go; wait for that so the next test starts clean.
    deadline = time.monotonic() + 5
    while not [r for r in autotask_requests(box) if r["method"] == "POST"] and time.monotonic() < deadline:
        time.sleep(0.05)


def test_bey05_pacing_waits_while_budget_used_up_then_proceeds(box):
    control(box, "POST", "limits", {"autotask": {"request_threshold": 40, "used_requests": 25}})
    # While the hook waits, other integrations' requests age out of the rolling window.
    sleep = SleepRecorder(
        on_sleep=lambda n: n == 2 and control(box, "POST", "limits", {"autotask": {"used_requests": 0}})
    )
    hook = make_hook(budget_share=0.5, sleep=sleep, budget_poll_interval=60)
    assert hook.count("Companies") == 1
    assert sleep.waits == [60, 60] and hook.budget_waited_s == 120
    assert hook.calls_made["GET ThresholdInformation"] == 3
    paths = [r["path"].rsplit("/", 1)[-1] for r in autotask_requests(box)]
    assert paths == ["zoneInformation", "ThresholdInformation", "ThresholdInformation", "ThresholdInformation", "count"]


def test_bey05_pacing_gives_up_after_max_wait(box):
    control(box, "POST", "limits", {"autotask": {"request_threshold": 40, "used_requests": 25}})
    sleep = SleepRecorder()
    hook = make_hook(budget_share=0.5, sleep=sleep, budget_poll_interval=60, budget_max_wait=180)
    with pytest.raises(AutotaskBudgetExhaustedError) as info:
        hook.count("Companies")
    assert "20" in str(info.value) and "of 40" in str(info.value) and "autotask_budget_share" in str(info.value)
    assert sleep.waits == [60, 60, 60]
    assert not autotask_requests(box, "Companies/query")  # the call itself was never sent


def test_bey05_budget_checks_are_rare_far_from_the_limit(box):
    seed_companies(box, 1100)
    hook = make_hook()
    for _ in range(5):
        hook.query_all("Companies", at.gte("id", 0), include_fields=["companyName"])
    assert hook.total_calls == 1 + 1 + 15  # zone, one threshold check, 5 x 3 pages
    assert hook.calls_made["GET ThresholdInformation"] == 1


def test_at_most_three_concurrent_calls_per_endpoint(box):
    control(box, "POST", "limits", {"autotask": {"latency_ms": 120}})
    hook = make_hook()
    hook.count("Companies")  # zone and budget check out of the way
    control(box, "DELETE", "requests")
    errors: list[BaseException] = []

    def work(entity: str) -> None:
        try:
            for _ in range(2):
                hook.count(entity)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e,)) for e in ["Companies", "Invoices"] * 6]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    log = autotask_requests(box)
    assert len(log) == 24 and {r["status"] for r in log} == {200}  # the sandbox never had to refuse one
    peaks = {
        entity: _peak_overlap([r for r in log if f"/{entity}/" in r["path"]]) for entity in ("Companies", "Invoices")
    }
    assert peaks == {"Companies": 3, "Invoices": 3}
    assert _peak_overlap(log) > 3  # the two endpoints did run side by side


def _peak_overlap(entries: list[dict]) -> int:
    events = sorted([(r["start"], 1) for r in entries] + [(r["end"], -1) for r in entries])  # ends first on ties
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def test_secret_never_in_exceptions_or_logs(box, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    hook = make_hook(max_retries=1)
    hook.count("Companies")
    control(box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": "throttle_429"})
    with pytest.raises(AutotaskThrottledError) as throttled:
        hook.count("Companies")
    with pytest.raises(AutotaskValidationError) as invalid:
        hook.create("Companies", {"companyName": SECRET})
    set_connection(monkeypatch, box, password=SECRET + "x")
    with pytest.raises(AutotaskAuthError) as denied:
        make_hook().get("Companies", 0)
    text = caplog.text + " ".join(
        repr(e.value) + str(e.value) + str(e.value.errors) for e in (throttled, invalid, denied)
    )
    assert SECRET not in text and "ATQBOSANDBOX" not in text
    assert "Autotask POST /ws1/atservicesrest/v1.0/Companies/query/count -> 200" in caplog.text
    assert all(isinstance(e.value, AutotaskError) for e in (throttled, invalid, denied))
