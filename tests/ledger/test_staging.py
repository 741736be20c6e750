"""Staging on SQLite and PostgreSQL: one run's work in progress, replaced by key, cleared and purged."""

from __future__ import annotations

from datetime import timedelta


def test_staging_holds_one_runs_work_and_is_purged(ledger):
    from datetime import date
    from decimal import Decimal

    ledger.stage_put("run-1", "plan", {"29684001": {"total": Decimal("10.10"), "on": date(2026, 1, 2)}})
    ledger.stage_put("run-1", "plan", {"29684002": {"total": "1"}})
    ledger.stage_put("run-1", "plan", {"29684001": {"total": "11.00"}})  # replaced, not duplicated
    ledger.stage_put("run-2", "plan", {"1": {}})
    assert ledger.stage_get("run-1", "plan") == {"29684001": {"total": "11.00"}, "29684002": {"total": "1"}}
    assert ledger.stage_get("run-1", "result") == {}
    assert ledger.stage_clear("run-1") == 2
    assert ledger.stage_get("run-1", "plan") == {}
    assert ledger.stage_purge(older_than=timedelta(seconds=-1)) == 1
