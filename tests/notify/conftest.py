"""Fixtures of the notification tests that deliver over real parts (the sandbox's SMTP server and
Autotask API).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    from atqbo.hooks.autotask import AutotaskHook

    sandbox_connections.reset()  # clears mail, requests, faults and Autotask records
    AutotaskHook.clear_zone_cache()
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    return sandbox_connections
