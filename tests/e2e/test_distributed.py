"""End to end on a distributed Airflow (BEY-06): `make run-distributed`'s script (scripts/run_distributed.sh)
brings up the API server, scheduler, DAG processor, triggerer and two Celery workers on this machine's
PostgreSQL and Redis (fresh databases, a Celery queue and ports of its own); the scheduler runs each
sync on its schedule and a tool on the workers; atqbo_invoices races atqbo_sync_now for the invoice
lock; a worker is SIGKILLed in the middle of `load`; and the sandbox's books show every Autotask
invoice in QBO exactly once. Skipped, with the reason, where PostgreSQL or Redis is not running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.conftest import PG_HOST, PG_PORT, PG_USER, _pg_admin
from tests.e2e.support import (
    api,
    held_batch_applied,
    held_batch_arrived,
    hold_invoice_batch,
    qbo_copies,
    release_held_batch,
    seed_new_invoices,
    stop_script,
    wait,
)
from tests.in_flight_support import age_writes
from tests.net_support import REPO, free_port

pytestmark = [pytest.mark.integration, pytest.mark.distributed]

REDIS_URL = os.environ.get("ATQBO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SYNCS = ("atqbo_invoices", "atqbo_invoice_voids", "atqbo_payments", "atqbo_purchase_orders")
TOOL = "atqbo_check_connections"
WORKERS = ("worker1", "worker2")
BATCH_A = [39970001, 39970002, 39970003]  # before the DAGs are turned on: the scheduled run's
BATCH_B = [39970101, 39970102, 39970103]  # the race's
BATCH_C = [39970201, 39970202, 39970203, 39970204]  # the killed load's


@pytest.fixture
def services():
    """Fresh database names on the PostgreSQL server (dropped after), once it and Redis answer."""
    try:
        admin = _pg_admin()
    except Exception as exc:  # any reason the server is not there is a reason to skip
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} as {PG_USER} ({exc.__class__.__name__}: {exc})")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        admin.close()
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc.__class__.__name__}: {exc})")
    suffix = uuid.uuid4().hex[:10]
    names = {"metadata": f"atqbo_e2e_af_{suffix}", "state": f"atqbo_e2e_state_{suffix}", "queue": f"atqbo_e2e_{suffix}"}
    yield names
    _forget_queue(names["queue"])
    with admin.cursor() as cur:
        for name in (names["metadata"], names["state"]):
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


def _forget_queue(queue: str) -> None:
    """Leave nothing of this deployment's Celery queue in Redis: its keys, and the messages a killed
    worker took and never acknowledged (kombu keeps those in the shared ``unacked`` hash)."""
    import redis

    broker = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    broker.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    for tag, raw in broker.hgetall("unacked").items():
        if json.loads(raw)[2] == queue:
            broker.hdel("unacked", tag)
            broker.zrem("unacked_index", tag)


class Deployment:
    """The launched deployment as the test sees it: the REST API, the sandbox, the workers' logs."""

    def __init__(self, base: str, sandbox: str, home: Path, proc: subprocess.Popen, log: Path, state_db: str):
        self.base, self.sandbox, self.home, self.proc, self.log = base, sandbox, home, proc, log
        self.state_db = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{state_db}"
        self.headers: dict = {}

    def login(self) -> None:
        password = (self.home / "admin-password").read_text().strip()
        token = requests.post(f"{self.base}/auth/token", json={"username": "admin", "password": password}, timeout=10)
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def get(self, path: str, **params) -> dict:
        """A read, tried again when the API server (on two shared cores, with everything else) is slow."""
        for attempt in range(5):
            try:
                response = requests.get(f"{self.base}/api/v2/{path}", params=params, headers=self.headers, timeout=30)
                if response.status_code < 500:
                    response.raise_for_status()
                    return response.json()
            except (requests.Timeout, requests.ConnectionError):
                if attempt == 4:
                    raise
            time.sleep(2)
        response.raise_for_status()
        return {}

    def call(self, method, path: str, body: dict) -> dict:
        return api(method, f"{self.base}/api/v2/{path}", body, self.headers, timeout=60)

    def wait(self, predicate, timeout: float, what: str):
        return wait(predicate, timeout, what, self.proc, self.log)

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        body = {"logical_date": None, **({"conf": conf} if conf else {})}
        return self.call(requests.post, f"dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def finished(self, dag_id: str, run_id: str, timeout: float = 240) -> str:
        def done():
            state = self.get(f"dags/{dag_id}/dagRuns/{run_id}")["state"]
            return state if state in ("success", "failed") else None

        return self.wait(done, timeout, f"{dag_id} run {run_id}")

    def tasks(self, dag_id: str, run_id: str) -> dict[str, dict]:
        return {t["task_id"]: t for t in self.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]}

    def worker_of(self, dag_id: str, run_id: str, task_id: str, attempt: int) -> str | None:
        """The Celery worker that took this attempt (its log names the attempt's log path)."""
        needle = f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}/attempt={attempt}.log"
        for worker in WORKERS:
            if needle in (self.home / "logs" / f"{worker}.log").read_text(errors="replace"):
                return worker
        return None


