"""Fixtures of the void sync's tests: the sandbox reset for each test (``ledger``, ``qbo``: ../conftest.py)."""

from __future__ import annotations

import pytest

from tests.sync.voids import support as vs


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    vs.reset_sandbox(sandbox_connections, monkeypatch)
    return sandbox_connections
