"""Run locks on SQLite and PostgreSQL: exclusive until released or expired."""

from __future__ import annotations


def test_run_lock_is_exclusive_until_released_or_expired(ledger):
    assert ledger.acquire_run_lock("atqbo_invoices", "run-1", ttl_seconds=600, details="scheduled")
    assert not ledger.acquire_run_lock("atqbo_invoices", "run-2", ttl_seconds=600)
    assert ledger.acquire_run_lock("atqbo_invoices", "run-1", ttl_seconds=600)  # re-entrant for its owner
    assert ledger.get_run_lock("atqbo_invoices")["owner"] == "run-1"
    assert not ledger.release_run_lock("atqbo_invoices", "run-2")
    assert ledger.release_run_lock("atqbo_invoices", "run-1")
    assert ledger.acquire_run_lock("atqbo_invoices", "run-2", ttl_seconds=-1)  # already expired
    assert ledger.acquire_run_lock("atqbo_invoices", "run-3", ttl_seconds=600)  # takes over the stale lock
    assert ledger.acquire_run_lock("other", "x", ttl_seconds=-1)
    assert ledger.clear_run_locks(stale_only=True) == 1
    assert [lock["name"] for lock in ledger.list_run_locks()] == ["atqbo_invoices"]
    assert ledger.clear_run_locks(stale_only=False) == 1
