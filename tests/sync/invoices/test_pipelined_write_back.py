"""The invoice sync's write-back pipelined with its load (BEY-05), exactly once (BEY-01): the steps the
``atqbo_invoices`` tasks call, against the sandbox with latencies on, on the demo tenant plus enough
invoices for several QBO batches; a load killed for real (SIGKILL of its own process) in the middle
of its batches and its markers, then retried."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.invoices.extract import extract_invoices
from atqbo.sync.invoices.load import load_invoices
from atqbo.sync.invoices.plan import plan_invoice_run
from atqbo.sync.invoices.scope import begin_invoice_run
from atqbo.sync.invoices.write_back import write_back_markers
from tests.net_support import REPO

pytestmark = pytest.mark.integration

TODAY = date.today()
FIRST_ID = 47000000  # the extra invoices' ids (above the demo's)
EXTRA = 100  # with the demo's, four QBO batches of up to 30


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    from sandbox.seeds import load_seed

    sb = sandbox_connections
    sb.reset()
    for conn_id, conn in sb.connections().items():  # after the reset: its refresh token is the valid one
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    demo = load_seed("demo", TODAY)
    sb.seed(demo)
    sb.seed(extra_invoices(demo["autotask"]["BillingCodes"]))
    yield sb
    sb.faults.clear()
    sb.set_limits({"autotask": {"latency_ms": 0}, "qbo": {"latency_ms": 0}})


def extra_invoices(codes: list[dict]) -> dict:
    """``EXTRA`` invoices of two lines for five new companies, dated over the last five days."""
    companies = [
        {"id": 46000000 + i, "companyName": f"Pipeline Client {i}", "companyType": 1, "phone": "555-0100"}
        for i in range(5)
    ]
    invoices, items = [], []
    for n in range(EXTRA):
        invoice_id, company = FIRST_ID + n, companies[n % len(companies)]["id"]
        day = TODAY - timedelta(days=1 + n % 5)
        total = 0.0
        for k in range(2):
            code = codes[(n + k) % len(codes)]
            total += code["unitPrice"]
            items.append(
                {
                    "id": 48500000 + 2 * n + k,
                    "invoiceID": invoice_id,
                    "companyID": company,
                    "billingCodeID": code["id"],
                    "billingItemType": 1,
                    "organizationalLevelAssociationID": 1,
                    "itemName": code["name"],
                    "description": f"{code['name']} for {day:%B %Y}",
                    "itemDate": f"{day}T12:00:00Z",
                    "quantity": 1.0,
                    "rate": code["unitPrice"],
                    "extendedPrice": code["unitPrice"],
                    "totalAmount": code["unitPrice"],
                    "taxDollars": 0.0,
                }
            )
        invoices.append(
            {
                "id": invoice_id,
                "companyID": company,
                "invoiceNumber": None,
                "invoiceDateTime": f"{day}T00:00:00Z",
                "fromDate": f"{day - timedelta(days=30)}T00:00:00Z",
                "toDate": f"{day}T00:00:00Z",
                "dueDate": f"{day + timedelta(days=30)}T00:00:00Z",
                "paymentTerm": 1,
                "invoiceTotal": round(total, 2),
                "totalTaxValue": 0.0,
                "isVoided": False,
            }
        )
    return {"autotask": {"Companies": companies, "Invoices": invoices, "BillingItems": items}}


def planned_run(ledger) -> tuple[RunInfo, set[int]]:
    """A run through its extract and transform; the Autotask ids it will send."""
    from atqbo.hooks.autotask import AutotaskHook

    now = datetime.now(UTC)
    run = RunInfo(
        "atqbo_invoices",
        "manual__pipeline",
        "atqbo_invoices/manual__pipeline",
        Settings.from_dict({"invoice_lookback_days": 14}).to_dict(),
        (now - timedelta(days=14)).isoformat(),
        now.isoformat(),
    )
    begin_invoice_run(run, ledger)
    extract_invoices(run, AutotaskHook(), ledger)
    plan_invoice_run(run, ledger)
    to_send = {int(k) for k, plan in ledger.stage_get(run.run_key, "plan").items() if plan["decision"] == "send"}
    assert {FIRST_ID + n for n in range(EXTRA)} <= to_send and len(to_send) > 90  # four batches
    return run, to_send


def qbo_invoices(sb) -> dict[int, dict]:
    """atqbo's invoices in QBO by Autotask id; two for one id fail the test."""
    out: dict[int, dict] = {}
    for invoice in sb.state()["qbo"].get("Invoice", []):
        found = re.search(r"Autotask invoice (\d+)", invoice.get("PrivateNote") or "")
        if found:
            assert int(found.group(1)) not in out, f"two QBO invoices for Autotask invoice {found.group(1)}"
            out[int(found.group(1))] = invoice
    return out


