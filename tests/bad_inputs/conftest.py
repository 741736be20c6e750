"""The corpus's sandbox tests: the PO tenant of ``tests.sync.po_support`` reset and seeded for each
test (``sandbox``), and the state ledger on it (``ledger``)."""

from __future__ import annotations

import pytest

from tests.sync import po_support as ps


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    ps.reset_and_seed(sandbox_connections, monkeypatch)
    return sandbox_connections


@pytest.fixture
def ledger(state_ledger):
    return state_ledger
