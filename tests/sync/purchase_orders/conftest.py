"""The PO sync's step tests run against the sandbox (reset and seeded with the PO tenant of
``tests.sync.po_support``) (``ledger``: tests/sync/conftest.py)."""

from __future__ import annotations

import pytest

from tests.sync import po_support as ps


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    ps.reset_and_seed(sandbox_connections, monkeypatch)
    return sandbox_connections