def unmarked(sb, ids: set[int]) -> set[int]:
    return {i["id"] for i in sb.state()["autotask"]["Invoices"] if i["id"] in ids and not i.get("webServiceDate")}


def patches(sb) -> list[dict]:
    return [r for r in sb.requests.list("autotask") if r["method"] == "PATCH"]


def invoice_batches(sb) -> list[dict]:
    return [r for r in sb.requests.list("qbo") if (r["requestid"] or "").startswith("atqbo-invbatch-")]


def most_at_once(requests: list[dict]) -> int:
    """The most of ``requests`` in flight at one time, by the sandbox's start and end times."""
    events = sorted([(r["start"], 1) for r in requests] + [(r["end"], -1) for r in requests], key=lambda e: e)
    now = peak = 0
    for _, step in events:  # (an end sorts before a start at the same millisecond: not counted as overlap)
        now += step
        peak = max(peak, now)
    return peak


def test_bey05_markers_are_written_three_at_a_time_while_the_invoice_batches_load(sandbox, ledger, qbo):
    run, to_send = planned_run(ledger)
    sandbox.set_limits({"autotask": {"latency_ms": 100}, "qbo": {"latency_ms": 400}})
    sandbox.requests.clear()

    counts = load_invoices(run, qbo, ledger)

    assert counts["transferred"] == len(to_send)
    batches = invoice_batches(sandbox)
    assert len(batches) == 4
    written = patches(sandbox)
    assert len(written) == len(to_send) and {r["status"] for r in written} == {200}  # no thread-limit 429
    # each marker after QBO had its invoice: none before the first batch's answer ...
    assert min(r["start"] for r in written) >= batches[0]["end"]
    # ... and the first ones while the next batches were still going out
    assert min(r["start"] for r in written) < batches[-1]["start"]
    assert most_at_once(written) == 3  # Autotask's thread limit, kept full
    assert {int(k) for k in ledger.stage_get(run.run_key, "written")} == to_send
    assert unmarked(sandbox, to_send) == set()
    # the customers, items, terms and classes were looked up side by side ...
    lookups = [r for r in sandbox.requests.list("qbo") if r["path"].endswith("/query")]
    assert most_at_once(lookups) >= 3
    # ... and the new customers and items created one name-list write at a time, as QBO requires (ERR-02)
    name_writes = [r for r in sandbox.requests.list("qbo") if re.match(r"atqbo-(customer|item)-", r["requestid"] or "")]
    assert {r["requestid"].split("-")[1] for r in name_writes} == {"customer", "item"}
    assert most_at_once(name_writes) == 1 and {r["status"] for r in name_writes} == {200}

    sandbox.requests.clear()
    assert write_back_markers(run, run.autotask(), ledger) == {"written": 0, "problems": 0}
    assert patches(sandbox) == []  # the write_back task had nothing left


