"""The decision for one invoice (atqbo.sync.payments.paid_state): marked on the day it was paid in
full, a partial payment or a removed payment reported, never a paid date cleared (PAY-01, PAY-02)."""

from __future__ import annotations

from datetime import date

from atqbo.sync.payments.model import APPLIED, DELETED, VOIDED, PaymentEvent
from atqbo.sync.payments.paid_state import decide_paid_state
from tests.sync.payments import support as ps
from tests.sync.payments.support import AT_1


def _at(paid: str | None = None, voided: bool = False) -> dict:
    return ps.autotask_invoice(AT_1, "INV-3001", paid_date=paid, voided=voided)


def _qbo(balance: float, total: float = 250.0) -> dict:
    return {"Id": "501", "DocNumber": "1101", "TotalAmt": total, "Balance": balance, "PrivateNote": "x"}


def test_pay01_decision_paid_in_full_marks_with_the_payment_date():
    event = PaymentEvent(APPLIED, "900", "2026-02-25", "250")
    state = decide_paid_state(_at(), _qbo(0), date(2026, 2, 25), [event])
    assert state.mark_on == date(2026, 2, 25) and state.outcome == "transferred"
    assert state.fingerprint == "paid 2026-02-25" and state.status == "SYNCED"
    assert (
        state.reason == "marked paid on 2026-02-25: paid in full in QBO (QBO payment 900 of 2026-02-25, 250.00 applied)"
    )
    assert state.plan.startswith("would mark it paid on 2026-02-25")


def test_pay01_decision_already_right_writes_nothing():
    state = decide_paid_state(_at("2026-02-25"), _qbo(0), date(2026, 2, 25), [])
    assert state.mark_on is None and state.outcome == "skipped" and state.status == "SYNCED"


def test_pay01_decision_another_paid_date_is_corrected_and_said():
    state = decide_paid_state(_at("2026-02-20"), _qbo(0), date(2026, 2, 25), [])
    assert state.mark_on == date(2026, 2, 25)
    assert state.reason.startswith("paid date changed from 2026-02-20 to 2026-02-25")


def test_pay02_decision_partial_payment_is_a_warning_not_a_mark():
    event = PaymentEvent(APPLIED, "900", "2026-02-25", "100")
    state = decide_paid_state(_at(), _qbo(150), None, [event])
    assert state.mark_on is None and state.outcome == "warning"
    assert state.reason.startswith("partially paid: balance 150.00 of 250.00 (QBO payment 900")
    assert state.fingerprint == "open 150.00"


def test_pay01_decision_payment_removed_after_marking_is_reported_and_paid_date_kept():
    state = decide_paid_state(_at("2026-02-25"), _qbo(250), None, [PaymentEvent(DELETED, "900")])
    assert state.mark_on is None and state.outcome == "warning"
    assert state.reason.startswith("QBO payment 900 was deleted: QBO balance is 250.00 of 250.00")
    assert "paid date was left as is" in state.reason and "never clears" in state.fix
    voided = decide_paid_state(_at("2026-02-25"), _qbo(250), None, [PaymentEvent(VOIDED, "900")])
    assert voided.reason.startswith("QBO payment 900 was voided")


def test_pay01_decision_voided_or_missing_invoices_are_skipped():
    assert decide_paid_state(_at(voided=True), _qbo(0), date(2026, 2, 25), []).outcome == "skipped"
    assert decide_paid_state(None, _qbo(0), date(2026, 2, 25), []).outcome == "skipped"
    assert decide_paid_state(_at(), None, None, []).reason.startswith("the QBO invoice was deleted")