@pytest.fixture
def deployment(services):
    # not pytest's tmp_path: other pytest sessions on this machine may rotate it away mid-run
    scratch = tempfile.TemporaryDirectory(prefix="atqbo-distributed-")
    tmp_path = Path(scratch.name)
    ui, sandbox, smtp = free_port(), free_port(), free_port()
    home = tmp_path / "airflow-home"
    env = {
        **os.environ,
        "ATQBO_UI_PORT": str(ui),
        "ATQBO_SANDBOX_PORT": str(sandbox),
        "ATQBO_SMTP_PORT": str(smtp),
        "ATQBO_AIRFLOW_HOME": str(home),
        "ATQBO_PG_URL": f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}",
        "ATQBO_METADATA_DB": services["metadata"],
        "ATQBO_STATE_DB": services["state"],
        "ATQBO_REDIS_URL": REDIS_URL,
        "ATQBO_QUEUE": services["queue"],
        "ATQBO_LOG_PORTS": f"{free_port()} {free_port()} {free_port()}",
        "ATQBO_HEALTH_PORT": str(free_port()),
        "ATQBO_WORKER_CONCURRENCY": "3",
        # The test's own: a killed worker's task is noticed after 20 s, not Airflow's 5 minutes.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    }
    log = tmp_path / "run-distributed.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(REPO / "scripts" / "run_distributed.sh")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    dep = Deployment(f"http://127.0.0.1:{ui}", f"http://127.0.0.1:{sandbox}", home, proc, log, services["state"])
    try:
        yield dep
    finally:
        stop_script(proc, home)
    assert "atqbo: stopped" in log.read_text()
    for port in (ui, sandbox):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after stop"
    for part in home.glob("*.pid"):  # nothing the script started outlives it
        with pytest.raises(ProcessLookupError):
            os.killpg(int(part.read_text()), 0)
    scratch.cleanup()


def _ran_on_workers(dep: Deployment, dag_id: str, run_id: str) -> set[str]:
    """The workers that ran the run's tasks; every task that ran did so on a Celery worker."""
    used = set()
    for task_id, ti in dep.tasks(dag_id, run_id).items():
        if ti["state"] in ("success", "failed", "skipped") and ti["try_number"]:
            worker = dep.worker_of(dag_id, run_id, task_id, ti["try_number"])
            assert worker, f"{dag_id}.{task_id} of {run_id} ran on no Celery worker"
            used.add(worker)
    return used


def _outcomes(dep: Deployment, run_key: str, ids: list[int]) -> dict[int, dict]:
    """What the run's load decided for each of ``ids`` (its staged outcomes in the state database)."""
    import psycopg2

    with psycopg2.connect(dep.state_db) as db, db.cursor() as cur:
        cur.execute("SELECT item_key, data FROM atqbo_staging WHERE run_key = %s AND kind = 'outcome'", (run_key,))
        rows = cur.fetchall()
    found = {int(k): json.loads(v) if isinstance(v, str) else v for k, v in rows}
    return {i: found[i] for i in ids if i in found}


def _span(dep: Deployment, dag_id: str, run_id: str) -> tuple[datetime, datetime]:
    tis = dep.tasks(dag_id, run_id)
    start = datetime.fromisoformat(tis["start"]["start_date"])
    end = datetime.fromisoformat(max(t["end_date"] for t in tis.values() if t["end_date"]))
    return start, end


