"""PO-03, the vendors (atqbo.sync.purchase_orders.vendors) against the sandbox."""

from __future__ import annotations

from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import make_run, run_sync


def test_po03_an_employee_with_the_name_or_an_inactive_vendor_is_an_error(sandbox, ledger):
    sandbox.seed(
        {
            "qbo": {
                "Employee": [{"Id": "90", "GivenName": "Pax8", "DisplayName": "Pax8"}],
                "Vendor": [{"Id": ps.QBO_INGRAM, "DisplayName": "Ingram Micro", "Active": False}],
            }
        }
    )
    outcomes = run_sync(make_run("r1"), ledger)
    assert "QBO employee 'Pax8' (Id 90) already uses the name 'Pax8'" in outcomes[ps.PO_NEW]["reason"]
    assert "the QBO vendor 'Ingram Micro' (Id 70) is inactive" in outcomes[ps.PO_OK]["reason"]
    assert ps.bills(sandbox) == {} and "Pax8" not in ps.named(sandbox, "Vendor")
