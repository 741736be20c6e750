"""bench/many_dagruns.py's data, at a small size: the runs it makes are runs Airflow itself serves
(the REST API lists them, the 3.3 UI's grid answers with them, the scheduler takes the next due
run after them), so the benchmark cannot silently measure nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from bench import many_dagruns

pytestmark = pytest.mark.integration

PER_DAG = 50  # 15-minute slots: 50 runs of each 15-minute DAG, 11 of the hourly atqbo_payments
# the hourly runs in the window of 51 quarters before the due quarter whose hour has come (10 h or more
# apart: their run_after is an hour after their logical date), but the one due now: always 11
HOURLY = 11


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = many_dagruns.AirflowHome(tmp_path_factory.mktemp("airflow-many-dagruns"))
    home.prepare()
    made = many_dagruns._result(home.python("make-runs", "--per-dag", str(PER_DAG)))
    home.start_api()
    yield home, made
    home.stop_api()


def test_the_runs_are_made_from_each_dags_timetable(home):
    _, made = home
    assert made["per_dag"] == {
        "atqbo_invoices": PER_DAG,
        "atqbo_invoice_voids": PER_DAG,
        "atqbo_payments": HOURLY,
        "atqbo_purchase_orders": PER_DAG,
    }
    assert made["runs"] == 3 * PER_DAG + HOURLY
    # one run in 48 failed: the 48th of each 15-minute DAG
    assert made["failed_runs"] == 3


def test_the_api_lists_them_finished_with_their_task_instances(home):
    home, _ = home
    answer = home.get("/api/v2/dags/atqbo_invoices/dagRuns?limit=50&order_by=-run_after")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total_entries"] == PER_DAG
    runs = body["dag_runs"]
    assert {r["state"] for r in runs} == {"success", "failed"}
    assert all(r["run_type"] == "scheduled" and r["dag_run_id"].startswith("scheduled__") for r in runs)
    assert all(r["end_date"] and r["data_interval_start"] and r["dag_versions"] for r in runs)
    after = [r["run_after"] for r in runs]
    assert after == sorted(after, reverse=True) and len(set(after)) == PER_DAG
    failed = next(r for r in runs if r["state"] == "failed")
    tis = home.get(f"/api/v2/dags/atqbo_invoices/dagRuns/{failed['dag_run_id']}/taskInstances").json()
    states = {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}
    assert sorted(set(states.values())) == ["failed", "success", "upstream_failed"]
    ok = next(r for r in runs if r["state"] == "success")
    tis = home.get(f"/api/v2/dags/atqbo_invoices/dagRuns/{ok['dag_run_id']}/taskInstances").json()
    assert tis["total_entries"] >= 5
    assert all(ti["state"] == "success" and ti["dag_version"] and ti["try_number"] == 1 for ti in tis["task_instances"])
    xcom = home.get(
        f"/api/v2/dags/atqbo_invoices/dagRuns/{ok['dag_run_id']}/taskInstances/"
        f"{tis['task_instances'][0]['task_id']}/xcomEntries/return_value"
    )
    assert xcom.status_code == 200, xcom.text


def test_the_grid_answers_with_them(home):
    home, _ = home
    api = many_dagruns.measure_api(home, repeat=1)  # raises on any answer but 200
    assert api["dag_runs_total_entries"] == PER_DAG
    runs = home.get("/ui/grid/runs/atqbo_invoices?limit=10&order_by=-run_after").json()
    assert len(runs) == many_dagruns.GRID_RUNS
    query = urlencode([("run_ids", r["run_id"]) for r in runs])
    summaries = home.get(f"/ui/grid/ti_summaries/atqbo_invoices?{query}").text.splitlines()
    assert len(summaries) == many_dagruns.GRID_RUNS
    assert all('"success"' in line or '"failed"' in line for line in summaries)


def test_the_scheduler_takes_the_next_due_run_every_time(home):
    home, made = home
    home.python("settle")
    for _ in range(2):  # twice: the settle after a measurement must leave each DAG's run due again
        scheduler = many_dagruns.measure_scheduler(home, loops=2)  # raises unless it made one run per DAG
        assert scheduler["loops"] == 2
        assert scheduler["runs_created"] == len(many_dagruns.DAGS)  # the hourly DAG's too
        # and they are deleted again (settle), so the next measurement starts from the made runs only
        assert many_dagruns.measure_size(home)["rows"]["dag_run"] == made["runs"]
