"""Sandbox core mechanics, without HTTP: fault rule matching, the clock, rolling windows, gates."""

from __future__ import annotations

import time

import pytest

from sandbox.core import Clock, FaultBook, Gate, Request, RollingWindow


def _req(method: str = "POST", path: str = "/v3/company/1/invoice") -> Request:
    return Request.build(method, path + "?requestid=abc", {"Host": "x"}, b"", "127.0.0.1")


def test_request_args_and_headers_are_case_insensitive():
    req = Request.build("get", "/a/b?Search=%7B%7D&x=1", {"ApiIntegrationCode": "C"}, b"", "127.0.0.1")
    assert req.method == "GET" and req.path == "/a/b"
    assert req.arg("search") == "{}" and req.arg("missing", "d") == "d"
    assert req.header("apiintegrationcode") == "C"


def test_fault_rule_matches_api_method_and_path_regex():
    book = FaultBook()
    book.add({"api": "qbo", "method": "post", "path": r"/invoice$", "mode": "error_500"})
    assert book.pick("autotask", _req()) is None
    assert book.pick("qbo", _req("GET")) is None
    assert book.pick("qbo", _req(path="/v3/company/1/customer")) is None
    assert book.pick("qbo", _req()).mode == "error_500"


def test_fault_rule_after_and_times():
    book = FaultBook()
    book.add({"api": "qbo", "mode": "throttle_429", "after": 2, "times": 1})
    fired = [book.pick("qbo", _req()) is not None for _ in range(5)]
    assert fired == [False, False, True, False, False]
    assert book.list()[0]["matched"] == 5 and book.list()[0]["fired"] == 1


def test_fault_rule_probability_is_reproducible_with_a_seed():
    def run() -> list[bool]:
        book = FaultBook()
        book.add({"api": "autotask", "mode": "error_503", "probability": 0.5, "seed": 7})
        return [book.pick("autotask", _req()) is not None for _ in range(40)]

    first = run()
    assert first == run()
    assert 5 < sum(first) < 35


def test_fault_rules_are_validated():
    book = FaultBook()
    for bad, message in [
        ({"api": "stripe", "mode": "error_500"}, "'api'"),
        ({"api": "qbo", "mode": "explode"}, "'mode'"),
        ({"api": "qbo", "mode": "latency", "probability": 2}, "probability"),
        ({"api": "qbo", "mode": "latency", "colour": "red"}, "unknown fault rule keys"),
    ]:
        with pytest.raises(ValueError, match=message):
            book.add(bad)
    book.add([{"api": "qbo", "mode": "latency"}, {"api": "qbo", "mode": "timeout"}])
    assert len(book.list()) == 2
    book.clear()
    assert book.list() == []


def test_clock_scale_speeds_up_sandbox_time():
    clock = Clock(scale=1000)
    start = clock.seconds()
    time.sleep(0.01)
    assert clock.seconds() - start >= 9  # 10 ms real = 10 s sandbox
    assert clock.real_seconds(3600) == pytest.approx(3.6)
    with pytest.raises(ValueError):
        Clock(scale=0)


def test_rolling_window_forgets_old_events():
    clock = Clock(scale=1000)
    window = RollingWindow(clock, window=20)  # 20 sandbox seconds = 20 ms real
    assert [window.add() for _ in range(3)] == [1, 2, 3]
    time.sleep(0.03)
    assert window.count() == 0


def test_gate_limits_concurrency_per_key():
    gate = Gate()
    assert gate.enter("k", 2) and gate.enter("k", 2)
    assert not gate.enter("k", 2)
    assert gate.enter("other", 2)
    gate.leave("k")
    assert gate.current("k") == 1 and gate.enter("k", 2)
