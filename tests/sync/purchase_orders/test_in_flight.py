"""BEY-01 against a write QBO is still processing when its run dies: the sandbox's ``commit_later``
fault holds a batch and applies it seconds later, after the run gave up (its hook allowed no retry
and a 0.5 s timeout: the state a killed run leaves, IN_PROGRESS records and a lost answer). A second
run inside that window must not send the same bill again; names (vendors, items) need no wait,
since QBO refuses a name taken meanwhile. A run after the window decides the record."""

from __future__ import annotations

import json
import time

import pytest

from atqbo.hooks.qbo import QboServerError
from atqbo.sync.purchase_orders.extract import extract_purchase_orders
from atqbo.sync.purchase_orders.load import load_purchase_orders
from tests.in_flight_support import age_writes
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import bill_batches, make_run, run_sync

HOLD_MS = 120_000  # held until the test releases it (sandbox.faults.release_holds): no guess at a run's time
SENT = {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}  # the POs whose bills the tenant's run creates


def hold_batch(sandbox, after: int, hold_ms: int = HOLD_MS) -> None:
    """Hold the ``after``-th batch (0: vendors, 1: items, 2: bills) until ``release`` (or ``hold_ms``)."""
    sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": r"/batch$", "mode": "commit_later", "latency_ms": hold_ms}
        | {"after": after, "times": 1}
    )


def applied(sandbox, fault: str = "commit_later") -> bool:
    """Whether the held batch's hold has ended (the sandbox logs a request when it is done with it)."""
    return any(e["fault"] == fault for e in sandbox.requests.list("qbo"))


def run_that_dies(sandbox, monkeypatch, ledger, run_id: str) -> None:
    """A run whose held batch goes unanswered: its hook gives up at once, the load fails."""
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    qbo_conn = sandbox.connections()["qbo_default"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_QBO_DEFAULT", json.dumps({**qbo_conn, "extra": {**qbo_conn["extra"], "timeout": 0.5}})
    )
    run = make_run(run_id)
    extract_purchase_orders(run, AutotaskHook("autotask_default", max_retries=1), ledger)
    with pytest.raises(QboServerError, match="no answer from QBO"):
        load_purchase_orders(run, QuickBooksOnlineHook("qbo_default", ledger=ledger, max_retries=0), ledger)
    monkeypatch.setenv("AIRFLOW_CONN_QBO_DEFAULT", json.dumps(sandbox.connections()["qbo_default"]))


def release(sandbox) -> None:
    """QBO gets to the held batch now: it is applied (its answer going nowhere)."""
    sandbox.faults.release_holds()
    wait_until_applied(sandbox)


def wait_until_applied(sandbox, timeout: float = 30.0, fault: str = "commit_later") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if applied(sandbox, fault):
            return
        time.sleep(0.1)
    raise AssertionError("the held batch was never applied")


def test_bey01_bills_of_a_run_that_died_are_not_sent_again_while_qbo_may_commit_them(sandbox, monkeypatch, ledger):
    hold_batch(sandbox, after=2)
    run_that_dies(sandbox, monkeypatch, ledger, "r1")
    assert {ledger.get_sync_record("purchase_order", po)["status"] for po in SENT} == {"IN_PROGRESS"}
    assert ps.bills(sandbox) == {}  # QBO is still on it

    # triggered again at once: the bills are reported in flight, not sent
    outcomes = run_sync(make_run("r2"), ledger)
    in_flight = {po for po, row in outcomes.items() if row["reason"].startswith("still in flight")}
    assert in_flight == SENT
    assert {outcomes[po]["outcome"] for po in SENT} == {"skipped"}
    assert "QBO may still create it until" in outcomes[ps.PO_OK]["reason"]
    assert len(bill_batches(sandbox)) == 0  # the held batch is logged only once applied; r2 sent none
    assert {ps.external_numbers(sandbox)[po] for po in SENT} == {None}

    release(sandbox)
    bills = ps.bills(sandbox)  # fails on a second bill for one PO
    assert set(bills) == SENT

    # still inside the window, the bills are now in QBO: a run adopts them
    outcomes = run_sync(make_run("r3"), ledger)
    assert {outcomes[po]["outcome"] for po in SENT} == {"matched"}
    assert ps.bills(sandbox) == bills and len(bill_batches(sandbox)) == 1
    assert {ps.external_numbers(sandbox)[po] for po in SENT} == {bills[po]["Id"] for po in SENT}
    assert {ledger.get_sync_record("purchase_order", po)["status"] for po in SENT} == {"SYNCED"}


