"""Injected fault rules, without HTTP: matching, counting, probability and validation."""

from __future__ import annotations

import pytest

from sandbox.core import Request
from sandbox.fault_rules import FaultBook


def _req(method: str = "POST", path: str = "/v3/company/1/invoice") -> Request:
    return Request.build(method, path + "?requestid=abc", {"Host": "x"}, b"", "127.0.0.1")


def test_fault_rule_matches_api_method_and_path_regex():
    book = FaultBook()
    book.add({"api": "qbo", "method": "post", "path": r"/invoice$", "mode": "error_500"})
    assert book.pick("autotask", _req()) is None
    assert book.pick("qbo", _req("GET")) is None
    assert book.pick("qbo", _req(path="/v3/company/1/customer")) is None
    assert book.pick("qbo", _req()).mode == "error_500"


def test_fault_rule_matches_the_requestid_by_regex():
    book = FaultBook()
    book.add({"api": "qbo", "path": r"/batch$", "requestid": "^atqbo-invbatch-", "mode": "commit_later"})
    batch = "/v3/company/1/batch"
    assert book.pick("qbo", Request.build("POST", batch + "?requestid=atqbo-customer-1", {}, b"", "::1")) is None
    assert book.pick("qbo", Request.build("POST", batch, {}, b"", "::1")) is None
    picked = book.pick("qbo", Request.build("POST", batch + "?requestid=atqbo-invbatch-9", {}, b"", "::1"))
    assert picked.mode == "commit_later" and book.list()[0]["requestid"] == "^atqbo-invbatch-"


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
