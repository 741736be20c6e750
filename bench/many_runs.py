"""Many runs (BEY-05): 30 days of 15-minute runs of the four scheduled syncs (2,880 each, 11,520 in
all, mostly idle) against the state database, and what each costs at the start and at the end.

Each simulated run does what an idle scheduled run does to the state database: its first task
stages its scope, its extract stages what it read (nothing), its report records the run and
purges expired rows (``RunInfo.publish``). The clock is moved 15 minutes per round, so after a
week the staging purge starts to remove the oldest runs. Measured on SQLite (the default) and,
when a server answers, PostgreSQL: milliseconds per run in the first and the last day, the
latest-runs query the UI makes, and the rows left.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DAGS = ("atqbo_invoices", "atqbo_purchase_orders", "atqbo_invoice_voids", "atqbo_payments")
ROUNDS = 30 * 96  # 30 days of 15-minute runs


def run(autotask_latency_ms: int, qbo_latency_ms: int) -> list[dict[str, Any]]:
    del autotask_latency_ms, qbo_latency_ms  # no API call here
    rows = []
    workdir = Path(tempfile.mkdtemp(prefix="atqbo-bench-"))
    rows += _one_database("sqlite", f"sqlite:///{workdir / 'state.db'}")
    server = os.environ.get("ATQBO_BENCH_POSTGRES", "postgres@127.0.0.1:5432")
    admin = postgres_admin(server)
    if admin is not None:  # a throwaway database, dropped afterwards
        name = f"atqbo_bench_{uuid.uuid4().hex[:10]}"
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        try:
            rows += _one_database("postgresql", f"postgresql://{server}/{name}")
        finally:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.close()
    return rows


def _one_database(name: str, url: str) -> list[dict[str, Any]]:
    import atqbo.ledger.run_history as run_history
    import atqbo.ledger.staging as staging
    from atqbo.ledger import Ledger

    ledger = Ledger.from_url(url)
    ledger.create_schema()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = {"now": start}
    saved = run_history.utcnow, staging.utcnow
    run_history.utcnow = staging.utcnow = lambda: clock["now"]
    per_round: list[float] = []
    try:
        for n in range(ROUNDS):
            clock["now"] = start + timedelta(minutes=15 * n)
            began = time.perf_counter()
            for dag_id in DAGS:
                run_key = f"{dag_id}/scheduled__{n}"
                ledger.stage_clear(run_key)
                ledger.stage_put(run_key, "scope", {"scope": {"tool": "sync"}})
                ledger.stage_put(run_key, "outcome", {})
                ledger.record_run(dag_id, f"scheduled__{n}", {"transferred": 0, "skipped": 0})
                ledger.stage_purge()
                ledger.purge_run_history()
            per_round.append(time.perf_counter() - began)
        began = time.perf_counter()
        for _ in range(20):
            ledger.list_runs(limit=20)
            ledger.list_runs("atqbo_invoices", limit=20)
        list_ms = (time.perf_counter() - began) / 40 * 1000
        with ledger.transaction() as tx:
            staged = tx._conn.cursor()
            staged.execute("SELECT COUNT(*) FROM atqbo_staging")
            staged_rows = staged.fetchone()[0]
            staged.execute("SELECT COUNT(*) FROM atqbo_run_history")
            history_rows = staged.fetchone()[0]
    finally:
        run_history.utcnow, staging.utcnow = saved
        ledger.close()
    first_day = sum(per_round[:96]) / 96 / len(DAGS) * 1000
    last_day = sum(per_round[-96:]) / 96 / len(DAGS) * 1000
    return [
        {
            "name": f"many runs ({name}): {ROUNDS * len(DAGS):,} idle runs over 30 days",
            "records": ROUNDS * len(DAGS),
            "calls": 0,
            "seconds": round(sum(per_round), 3),
            "ms_per_run_first_day": round(first_day, 2),
            "ms_per_run_last_day": round(last_day, 2),
            "latest_runs_query_ms": round(list_ms, 2),
            "staging_rows_left": staged_rows,
            "history_rows_left": history_rows,
        }
    ]


def postgres_admin(server: str) -> Any:
    """An autocommit connection to the server's ``postgres`` database, or None when none answers."""
    try:
        import psycopg2

        conn = psycopg2.connect(f"postgresql://{server}/postgres", connect_timeout=2)
    except Exception:
        return None
    conn.autocommit = True
    return conn
