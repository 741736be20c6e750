"""Preflight benchmark (BEY-08): ``atqbo_preflight``'s four parts on a tenant of 5,000 companies with
a month of invoices (1,500 of 8 lines, dated over the last 30 days, to 1,500 different customers),
against the sandbox with its real limits on and a fixed latency per request.

Runs the same function each part's task calls (``atqbo.tools.preflight.tasks.run_part``) and counts
each part's API calls from the sandbox's request log. The point is the bound: the calls grow with the
window's invoices (read in pages and ``IN`` batches), not with the tenant's companies.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

COMPANIES = 5000
INVOICES = 1500
DAYS = 30


def run(autotask_latency_ms: int, qbo_latency_ms: int) -> list[dict[str, Any]]:
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings
    from atqbo.tools.preflight.tasks import PreflightBlocked, run_part
    from bench.invoices import synthetic_tenant
    from sandbox import Sandbox
    from sandbox.seeds import load_seed

    today = date.today()
    sandbox = Sandbox(port=0).start()
    workdir = Path(tempfile.mkdtemp(prefix="atqbo-bench-"))
    try:
        for conn_id, conn in sandbox.connections().items():
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        os.environ["AIRFLOW_CONN_ATQBO_STATE"] = json.dumps({"conn_type": "sqlite", "host": str(workdir / "state.db")})
        raw = {"invoice_lookback_days": DAYS, "po_lookback_days": DAYS, "todo_action_type": 3, "todo_resource_id": 1}
        os.environ["AIRFLOW_VAR_ATQBO_SETTINGS"] = json.dumps(raw)
        sandbox.seed(load_seed("demo", today))
        sandbox.seed(synthetic_tenant(today, INVOICES, companies_count=COMPANIES, days=DAYS))
        sandbox.set_limits({"autotask": {"latency_ms": autotask_latency_ms}, "qbo": {"latency_ms": qbo_latency_ms}})
        settings = Settings.from_dict({**raw, "dry_run": True})
        now = datetime.now(UTC)
        run_info = RunInfo(
            dag_id="bench",
            run_id="preflight-1",
            run_key="bench/preflight-1",
            settings=settings.to_dict(),
            window_start=(now - timedelta(days=DAYS)).isoformat(),
            window_end=now.isoformat(),
        )
        run_info.ledger().create_schema()
        rows = []
        for part in ("settings", "autotask", "qbo", "data"):
            sandbox.requests.clear()
            started = time.perf_counter()
            try:
                result = run_part(run_info, part)
            except PreflightBlocked as exc:
                result = {"blocked": str(exc)}
            seconds = time.perf_counter() - started
            log = sandbox.requests.list()
            writes = [r for r in log if r["method"] not in ("GET",) and not _is_read(r["path"])]
            assert not writes, f"the preflight's {part} part wrote: {writes[:3]}"
            calls = {api: sum(1 for r in log if r["api"] == api) for api in ("autotask", "qbo")}
            rows.append(
                {
                    "name": f"preflight: {part}",
                    "records": INVOICES,
                    "calls": calls["autotask"] + calls["qbo"],
                    "autotask_calls": calls["autotask"],
                    "qbo_calls": calls["qbo"],
                    "seconds": round(seconds, 3),
                    "result": result,
                }
            )
        rows.append(
            {
                "name": f"preflight: whole ({COMPANIES:,} companies)",
                "records": INVOICES,
                "calls": sum(r["calls"] for r in rows),
                "autotask_calls": sum(r["autotask_calls"] for r in rows),
                "qbo_calls": sum(r["qbo_calls"] for r in rows),
                "seconds": round(sum(r["seconds"] for r in rows), 3),
            }
        )
        return rows
    finally:
        sandbox.stop()


def _is_read(path: str) -> bool:
    return path.lower().endswith(("/query", "/query/count", "/query/next", "/tokens/bearer"))
