"""Month start at scale (BEY-05): atqbo vs the API-limit bound vs a hand-written baseline.

For each size (1,000 and 5,000 invoices of 8 lines) on a fresh sandbox with the same seed (the
demo tenant's reference data, its own invoices taken out, plus the synthetic invoices of
``bench.invoices.synthetic_tenant``), the benchmark

* runs atqbo's invoice sync the way the DAG's tasks do: each step (extract, transform, load, write
  back, report) in a fresh process of its own (``multiprocessing`` spawn), as an Airflow task
  process would, and measures its seconds, its Autotask and QBO calls (the sandbox's request log),
  its peak RSS (the process's ``VmHWM``) and the size of its return value as JSON (its XCom);
* computes the API-limit bound of the same records (``bench.bound``, from first principles);
* runs the baseline (``bench.baseline``) on another fresh sandbox with the same seed, and checks
  that QBO ends up with the same invoices (count, and total per Autotask invoice).

The step functions are those ``atqbo.sync.invoices.tasks`` calls; the run's ``RunInfo`` travels
as it does between tasks (``to_xcom``). Time is the sum of the steps' own times (process start and
imports, about a second a task, left out, as Airflow's scheduling gaps are).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import baseline as baseline_mod
from bench import bound as bound_mod
from bench.invoices import LINES, synthetic_tenant

SIZES = (1000, 5000)
COMPANIES_PER_INVOICE = 0.12  # 120 customers for 1,000 invoices, as bench/invoices.py
LOOKBACK_DAYS = 14
BASELINE_RUN_MAX = 1000  # larger baselines are extrapolated unless --baseline-all
PAGE = 500
STEPS = ("extract", "transform", "load", "write back", "report")
PRIVATE_NOTE_ID = re.compile(r"Autotask invoice (\d+)")


def tenant(today: date, invoices: int) -> dict[str, Any]:
    """The seed: the demo's reference data (codes, lines of business, its QBO company) without its
    invoices, and ``invoices`` synthetic invoices of 8 lines dated over the last 10 days."""
    from sandbox.seeds import load_seed

    demo = load_seed("demo", today)
    demo["autotask"]["Invoices"] = []
    demo["autotask"]["BillingItems"] = []
    return {
        "demo": demo,
        "synthetic": synthetic_tenant(today, invoices=invoices, companies_count=companies_for(invoices)),
    }


def companies_for(invoices: int) -> int:
    return max(1, round(invoices * COMPANIES_PER_INVOICE))


def start_sandbox(seed: dict[str, Any], autotask_latency_ms: int, qbo_latency_ms: int) -> Any:
    from sandbox import Sandbox

    sandbox = Sandbox(port=0).start()
    sandbox.seed(seed["demo"])
    sandbox.seed(seed["synthetic"])
    sandbox.set_limits({"autotask": {"latency_ms": autotask_latency_ms}, "qbo": {"latency_ms": qbo_latency_ms}})
    for conn_id, conn in sandbox.connections().items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
    return sandbox


def qbo_totals(sandbox: Any) -> dict[int, float]:
    """QBO's invoices that name an Autotask invoice in their PrivateNote: total per Autotask id."""
    totals: dict[int, float] = {}
    for invoice in sandbox.state()["qbo"]["Invoice"]:
        match = PRIVATE_NOTE_ID.search(invoice.get("PrivateNote") or "")
        if match and int(match.group(1)) >= 49000000:  # the synthetic invoices
            totals[int(match.group(1))] = round(float(invoice.get("TotalAmt") or 0), 2)
    return totals


