"""PO-07, the write-back (atqbo.sync.purchase_orders.write_back) against the sandbox: a refused
write-back is reported, logged, gets a to-do, and the next run writes it."""

from __future__ import annotations

from atqbo.sync.purchase_orders.extract import extract_purchase_orders
from atqbo.sync.purchase_orders.load import load_purchase_orders
from atqbo.sync.purchase_orders.report import build_purchase_order_report
from atqbo.sync.purchase_orders.write_back import write_back_purchase_orders
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import hooks_for, make_run, run_sync


def test_po07_a_refused_write_back_is_reported_logged_and_gets_a_todo(sandbox, ledger):
    run = make_run("r1")
    autotask, qbo = hooks_for(ledger)
    extract_purchase_orders(run, autotask, ledger)
    load_purchase_orders(run, qbo, ledger)
    sandbox.faults.add({"api": "autotask", "method": "PATCH", "path": r"(?i)/PurchaseOrders$", "mode": "error_500"})
    result = write_back_purchase_orders(run, autotask, ledger)
    sandbox.faults.clear()
    assert result["problems"] == 5 and result["written"] == 0
    errors = [
        e for e in ledger.list_errors(entity="purchase_order") if "External PO Number could not be set" in e["message"]
    ]
    assert {e["autotask_id"] for e in errors} == ps.ELIGIBLE
    assert len(ps.todos(sandbox)) == 7  # the two failed POs, and the five refused write-backs
    report = build_purchase_order_report(run, ledger)
    assert len([r for r in report.rows if "could not be set" in r.reason]) == 5
    # The next run finds the bills and writes their numbers; it adds no to-do for what is already known.
    outcomes = run_sync(make_run("r2"), ledger)
    assert {k for k, v in outcomes.items() if v["outcome"] == "matched"} == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}
    assert all(ps.external_numbers(sandbox)[i] == b["Id"] for i, b in ps.bills(sandbox).items())
    assert len(ps.todos(sandbox)) == 7
