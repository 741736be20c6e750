"""Many runs, Airflow's half (BEY-05): 30 days of 15-minute runs of the four scheduled syncs (2,880
DagRuns each, 11,520 in all, mostly idle) in Airflow's metadata database, and what they cost the
scheduler's loop, the API server's answers for the UI and the database's size.

``python -m bench --only many_dagruns``, or ``python -m bench.many_dagruns [--per-dag N]
[--no-postgres]``. For each database (SQLite, and PostgreSQL when a server answers at
``ATQBO_BENCH_POSTGRES``, default ``postgres@127.0.0.1:5432``: a throwaway database, dropped after):

1. a scratch ``AIRFLOW_HOME`` with atqbo's ``dags/`` and ``plugins/``, ``airflow db migrate``,
   ``airflow dags reserialize``; the four sync DAGs unpaused, ``default_pool`` at 0 slots (the
   scheduler creates and schedules the due run but no task runs: nothing reaches a service);
2. measured with no runs, then after the runs are made (``make_runs``: through Airflow's own models,
   ``SerializedDAG.create_dagrun`` on the DAG's timetable, as the scheduler makes them, then their
   task instances finished by the primary key: 1 run in 48 failed, as a month of idle runs with a
   few outages looks; one ``return_value`` XCom per finished task), then after ``airflow db clean
   --clean-before-timestamp <7 days ago> --skip-archive``:

   * the scheduler: ``airflow scheduler --num-runs LOOPS`` with one run of each DAG due, its
     ``Ran scheduling loop in X ms`` debug lines read (``jobs/scheduler_job_runner.py``
     ``_run_scheduler_loop``: the whole loop, the ``_do_scheduling`` part and the executor's
     heartbeat); the first loop creates the four due runs, the others are the steady state;
   * the API server (``airflow api-server``, SimpleAuthManager, a free loopback port) over HTTP:
     the run list ``GET /api/v2/dags/atqbo_invoices/dagRuns?limit=50&order_by=-run_after`` and the
     three requests of the 3.3 UI's grid (``/ui/grid/runs``, ``/ui/grid/structure`` with the UI's
     default of 10 runs, ``/ui/grid/ti_summaries`` of those runs), median of ``REPEAT``;
   * the database: its size and the rows of Airflow's tables that grow with runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from bench import many_runs

REPO = Path(__file__).resolve().parents[1]
DAGS = ("atqbo_invoices", "atqbo_invoice_voids", "atqbo_payments", "atqbo_purchase_orders")
PER_DAG = 30 * 96  # 30 days of 15-minute runs
FAILED_EVERY = 48  # one run in 48 (two a day) failed
RETENTION_DAYS = 7  # the airflow db clean measured
LOOPS = 25  # scheduler loops per measurement (about a second each when idle)
REPEAT = 9  # timed requests per endpoint (after one warm-up)
GRID_RUNS = 10  # the 3.3 UI's default number of runs in the grid (its dag_runs_limit)
TABLES = ("dag_run", "task_instance", "task_instance_history", "xcom", "log", "job", "dag_version")
LOOP_LINE = re.compile(r"Ran scheduling loop in ([\d.]+) ms")
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def run(autotask_latency_ms: int, qbo_latency_ms: int) -> list[dict[str, Any]]:
    del autotask_latency_ms, qbo_latency_ms  # no call to the services here
    return measure_all(PER_DAG)


def measure_all(per_dag: int, postgres: bool = True) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    workdir = Path(tempfile.mkdtemp(prefix="atqbo-bench-dagruns-"))
    try:
        rows += measure_database("sqlite", None, workdir / "sqlite", per_dag)
        server = os.environ.get("ATQBO_BENCH_POSTGRES", "postgres@127.0.0.1:5432")
        if postgres and (admin := many_runs.postgres_admin(server)) is not None:
            name = f"atqbo_bench_af_{uuid.uuid4().hex[:10]}"
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE {name}")
            try:
                url = f"postgresql+psycopg2://{server}/{name}"
                rows += measure_database("postgresql", url, workdir / "postgresql", per_dag)
            finally:
                with admin.cursor() as cur:
                    cur.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                        "AND pid <> pg_backend_pid()",
                        (name,),
                    )
                    cur.execute(f"DROP DATABASE IF EXISTS {name}")
                admin.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


# --- the scratch Airflow home ---------------------------------------------------------------------


class AirflowHome:
    """A scratch home for atqbo's DAGs on one metadata database (SQLite file or a PostgreSQL URL)."""

    def __init__(self, home: Path, db_url: str | None = None):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url or f"sqlite:///{home / 'airflow.db'}"
        self.password = secrets.token_urlsafe(12)
        (home / "passwords.json").write_text(json.dumps({"admin": self.password}))
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
        self.env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.db_url,
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__FERNET_KEY": "OhVu1muvZOHCkuYn4lRxEQVrTOUQG2xr4REo5K87QUw=",  # scratch only
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.base,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        self.api_proc: subprocess.Popen | None = None
        self.headers: dict[str, str] = {}

    def airflow(self, *args: str, timeout: float = 900, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [AIRFLOW, *args],
            cwd=REPO,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
        return done.stdout + done.stderr

    def python(self, *args: str, timeout: float = 1800) -> str:
        """``python -m bench.many_dagruns <args>`` in this home (Airflow reads its settings at import)."""
        done = subprocess.run(
            [sys.executable, "-m", "bench.many_dagruns", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            errors = [line[:500] for line in done.stderr.splitlines() if re.match(r"^[\w.]+(Error|Exception)\b", line)]
            raise RuntimeError(f"bench.many_dagruns {' '.join(args)} exited {done.returncode}: {errors}")
        return done.stdout

    def prepare(self) -> None:
        """Migrated, the DAGs parsed into the database, the four syncs unpaused, no pool slots."""
        self.airflow("db", "migrate")
        self.airflow("dags", "reserialize")
        self.python("prepare")

    def start_api(self) -> None:
        log = (self.home / "api-server.log").open("w")
        self.api_proc = subprocess.Popen(
            [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while True:
            if self.api_proc.poll() is not None:
                raise RuntimeError(f"api-server exited:\n{(self.home / 'api-server.log').read_text()[-3000:]}")
            try:
                if requests.get(f"{self.base}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("api-server did not answer within 180 s")
            time.sleep(0.5)
        token = requests.post(
            f"{self.base}/auth/token", json={"username": "admin", "password": self.password}, timeout=30
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def stop_api(self) -> None:
        if self.api_proc is not None and self.api_proc.poll() is None:
            os.killpg(self.api_proc.pid, signal.SIGTERM)
            try:
                self.api_proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.api_proc.pid, signal.SIGKILL)
                self.api_proc.wait()
        self.api_proc = None

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.base}{path}", headers=self.headers, timeout=120)


# --- what is measured -----------------------------------------------------------------------------


def measure_database(db: str, url: str | None, home_dir: Path, per_dag: int) -> list[dict[str, Any]]:
    home = AirflowHome(home_dir, url)
    began = time.perf_counter()
    home.prepare()
    prepare_s = time.perf_counter() - began
    home.start_api()
    rows = []
    try:
        rows.append(_phase(home, db, "no runs yet", setup_s=prepare_s))
        began = time.perf_counter()
        made = _result(home.python("make-runs", "--per-dag", str(per_dag)))
        make_s = time.perf_counter() - began
        rows.append(_phase(home, db, f"{per_dag:,} runs per DAG", setup_s=make_s, made=made))
        cutoff = (datetime.now(UTC) - timedelta(days=RETENTION_DAYS)).isoformat(timespec="seconds")
        began = time.perf_counter()
        home.airflow("db", "clean", "--clean-before-timestamp", cutoff, "--skip-archive", "--yes")
        clean_s = time.perf_counter() - began
        rows.append(_phase(home, db, f"after airflow db clean ({RETENTION_DAYS} days)", setup_s=clean_s))
    finally:
        home.stop_api()
    return rows


def _phase(home: AirflowHome, db: str, label: str, setup_s: float, made: dict | None = None) -> dict[str, Any]:
    home.python("settle")  # the runs a previous scheduler measurement made are gone, one run due again
    scheduler = measure_scheduler(home)
    api = measure_api(home, phase=label)
    size = measure_size(home)
    row: dict[str, Any] = {
        "name": f"Airflow many runs ({db}): {label}",
        "database": db,
        "phase": label,
        "records": size["rows"]["dag_run"],
        "calls": 0,
        "seconds": round(setup_s, 1),
        "scheduler": scheduler,
        "api_ms": api,
        "db": size,
    }
    if made:
        row["made"] = made
    return row


def measure_scheduler(home: AirflowHome, loops: int = LOOPS) -> dict[str, Any]:
    """``airflow scheduler --num-runs`` with DEBUG logs: each loop's own timing, and the runs it made."""
    began = time.perf_counter()
    out = home.airflow(
        "scheduler",
        "--num-runs",
        str(loops),
        env={"AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG", "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1"},
        timeout=600,
    )
    wall = time.perf_counter() - began
    durations = [float(m) for m in LOOP_LINE.findall(out)]
    (home.home / f"scheduler-{int(time.time())}.log").write_text(out)
    if len(durations) < 2:
        raise RuntimeError(f"the scheduler logged {len(durations)} loop timings:\n{out[-3000:]}")
    created = _result(home.python("count-new"))
    if created != len(DAGS):  # each DAG has one run due: a loop that made none measured an idle scheduler
        raise RuntimeError(f"the scheduler made {created} runs, not one of each of the {len(DAGS)} DAGs due")
    home.python("settle")  # gone again: the next runs made must not meet them (an hourly DAG's is among them)
    steady = sorted(durations[1:])
    return {
        "loops": len(durations),
        "first_loop_ms": round(durations[0], 1),
        "loop_ms_median": round(statistics.median(steady), 1),
        "loop_ms_p90": round(steady[max(0, int(0.9 * len(steady)) - 1)], 1),
        "loop_ms_max": round(max(steady), 1),
        "runs_created": created,
        "wall_s": round(wall, 1),
    }


def measure_api(home: AirflowHome, repeat: int = REPEAT, phase: str = "") -> dict[str, Any]:
    dag = "atqbo_invoices"
    runs_path = f"/api/v2/dags/{dag}/dagRuns?limit=50&order_by=-run_after"
    grid_runs = f"/ui/grid/runs/{dag}?limit={GRID_RUNS}&order_by=-run_after"
    structure = f"/ui/grid/structure/{dag}?limit={GRID_RUNS}&order_by=-run_after"
    answer = home.get(grid_runs)
    answer.raise_for_status()
    run_ids = [r["run_id"] for r in answer.json()]
    if len(run_ids) < GRID_RUNS and "no runs" not in phase:
        raise RuntimeError(f"the grid lists {len(run_ids)} runs of {dag}")
    # urlencoded: a run id's "+00:00" would be read as a space, and the stream would be empty
    summaries = f"/ui/grid/ti_summaries/{dag}?" + urlencode([("run_ids", r) for r in run_ids])
    result: dict[str, Any] = {}
    for key, path in (
        ("dag_runs_50", runs_path),
        ("grid_runs", grid_runs),
        ("grid_structure", structure),
        ("grid_ti_summaries", summaries),
    ):
        times = []
        for attempt in range(repeat + 1):
            began = time.perf_counter()
            response = home.get(path)
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:500]}")
            if key == "grid_ti_summaries" and len(response.text.splitlines()) != len(run_ids):
                raise RuntimeError(f"GET {path}: {len(response.text.splitlines())} summaries for {len(run_ids)} runs")
            if attempt:  # the first one warms the server's caches
                times.append(elapsed)
        result[key] = round(statistics.median(times), 1)
    result["grid_total"] = round(result["grid_runs"] + result["grid_structure"] + result["grid_ti_summaries"], 1)
    result["dag_runs_total_entries"] = home.get(runs_path).json()["total_entries"]
    return result


def measure_size(home: AirflowHome) -> dict[str, Any]:
    if home.db_url.startswith("sqlite"):
        path = home.home / "airflow.db"
        conn = sqlite3.connect(path)
        try:
            rows = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608
            page_size, pages, free = (
                conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count", "freelist_count")
            )
        finally:
            conn.close()
        return {
            "rows": rows,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "used_mb": round((pages - free) * page_size / 1e6, 1),
        }
    import psycopg2

    conn = psycopg2.connect(home.db_url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with conn.cursor() as cur:
            rows = {}
            for t in TABLES:
                cur.execute(f"SELECT COUNT(*) FROM {t}")  # noqa: S608
                rows[t] = cur.fetchone()[0]
            cur.execute("SELECT pg_database_size(current_database())")
            size = cur.fetchone()[0]
    finally:
        conn.close()
    return {"rows": rows, "file_mb": round(size / 1e6, 1), "used_mb": round(size / 1e6, 1)}


# --- inside the scratch home (``python -m bench.many_dagruns <command>``) ------------------------


def _sync_dags(session) -> dict[str, Any]:
    from airflow.models.dagbag import DBDagBag

    bag = DBDagBag()
    dags = {}
    for dag_id in DAGS:
        dag = bag.get_latest_version_of_dag(dag_id, session=session)
        if dag is None:
            raise RuntimeError(f"{dag_id} is not in the metadata database (airflow dags reserialize)")
        dags[dag_id] = dag
    return dags


def cmd_prepare() -> None:
    from airflow.models.dag import DagModel
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session
    from sqlalchemy import update

    with create_session() as session:
        _sync_dags(session)
        session.execute(update(DagModel).where(DagModel.dag_id.in_(DAGS)).values(is_paused=False))
        session.execute(update(Pool).where(Pool.pool == Pool.DEFAULT_POOL_NAME).values(slots=0))


def cmd_settle() -> None:
    """The runs the scheduler made (``creating_job_id`` set) deleted, the next run due again (its date
    fields recomputed from the latest made run, and ``exceeds_max_non_backfill`` cleared)."""
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunType
    from sqlalchemy import select

    with create_session() as session:
        dags = _sync_dags(session)
        made = select(DagRun.id).where(DagRun.dag_id.in_(DAGS), DagRun.creating_job_id.is_not(None))
        for run in session.scalars(select(DagRun).where(DagRun.id.in_(made))):
            session.delete(run)  # its task instances and XComs go with it (cascade)
        session.flush()
        for dag_id, dag in dags.items():
            latest = session.scalar(
                select(DagRun)
                .where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.SCHEDULED)
                .order_by(DagRun.run_after.desc())
                .limit(1)
            )
            model = session.get(DagModel, dag_id)
            model.calculate_dagrun_date_fields(dag, reference_run=latest)
            # the deleted run was its active run (max_active_runs=1): the scheduler set this flag when it
            # made the run and clears it only when a run ends; left set, no run is made again
            model.exceeds_max_non_backfill = False


def cmd_count_new() -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        n = session.scalar(select(func.count()).where(DagRun.dag_id.in_(DAGS), DagRun.creating_job_id.is_not(None)))
    print("RESULT " + json.dumps(n))


def cmd_make_runs(per_dag: int) -> None:
    """The finished scheduled runs of each sync DAG over ``per_dag`` 15-minute slots (its own
    timetable's runs in that window: 30 days are 2,880 runs of a 15-minute DAG, 720 of an hourly
    one), ending with the one before the run due now (so each DAG, the hourly one too, has one due).

    The first run of each DAG is made by Airflow as the scheduler makes one
    (``SerializedDAG.create_dagrun``: the DagRun with ``created_dag_version_id`` and
    ``log_template_id``, its task instances with ``dag_version_id``, ``pool``, ``max_tries``...
    from ``DagRun.verify_integrity``); the others are inserted through the same ORM models with
    that run's columns and their own ids, dates and states (``create_dagrun`` takes about 50 ms a
    run on this machine: 10 minutes for a month). Each run is finished as an idle run finishes:
    its tasks one after the other, two seconds each, one ``return_value`` XCom each; one run in
    ``FAILED_EVERY`` failed (its second task failed after its retries, the rest upstream_failed)."""
    import uuid6
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from sqlalchemy import delete, insert, inspect, select
    from sqlalchemy.exc import OperationalError

    now = datetime.now(UTC)
    due = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    earliest = due - timedelta(minutes=15 * (per_dag + 1))  # a 15-minute DAG's first made run's logical date
    made: dict[str, Any] = {"runs": 0, "task_instances": 0, "failed_runs": 0, "xcoms": 0, "per_dag": {}}
    began = time.perf_counter()
    run_columns = [c.key for c in inspect(DagRun).column_attrs]
    ti_columns = [c.key for c in inspect(TaskInstance).column_attrs]
    with create_session() as session:
        dags = _sync_dags(session)
    for dag_id, dag in dags.items():
        order = _task_order(dag)
        # every run of its timetable in the window whose time has come, but the last: that one is due now
        infos = [i for i in dag.iter_dagrun_infos_between(earliest, now) if i.run_after <= now][:-1]
        with create_session() as session:
            first = infos[0]
            template = dag.create_dagrun(
                run_id=dag.timetable.generate_run_id(
                    run_type=DagRunType.SCHEDULED, run_after=first.run_after, data_interval=first.data_interval
                ),
                logical_date=first.logical_date,
                data_interval=first.data_interval,
                run_after=first.run_after,
                run_type=DagRunType.SCHEDULED,
                triggered_by=DagRunTriggeredByType.TIMETABLE,
                state=DagRunState.SUCCESS,
                start_date=first.run_after,
                session=session,
            )
            session.flush()
            run_shape = {k: getattr(template, k) for k in run_columns if k not in ("id",)}
            ti_shapes = {
                ti.task_id: {k: getattr(ti, k) for k in ti_columns}
                for ti in session.scalars(
                    select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == template.run_id)
                )
            }
            if set(ti_shapes) != set(order):
                raise RuntimeError(f"{dag_id}: the run's task instances {sorted(ti_shapes)} are not its tasks {order}")
            # the template's own rows are made again below like every other run's
            session.execute(
                delete(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == template.run_id)
            )
            session.execute(delete(DagRun).where(DagRun.id == template.id))
        for chunk_start in range(0, len(infos), 500):
            chunk = list(enumerate(infos[chunk_start : chunk_start + 500], start=chunk_start))
            for attempt in range(5):  # SQLite: another process may hold the write lock a moment
                try:
                    with create_session(scoped=False) as session:
                        runs, tis, xcoms = [], [], []
                        for n, info in chunk:
                            failed = n % FAILED_EVERY == FAILED_EVERY - 1
                            start = info.run_after + timedelta(seconds=2)
                            run_id = dag.timetable.generate_run_id(
                                run_type=DagRunType.SCHEDULED,
                                run_after=info.run_after,
                                data_interval=info.data_interval,
                            )
                            clock = start + timedelta(seconds=1)
                            failing = order[1] if failed and len(order) > 1 else None
                            upstream_failed = False
                            for task_id in order:
                                ti = {**ti_shapes[task_id], "id": uuid6.uuid7(), "run_id": run_id}
                                if upstream_failed:
                                    ti.update(state=TaskInstanceState.UPSTREAM_FAILED, end_date=clock, updated_at=clock)
                                    tis.append(ti)
                                    continue
                                began_at, ended_at = clock + timedelta(seconds=1), clock + timedelta(seconds=3)
                                ti.update(
                                    state=TaskInstanceState.FAILED if task_id == failing else TaskInstanceState.SUCCESS,
                                    try_number=ti["max_tries"] + 1 if task_id == failing else 1,
                                    start_date=began_at,
                                    end_date=ended_at,
                                    duration=2.0,
                                    queued_dttm=clock,
                                    scheduled_dttm=clock,
                                    hostname="bench",
                                    unixname="airflow",
                                    pid=4242,
                                    executor="LocalExecutor",
                                    updated_at=ended_at,
                                )
                                tis.append(ti)
                                clock = ended_at
                                if task_id == failing:
                                    upstream_failed = True
                                    continue
                                value = {"run_key": f"{dag_id}/{run_id}", "counts": {"transferred": 0, "skipped": 0}}
                                xcoms.append(
                                    {
                                        "task_id": task_id,
                                        "map_index": -1,
                                        "key": "return_value",
                                        "dag_id": dag_id,
                                        "run_id": run_id,
                                        "value": XComModel.serialize_value(value),
                                        "timestamp": ended_at,
                                    }
                                )
                            runs.append(
                                {
                                    **run_shape,
                                    "run_id": run_id,
                                    "logical_date": info.logical_date,
                                    "data_interval_start": info.data_interval.start,
                                    "data_interval_end": info.data_interval.end,
                                    "run_after": info.run_after,
                                    "queued_at": info.run_after,
                                    "start_date": start,
                                    "end_date": clock + timedelta(seconds=1),
                                    "last_scheduling_decision": clock + timedelta(seconds=1),
                                    "created_at": info.run_after,
                                    "updated_at": clock + timedelta(seconds=1),
                                    "_state": DagRunState.FAILED if failed else DagRunState.SUCCESS,
                                    "context_carrier": {},
                                }
                            )
                        session.execute(insert(DagRun), runs)
                        ids = dict(
                            session.execute(
                                select(DagRun.run_id, DagRun.id).where(
                                    DagRun.dag_id == dag_id, DagRun.run_id.in_([r["run_id"] for r in runs])
                                )
                            ).all()
                        )
                        session.execute(insert(TaskInstance), tis)
                        for x in xcoms:
                            x["dag_run_id"] = ids[x["run_id"]]
                        session.execute(insert(XComModel), xcoms)
                        made["runs"] += len(runs)
                        made["failed_runs"] += sum(r["_state"] == DagRunState.FAILED for r in runs)
                        made["task_instances"] += len(tis)
                        made["xcoms"] += len(xcoms)
                    break
                except OperationalError as exc:
                    if attempt == 4:
                        raise
                    print(f"retrying a chunk of {dag_id}: {exc.__class__.__name__}: {str(exc)[:200]}", file=sys.stderr)
                    time.sleep(2)
        made["per_dag"][dag_id] = len(infos)
    made["seconds"] = round(time.perf_counter() - began, 1)
    print("RESULT " + json.dumps(made))


def _task_order(dag) -> list[str]:
    """The DAG's task ids, every task after its upstream tasks (the order an idle run runs them)."""
    order: list[str] = []
    pending = dict(dag.task_dict)
    while pending:
        ready = sorted(t for t, task in pending.items() if not set(task.upstream_task_ids) - set(order))
        order += ready
        for t in ready:
            del pending[t]
    return order


def _result(out: str) -> Any:
    """The ``RESULT <json>`` line a command printed (Airflow's own logs go to stdout too)."""
    return json.loads([line for line in out.splitlines() if line.startswith("RESULT ")][-1][len("RESULT ") :])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.many_dagruns", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="bench", choices=("bench", "prepare", "settle", "count-new", "make-runs")
    )
    parser.add_argument("--per-dag", type=int, default=PER_DAG)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        cmd_prepare()
    elif args.command == "settle":
        cmd_settle()
    elif args.command == "count-new":
        cmd_count_new()
    elif args.command == "make-runs":
        cmd_make_runs(args.per_dag)
    else:
        print(json.dumps(measure_all(args.per_dag, postgres=not args.no_postgres), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
