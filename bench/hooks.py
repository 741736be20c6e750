"""Hook benchmarks: what reading and writing in bulk costs in API calls and seconds.

The sandbox answers each request after a fixed latency standing in for the real services'
round trip (defaults below; the real figures vary by zone and load and are not published), with
the real limits on (Autotask: 3 concurrent calls per endpoint, hourly threshold; QBO: 500
requests/min, 10 concurrent, 40 batches/min). Calls are counted from the sandbox's request log,
so retries and token refreshes count too.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_AUTOTASK_LATENCY_MS = 150
DEFAULT_QBO_LATENCY_MS = 200


def _timed(sandbox: Any, api: str, fn: Callable[[], int]) -> tuple[int, int, float]:
    sandbox.requests.clear()
    started = time.perf_counter()
    records = fn()
    seconds = time.perf_counter() - started
    calls = len(sandbox.requests.list(api))
    return records, calls, seconds


def run(autotask_latency_ms: int, qbo_latency_ms: int) -> list[dict[str, Any]]:
    from atqbo.hooks.autotask import AutotaskHook, gte
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from sandbox import Sandbox

    sandbox = Sandbox(port=0).start()
    workdir = Path(tempfile.mkdtemp(prefix="atqbo-bench-"))
    try:
        for conn_id, conn in sandbox.connections().items():
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        sandbox.seed(
            {
                "autotask": {
                    "Companies": [
                        {"companyName": f"Bench Company {i:05d}", "companyType": 1, "phone": "555-0100"}
                        for i in range(5000)
                    ]
                },
                "qbo": {"Customer": [{"DisplayName": f"Bench Customer {i:05d}"} for i in range(2500)]},
            }
        )
        sandbox.set_limits({"autotask": {"latency_ms": autotask_latency_ms}, "qbo": {"latency_ms": qbo_latency_ms}})
        ledger = Ledger.from_url(f"sqlite:///{workdir / 'state.db'}")
        ledger.create_schema()
        at = AutotaskHook()
        qbo = QuickBooksOnlineHook(ledger=ledger)
        rows = []

        def row(name: str, api: str, fn: Callable[[], int]) -> None:
            records, calls, seconds = _timed(sandbox, api, fn)
            rows.append({"name": name, "records": records, "calls": calls, "seconds": round(seconds, 3)})

        at.threshold_information()  # zone discovery and first budget check are not part of the runs
        row(
            "Autotask: query 5,000 companies (nextPageUrl paging)",
            "autotask",
            lambda: len(at.query_all("Companies", [gte("id", 1)])),
        )
        ids = [c["id"] for c in sandbox.state()["autotask"]["Companies"]][:2000]
        row("Autotask: get_many 2,000 ids (`in` chunks of 500)", "autotask", lambda: len(at.get_many("Companies", ids)))
        row(
            "Autotask: get 50 ids one by one (for contrast)",
            "autotask",
            lambda: sum(1 for i in ids[:50] if at.get("Companies", i)),
        )
        qbo.company_info()  # token refresh is not part of the runs
        row("QBO: query_all 2,500 customers (pages of 1,000)", "qbo", lambda: sum(1 for _ in qbo.query_all("Customer")))
        items = [{"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"Batch {i}"}} for i in range(300)]
        row(
            "QBO: create 300 customers by batch (30 per request)",
            "qbo",
            lambda: sum(1 for r in qbo.batch(items) if isinstance(r, dict)),
        )
        row(
            "QBO: create 30 customers one by one (for contrast)",
            "qbo",
            lambda: sum(1 for i in range(30) if qbo.create("Customer", {"DisplayName": f"Single {i}"})),
        )
        return rows
    finally:
        sandbox.stop()
