"""Sandbox core vocabulary, without HTTP: requests and the sandbox clock."""

from __future__ import annotations

import time

import pytest

from sandbox.core import Clock, Request


def test_request_args_and_headers_are_case_insensitive():
    req = Request.build("get", "/a/b?Search=%7B%7D&x=1", {"ApiIntegrationCode": "C"}, b"", "127.0.0.1")
    assert req.method == "GET" and req.path == "/a/b"
    assert req.arg("search") == "{}" and req.arg("missing", "d") == "d"
    assert req.header("apiintegrationcode") == "C"


def test_clock_scale_speeds_up_sandbox_time():
    clock = Clock(scale=1000)
    start = clock.seconds()
    time.sleep(0.01)
    assert clock.seconds() - start >= 9  # 10 ms real = 10 s sandbox
    assert clock.real_seconds(3600) == pytest.approx(3.6)
    with pytest.raises(ValueError):
        Clock(scale=0)
