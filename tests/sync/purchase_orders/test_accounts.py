"""The accounts the PO sync names in its settings (atqbo.sync.purchase_orders.accounts)."""

from __future__ import annotations

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.sync.purchase_orders.extract import extract_purchase_orders
from atqbo.sync.purchase_orders.load import load_purchase_orders
from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import hooks_for, make_run


def test_po02_an_ap_account_that_does_not_exist_stops_the_run_naming_the_setting(sandbox, ledger):
    run = make_run("r1", po_ap_account="Trade Payables")
    autotask, qbo = hooks_for(ledger)
    extract_purchase_orders(run, autotask, ledger)
    with pytest.raises(AtqboConfigError, match="po_ap_account"):
        load_purchase_orders(run, qbo, ledger)
    assert ps.writes(sandbox, "qbo") == []
