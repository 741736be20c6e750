"""The invoice sync lock that keeps atqbo_invoices, atqbo_sync_now and atqbo_copy_invoice apart."""

from __future__ import annotations

import pytest

from atqbo import locks
from atqbo.locks import INVOICE_SYNC_LOCK, SyncBusy, hold_sync_lock, release_sync_lock
from atqbo.runs import RunInfo


def _run(dag_id: str, run_id: str) -> RunInfo:
    return RunInfo(dag_id, run_id, f"{dag_id}/{run_id}", {}, "2026-11-01T00:00:00+00:00", "2026-11-21T00:00:00+00:00")


def test_tool04_a_live_holder_keeps_the_lock_and_the_refusal_names_it(ledger, monkeypatch):
    monkeypatch.setattr(locks, "airflow_run_active", lambda dag_id, run_id: True)
    scheduled, now = _run("atqbo_invoices", "scheduled__2026-11-21T07:30"), _run("atqbo_sync_now", "manual__1")
    hold_sync_lock(scheduled, ledger)
    with pytest.raises(SyncBusy) as err:
        hold_sync_lock(now, ledger)
    assert "atqbo_invoices run 'scheduled__2026-11-21T07:30' is in progress" in str(err.value)
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == scheduled.run_key
    release_sync_lock(scheduled, ledger)
    hold_sync_lock(now, ledger)
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == now.run_key


def test_tool09_a_lock_whose_run_ended_without_releasing_it_is_taken_over(ledger, monkeypatch):
    monkeypatch.setattr(locks, "airflow_run_active", lambda dag_id, run_id: False)  # failed, succeeded or deleted
    hold_sync_lock(_run("atqbo_invoices", "killed"), ledger)
    hold_sync_lock(_run("atqbo_invoices", "next"), ledger)
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == "atqbo_invoices/next"


def test_when_airflow_cannot_be_asked_a_held_lock_is_never_taken_over(ledger):
    """Outside a task there is no Airflow to ask: the holder may still be creating invoices."""
    hold_sync_lock(_run("atqbo_invoices", "holder"), ledger)
    with pytest.raises(locks.AirflowNotAsked, match="Airflow could not be asked whether atqbo_invoices run 'holder'"):
        hold_sync_lock(_run("atqbo_sync_now", "manual__1"), ledger)
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == "atqbo_invoices/holder"
    assert not locks.lock_owner_active("not-a-run-key")  # no run named: nothing to ask
