"""Fixtures of the void sync's tests: the sandbox reset for each test, the ledger and a QBO hook on it."""

from __future__ import annotations

import pytest

from tests.sync.voids import support as vs


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    vs.reset_sandbox(sandbox_connections, monkeypatch)
    return sandbox_connections


@pytest.fixture
def ledger(sandbox):
    from atqbo.ledger import Ledger

    led = Ledger.from_conn_id("atqbo_state")
    led.create_schema()
    yield led
    led.close()


@pytest.fixture
def qbo(ledger):
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    return QuickBooksOnlineHook("qbo_default", ledger=ledger)
