"""What the end-to-end tiers share: waiting on a launched deployment, the REST API, and the sandbox
moves of BEY-01's killed-mid-batch runs (new invoices, a QBO batch held, atqbo's QBO invoices)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests


def stop_script(proc: subprocess.Popen, home: Path | None = None) -> None:
    """Stop a run script as Ctrl-C does (SIGINT to its process group), else with SIGTERM: a shell
    started in the background with SIGINT ignored passes that on, so no Ctrl-C reaches it there
    (CI's, or a `make test &`). Both are trapped by the scripts, which then stop every part. Past
    that, SIGKILL (and each part's own group, by the ids ``home``'s ``*.pid`` files keep) and raise."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    try:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        for part in home.glob("*.pid") if home else ():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(part.read_text()), signal.SIGKILL)
        raise


def wait(predicate, timeout: float, what: str, proc: subprocess.Popen, log: Path):
    """``predicate()``'s first truthy value, polled every second; fails with the launcher's log when the
    launcher exits or ``timeout`` passes. A poll the API server is too busy to answer in time (a read
    timeout: two cores shared with the rest of the suite) is "not yet", not a failure."""
    deadline = time.monotonic() + timeout
    slow = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"{proc.args[0]} exited ({proc.returncode}) while waiting for {what}:\n{log.read_text()[-4000:]}"
            )
        try:
            value = predicate()
        except requests.Timeout:
            slow += 1
            value = None
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what} ({slow} poll(s) unanswered in time):\n{log.read_text()[-4000:]}")


def api(method, url: str, body: dict, headers: dict, timeout: float = 10) -> dict:
    """A REST call, retried on 5xx: SQLite in standalone mode can be briefly locked by the scheduler."""
    for attempt in range(10):
        response = method(url, json=body, headers=headers, timeout=timeout)
        if response.status_code < 500:
            response.raise_for_status()
            return response.json()
        time.sleep(1 + attempt)
    response.raise_for_status()
    return {}


def seed_new_invoices(sandbox: str, new_ids: list[int], billing_base: int) -> None:
    """New posted Autotask invoices (copies of a marked one with its billing items), dated an hour ago."""
    state = requests.get(f"{sandbox}/_sandbox/state", timeout=10).json()["autotask"]
    source = next(i for i in state["Invoices"] if i.get("webServiceDate") and not i["isVoided"])
    items = [b for b in state["BillingItems"] if b["invoiceID"] == source["id"]]
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    invoices = [
        {**source, "id": i, "invoiceNumber": f"E2E-{i}", "invoiceDateTime": stamp, "createDateTime": stamp}
        | {"webServiceDate": None, "paidDate": None}
        for i in new_ids
    ]
    billing = [
        {**b, "id": billing_base + 10 * n + k, "invoiceID": i, "webServiceDate": None}
        for n, i in enumerate(new_ids)
        for k, b in enumerate(items)
    ]
    requests.post(
        f"{sandbox}/_sandbox/seed", json={"autotask": {"Invoices": invoices, "BillingItems": billing}}, timeout=10
    ).raise_for_status()


def hold_invoice_batch(sandbox: str, seconds: float = 300) -> None:
    """QBO holds atqbo's next invoice batch until ``release_held_batch`` (or ``seconds``), then commits it
    whether or not anyone still waits."""
    hold = {"api": "qbo", "method": "POST", "path": "/batch$", "requestid": "^atqbo-invbatch-", "mode": "commit_later"}
    requests.post(
        f"{sandbox}/_sandbox/faults", json={**hold, "latency_ms": int(seconds * 1000), "times": 1}, timeout=10
    )


def release_held_batch(sandbox: str) -> None:
    """QBO gets to the held batch now (``POST /_sandbox/faults/release``)."""
    requests.post(f"{sandbox}/_sandbox/faults/release", timeout=10).raise_for_status()


def held_batch_arrived(sandbox: str) -> bool:
    faults = requests.get(f"{sandbox}/_sandbox/faults", timeout=10).json()
    return any(f["mode"] == "commit_later" and f["fired"] for f in faults)


def held_batch_applied(sandbox: str) -> bool:
    return any(r["fault"] == "commit_later" for r in requests.get(f"{sandbox}/_sandbox/requests", timeout=10).json())


def qbo_copies(sandbox: str, autotask_ids) -> dict[int, int]:
    """How many QBO invoices atqbo made of each of ``autotask_ids`` (by their PrivateNote); absent: none."""
    counts: dict[int, int] = {}
    for inv in requests.get(f"{sandbox}/_sandbox/state", timeout=10).json()["qbo"]["Invoice"]:
        for i in autotask_ids:
            if (inv.get("PrivateNote") or "").startswith(f"Autotask invoice {i} ") or inv.get(
                "PrivateNote"
            ) == f"Autotask invoice {i}":
                counts[i] = counts.get(i, 0) + 1
    return counts
