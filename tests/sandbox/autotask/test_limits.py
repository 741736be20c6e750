"""The tenant's limits over real HTTP: the rolling request threshold (latency past 50% and 75%,
refusal past 100%, freed in sandbox time), three concurrent calls per endpoint, base latency."""

from __future__ import annotations

import threading
import time

import requests

from sandbox.server import Sandbox
from tests.sandbox.autotask_support import (
    ALL_IDS,
    AT_USER,
    control,
)


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
