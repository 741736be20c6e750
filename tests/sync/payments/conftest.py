"""Fixtures of the payment sync's tests: the sandbox reset for each test (``ledger``, ``qbo``: ../conftest.py)."""

from __future__ import annotations

import pytest

from tests.sync.payments import support as ps


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    ps.reset_sandbox(sandbox_connections, monkeypatch)
    return sandbox_connections
