"""PO-08, a to-do per failure, once (atqbo.sync.purchase_orders.todos)."""

from __future__ import annotations

from atqbo.sync.purchase_orders.todos import todo_key
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import make_run, run_sync


def test_po08_a_failure_is_its_po_and_its_message():
    assert todo_key(1, "no items") == todo_key(1, "no items")
    assert todo_key(1, "no items") != todo_key(2, "no items") != todo_key(1, "inactive")
    assert todo_key(None, "multi-currency").startswith("run:")


def test_po08_a_failure_that_returns_after_it_was_resolved_gets_a_new_todo(sandbox, ledger):
    run_sync(make_run("r1"), ledger)
    assert len(ps.todos(sandbox)) == 2
    ledger.resolve_errors("purchase_order", ps.PO_CLASH)  # say someone marked it fixed in the error log
    sandbox.seed(
        {"autotask": {"PurchaseOrders": [{**ps.purchase_orders(sandbox)[ps.PO_CLASH], "externalPONumber": None}]}}
    )
    run_sync(make_run("r2"), ledger)
    assert len(ps.todos(sandbox)) == 3
