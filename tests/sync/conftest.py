"""Fixtures of the syncs' step tests: each flow's folder resets and seeds the sandbox (its own
``sandbox`` fixture); ``ledger`` and ``qbo`` are then the state ledger and a QBO hook on it."""

from __future__ import annotations

import pytest


@pytest.fixture
def ledger(state_ledger):
    return state_ledger


@pytest.fixture
def qbo(state_qbo):
    return state_qbo
