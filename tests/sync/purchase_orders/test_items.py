"""PO-05, the items (atqbo.sync.purchase_orders.items) against the sandbox."""

from __future__ import annotations

from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import make_run, run_sync


def test_po05_without_the_expense_account_only_pos_needing_new_items_fail(sandbox, ledger):
    outcomes = run_sync(make_run("r1", po_new_item_expense_account="Freight In"), ledger)
    assert outcomes[ps.PO_OK]["outcome"] == "transferred"
    for po_id in (ps.PO_NEW, ps.PO_LATER):
        assert outcomes[po_id]["outcome"] == "failed"
        assert "'Freight In' (po_new_item_expense_account)" in outcomes[po_id]["reason"]
    assert "Logitech MX Keys" not in ps.named(sandbox, "Item", "Name")
