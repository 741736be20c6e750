"""BEY-01, issue 11: an ``atqbo_invoices`` run killed (SIGKILL, a real process) while QBO is still
processing its batch; the operator marks the run failed, as the README says, and triggers again at
once. The sandbox's ``commit_later`` fault holds the batch and applies it after the kill. The new
run must not send those invoices again (they are "still in flight"); the held batch then commits;
a run after the window adopts what it created. A customer the killed run was creating is created
by the new run, and QBO refuses the late one (the name is taken): one customer either way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pendulum
import pytest

from tests.dags import test_atqbo_invoices as invoice_tests
from tests.dags.dag_support import set_run_state, task_states, work_state
from tests.dags.test_atqbo_invoices import Tenant, _eligible
from tests.in_flight_support import age_writes
from tests.net_support import REPO

pytestmark = pytest.mark.integration
tenant = invoice_tests.tenant  # the fixture: the demo tenant plus the edge cases

CHILD = """
import sys, pendulum
from tests.dags.dag_support import load_dag
load_dag("atqbo_invoices").test(logical_date=pendulum.parse(sys.argv[1]))
"""


def hold(tenant: Tenant, requestid: str, seconds: float = 120) -> None:
    """QBO holds the batch until ``release`` (or ``seconds``): no guess at how long a run takes."""
    rule = {"api": "qbo", "method": "POST", "path": r"/batch$", "requestid": requestid, "mode": "commit_later"}
    tenant.sb.faults.add({**rule, "latency_ms": int(seconds * 1000), "times": 1})


def run_killed_mid_batch(tenant: Tenant, timeout: float = 90.0) -> str:
    """A real atqbo_invoices run in its own process, SIGKILLed once its held batch reached QBO;
    returns the run ("dag_id/run_id") the invoice sync lock names: Airflow still thinks it runs."""
    when = pendulum.now("UTC").replace(microsecond=0).subtract(minutes=1)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, when.isoformat()],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not tenant.sb.faults.list()[0]["fired"]:
            assert child.poll() is None, "the run ended before its batch reached QBO"
            assert time.monotonic() < deadline, "the run's batch never reached QBO"
            time.sleep(0.1)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    (lock,) = [lock for lock in tenant_ledger().list_run_locks() if lock["owner"].startswith("atqbo_invoices/")]
    return lock["owner"]


def tenant_ledger():
    from atqbo.ledger import Ledger

    return Ledger.from_conn_id("atqbo_state")


def applied(tenant: Tenant) -> bool:
    return any(e["fault"] == "commit_later" for e in tenant.sb.requests.list("qbo"))


def release(tenant: Tenant, timeout: float = 60.0) -> None:
    """QBO gets to the held batch now: it is applied (its answer going nowhere)."""
    tenant.sb.faults.release_holds()
    deadline = time.monotonic() + timeout
    while not applied(tenant):
        assert time.monotonic() < deadline, "the held batch was never applied"
        time.sleep(0.2)


def outcomes_of(dagrun) -> dict[int, dict]:
    ledger = tenant_ledger()
    return {int(k): v for k, v in ledger.stage_get(f"atqbo_invoices/{dagrun.run_id}", "outcome").items()}


def test_bey01_killed_run_marked_failed_and_triggered_again_makes_no_duplicate_invoice(tenant):
    eligible = _eligible(tenant)
    hold(tenant, "^atqbo-invbatch-")
    killed = run_killed_mid_batch(tenant)
    ledger = tenant_ledger()
    in_flight = {r["autotask_id"] for r in ledger.list_sync_records("invoice", "IN_PROGRESS")}
    assert in_flight and in_flight <= eligible

    set_run_state(killed, "failed")  # what the operator does: mark the killed run failed
    second = tenant.run()  # and trigger again at once
    assert work_state(second) == "success", task_states(second)
    outcomes = outcomes_of(second)  # (had the batch committed before it looked, they would be "matched")
    assert {a for a, row in outcomes.items() if row["reason"].startswith("still in flight")} == in_flight
    assert {outcomes[a]["outcome"] for a in in_flight} == {"skipped"}
    made = set(tenant.qbo_invoices()) - tenant.preexisting  # (qbo_invoices fails on two for one id)
    assert made == eligible - in_flight  # the rest were sent, by the second run
    assert not {a for a in in_flight if tenant.at_invoices()[a].get("webServiceDate")}  # no marker yet

    assert not applied(tenant)
    release(tenant)  # the killed run's batch commits now
    assert set(tenant.qbo_invoices()) - tenant.preexisting == eligible  # one each: no duplicate

    age_writes(ledger)  # the window has passed: the next run decides
    third = tenant.run()
    assert work_state(third) == "success", task_states(third)
    outcomes = outcomes_of(third)
    assert {outcomes[a]["outcome"] for a in in_flight} == {"matched"}
    assert set(tenant.qbo_invoices()) - tenant.preexisting == eligible
    assert all(tenant.at_invoices()[a].get("webServiceDate") for a in eligible)
    assert {ledger.get_sync_record("invoice", a)["status"] for a in eligible} == {"SYNCED"}


def test_bey01_a_customer_the_killed_run_was_creating_is_made_once(tenant):
    eligible = _eligible(tenant)
    before = set(tenant.qbo_named("Customer"))
    hold(tenant, "^atqbo-customer-")
    killed = run_killed_mid_batch(tenant)
    set_run_state(killed, "failed")
    second = tenant.run()
    assert work_state(second) == "success", task_states(second)
    created = set(tenant.qbo_named("Customer")) - before
    assert created  # the second run created them

    assert not applied(tenant)
    release(tenant)  # QBO refuses the late creates: the names are taken (6240)
    batches = [e for e in tenant.sb.requests.list("qbo") if (e["requestid"] or "").startswith("atqbo-customer-")]
    assert [e["fault"] for e in batches] == [None, "commit_later"]  # the second run's went first
    names = [c["DisplayName"] for c in tenant.sb.state()["qbo"]["Customer"]]
    assert sorted(n for n in names if n not in before) == sorted(created)  # one each
    assert set(tenant.qbo_invoices()) - tenant.preexisting == eligible
