"""The changed payments by invoice (atqbo.sync.payments.changes): a deleted payment is traced
through the ledger, an earlier refusal is tried again (PAY-01)."""

from __future__ import annotations

from atqbo.sync.payments.changes import group_by_invoice
from atqbo.sync.payments.model import APPLIED, DELETED, PaymentEvent
from tests.sync.payments import support as ps
from tests.sync.payments.support import AT_1, AT_4


def test_pay01_deleted_payment_is_traced_through_the_ledger():
    changed = [
        {"Id": "900", "status": "Deleted"},
        ps.payment("901", "2026-02-26", [("502", 40.0), ("503", 60.0)]),
    ]
    records = [
        {"autotask_id": AT_1, "qbo_id": "501", "qbo_number": "899,900", "status": "SYNCED"},
        {"autotask_id": AT_4, "qbo_id": "504", "qbo_number": "777", "status": "ERROR"},
        {"autotask_id": 1, "qbo_id": "999", "qbo_number": "9000", "status": "SYNCED"},  # "900" is not "9000"
    ]
    targets = {t.qbo_invoice_id: t for t in group_by_invoice(changed, records)}
    assert sorted(targets, key=int) == ["501", "502", "503", "504"]
    assert targets["501"].events == (PaymentEvent(DELETED, "900"),) and targets["501"].autotask_id == AT_1
    assert targets["502"].events == (PaymentEvent(APPLIED, "901", "2026-02-26", "40.0"),)
    assert [e.kind for e in targets["504"].events] == ["retry"]