def peak_rss_mb() -> float:
    """This process's peak RSS: ``VmHWM``, not ``ru_maxrss``, which Linux carries over from the
    parent through fork and exec (a spawned child reports the benchmark's own RSS, sandbox and all)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _step_in_process(name: str, run: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """One step in a fresh process, as its task would run it; its result, seconds and peak RSS."""
    os.environ.update(env)
    from atqbo.runs import RunInfo
    from atqbo.sync.invoices.extract import extract_invoices
    from atqbo.sync.invoices.load import load_invoices
    from atqbo.sync.invoices.plan import plan_invoice_run
    from atqbo.sync.invoices.report import build_invoice_report
    from atqbo.sync.invoices.write_back import write_back_markers

    info = RunInfo.from_xcom(run)
    started = time.perf_counter()  # after the imports: a task's own time, not its process start
    if name == "extract":
        result = extract_invoices(info, info.autotask(), info.ledger())
    elif name == "transform":
        result = plan_invoice_run(info, info.ledger())
    elif name == "load":
        ledger = info.ledger()
        result = load_invoices(info, info.qbo(ledger), ledger)
    elif name == "write back":
        result = write_back_markers(info, info.autotask(), info.ledger())
    elif name == "report":
        result = build_invoice_report(info, info.ledger()).counts()
    else:
        raise ValueError(name)
    seconds = time.perf_counter() - started
    return {
        "result": result,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "xcom_bytes": len(json.dumps(result, default=str).encode()),
    }


def run_atqbo(seed: dict[str, Any], invoices: int, latencies: tuple[int, int], budget_share: float) -> dict[str, Any]:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings

    sandbox = start_sandbox(seed, *latencies)
    workdir = Path(tempfile.mkdtemp(prefix="atqbo-bench-sync-"))
    try:
        state = {"conn_type": "sqlite", "host": str(workdir / "state.db")}
        os.environ["AIRFLOW_CONN_ATQBO_STATE"] = json.dumps(state)
        ledger = Ledger.from_url(f"sqlite:///{workdir / 'state.db'}")
        ledger.create_schema()
        settings = Settings.from_dict({"invoice_lookback_days": LOOKBACK_DAYS, "autotask_budget_share": budget_share})
        now = datetime.now(UTC)
        run_info = RunInfo(
            dag_id="bench_sync",
            run_id=f"bench-{invoices}",
            run_key=f"bench_sync/{invoices}",
            settings=settings.to_dict(),
            window_start=(now - timedelta(days=LOOKBACK_DAYS)).isoformat(),
            window_end=now.isoformat(),
        )
        QuickBooksOnlineHook(ledger=ledger).company_info()  # the first token refresh is not part of any step
        sandbox.requests.clear()
        env = {k: v for k, v in os.environ.items() if k.startswith(("AIRFLOW", "ATQBO"))}
        run = run_info.to_xcom()
        steps = []
        context = multiprocessing.get_context("spawn")
        for name in STEPS:
            before = {api: len(sandbox.requests.list(api)) for api in ("autotask", "qbo")}
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                out = pool.submit(_step_in_process, name, run, env).result()
            calls = {api: len(sandbox.requests.list(api)) - before[api] for api in ("autotask", "qbo")}
            steps.append(
                {
                    "step": name,
                    "seconds": round(out["seconds"], 3),
                    "autotask_calls": calls["autotask"],
                    "qbo_calls": calls["qbo"],
                    "peak_rss_mb": round(out["peak_rss_mb"], 1),
                    "xcom_bytes": out["xcom_bytes"],
                    "result": out["result"],
                }
            )
        log = sandbox.requests.list()
        totals = qbo_totals(sandbox)
        return {
            "seconds": round(sum(s["seconds"] for s in steps), 3),
            "autotask_calls": sum(s["autotask_calls"] for s in steps),
            "qbo_calls": sum(s["qbo_calls"] for s in steps),
            "peak_rss_mb": max(s["peak_rss_mb"] for s in steps),
            "max_xcom_bytes": max([s["xcom_bytes"] for s in steps] + [len(json.dumps(run).encode())]),
            "runinfo_xcom_bytes": len(json.dumps(run).encode()),
            "steps": steps,
            "retried_or_refused": sum(1 for r in log if r["status"] in (429, 503)),
            "qbo_invoices": len(totals),
            "qbo_total": round(sum(totals.values()), 2),
            "_totals": totals,
        }
    finally:
        sandbox.stop()


def the_bound(seed: dict[str, Any], invoices: int, latencies: tuple[int, int], budget_share: float) -> dict[str, Any]:
    """The bound of this seed's sync: the calls from first principles, at the sandbox's limits."""
    synthetic = seed["synthetic"]["autotask"]
    qbo_items = {i["Name"] for i in seed["demo"]["qbo"]["Item"]}
    qbo_customers = {c["DisplayName"] for c in seed["demo"]["qbo"]["Customer"]}
    codes = {c["id"]: c["name"] for c in seed["demo"]["autotask"]["BillingCodes"]}
    used_codes = {i["billingCodeID"] for i in synthetic["BillingItems"]}
    billed = {i["companyID"] for i in synthetic["Invoices"]}
    names = {c["id"]: c["companyName"] for c in synthetic["Companies"]}
    calls = bound_mod.unavoidable_calls(
        invoices=len(synthetic["Invoices"]),
        lines=LINES,
        companies=len(billed),
        codes=len(used_codes),
        new_customers=sum(1 for c in billed if names[c] not in qbo_customers),
        new_items=sum(1 for c in used_codes if codes[c] not in qbo_items),
    )
    limits = bound_mod.Limits(latencies[0] / 1000, latencies[1] / 1000, autotask_budget_share=budget_share)
    result = bound_mod.bound(calls, limits).to_dict()
    result["stages_one_after_the_other_s"] = round(bound_mod.bound(calls, limits, overlap=False).seconds, 3)
    result["at_default_share_s"] = round(
        bound_mod.bound(calls, bound_mod.Limits(latencies[0] / 1000, latencies[1] / 1000)).seconds, 3
    )
    return result


def _baseline_in_process(base_url: str, connections: dict[str, Any]) -> dict[str, Any]:
    out = baseline_mod.run(base_url, connections, lookback_days=LOOKBACK_DAYS)
    return {**out, "peak_rss_mb": round(peak_rss_mb(), 1)}


def run_baseline(seed: dict[str, Any], latencies: tuple[int, int]) -> dict[str, Any]:
    sandbox = start_sandbox(seed, *latencies)
    try:
        sandbox.requests.clear()
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            out = pool.submit(_baseline_in_process, sandbox.base_url, sandbox.connections()).result()
        totals = qbo_totals(sandbox)
        log = sandbox.requests.list()
        return {
            **out,
            "autotask_calls": sum(1 for r in log if r["api"] == "autotask"),
            "qbo_calls": sum(1 for r in log if r["api"] == "qbo"),
            "qbo_invoices": len(totals),
            "qbo_total": round(sum(totals.values()), 2),
            "_totals": totals,
        }
    finally:
        sandbox.stop()


def extrapolate_baseline(
    measured: dict[str, Any], at: int, invoices: int, latencies: tuple[int, int]
) -> dict[str, Any]:
    """The baseline at ``invoices`` from its run at ``at``: per-invoice calls and seconds scaled, plus
    the Autotask threshold's added latency (+0.5 s a call past 5,000 requests in the hour, +1 s past
    7,500) and the hour's refusal past 10,000, which a sequential script meets at this size."""
    scale = invoices / at
    at_calls = round(measured["autotask_calls"] * scale)
    qbo_calls = round(measured["qbo_calls"] * scale)
    seconds = measured["seconds"] * scale
    added = 0.5 * max(0, min(at_calls, 7500) - 5000) + 1.0 * max(0, min(at_calls, 10000) - 7500)
    return {
        "extrapolated_from": at,
        "seconds": round(seconds + added, 1),
        "autotask_calls": at_calls,
        "qbo_calls": qbo_calls,
        "peak_rss_mb": None,
        "over_the_hourly_threshold": at_calls > 10000,
        "note": "extrapolated (not run): per-invoice cost of the measured run, plus Autotask's added latency"
        + ("; past 10,000 Autotask calls the hour refuses the rest" if at_calls > 10000 else ""),
    }


