"""Fixtures of the trigger tests: a live sandbox per module (over HTTP on loopback), reset before
each test with one customer and no invoice, and ``autotask_default`` pointing at it."""

from __future__ import annotations

import json

import pytest

from atqbo.hooks.autotask import AutotaskHook
from sandbox import Sandbox


@pytest.fixture(scope="module")
def live_sandbox():
    server = Sandbox(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def box(live_sandbox, monkeypatch):
    live_sandbox.reset()
    live_sandbox.seed({"autotask": {"Companies": [{"id": 500, "companyName": "Contoso Dental", "companyType": 1}]}})
    AutotaskHook.clear_zone_cache()
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps(live_sandbox.connections()["autotask_default"]))
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    yield live_sandbox
    AutotaskHook.clear_zone_cache()
