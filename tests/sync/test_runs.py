"""The invoice sync lock that keeps atqbo_invoices, atqbo_sync_now and atqbo_copy_invoice apart."""

from __future__ import annotations

import pytest

from atqbo.sync import runs
from atqbo.sync.runs import INVOICE_SYNC_LOCK, RunInfo, SyncBusy, hold_sync_lock, release_sync_lock


def _run(dag_id: str, run_id: str) -> RunInfo:
    return RunInfo(dag_id, run_id, f"{dag_id}/{run_id}", {}, "2026-11-01T00:00:00+00:00", "2026-11-21T00:00:00+00:00")


def test_tool04_a_live_holder_keeps_the_lock_and_the_refusal_names_it(ledger, monkeypatch):
    monkeypatch.setattr(runs, "airflow_run_state", lambda dag_id, run_id: "running")
    scheduled, now = _run("atqbo_invoices", "scheduled__2026-11-21T07:30"), _run("atqbo_sync_now", "manual__1")
    hold_sync_lock(scheduled, ledger)
    with pytest.raises(SyncBusy) as err:
        hold_sync_lock(now, ledger)
    assert "atqbo_invoices run 'scheduled__2026-11-21T07:30' is in progress" in str(err.value)
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == scheduled.run_key
    release_sync_lock(scheduled, ledger)
    hold_sync_lock(now, ledger)
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == now.run_key


@pytest.mark.parametrize("state", ["failed", "success", None])
def test_tool09_a_lock_whose_run_ended_without_releasing_it_is_taken_over(ledger, monkeypatch, state):
    monkeypatch.setattr(runs, "airflow_run_state", lambda dag_id, run_id: state)
    hold_sync_lock(_run("atqbo_invoices", "killed"), ledger)
    hold_sync_lock(_run("atqbo_invoices", "next"), ledger)
    assert ledger.get_run_lock(INVOICE_SYNC_LOCK)["owner"] == "atqbo_invoices/next"


def test_outside_a_task_airflow_cannot_be_asked_and_the_run_counts_as_gone():
    assert runs.airflow_run_state("atqbo_invoices", "scheduled__x") is None
    assert not runs.lock_owner_active("atqbo_invoices/scheduled__x")
    assert not runs.lock_owner_active("not-a-run-key")