def test_bey01_a_bill_batch_that_never_reached_qbo_is_sent_once_the_window_has_passed(sandbox, monkeypatch, ledger):
    """The run dies with its bill batch unanswered, and that batch was in fact never applied (held
    and dropped): a run inside the window cannot know that and sends nothing; the first run after it
    finds no bill and sends them."""
    sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": r"/batch$", "mode": "timeout", "latency_ms": 1500}
        | {"after": 2, "times": 1}
    )
    run_that_dies(sandbox, monkeypatch, ledger, "r1")

    outcomes = run_sync(make_run("r2"), ledger)
    assert {outcomes[po]["outcome"] for po in SENT} == {"skipped"} and ps.bills(sandbox) == {}

    wait_until_applied(sandbox, fault="timeout")  # QBO dropped it, unapplied (r2 may have been quicker)
    assert ps.bills(sandbox) == {}
    assert age_writes(ledger) == len(SENT)  # the window has passed
    outcomes = run_sync(make_run("r3"), ledger)
    assert {outcomes[po]["outcome"] for po in SENT} == {"transferred"}
    assert set(ps.bills(sandbox)) == SENT  # one each
    assert [b["fault"] for b in bill_batches(sandbox)] == ["timeout", None]  # r1's dropped, r3's; none by r2


@pytest.mark.parametrize(
    ("after", "entity", "field", "names"),
    [
        (0, "Vendor", "DisplayName", {"Pax8"}),
        (1, "Item", "Name", {"Logitech MX Keys", "Ubiquiti Switch 24 PoE"}),
    ],
)
def test_bey01_names_created_late_by_a_run_that_died_are_never_duplicated(
    sandbox, monkeypatch, ledger, after, entity, field, names
):
    before = set(ps.named(sandbox, entity, field))
    hold_batch(sandbox, after=after)
    run_that_dies(sandbox, monkeypatch, ledger, "r1")
    assert not names & set(ps.named(sandbox, entity, field))  # still held

    # triggered again at once: the names are created by this run, before the held batch commits
    outcomes = run_sync(make_run("r2"), ledger)
    assert {outcomes[po]["outcome"] for po in SENT} == {"transferred"}
    assert not applied(sandbox)  # r2 was done before QBO got to the held batch
    release(sandbox)  # then QBO refuses the held creates: the names are taken (6240)

    created = [r[field] for r in sandbox.state()["qbo"][entity] if r[field] not in before]
    assert sorted(created) == sorted(names)  # one each
    assert set(ps.bills(sandbox)) == SENT
    assert run_sync(make_run("r3"), ledger) == {}  # nothing left to do
    assert [r[field] for r in sandbox.state()["qbo"][entity] if r[field] not in before] == created


def test_bey01_a_window_that_ends_while_qbo_is_searched_still_holds_the_bill(sandbox, monkeypatch, ledger):
    """The in-flight window is judged as of before QBO is searched: a write whose window ends while
    the search runs could have committed after the search looked, so the PO is still in flight (not
    sent again on a search that may have missed it)."""
    from atqbo.hooks.qbo_limits import WRITE_MAY_COMMIT_S

    hold_batch(sandbox, after=2)
    run_that_dies(sandbox, monkeypatch, ledger, "r1")
    assert age_writes(ledger, WRITE_MAY_COMMIT_S - 3.0) == len(SENT)  # the window ends in 3 s
    # QBO's search for atqbo's bills (the load's second query, after the A/P account's) takes 5 s:
    # the window ends while it runs
    slow_search = {"api": "qbo", "method": "GET", "path": r"/query$", "mode": "latency", "latency_ms": 5000}
    sandbox.faults.add(slow_search | {"after": 1, "times": 1})
    outcomes = run_sync(make_run("r2"), ledger)
    assert {outcomes[po]["outcome"] for po in SENT} == {"skipped"}
    assert all(outcomes[po]["reason"].startswith("still in flight") for po in SENT)
    assert len(bill_batches(sandbox)) == 0  # r2 sent none
    release(sandbox)
    assert set(ps.bills(sandbox)) == SENT  # one each: the held batch's
