"""BEY-01, adoption (atqbo.sync.purchase_orders.adopt) against the sandbox: a load retried after a
crash, a lost write-back with a lost state database, and a bill deleted in QBO."""

from __future__ import annotations

import json

from atqbo.sync.purchase_orders.extract import extract_purchase_orders
from atqbo.sync.purchase_orders.load import load_purchase_orders
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import bill_batches, hooks_for, make_run, run_sync


def test_bey01_load_retried_after_a_crash_adopts_the_bills_it_had_created(sandbox, ledger):
    run = make_run("r1")
    autotask, qbo = hooks_for(ledger)
    extract_purchase_orders(run, autotask, ledger)
    load_purchase_orders(run, qbo, ledger)
    created = ps.bills(sandbox)
    # The worker died right after the batch: the ledger still says IN_PROGRESS, nothing was staged.
    for po_id in created:
        ledger.record_intent("purchase_order", po_id, payload_hash="x", request_id="lost", run_id=run.run_id)
    ledger.stage_clear(run.run_key, "outcome")
    sandbox.requests.clear()
    load_purchase_orders(run, qbo, ledger)
    outcomes = ledger.stage_get(run.run_key, "outcome")
    assert ps.bills(sandbox) == created and bill_batches(sandbox) == []
    assert {int(k) for k, v in outcomes.items() if v["outcome"] == "transferred"} == set(created)
    assert all(ledger.get_sync_record("purchase_order", i)["status"] == "SYNCED" for i in created)


def test_bey01_lost_write_back_and_lost_ledger_are_survived_by_the_private_note(sandbox, ledger, tmp_path, monkeypatch):
    run_sync(make_run("r1"), ledger)
    created = ps.bills(sandbox)
    orders = ps.purchase_orders(sandbox)
    sandbox.seed({"autotask": {"PurchaseOrders": [{**orders[i], "externalPONumber": None} for i in created]}})
    monkeypatch.setenv(
        "AIRFLOW_CONN_ATQBO_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "new.db")})
    )
    # The lost database held the rotated refresh token too: the user reconnects (a fresh token).
    monkeypatch.setenv("AIRFLOW_CONN_QBO_DEFAULT", json.dumps(sandbox.connections()["qbo_default"]))
    from atqbo.ledger import Ledger

    fresh = Ledger.from_conn_id("atqbo_state")
    fresh.create_schema()
    sandbox.requests.clear()
    outcomes = run_sync(make_run("r2"), fresh)
    assert {k for k, v in outcomes.items() if v["outcome"] == "matched"} == set(created)
    assert ps.bills(sandbox) == created and ps.writes(sandbox, "qbo") == []
    assert all(ps.external_numbers(sandbox)[i] == bill["Id"] for i, bill in created.items())


def test_bey01_a_bill_deleted_in_qbo_and_its_number_cleared_is_created_again(sandbox, ledger):
    run_sync(make_run("r1"), ledger)
    old = ps.bills(sandbox)[ps.PO_OK]
    _, qbo = hooks_for(ledger)
    qbo.delete("Bill", old["Id"])
    sandbox.seed(
        {"autotask": {"PurchaseOrders": [{**ps.purchase_orders(sandbox)[ps.PO_OK], "externalPONumber": None}]}}
    )
    outcomes = run_sync(make_run("r2"), ledger)
    new = ps.bills(sandbox)[ps.PO_OK]
    assert new["Id"] != old["Id"] and outcomes[ps.PO_OK]["outcome"] == "transferred"
    assert any("no longer exists in QBO" in w for w in outcomes[ps.PO_OK]["warnings"])
    assert ledger.get_sync_record("purchase_order", ps.PO_OK)["generation"] == 1
    assert ps.external_numbers(sandbox)[ps.PO_OK] == new["Id"]
