"""BEY-09: ``atqbo_invoices`` runs on a newly posted invoice (its asset's watcher) or every 15
minutes, and an asset-triggered run's window is right. DagBag and the serialized DAG only: no run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from tests.dags.dag_support import load_dag


def test_bey09_the_invoice_sync_runs_on_its_asset_watcher_or_every_15_minutes():
    from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable

    from atqbo.triggers.new_invoices import POLL_SECONDS, NewInvoicesTrigger

    dag = load_dag("atqbo_invoices")
    schedule = dag.timetable
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert isinstance(schedule.timetable, CronDataIntervalTimetable)  # INV-02: the window is the interval
    assert schedule.timetable.expression == "*/15 * * * *"
    asset = schedule.asset_condition
    assert asset.name == "atqbo_autotask_invoices"
    [watcher] = asset.watchers
    assert isinstance(watcher.trigger, NewInvoicesTrigger) and watcher.trigger.poll_seconds == POLL_SECONDS
    assert dag.max_active_runs == 1  # both firing: one run waits for the other
    assert "BEY-09" in dag.doc_md


def test_bey09_the_scheduler_sees_the_watcher_and_the_cron_in_the_serialized_dag():
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.timetables.assets import AssetOrTimeSchedule

    doc = DagSerialization.to_dict(load_dag("atqbo_invoices"))
    timetable = doc["dag"]["timetable"]["__var"]
    assert timetable["timetable"]["__var"] == {"expression": "*/15 * * * *", "timezone": "UTC"}
    assert timetable["asset_condition"]["watchers"] == [
        {
            "name": "atqbo_new_autotask_invoices",
            "trigger": {
                "classpath": "atqbo.triggers.new_invoices.NewInvoicesTrigger",
                "kwargs": {"poll_seconds": 45.0},
            },
        }
    ]
    scheduler_side = DagSerialization.from_dict(doc).timetable
    assert isinstance(scheduler_side, AssetOrTimeSchedule) and scheduler_side.periodic
    assert scheduler_side.summary == "Asset or */15 * * * *"


def test_bey09_an_asset_triggered_run_looks_back_from_when_the_event_queued_it(monkeypatch):
    """The scheduler makes an asset-triggered run with no logical date and no data interval, its
    ``run_after`` the time the event queued it: the window ends there, looking back
    ``invoice_lookback_days`` (INV-02), so the newly posted invoice is in it."""
    from atqbo.runs import start_run

    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    queued = datetime(2026, 12, 3, 14, 7, 31, tzinfo=UTC)
    run_id = "asset_triggered__2026-12-03T14:07:31+00:00"
    context = {
        "dag_run": SimpleNamespace(dag_id="atqbo_invoices", run_id=run_id, run_after=queued),
        "data_interval_start": None,
        "data_interval_end": None,
        "logical_date": None,
    }
    run = start_run(context, "invoice_lookback_days")
    assert run.end == queued
    assert run.start == queued - timedelta(days=14)
    assert run.run_key == f"atqbo_invoices/{run_id}"
