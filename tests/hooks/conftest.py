"""Fixtures of the hook tests: a live sandbox per module, reset before each test, with the
``autotask_default`` and ``qbo_default`` connections pointing at it, a SQLite ledger for the QBO
tokens and QBO hooks with fast retries (the helpers are in ``autotask_support`` and ``qbo_support``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from atqbo.hooks.autotask import AutotaskHook
from atqbo.hooks.qbo import QuickBooksOnlineHook
from sandbox import Sandbox
from tests.hooks.autotask_support import SECRET
from tests.hooks.qbo_support import SERVICE_ITEM, SandboxControl, hook_factory


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


# -- Autotask ------------------------------------------------------------------------------------


@pytest.fixture
def box(live_sandbox, monkeypatch):
    """A reset sandbox whose Autotask secret is SECRET, and the connection pointing at it."""
    live_sandbox.reset()
    live_sandbox.seed({"autotask": {"credentials": {"secret": SECRET}}})
    AutotaskHook.clear_zone_cache()
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps(live_sandbox.connections()["autotask_default"]))
    yield live_sandbox
    AutotaskHook.clear_zone_cache()


# -- QuickBooks Online -----------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path):
    """An empty SQLite ledger for the OAuth tokens."""
    from atqbo.ledger import Ledger

    led = Ledger.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    led.create_schema()
    yield led
    led.close()


@pytest.fixture
def make_hook(connect, state):
    """QBO hooks on the sandbox with fast retries, sharing ``state``; keyword arguments override."""
    return hook_factory(state)


@pytest.fixture
def hook(make_hook) -> QuickBooksOnlineHook:
    return make_hook()


@pytest.fixture
def books(qbo):
    """A customer and a service item to invoice."""
    qbo.seed({"Customer": [{"DisplayName": "Contoso Dental"}], "Item": [SERVICE_ITEM]})
    customers = {c["DisplayName"]: c["Id"] for c in qbo.state()["Customer"]}
    item_id = qbo.state()["Item"][0]["Id"]
    return {"customer": customers["Contoso Dental"], "item": item_id}
