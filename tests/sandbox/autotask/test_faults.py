"""Injected faults on Autotask calls (the bodies the real service gives, timeouts, commit then
error, dropped connections, latency) and the request log, through the control endpoints."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.server import Sandbox
from tests.sandbox.autotask_support import (
    ALL_IDS,
    a_company,
    companies,
    control,
    seed,
)


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
