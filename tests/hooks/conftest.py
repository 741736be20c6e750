"""Fixtures of the hook tests: a live sandbox per module, reset before each test, and the
``qbo_default`` connection pointing at it (the helpers are in ``qbo_support``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sandbox import Sandbox
from tests.hooks.qbo_support import SandboxControl


@pytest.fixture(scope="module")
def live_sandbox():
    server = Sandbox(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def qbo(live_sandbox) -> SandboxControl:
    """The sandbox after a reset: default company, credentials and limits, no faults, empty log."""
    control = SandboxControl(live_sandbox)
    control.reset()
    return control


@pytest.fixture
def connect(monkeypatch, qbo) -> Callable[..., dict[str, Any]]:
    """Point ``qbo_default`` at the sandbox; keyword arguments change the connection's extra."""

    def _connect(conn_id: str = "qbo_default", **extra: Any) -> dict[str, Any]:
        conn = qbo.server.connections()["qbo_default"]
        conn["extra"] = {**conn["extra"], "timeout": 5, **extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn

    _connect()
    return _connect