def test_bey05_autotask_down_during_the_load_leaves_the_markers_to_the_write_back_task(sandbox, ledger, qbo):
    from atqbo.hooks.autotask import AutotaskHook

    run, to_send = planned_run(ledger)
    sandbox.faults.add([{"api": "autotask", "method": "PATCH", "mode": "error_503"}])  # every PATCH, for now
    impatient = AutotaskHook(max_retries=1, backoff_base=0.01, max_backoff=0.05)

    counts = load_invoices(run, qbo, ledger, impatient)

    assert counts["transferred"] == len(to_send)  # QBO has them all: a marker never fails the load
    assert set(qbo_invoices(sandbox)) >= to_send
    assert ledger.stage_get(run.run_key, "written") == {}
    assert len(patches(sandbox)) <= 3 * 2  # the writer stopped at the first failure (each tried twice)

    sandbox.faults.clear()  # Autotask is back when the write_back task runs
    assert write_back_markers(run, run.autotask(), ledger) == {"written": len(to_send), "problems": 0}
    assert unmarked(sandbox, to_send) == set()


CHILD = """
import json, sys
from atqbo.ledger import Ledger
from atqbo.runs import RunInfo
from atqbo.sync.invoices.load import load_invoices
run = RunInfo.from_xcom(json.loads(sys.argv[1]))
ledger = Ledger.from_conn_id("atqbo_state")
load_invoices(run, run.qbo(ledger), ledger)
"""


def test_bey01_a_pipelined_load_killed_mid_way_and_retried_makes_each_invoice_once_and_every_marker(
    sandbox, ledger, qbo
):
    run, to_send = planned_run(ledger)
    qbo.company_info()  # the token refresh, before the child shares the ledger's tokens
    sandbox.set_limits({"autotask": {"latency_ms": 300}, "qbo": {"latency_ms": 100}})
    # the third invoice batch: held by QBO, which commits it after the load's process is gone (when
    # the test releases it)
    hold = {"api": "qbo", "method": "POST", "path": r"/batch$", "requestid": "^atqbo-invbatch-"}
    sandbox.faults.add([{**hold, "mode": "commit_later", "after": 2, "times": 1, "latency_ms": 120_000}])
    sandbox.requests.clear()

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(run.to_xcom())],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        # killed once the third batch is at QBO and markers of the first two are being written
        while not (sandbox.faults.list()[0]["fired"] and ledger.stage_get(run.run_key, "written")):
            assert child.poll() is None, "the load ended before it was killed"
            assert time.monotonic() < deadline, "the load never got to its third batch and first markers"
            time.sleep(0.05)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)

    first_two = set(sorted(to_send)[:60])
    written_then = {int(k) for k in ledger.stage_get(run.run_key, "written")}
    assert written_then and written_then < first_two  # some markers written, more were queued or in flight
    assert set(qbo_invoices(sandbox)) & to_send == first_two  # two batches done, the third held
    sandbox.faults.release_holds()
    deadline = time.monotonic() + 60
    while not any(r["fault"] == "commit_later" for r in sandbox.requests.list("qbo")):
        assert time.monotonic() < deadline, "the held batch was never applied"
        time.sleep(0.1)
    third = set(sorted(to_send)[60:90])
    assert set(qbo_invoices(sandbox)) & to_send == first_two | third  # QBO committed it after the kill

    counts = load_invoices(run, qbo, ledger)  # the task's retry: the same run

    outcomes = ledger.stage_get(run.run_key, "outcome")
    assert {a for a in to_send if outcomes[str(a)]["outcome"] == "matched"} == first_two | third  # adopted
    assert (counts["matched"], counts["transferred"]) == (90, len(to_send) - 90)
    assert set(qbo_invoices(sandbox)) & to_send == to_send  # each once (qbo_invoices asserts it)
    assert write_back_markers(run, run.autotask(), ledger) == {"written": 0, "problems": 0}
    assert unmarked(sandbox, to_send) == set()
    # every marker written once, but those whose PATCH was in flight at the kill (three at most)
    assert len(to_send) <= len(patches(sandbox)) <= len(to_send) + 3
