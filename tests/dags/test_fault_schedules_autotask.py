"""Fault schedules on Autotask (BEY-01): atqbo_invoices and atqbo_purchase_orders, run with dag.test()
while the sandbox's Autotask answers 5xx or 429, drops connections, fails write-backs or loses their
answers. The next runs come after the outage; the sandbox's state must then show nothing duplicated,
nothing lost and every marker written (tests/dags/fault_support.py)."""

from __future__ import annotations

import pytest

from tests.dags.fault_support import check_invoice_schedule, check_po_schedule, demo, po_tenant  # noqa: F401

pytestmark = pytest.mark.integration

INVOICE_SCHEDULES = {
    "autotask-5xx-storm": [{"api": "autotask", "mode": "error_500", "times": 4}],
    "autotask-429-storm": [{"api": "autotask", "mode": "throttle_429", "times": 4}],
    "autotask-dropped-connections": [{"api": "autotask", "mode": "drop_connection", "times": 2}],
    # each PATCH is tried six times: twelve failures in a row exhaust the write-back of two invoices or more
    "autotask-write-back-fails": [{"api": "autotask", "method": "PATCH", "mode": "error_500", "times": 12}],
    "autotask-write-back-answers-lost": [
        {"api": "autotask", "method": "PATCH", "mode": "commit_then_error", "times": 5, "probability": 0.5, "seed": 7}
    ],
}

PO_SCHEDULES = {
    "autotask-po-write-back-fails": [{"api": "autotask", "method": "PATCH", "mode": "error_500", "times": 12}]
}


@pytest.mark.parametrize("schedule", list(INVOICE_SCHEDULES))
def test_bey01_invoices_survive_the_fault_schedule(demo, schedule):  # noqa: F811 (fixture)
    check_invoice_schedule(demo, INVOICE_SCHEDULES[schedule])


@pytest.mark.parametrize("schedule", list(PO_SCHEDULES))
def test_bey01_purchase_orders_survive_the_fault_schedule(po_tenant, schedule):  # noqa: F811 (fixture)
    check_po_schedule(po_tenant, PO_SCHEDULES[schedule])
