"""Tests of ``atqbo.hooks.autotask_client``, the one HTTP path of the Autotask hook: connection and
auth, the retry policy, typed errors, creates that may have applied, secrets kept out of everything.

The HTTP tests run against the sandbox's Autotask emulator, reset before each test; the hook's
waits go through a recording ``sleep`` so retries and pacing cost no wall time.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks import autotask as at
from atqbo.hooks.autotask import (
    AutotaskAmbiguousWriteError,
    AutotaskAuthError,
    AutotaskError,
    AutotaskHook,
    AutotaskNotFoundError,
    AutotaskServerError,
    AutotaskThrottledError,
    AutotaskValidationError,
)
from atqbo.hooks.retry import RetryLater
from tests.hooks.autotask_support import (
    API_RESOURCE_ID,
    API_USER,
    SECRET,
    SleepRecorder,
    autotask_hook,
    autotask_requests,
    control,
    set_connection,
)


def test_budget_share_outside_setting_range_is_refused():
    with pytest.raises(ValueError, match="budget_share"):
        AutotaskHook(budget_share=0.01)


def test_missing_connection_fields_name_the_fix(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_AUTOTASK_BROKEN",
        json.dumps({"conn_type": "autotask", "host": "http://127.0.0.1:9", "login": "api@example.com"}),
    )
    hook = autotask_hook(autotask_conn_id="autotask_broken")
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
    hook = autotask_hook(max_retries=0)
    with pytest.raises(AutotaskServerError) as info:  # nothing listens on port 9
        hook.zone_url()
    assert SECRET not in repr(hook) and SECRET not in str(hook) and SECRET not in str(info.value)
    assert "api@example.com" in repr(hook)


def test_backoff_doubles_with_jitter_and_honours_retry_after(caplog):
    caplog.set_level(logging.WARNING, logger="atqbo.hooks.autotask")
    sleep = SleepRecorder()
    hook = autotask_hook(sleep=sleep, backoff_base=2.0, max_backoff=5.0, max_retry_after=30.0)
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


def test_wrong_secret_is_auth_error_401_after_one_zone_recheck(box, monkeypatch):
    set_connection(monkeypatch, box, password="not-the-secret")
    with pytest.raises(AutotaskAuthError) as info:
        autotask_hook().count("Companies")
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
        autotask_hook().count("Companies")
    assert info.value.status == 500 and info.value.errors == ["IntegrationCode is invalid."]
    assert "IntegrationCode is invalid." in str(info.value) and "integration_code" in str(info.value)


def test_three_auth_headers_always_and_impersonation_only_on_writes(box, monkeypatch):
    set_connection(monkeypatch, box, extra={"impersonation_resource_id": API_RESOURCE_ID})
    hook = autotask_hook()
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


def test_validation_error_carries_autotasks_message_and_is_not_retried(box):
    hook = autotask_hook()
    with pytest.raises(AutotaskValidationError) as info:
        hook.create("Companies", {"companyName": "No Phone Ltd", "companyType": 1, "ownerResourceID": API_RESOURCE_ID})
    assert info.value.status == 500 and info.value.entity == "Companies"
    assert info.value.errors == ["Missing required field phone for the Company Entity"]
    assert "Missing required field phone" in str(info.value) and "POST Companies" in str(info.value)
    assert len([r for r in autotask_requests(box) if r["method"] == "POST"]) == 1

    with pytest.raises(AutotaskValidationError, match="Unable to find projectID in the Company Entity"):
        hook.count("Companies", at.eq("projectID", 1))


def test_missing_record_or_entity_is_not_found(box):
    hook = autotask_hook()
    with pytest.raises(AutotaskNotFoundError) as info:
        hook.update("Companies", 123456789, {"city": "Nowhere"})
    assert "No matching records found for Company id 123456789" in str(info.value) and "id 123456789" in str(info.value)
    with pytest.raises(AutotaskNotFoundError) as info:
        hook.count("Companys")
    assert info.value.status == 404
    assert len([r for r in autotask_requests(box) if r["method"] in ("PATCH", "POST")]) == 2  # neither retried


def test_429_is_retried_with_backoff_then_succeeds(box):
    control(box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": "throttle_429", "times": 2})
    sleep = SleepRecorder()
    hook = autotask_hook(sleep=sleep, backoff_base=1.0)
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
    hook = autotask_hook()
    new_id = hook.create(
        "Companies", {"companyName": "Retry Co", "companyType": 1, "phone": "1", "ownerResourceID": API_RESOURCE_ID}
    )
    assert [r["status"] for r in autotask_requests(box) if r["method"] == "POST"] == [503, 200]
    assert [c["id"] for c in box.state()["autotask"]["Companies"] if c["companyName"] == "Retry Co"] == [new_id]


def test_unhandled_500_is_retried_on_reads(box):
    control(box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": "error_500", "times": 1})
    assert autotask_hook().count("Companies") == 1
    assert [r["status"] for r in autotask_requests(box, "Companies/query")] == [500, 200]


def test_unhandled_500_on_a_create_is_ambiguous(box):
    control(box, "POST", "faults", {"api": "autotask", "method": "POST", "path": "Companies$", "mode": "error_500"})
    with pytest.raises(AutotaskAmbiguousWriteError, match="may or may not have been created"):
        autotask_hook().create("Companies", {"companyName": "Maybe Co", "companyType": 1, "phone": "1"})


def test_dropped_connection_on_a_read_is_retried(box):
    control(
        box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": "drop_connection", "times": 1}
    )
    assert autotask_hook().count("Companies") == 1
    assert [r["status"] for r in autotask_requests(box, "Companies/query")] == [None, 200]


@pytest.mark.parametrize(
    "mode, error, status",
    [("throttle_429", AutotaskThrottledError, 429), ("error_503", AutotaskServerError, 503)],
)
def test_exhausted_retries_raise_the_typed_error(box, mode, error, status):
    control(box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": mode})
    sleep = SleepRecorder()
    with pytest.raises(error) as info:
        autotask_hook(max_retries=3, sleep=sleep).count("Companies")
    assert info.value.status == status and "after 4 attempts" in str(info.value)
    assert len(autotask_requests(box, "Companies/query")) == 4 and len(sleep.waits) == 3


@pytest.mark.parametrize("mode", ["commit_then_error", "drop_connection"])
def test_create_that_may_have_applied_is_an_ambiguous_write(box, mode):
    control(
        box, "POST", "faults", {"api": "autotask", "method": "POST", "path": "Companies$", "mode": mode, "times": 1}
    )
    hook = autotask_hook()
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
        autotask_hook().create(
            "Companies", {"companyName": "Slow Co", "companyType": 1, "phone": "1", "ownerResourceID": API_RESOURCE_ID}
        )
    # The sandbox logs the held request when it lets go; wait for that so the next test starts clean.
    deadline = time.monotonic() + 5
    while not [r for r in autotask_requests(box) if r["method"] == "POST"] and time.monotonic() < deadline:
        time.sleep(0.05)


def test_secret_never_in_exceptions_or_logs(box, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    hook = autotask_hook(max_retries=1)
    hook.count("Companies")
    control(box, "POST", "faults", {"api": "autotask", "path": "Companies/query", "mode": "throttle_429"})
    with pytest.raises(AutotaskThrottledError) as throttled:
        hook.count("Companies")
    with pytest.raises(AutotaskValidationError) as invalid:
        hook.create("Companies", {"companyName": SECRET})
    set_connection(monkeypatch, box, password=SECRET + "x")
    with pytest.raises(AutotaskAuthError) as denied:
        autotask_hook().get("Companies", 0)
    text = caplog.text + " ".join(
        repr(e.value) + str(e.value) + str(e.value.errors) for e in (throttled, invalid, denied)
    )
    assert SECRET not in text and "ATQBOSANDBOX" not in text
    assert "Autotask POST /ws1/atservicesrest/v1.0/Companies/query/count -> 200" in caplog.text
    assert all(isinstance(e.value, AutotaskError) for e in (throttled, invalid, denied))
