"""BEY-09 "Minutes, not hours", measured: ``python -m bench.latency [--minutes 20] [--idle-minutes 15]``.

Brings up the whole product as ``make run`` does (``scripts/run.sh``: the sandbox with the demo
tenant, Airflow standalone with its scheduler, triggerer, API server and DAG processor) in a scratch
Airflow home on free loopback ports, then:

1. **idle**: nothing is posted for ``--idle-minutes``; every Autotask request the sandbox serves is
   counted, split into those made while an ``atqbo_invoices`` run was running (the 15-minute safety
   net) and the others (the asset watcher's polls, in the triggerer), each scaled to an hour;
2. **posting**: ``--invoices`` invoices are posted (seeded into the sandbox as Autotask's invoicing
   would make them: created now, unsynced, with billing items) at random moments over
   ``--minutes``; each one's latency is the time from its posting until QBO has it (a QBO invoice
   whose PrivateNote names it), read from the sandbox's state every ``POLL_S`` seconds.

Reports p50, p95 and max latency, which kind of run sent each invoice, that each is in QBO exactly
once and marked in Autotask, and the idle requests an hour; writes ``bench/results/latency.json``.
The other scheduled DAGs (voids, POs, payments, reconciliation) are paused first so that every
Autotask request is the invoice sync's. The sandbox answers Autotask after 150 ms and QBO after
200 ms (``make bench``'s stand-ins for the round trip). Run alone: it takes about
``idle + minutes + 8`` minutes and stops everything it started.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "latency.json"
POLL_S = 1.0  # how often the bench reads QBO's state while invoices are on their way
DEFAULT_AUTOTASK_LATENCY_MS = 150
DEFAULT_QBO_LATENCY_MS = 200
OTHER_SCHEDULED_DAGS = ("atqbo_invoice_voids", "atqbo_purchase_orders", "atqbo_payments", "atqbo_reconcile")
FIRST_ID = 39_700_001  # the bench's Autotask invoice ids (the demo's are 29684xxx)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (the value at rank ceil(pct% of n))."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Product:
    """``scripts/run.sh`` in a scratch home, and the calls the bench makes to Airflow and the sandbox."""

    def __init__(self, home: Path):
        self.home = home
        self.ui, self.sandbox_port, self.smtp = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.ui}"
        self.sandbox = f"http://127.0.0.1:{self.sandbox_port}"
        self.log = home / "run.log"
        self.proc: subprocess.Popen | None = None
        self.headers: dict[str, str] = {}

    def start(self) -> None:
        env = {
            **os.environ,
            "ATQBO_UI_PORT": str(self.ui),
            "ATQBO_SANDBOX_PORT": str(self.sandbox_port),
            "ATQBO_SMTP_PORT": str(self.smtp),
            "ATQBO_AIRFLOW_HOME": str(self.home / "airflow-home"),
            "ATQBO_SEED": "demo",
        }
        out = self.log.open("w")
        self.proc = subprocess.Popen(
            [str(REPO / "scripts" / "run.sh")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait(lambda: "atqbo is running" in self.log.read_text(), 600, "Airflow and the sandbox")
        password = (self.home / "airflow-home" / "admin-password").read_text().strip()
        token = requests.post(f"{self.base}/auth/token", json={"username": "admin", "password": password}, timeout=10)
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)

    def wait(self, predicate, timeout: float, what: str, every: float = 1.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"run.sh exited while waiting for {what}:\n{self.log.read_text()[-3000:]}")
            value = predicate()
            if value:
                return value
            time.sleep(every)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """A REST call, retried on 5xx (SQLite in standalone mode can be briefly locked)."""
        for attempt in range(10):
            try:
                response = requests.request(method, f"{self.base}{path}", json=body, headers=self.headers, timeout=15)
            except requests.RequestException:
                time.sleep(1 + attempt)
                continue
            if response.status_code < 500:
                if response.status_code == 404:
                    return {}
                response.raise_for_status()
                return response.json()
            time.sleep(1 + attempt)
        raise RuntimeError(f"{method} {path} kept failing")

    def runs(self, dag_id: str = "atqbo_invoices") -> list[dict]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=-run_after").get("dag_runs", [])

    def sb(self, method: str, what: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.sandbox}/_sandbox/{what}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()


def _parse(ts: str | None) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() if ts else time.time()


def _run_spans(runs: list[dict]) -> list[tuple[float, float, dict]]:
    return [(_parse(r["start_date"]), _parse(r.get("end_date")), r) for r in runs if r.get("start_date")]


def _in_a_run(t: float, spans: list[tuple[float, float, dict]]) -> dict | None:
    return next((r for start, end, r in spans if start - 1 <= t <= end + 1), None)


def prepare(product: Product, autotask_latency_ms: int, qbo_latency_ms: int) -> None:
    """Every other scheduled DAG paused, the first invoice run (the demo's backlog) done, the
    watcher polling, the round-trip latency on."""
    scheduled = ("atqbo_invoices", *OTHER_SCHEDULED_DAGS)
    for dag_id in scheduled:
        product.wait(lambda d=dag_id: product.api("GET", f"/api/v2/dags/{d}"), 300, f"{dag_id} to be parsed")

    def settled() -> bool:
        # the first run of each (they start unpaused, as make run has them): a paused DAG's run never ends
        runs = {d: product.runs(d) for d in scheduled}
        return all(runs.values()) and all(r["state"] in ("success", "failed") for rs in runs.values() for r in rs)

    product.wait(settled, 900, "the first run of every scheduled DAG to finish", every=5)
    for dag_id in OTHER_SCHEDULED_DAGS:
        product.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": True})
    time.sleep(5)
    for dag_id in OTHER_SCHEDULED_DAGS:  # one that was created meanwhile is failed, not left waiting
        for r in product.runs(dag_id):
            if r["state"] not in ("success", "failed"):
                product.api("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{r['dag_run_id']}", {"state": "failed"})

    def watcher_polls() -> bool:
        polls = [r for r in product.sb("GET", "requests?api=autotask") if r["path"].endswith("/Invoices/query")]
        spans = _run_spans(product.runs())
        return len([r for r in polls if not _in_a_run(_parse(r["start"]), spans)]) >= 2

    product.wait(watcher_polls, 300, "the asset watcher's polls", every=5)
    product.sb(
        "POST", "limits", {"autotask": {"latency_ms": autotask_latency_ms}, "qbo": {"latency_ms": qbo_latency_ms}}
    )


def measure_idle(product: Product, minutes: float) -> dict[str, Any]:
    """Autotask requests while nothing is posted, split watcher / safety-net runs, per hour."""
    product.sb("DELETE", "requests")
    started = time.time()
    time.sleep(minutes * 60)
    ended = time.time()
    served = [r for r in product.sb("GET", "requests?api=autotask") if started <= _parse(r["start"]) <= ended]
    spans = [(s, e, r) for s, e, r in _run_spans(product.runs()) if e >= started and s <= ended]
    in_runs = [r for r in served if _in_a_run(_parse(r["start"]), spans)]
    outside = [r for r in served if not _in_a_run(_parse(r["start"]), spans)]
    run_seconds = sum(min(e, ended) - max(s, started) for s, e, _ in spans)
    hours = (ended - started) / 3600
    watcher_per_hour = len(outside) / max(1.0, (ended - started) - run_seconds) * 3600
    finished = [r for s, e, r in spans if s >= started and r["state"] in ("success", "failed")]
    per_run = len(in_runs) / len(finished) if finished else None
    by_path: dict[str, int] = {}
    for r in outside:
        key = f"{r['method']} {r['path'].split('/v1.0/')[-1]}"
        by_path[key] = by_path.get(key, 0) + 1
    return {
        "minutes": round((ended - started) / 60, 1),
        "autotask_requests": len(served),
        "watcher_requests": len(outside),
        "watcher_requests_by_endpoint": by_path,
        "watcher_requests_per_hour": round(watcher_per_hour, 1),
        "safety_net_runs": len(spans),
        "safety_net_run_requests": len(in_runs),
        "requests_per_idle_safety_net_run": round(per_run, 1) if per_run is not None else None,
        "safety_net_requests_per_hour": round(per_run * 4, 1) if per_run is not None else None,
        "measured_requests_per_hour": round(len(served) / hours, 1),
    }


def _new_invoice(source: dict, items: list[dict], invoice_id: int, number: int) -> tuple[dict, list[dict]]:
    now = stamp(datetime.now(UTC))
    invoice = {
        **source,
        "id": invoice_id,
        "invoiceNumber": f"LAT-{invoice_id}",
        "invoiceDateTime": now,
        "createDateTime": now,
        "webServiceDate": None,
        "paidDate": None,
        "isVoided": False,
        "voidedDate": None,
        "voidedByResourceID": None,
    }
    lines = [
        {**item, "id": invoice_id * 10 + k, "invoiceID": invoice_id, "webServiceDate": None}
        for k, item in enumerate(items)
    ]
    return invoice, lines


def measure_posting(product: Product, minutes: float, count: int, rng: random.Random) -> dict[str, Any]:
    """``count`` invoices posted at random moments over ``minutes``; each one's time until QBO has it."""
    state = product.sb("GET", "state")["autotask"]
    source = next(i for i in state["Invoices"] if i.get("webServiceDate") and not i["isVoided"])
    items = [b for b in state["BillingItems"] if b["invoiceID"] == source["id"]]
    offsets = sorted(rng.uniform(0, minutes * 60) for _ in range(count))
    ids = [FIRST_ID + n for n in range(count)]
    posted: dict[int, float] = {}
    arrived: dict[int, float] = {}
    copies: dict[int, int] = {}
    started = time.time()

    def look() -> None:
        qbo = product.sb("GET", "state")["qbo"]["Invoice"]
        seen = time.time()
        counts: dict[int, int] = {}
        for doc in qbo:
            note = str(doc.get("PrivateNote") or "")
            for i in posted:
                if note.startswith(f"Autotask invoice {i} ") or note == f"Autotask invoice {i}":
                    counts[i] = counts.get(i, 0) + 1
        for i, n in counts.items():
            arrived.setdefault(i, seen)
            copies[i] = n

    pending = list(zip(offsets, ids, strict=True))
    while pending or (len(arrived) < len(posted) and time.time() - started < minutes * 60 + 600):
        now = time.time()
        while pending and now - started >= pending[0][0]:
            _, invoice_id = pending.pop(0)
            invoice, lines = _new_invoice(source, items, invoice_id, len(posted))
            product.sb("POST", "seed", {"autotask": {"Invoices": [invoice], "BillingItems": lines}})
            posted[invoice_id] = time.time()
        look()
        time.sleep(POLL_S)
    time.sleep(60)  # a duplicate would come from a later run: look once more after the last one
    look()
    runs = product.runs()
    spans = _run_spans(runs)
    marked = {
        i["id"]: bool(i.get("webServiceDate"))
        for i in product.sb("GET", "state")["autotask"]["Invoices"]
        if i["id"] in posted
    }
    samples = []
    for i in ids:
        latency = arrived[i] - posted[i] if i in arrived else None
        run = _in_a_run(arrived[i] - POLL_S, spans) if i in arrived else None
        samples.append(
            {
                "autotask_id": i,
                "posted_at": datetime.fromtimestamp(posted[i], UTC).isoformat(timespec="seconds"),
                "latency_s": round(latency, 1) if latency is not None else None,
                "sent_by": run["run_type"] if run else None,
                "qbo_copies": copies.get(i, 0),
                "marked_in_autotask": marked.get(i, False),
            }
        )
    latencies = [s["latency_s"] for s in samples if s["latency_s"] is not None]
    during = [r for s, e, r in spans if e >= started]
    by_type: dict[str, int] = {}
    for r in during:
        by_type[r["run_type"]] = by_type.get(r["run_type"], 0) + 1
    sent_by: dict[str, int] = {}
    for s in samples:
        sent_by[str(s["sent_by"])] = sent_by.get(str(s["sent_by"]), 0) + 1
    return {
        "minutes": minutes,
        "invoices_posted": len(posted),
        "invoices_in_qbo": len(arrived),
        "p50_s": round(percentile(latencies, 50), 1) if latencies else None,
        "p95_s": round(percentile(latencies, 95), 1) if latencies else None,
        "max_s": round(max(latencies), 1) if latencies else None,
        "min_s": round(min(latencies), 1) if latencies else None,
        "sent_by_run_type": sent_by,
        "runs_by_type": by_type,
        "every_invoice_once_in_qbo": all(s["qbo_copies"] == 1 for s in samples),
        "every_invoice_marked_in_autotask": all(s["marked_in_autotask"] for s in samples),
        "samples": samples,
    }


def measure(
    minutes: float = 20,
    idle_minutes: float = 15,
    invoices: int = 30,
    seed: int = 9,
    autotask_latency_ms: int = DEFAULT_AUTOTASK_LATENCY_MS,
    qbo_latency_ms: int = DEFAULT_QBO_LATENCY_MS,
    home: Path | None = None,
) -> dict[str, Any]:
    """The whole benchmark; returns the result document."""
    from atqbo.triggers.new_invoices import POLL_SECONDS

    scratch = None if home else tempfile.TemporaryDirectory(prefix="atqbo-latency-")
    product = Product(Path(home or scratch.name))  # type: ignore[union-attr]
    try:
        product.start()
        prepare(product, autotask_latency_ms, qbo_latency_ms)
        idle = measure_idle(product, idle_minutes)
        print(f"idle: {json.dumps(idle)}", flush=True)
        posting = measure_posting(product, minutes, invoices, random.Random(seed))
    finally:
        product.stop()
        if scratch is not None:
            scratch.cleanup()
    return {
        "suite": "latency",
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "autotask_latency_ms": autotask_latency_ms,
        "qbo_latency_ms": qbo_latency_ms,
        "poll_seconds": POLL_SECONDS,
        "posting": posting,
        "idle": idle,
    }


def run(
    autotask_latency_ms: int = DEFAULT_AUTOTASK_LATENCY_MS, qbo_latency_ms: int = DEFAULT_QBO_LATENCY_MS
) -> dict[str, Any]:
    """For ``python -m bench``: the default measurement, saved to ``RESULTS`` and returned."""
    result = measure(autotask_latency_ms=autotask_latency_ms, qbo_latency_ms=qbo_latency_ms)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


def summary_line(result: dict[str, Any]) -> str:
    """The result document in a few lines, as ``python -m bench`` and ``python -m bench.latency`` print it."""
    posting, idle = result["posting"], result["idle"]
    return (
        f"poll every {result['poll_seconds']:.0f} s; sandbox latency Autotask {result['autotask_latency_ms']} ms, "
        f"QBO {result['qbo_latency_ms']} ms\n"
        f"posted {posting['invoices_posted']} invoices over {posting['minutes']} min, "
        f"{posting['invoices_in_qbo']} reached QBO: p50 {posting['p50_s']} s, p95 {posting['p95_s']} s, "
        f"max {posting['max_s']} s; sent by {posting['sent_by_run_type']}; once each: "
        f"{posting['every_invoice_once_in_qbo']}, marked: {posting['every_invoice_marked_in_autotask']}\n"
        f"idle {idle['minutes']} min: watcher {idle['watcher_requests_per_hour']} Autotask requests/hour, "
        f"safety-net runs {idle['safety_net_requests_per_hour'] or '-'}/hour "
        f"({idle['safety_net_runs']} runs, {idle['safety_net_run_requests']} requests); "
        f"measured {idle['measured_requests_per_hour']}/hour"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20, help="how long invoices are posted (default 20)")
    parser.add_argument("--idle-minutes", type=float, default=15, help="the idle stretch measured first (default 15)")
    parser.add_argument("--invoices", type=int, default=30, help="invoices posted at random moments (default 30)")
    parser.add_argument("--seed", type=int, default=9, help="the random moments' seed")
    parser.add_argument("--autotask-latency-ms", type=int, default=DEFAULT_AUTOTASK_LATENCY_MS)
    parser.add_argument("--qbo-latency-ms", type=int, default=DEFAULT_QBO_LATENCY_MS)
    parser.add_argument("--home", type=Path, help="keep the Airflow home and logs here (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = measure(
        args.minutes,
        args.idle_minutes,
        args.invoices,
        args.seed,
        args.autotask_latency_ms,
        args.qbo_latency_ms,
        args.home,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n## latency\n\n{summary_line(result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
