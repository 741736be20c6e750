"""The fault schedules' shared part (BEY-01): the two tenants, running a DAG until the outage is over,
and what the sandbox's state must show afterwards (tests/dags/test_fault_schedules_*.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pendulum
import pytest

from tests.dags.dag_support import load_dag, task_states, work_state
from tests.dags.tenant_support import export_connections
from tests.sync import po_support as ps

ATTEMPTS = 3  # runs before giving up: the faulty one and at most two more


def run_until_done(dag_id: str, sb, when) -> list[str]:
    """Run the DAG under the faults; then the outage is over and the next run comes (the scheduler's
    next one, or the operator's re-run of a failed one), until one succeeds. The states of each run."""
    states = []
    for attempt in range(ATTEMPTS):
        dagrun = load_dag(dag_id).test(logical_date=when + timedelta(minutes=15 * attempt))
        states.append(dagrun.state)
        sb.faults.clear()  # the outage is over
        if attempt and work_state(dagrun) == "success":
            return states
    raise AssertionError(f"{dag_id} did not recover after {ATTEMPTS} runs: {states}, {task_states(dagrun)}")


def names_once(sb, entity: str, field: str) -> None:
    names = Counter(r[field] for r in sb.state()["qbo"].get(entity, []))
    assert [n for n, count in names.items() if count > 1] == [], entity


@pytest.fixture
def demo(airflow_db, sandbox_connections, monkeypatch):
    from sandbox.seeds import load_seed

    sb = sandbox_connections
    sb.reset()
    sb.seed(load_seed("demo"))
    export_connections(sb, monkeypatch)  # after the reset: the valid refresh token
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"invoice_lookback_days": 45}))
    return sb


def atqbo_invoices(sb) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for inv in sb.state()["qbo"].get("Invoice", []):
        found = re.search(r"Autotask invoice (\d+)", inv.get("PrivateNote") or "")
        if found:
            assert int(found.group(1)) not in out, f"two QBO invoices for Autotask invoice {found.group(1)}"
            out[int(found.group(1))] = inv
    return out


@pytest.fixture
def po_tenant(airflow_db, sandbox_connections, monkeypatch):
    ps.reset_and_seed(sandbox_connections, monkeypatch)
    return sandbox_connections


def check_invoice_schedule(sb, rules: list[dict]) -> None:
    """atqbo_invoices under ``rules``, then until a run succeeds: nothing duplicated, lost or unmarked."""
    at = {i["id"]: i for i in sb.state()["autotask"]["Invoices"]}
    eligible = {
        i for i, inv in at.items() if not inv.get("webServiceDate") and not inv["isVoided"] and inv["invoiceTotal"] >= 0
    }
    before = set(atqbo_invoices(sb))
    sb.faults.add(rules)
    states = run_until_done("atqbo_invoices", sb, pendulum.now("UTC").replace(second=0, microsecond=0))

    books = atqbo_invoices(sb)  # asserts one QBO invoice per Autotask invoice
    assert set(books) - before == eligible, states
    after = {i["id"]: i for i in sb.state()["autotask"]["Invoices"]}
    assert [i for i in eligible if not after[i]["webServiceDate"]] == [], states  # every one marked
    for i in eligible:
        assert Decimal(str(books[i]["TotalAmt"])) == Decimal(str(at[i]["invoiceTotal"])), i
    names_once(sb, "Customer", "DisplayName")
    names_once(sb, "Item", "Name")


def check_po_schedule(sb, rules: list[dict]) -> None:
    """atqbo_purchase_orders under ``rules``, then until a run succeeds: one bill per PO, every number written."""
    sb.faults.add(rules)
    states = run_until_done("atqbo_purchase_orders", sb, ps.LOGICAL_DATE)
    bills = ps.bills(sb)  # asserts one bill per PO
    assert set(bills) == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}, states  # the two others fail by design
    numbers = ps.external_numbers(sb)
    for po_id, bill in bills.items():
        assert numbers[po_id] == bill.get("DocNumber", bill["Id"]), (po_id, states)  # PO-07: QBO's number
    names_once(sb, "Vendor", "DisplayName")
    names_once(sb, "Item", "Name")