@pytest.mark.timeout(600)
def test_bey06_distributed_airflow_runs_every_sync_on_celery_workers_with_nothing_duplicated_or_lost(deployment):
    dep = deployment
    began = time.monotonic()
    dep.wait(lambda: "atqbo is running" in dep.log.read_text(), 300, "the deployment")
    started_in = time.monotonic() - began
    assert "login: admin, password in" in dep.log.read_text()  # the password is not in the output
    dep.login()
    seed_new_invoices(dep.sandbox, BATCH_A, billing_base=39960000)
    dep.wait(lambda: dep.get("dags", dag_id_pattern="atqbo_%")["total_entries"] >= 16, 180, "the DAGs to be parsed")
    dags = {d["dag_id"]: d for d in dep.get("dags", dag_id_pattern="atqbo_%", limit=100)["dags"]}
    assert all(d["is_paused"] for d in dags.values()), "a distributed deployment starts its DAGs paused"

    # 1. Turned on, the scheduler runs each sync for its latest interval, on the Celery workers.
    for dag_id in (*SYNCS, TOOL, "atqbo_sync_now"):
        dep.call(requests.patch, f"dags/{dag_id}", {"is_paused": False})
    tool_run = dep.trigger(TOOL)

    def scheduled(dag_id: str):
        runs = dep.get(f"dags/{dag_id}/dagRuns")["dag_runs"]
        done = [r for r in runs if r["run_type"] == "scheduled" and r["state"] in ("success", "failed")]
        return done[0] if done else None

    workers_used = set()
    for dag_id in SYNCS:
        run = dep.wait(lambda d=dag_id: scheduled(d), 240, f"a scheduled {dag_id} run")
        states = {t: ti["state"] for t, ti in dep.tasks(dag_id, run["dag_run_id"]).items()}
        assert run["state"] == "success", (dag_id, states)
        workers_used |= _ran_on_workers(dep, dag_id, run["dag_run_id"])
    assert dep.finished(TOOL, tool_run) == "success", dep.tasks(TOOL, tool_run)
    workers_used |= _ran_on_workers(dep, TOOL, tool_run)
    assert workers_used == set(WORKERS), f"tasks ran on {workers_used} only"
    assert qbo_copies(dep.sandbox, BATCH_A) == dict.fromkeys(BATCH_A, 1)
    # A task's log, read through the API server (every component shares [api] secret_key).
    any_ti = next(iter(dep.tasks(TOOL, tool_run)))
    logs = requests.get(
        f"{dep.base}/api/v2/dags/{TOOL}/dagRuns/{tool_run}/taskInstances/{any_ti}/logs/1",
        headers={**dep.headers, "Accept": "application/json"},
        timeout=20,
    )
    assert logs.status_code == 200 and "secret" not in logs.text.lower(), logs.text[:2000]
    phase1 = time.monotonic() - began

    # 2. The race: atqbo_invoices and atqbo_sync_now triggered together; one holds the invoice lock,
    # the other is refused (sync now fails at start, the sync skips) or runs after it. Never both at once.
    seed_new_invoices(dep.sandbox, BATCH_B, billing_base=39961000)
    race = {"atqbo_invoices": dep.trigger("atqbo_invoices"), "atqbo_sync_now": dep.trigger("atqbo_sync_now")}
    states = {dag_id: dep.finished(dag_id, run_id) for dag_id, run_id in race.items()}
    starts = {dag_id: dep.tasks(dag_id, run_id)["start"]["state"] for dag_id, run_id in race.items()}
    race_workers = {
        dag_id: dep.worker_of(dag_id, run_id, "start", dep.tasks(dag_id, run_id)["start"]["try_number"])
        for dag_id, run_id in race.items()
    }
    if starts == {"atqbo_invoices": "success", "atqbo_sync_now": "success"}:
        (a0, a1), (b0, b1) = (_span(dep, d, r) for d, r in race.items())
        assert a1 <= b0 or b1 <= a0, f"both held the invoice lock at once: {race}"
    else:
        assert starts in (
            {"atqbo_invoices": "skipped", "atqbo_sync_now": "success"},
            {"atqbo_invoices": "success", "atqbo_sync_now": "failed"},
        ), (starts, states)
    assert qbo_copies(dep.sandbox, BATCH_B) == dict.fromkeys(BATCH_B, 1)
    phase2 = time.monotonic() - began

    # 3. A worker SIGKILLed in the middle of `load` (QBO holds its invoice batch, then commits it).
    seed_new_invoices(dep.sandbox, BATCH_C, billing_base=39962000)
    hold_invoice_batch(dep.sandbox)
    killed_run = dep.trigger("atqbo_invoices")
    dep.wait(lambda: held_batch_arrived(dep.sandbox), 180, "the invoice batch to reach QBO")

    def running_load():
        for dag_id in ("atqbo_invoices", "atqbo_sync_now"):
            for ti in dep.get(f"dags/{dag_id}/dagRuns/~/taskInstances", task_id="load", state="running")[
                "task_instances"
            ]:
                return ti
        return None

    load = dep.wait(running_load, 30, "the running load task")
    victim = dep.wait(
        lambda: dep.worker_of(load["dag_id"], load["dag_run_id"], "load", load["try_number"]), 30, "its worker"
    )
    os.killpg(int((dep.home / f"{victim}.pid").read_text()), signal.SIGKILL)
    dep.wait(lambda: f"{victim} exited; starting it again" in dep.log.read_text(), 30, "the worker to restart")
    assert not held_batch_applied(dep.sandbox)  # QBO was still on it when the worker died
    release_held_batch(dep.sandbox)
    dep.wait(lambda: held_batch_applied(dep.sandbox), 60, "the held batch to commit")

    def load_state():
        state = dep.tasks(load["dag_id"], load["dag_run_id"])["load"]["state"]
        return state if state != "running" else None

    assert dep.wait(load_state, 120, "the scheduler to notice the dead task") in ("up_for_retry", "failed")
    # The operator's "clear" (rather than the 2-minute retry delay): the load runs again at once.
    dep.call(
        requests.post,
        f"dags/{load['dag_id']}/clearTaskInstances",
        {
            "dry_run": False,
            "dag_run_id": load["dag_run_id"],
            "task_ids": ["load"],
            "include_downstream": True,
            "only_failed": False,
            "reset_dag_runs": True,
        },
    )
    assert dep.finished(load["dag_id"], load["dag_run_id"]) == "success", dep.tasks(load["dag_id"], load["dag_run_id"])
    assert qbo_copies(dep.sandbox, BATCH_C) == dict.fromkeys(BATCH_C, 1)  # the held batch, once each
    # The load ran again and sent none of them again: it adopted what QBO committed (its look-up
    # finds atqbo's own documents), or, had QBO still been holding them, left them "still in flight".
    again = _outcomes(dep, f"{load['dag_id']}/{load['dag_run_id']}", BATCH_C)
    assert set(again) == set(BATCH_C), again
    in_flight = [i for i, o in again.items() if o["outcome"] == "skipped" and o["reason"].startswith("still in flight")]
    assert all(again[i]["outcome"] == "matched" for i in BATCH_C if i not in in_flight), again
    if killed_run != load["dag_run_id"]:  # a run queued behind it
        assert dep.finished("atqbo_invoices", killed_run) == "success"
    if in_flight:  # five minutes later as far as atqbo can tell: a run decides them by look-up
        from atqbo.ledger import Ledger

        state_db = Ledger.from_url(dep.state_db)
        try:
            age_writes(state_db)
        finally:
            state_db.close()
        last = dep.trigger("atqbo_invoices")
        assert dep.finished("atqbo_invoices", last) == "success"
    phase3 = time.monotonic() - began

    # Nothing duplicated, nothing lost.
    state = requests.get(f"{dep.sandbox}/_sandbox/state", timeout=10).json()
    autotask_ids = [i["id"] for i in state["autotask"]["Invoices"]]
    copies = qbo_copies(dep.sandbox, autotask_ids)
    assert {i: n for i, n in copies.items() if n > 1} == {}
    seeded = BATCH_A + BATCH_B + BATCH_C
    assert {i: copies.get(i, 0) for i in seeded} == dict.fromkeys(seeded, 1)
    marked = {i["id"] for i in state["autotask"]["Invoices"] if i["webServiceDate"]}
    assert set(seeded) <= marked
    print(
        json.dumps(
            {
                "started_s": round(started_in),
                "syncs_and_tool_s": round(phase1),
                "race_s": round(phase2),
                "killed_worker_s": round(phase3),
                "race": {"starts": starts, "workers": race_workers},
                "killed": victim,
            }
        )
    )
