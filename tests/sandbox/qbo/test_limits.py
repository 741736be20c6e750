"""QBO's limits and injected faults over real HTTP: requests and batches per minute (in sandbox
time), concurrency, adjustable limits, and the fault bodies of the real service."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from sandbox.server import Sandbox
from tests.sandbox.qbo_support import QboClient


def test_requests_per_minute_over_the_limit_get_the_xml_throttle_fault(fresh_sandbox, qbo):
    qbo.refresh()
    fresh_sandbox.set_limits({"qbo": {"requests_per_minute": 3}})
    statuses = [qbo.call("GET", "preferences").status_code for _ in range(3)]
    throttled = qbo.call("GET", "preferences")
    assert statuses == [200, 200, 200] and throttled.status_code == 429
    assert throttled.headers["Content-Type"].startswith("application/xml")
    assert '<Error code="3001">' in throttled.text and "ThrottleExceeded" in throttled.text
    assert "The request limit was reached.  Try again later" in throttled.text


def test_the_per_minute_window_runs_on_sandbox_time():
    fast = Sandbox(port=0, time_scale=60).start()  # a sandbox minute is a real second
    try:
        fast.set_limits({"qbo": {"requests_per_minute": 2}})
        client = QboClient(fast.base_url)
        client.refresh()
        assert [client.call("GET", "preferences").status_code for _ in range(3)] == [200, 200, 429]
        time.sleep(1.1)
        assert client.call("GET", "preferences").status_code == 200
    finally:
        fast.stop()


def test_concurrent_requests_over_the_limit_are_throttled(fresh_sandbox, qbo):
    qbo.refresh()
    fresh_sandbox.set_limits({"qbo": {"concurrent": 2, "latency_ms": 800}})
    statuses: list[int] = []
    start = threading.Barrier(5)

    def call() -> None:
        start.wait()
        statuses.append(qbo.call("GET", "preferences").status_code)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 429, 429, 429]


def test_batch_requests_have_their_own_per_minute_limit(fresh_sandbox, qbo):
    fresh_sandbox.set_limits({"qbo": {"batch_per_minute": 2}})
    batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    assert [qbo.post("batch", batch).status_code for _ in range(3)] == [200, 200, 429]
    assert qbo.call("GET", "preferences").status_code == 200


def test_limits_are_adjustable_and_checked(fresh_sandbox):
    base = fresh_sandbox.base_url
    limits = requests.post(base + "/_sandbox/limits", json={"qbo": {"latency_ms": 5}}, timeout=5).json()["qbo"]
    assert limits["latency_ms"] == 5 and limits["requests_per_minute"] == 500 and limits["concurrent"] == 10
    assert limits["batch_per_minute"] == 40 and limits["name_write_ms"] == 0
    bad = requests.post(base + "/_sandbox/limits", json={"qbo": {"speed": 1}}, timeout=5)
    assert bad.status_code == 400 and "speed" in bad.json()["error"]


@pytest.mark.parametrize(("mode", "status"), [("error_500", 500), ("error_503", 503), ("throttle_429", 429)])
def test_injected_faults_look_like_the_real_service(fresh_sandbox, qbo, mode, status):
    qbo.refresh()
    fresh_sandbox.faults.add({"api": "qbo", "mode": mode, "times": 1})
    response = qbo.call("GET", "preferences")
    assert response.status_code == status and response.headers["intuit_tid"]
    if mode == "error_500":
        assert response.json()["Fault"]["type"] == "SystemFault"
        assert response.json()["Fault"]["Error"][0]["code"] == "10000"
    if mode == "throttle_429":
        assert response.headers["Content-Type"].startswith("application/xml") and 'code="3001"' in response.text
    assert qbo.call("GET", "preferences").status_code == 200