def compare(atqbo: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    a, b = atqbo["_totals"], baseline["_totals"]
    differ = sorted(i for i in set(a) | set(b) if a.get(i) != b.get(i))
    return {"same_invoices": set(a) == set(b), "same_totals": not differ, "differ": differ[:10]}


def run(
    autotask_latency_ms: int,
    qbo_latency_ms: int,
    sizes: tuple[int, ...] = SIZES,
    budget_share: float | None = None,
    baseline_all: bool = False,
) -> list[dict[str, Any]]:
    """The rows of the table (see ``bench.__main__``): atqbo, bound and baseline for each size.

    ``budget_share``: atqbo's ``autotask_budget_share`` (default: the setting's default, 0.5, for
    sizes whose Autotask calls fit in it, else 1.0, said in the row)."""
    from atqbo.settings import Settings

    default_share = Settings.from_dict({}).autotask_budget_share
    latencies = (autotask_latency_ms, qbo_latency_ms)
    today = date.today()
    rows: list[dict[str, Any]] = []
    measured_baseline: tuple[int, dict[str, Any]] | None = None
    for invoices in sizes:
        seed = tenant(today, invoices)
        share = budget_share
        if share is None:
            needs = bound_mod.unavoidable_calls(invoices, LINES, companies_for(invoices), 12, 0, 0).autotask
            share = default_share if needs < 0.95 * default_share * 10_000 else 1.0
        bound = the_bound(seed, invoices, latencies, share)
        atqbo = run_atqbo(seed, invoices, latencies, share)
        if invoices <= BASELINE_RUN_MAX or baseline_all:
            baseline = run_baseline(seed, latencies)
            baseline["compare"] = compare(atqbo, baseline)
            measured_baseline = (invoices, baseline)
        elif measured_baseline:
            baseline = extrapolate_baseline(measured_baseline[1], measured_baseline[0], invoices, latencies)
        else:
            baseline = None
        for row in (atqbo, baseline):
            if row:
                row.pop("_totals", None)
        rows.append(
            {"name": f"atqbo, {invoices:,}", "invoices": invoices, "kind": "atqbo", "budget_share": share, **atqbo}
        )
        rows.append(
            {"name": f"bound, {invoices:,}", "invoices": invoices, "kind": "bound", "budget_share": share, **bound}
        )
        if baseline:
            rows.append({"name": f"baseline, {invoices:,}", "invoices": invoices, "kind": "baseline", **baseline})
    return rows


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b or math.isnan(a) or math.isnan(b):
        return ""
    return f"{a / b:.2f}x"
