"""End to end: the README's run command (scripts/run.sh, what `make run` calls) brings up Airflow
and the sandbox, and a DAG run through the real scheduler reaches both APIs; Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.e2e.support import api as _api
from tests.e2e.support import (
    held_batch_applied,
    held_batch_arrived,
    hold_invoice_batch,
    qbo_copies,
    seed_new_invoices,
    stop_script,
)
from tests.e2e.support import wait as _wait
from tests.net_support import REPO, free_port

pytestmark = pytest.mark.integration


def _killed_mid_batch_run_makes_no_duplicate(base: str, headers: dict, sandbox: str, home: Path, proc, log: Path):
    """BEY-01, issue 11, under the real scheduler: an atqbo_invoices run whose invoice batch QBO is
    still processing (the sandbox holds it 45 s) is marked failed through the
    REST API, which kills its task; a run triggered at once reports those invoices "still in flight"
    and sends none; the held batch then commits, one invoice each; once the window has passed, a run
    adopts them."""
    new_ids = [39990001, 39990002, 39990003]
    seed_new_invoices(sandbox, new_ids, billing_base=39980000)
    hold_invoice_batch(sandbox, 45)

    def trigger() -> str:
        return _api(requests.post, f"{base}/api/v2/dags/atqbo_invoices/dagRuns", {"logical_date": None}, headers)[
            "dag_run_id"
        ]

    def finished(run_id: str):
        r = requests.get(f"{base}/api/v2/dags/atqbo_invoices/dagRuns/{run_id}", headers=headers, timeout=10).json()
        return r["state"] if r["state"] in ("success", "failed") else None

    def held_arrived():
        return held_batch_arrived(sandbox)

    def applied():
        return held_batch_applied(sandbox)

    def atqbo_invoices() -> dict[int, int]:
        return qbo_copies(sandbox, new_ids)

    def outcomes(run_id: str) -> dict[int, dict]:
        with sqlite3.connect(home / "atqbo_state.db") as db:
            rows = db.execute(
                "SELECT item_key, data FROM atqbo_staging WHERE run_key = ? AND kind = 'outcome'",
                (f"atqbo_invoices/{run_id}",),
            ).fetchall()
        return {int(k): json.loads(v) for k, v in rows}

    killed = trigger()
    _wait(held_arrived, 120, "the invoice batch to reach QBO", proc, log)
    # the operator marks the run failed (the README's advice): Airflow kills its running task
    _api(requests.patch, f"{base}/api/v2/dags/atqbo_invoices/dagRuns/{killed}", {"state": "failed"}, headers)
    again = trigger()  # and triggers again at once
    assert _wait(lambda: finished(again), 300, "the run triggered again", proc, log) == "success"
    second = outcomes(again)
    assert {i: second[i]["outcome"] for i in new_ids} == dict.fromkeys(new_ids, "skipped")
    assert all(second[i]["reason"].startswith("still in flight") for i in new_ids)
    _wait(applied, 120, "the held batch to commit", proc, log)
    assert atqbo_invoices() == dict.fromkeys(new_ids, 1)  # the late batch made them, once each

    def no_run_active() -> bool:  # (a run the watcher started may have searched QBO before the commit)
        r = requests.get(
            f"{base}/api/v2/dags/atqbo_invoices/dagRuns",
            params=[("state", "running"), ("state", "queued")],
            headers=headers,
            timeout=10,
        ).json()
        return r["total_entries"] == 0

    _wait(no_run_active, 300, "the runs started before the commit to end", proc, log)

    with sqlite3.connect(home / "atqbo_state.db") as db:  # five minutes later, as far as atqbo can tell
        window_passed = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        past = (datetime.now(UTC) - timedelta(seconds=301)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        db.execute("UPDATE atqbo_sync_records SET updated_at = ? WHERE status = 'IN_PROGRESS'", (past,))
    third = trigger()
    assert _wait(lambda: finished(third), 300, "the run after the window", proc, log) == "success"
    # The first run after the window adopts them: the one triggered, or a 15-minute run the scheduler
    # started just before it (then the triggered run finds them marked, and has no outcome for them).
    adopted: dict[int, str] = {}
    with sqlite3.connect(home / "atqbo_state.db") as db:
        for run_key, item, data in db.execute(
            "SELECT run_key, item_key, data FROM atqbo_staging WHERE kind = 'outcome' AND created_at >= ? "
            "ORDER BY created_at",
            (window_passed,),
        ):
            if int(item) in new_ids and run_key.startswith("atqbo_invoices/"):
                adopted.setdefault(int(item), json.loads(data)["outcome"])
    assert adopted == dict.fromkeys(new_ids, "matched")
    assert atqbo_invoices() == dict.fromkeys(new_ids, 1)
    marked = requests.get(f"{sandbox}/_sandbox/state", timeout=10).json()["autotask"]["Invoices"]
    assert all(i["webServiceDate"] for i in marked if i["id"] in new_ids)


@pytest.mark.timeout(900)  # the whole product comes up, then runs through the real scheduler
def test_run_command_serves_ui_and_runs_check_connections(tmp_path):
    """The whole product through the real scheduler, ending with BEY-01's killed-mid-batch run and
    BEY-09's asset watcher running in the triggerer."""
    ui, sandbox, smtp = free_port(), free_port(), free_port()
    home = tmp_path / "airflow-home"
    env = {
        **os.environ,
        "ATQBO_UI_PORT": str(ui),
        "ATQBO_SANDBOX_PORT": str(sandbox),
        "ATQBO_SMTP_PORT": str(smtp),
        "ATQBO_AIRFLOW_HOME": str(home),
    }
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(REPO / "scripts" / "run.sh")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{ui}"
    try:
        _wait(lambda: "atqbo is running" in log.read_text(), 420, "the UI", proc, log)
        text = log.read_text()
        assert f"http://127.0.0.1:{ui}" in text and "login: admin / " in text
        password = (home / "admin-password").read_text().strip()
        token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=10)
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

        def dag_listed():
            r = requests.get(f"{base}/api/v2/dags/atqbo_check_connections", headers=headers, timeout=10)
            return r.status_code == 200

        _wait(dag_listed, 180, "the DAG to be parsed", proc, log)
        _api(requests.patch, f"{base}/api/v2/dags/atqbo_check_connections", {"is_paused": False}, headers)
        run_id = _api(
            requests.post, f"{base}/api/v2/dags/atqbo_check_connections/dagRuns", {"logical_date": None}, headers
        )["dag_run_id"]

        def finished():
            r = requests.get(
                f"{base}/api/v2/dags/atqbo_check_connections/dagRuns/{run_id}", headers=headers, timeout=10
            ).json()
            return r["state"] if r["state"] in ("success", "failed") else None

        state = _wait(finished, 300, "the check_connections run", proc, log)
        tis = requests.get(
            f"{base}/api/v2/dags/atqbo_check_connections/dagRuns/{run_id}/taskInstances", headers=headers, timeout=10
        ).json()["task_instances"]
        assert state == "success", {t["task_id"]: t["state"] for t in tis}
        # The connections the run command stored are the ones pointing at the sandbox.
        conns = requests.get(f"{base}/api/v2/connections", headers=headers, timeout=10).json()["connections"]
        types = {c["connection_id"]: c["conn_type"] for c in conns}
        assert types["autotask_default"] == "autotask" and types["qbo_default"] == "quickbooks_online"
        assert types["atqbo_state"] == "sqlite" and types["smtp_default"] == "smtp"
        # The UI's "Add connection" form offers atqbo's connection types with their own fields.
        meta = requests.get(f"{base}/ui/connections/hook_meta", headers=headers, timeout=10).json()
        forms = {m["connection_type"]: m for m in meta}
        assert forms["autotask"]["hook_name"] == "Autotask PSA"
        assert "integration_code" in json.dumps(forms["autotask"]["extra_fields"])
        assert "refresh_token" in json.dumps(forms["quickbooks_online"]["extra_fields"])
        served = requests.get(f"http://127.0.0.1:{sandbox}/_sandbox/requests", timeout=10).json()
        assert {r["api"] for r in served} == {"autotask", "qbo"}

        # The scheduler also runs the (unpaused) invoice sync on its schedule against the demo tenant.
        def scheduled_invoice_run():
            runs = requests.get(f"{base}/api/v2/dags/atqbo_invoices/dagRuns", headers=headers, timeout=10).json()
            done = [
                r
                for r in runs.get("dag_runs", [])
                if r["run_type"] == "scheduled" and r["state"] in ("success", "failed")
            ]
            return done[0] if done else None

        invoice_run = _wait(scheduled_invoice_run, 300, "a scheduled atqbo_invoices run", proc, log)
        assert invoice_run["state"] == "success", invoice_run
        mail = requests.get(f"http://127.0.0.1:{sandbox}/_sandbox/mail", timeout=10).json()
        reports = [m["subject"] for m in mail if m["subject"].startswith("[atqbo] invoices:")]
        assert any("transferred" in subject for subject in reports), reports
        # BEY-10 under the real scheduler: its listener gave the run the report's counts as its note.
        note = (invoice_run.get("note") or "").splitlines()
        assert note and f"[atqbo] invoices: {note[0]}" in reports, (invoice_run, reports)

        # TOOL-03 through the real scheduler: a tool triggered with its form's values, and the
        # error-log plugin served by the same API server showing both runs' counts.
        preview_id = _api(
            requests.post,
            f"{base}/api/v2/dags/atqbo_preview_invoices/dagRuns",
            {"logical_date": None, "conf": {"max_age_days": 30, "email": ["ops@msp.example"]}},
            headers,
        )["dag_run_id"]

        def preview_finished():
            r = requests.get(
                f"{base}/api/v2/dags/atqbo_preview_invoices/dagRuns/{preview_id}", headers=headers, timeout=10
            ).json()
            return r["state"] if r["state"] in ("success", "failed") else None

        assert _wait(preview_finished, 300, "the atqbo_preview_invoices run", proc, log) == "success"
        mail = requests.get(f"http://127.0.0.1:{sandbox}/_sandbox/mail", timeout=10).json()
        preview_mail = [m for m in mail if m["subject"].startswith("[atqbo] check for invoices")]
        assert preview_mail and "ops@msp.example" in preview_mail[-1]["envelope_to"]
        history = requests.get(f"{base}/atqbo/api/runs", headers=headers, timeout=10)
        assert history.status_code == 200, history.text
        assert {"atqbo_invoices", "atqbo_preview_invoices"} <= {r["dag_id"] for r in history.json()["runs"]}
        assert requests.get(f"{base}/atqbo/api/runs", timeout=10).status_code in (401, 403)  # Airflow's auth applies

        # BEY-02: a real backfill (run by the scheduler) over the last hour re-examines it and
        # creates nothing twice.
        def qbo_invoice_count() -> int:
            return len(requests.get(f"http://127.0.0.1:{sandbox}/_sandbox/state", timeout=10).json()["qbo"]["Invoice"])

        before = qbo_invoice_count()
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        backfill = _api(
            requests.post,
            f"{base}/api/v2/backfills",
            {
                "dag_id": "atqbo_invoices",
                "from_date": (end - timedelta(hours=1)).isoformat(),
                "to_date": end.isoformat(),
                "reprocess_behavior": "completed",
                "max_active_runs": 1,
            },
            headers,
        )

        def backfill_done():
            runs = requests.get(f"{base}/api/v2/dags/atqbo_invoices/dagRuns", headers=headers, timeout=10).json()
            mine = [r for r in runs["dag_runs"] if r["run_type"] == "backfill"]
            return mine if mine and all(r["state"] in ("success", "failed") for r in mine) else None

        backfill_runs = _wait(backfill_done, 400, f"backfill {backfill['id']}", proc, log)
        assert len(backfill_runs) >= 3 and {r["state"] for r in backfill_runs} == {"success"}
        assert qbo_invoice_count() == before

        _killed_mid_batch_run_makes_no_duplicate(base, headers, f"http://127.0.0.1:{sandbox}", home, proc, log)

        # BEY-09: the triggerer runs atqbo_invoices' asset watcher, which has polled Autotask and
        # kept its watermark in the asset's state store (the killed-mid-batch invoices above were
        # created an hour ago, before the watch began: they are the schedule's, not the watcher's).
        with sqlite3.connect(home / "airflow.db") as db:
            rows = db.execute("SELECT value FROM asset_state_store WHERE key = 'new_invoices_watermark'").fetchall()
        assert len(rows) == 1 and json.loads(rows[0][0])["conn_id"] == "autotask_default"
        assert "trigger ID" in (home / "logs" / "standalone.log").read_text()
    finally:
        stop_script(proc)
    assert "atqbo: stopped" in log.read_text()
    for port in (ui, sandbox):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after stop"
