"""Fault schedules on QuickBooks Online (BEY-01): atqbo_invoices on the demo tenant and
atqbo_purchase_orders on the PO tenant, run with dag.test() while the sandbox's QBO loses answers after
committing, drops connections, answers 5xx or 429, or refuses every write for a run. The next runs come
after the outage; the sandbox's state must then show one QBO document per Autotask record, every
eligible record sent and marked, no name created twice (tests/dags/fault_support.py). The README's
"Faults atqbo survives" lists every schedule and what an operator does after each."""

from __future__ import annotations

import pytest

from tests.dags.fault_support import check_invoice_schedule, check_po_schedule, demo, po_tenant  # noqa: F401

pytestmark = pytest.mark.integration

INVOICE_SCHEDULES = {
    "qbo-invoice-batch-committed-answer-lost": [
        {"api": "qbo", "method": "POST", "path": "/batch$", "mode": "commit_then_error", "after": 2, "times": 1}
    ],
    "qbo-name-batch-committed-answer-lost": [
        {"api": "qbo", "method": "POST", "path": "/batch$", "mode": "commit_then_error", "times": 1}
    ],
    "qbo-invoice-batch-dropped": [
        {"api": "qbo", "method": "POST", "path": "/batch$", "mode": "drop_connection", "after": 2, "times": 1}
    ],
    "qbo-5xx-storm": [{"api": "qbo", "mode": "error_503", "times": 4}],
    "qbo-429-storm": [{"api": "qbo", "mode": "throttle_429", "times": 6}],
    "qbo-every-write-fails-for-a-run": [{"api": "qbo", "method": "POST", "path": "/batch$", "mode": "error_500"}],
}

PO_SCHEDULES = {
    "qbo-bill-committed-answer-lost": [
        {"api": "qbo", "method": "POST", "path": "/bill$", "mode": "commit_then_error", "times": 1}
    ],
    "qbo-vendor-or-item-committed-answer-lost": [
        {"api": "qbo", "method": "POST", "path": "/(vendor|item)$", "mode": "commit_then_error", "times": 2}
    ],
}


@pytest.mark.parametrize("schedule", list(INVOICE_SCHEDULES))
def test_bey01_invoices_survive_the_fault_schedule(demo, schedule):  # noqa: F811 (fixture)
    check_invoice_schedule(demo, INVOICE_SCHEDULES[schedule])


@pytest.mark.parametrize("schedule", list(PO_SCHEDULES))
def test_bey01_purchase_orders_survive_the_fault_schedule(po_tenant, schedule):  # noqa: F811 (fixture)
    check_po_schedule(po_tenant, PO_SCHEDULES[schedule])
