"""TOOL-06's pure decisions: what marking an invoice paid changes, what is refused, and what the report
says QBO shows (and so what the payment sync will do afterwards)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.forms import FormError
from atqbo.tools import mark_paid as mp

INVOICE = {
    "id": 29684012,
    "invoiceNumber": "INV-1012",
    "companyID": 29683501,
    "invoiceTotal": 1284.5,
    "isVoided": False,
    "paidDate": None,
}


def test_tool06_an_unpaid_invoice_is_marked_on_the_date_given():
    mark = mp.plan_paid_mark(INVOICE, date(2026, 11, 20))
    assert (mark.autotask_id, mark.reference, mark.total, mark.previous, mark.changes) == (
        29684012,
        "INV-1012",
        Decimal("1284.50"),
        None,
        True,
    )
    assert mark.describe() == "marked paid on 2026-11-20 in Autotask (it had no paid date)"
    assert mark.describe(done=False) == "would mark it paid on 2026-11-20 in Autotask (it had no paid date)"


def test_tool06_the_same_date_changes_nothing_and_another_date_replaces_it():
    paid = {**INVOICE, "paidDate": "2026-11-18T00:00:00Z"}
    same = mp.plan_paid_mark(paid, date(2026, 11, 18))
    assert not same.changes
    assert same.describe() == "already paid on that date: nothing changed (paid on 2026-11-18 in Autotask)"
    moved = mp.plan_paid_mark(paid, date(2026, 11, 20))
    assert moved.changes and moved.previous == date(2026, 11, 18)
    assert moved.describe() == "paid date changed from 2026-11-18 to 2026-11-20 in Autotask"


def test_tool06_a_voided_invoice_is_refused_naming_it_and_the_fix():
    with pytest.raises(mp.MarkPaidRefused) as refused:
        mp.plan_paid_mark({**INVOICE, "isVoided": True, "voidedDate": "2026-11-19T10:00:00Z"}, date(2026, 11, 20))
    assert refused.value.reason == (
        "Autotask invoice INV-1012 (id 29684012) is voided (on 2026-11-19), so it cannot be marked paid"
    )
    assert "Nothing was changed. Fix: check the invoice number" in str(refused.value)
    assert isinstance(refused.value, AtqboConfigError)  # not retried


def test_tool06_a_date_after_today_is_refused_with_a_day_of_slack_for_time_zones():
    mp.check_paid_date(date(2026, 11, 21), date(2026, 11, 21))
    mp.check_paid_date(date(2026, 11, 22), date(2026, 11, 21))  # already tomorrow east of UTC
    with pytest.raises(FormError, match=r"paid_date: 2026-11-23 is after today \(2026-11-21, UTC\)"):
        mp.check_paid_date(date(2026, 11, 23), date(2026, 11, 21))


def test_tool06_the_report_says_what_qbo_shows_and_what_the_payment_sync_will_do():
    qbo = {"Id": "187", "DocNumber": "1044", "TotalAmt": 250.0, "Balance": 150.0, "PrivateNote": "Autotask invoice 1"}
    owed = mp.describe_qbo_state(qbo, "")
    assert owed.startswith("QBO invoice 1044 (Id 187) still shows a balance of 150.00 of 250.00.")
    assert "does not undo this paid date" in owed
    assert mp.describe_qbo_state({**qbo, "Balance": 0}, "") == "QBO invoice 1044 (Id 187) shows it paid in full too"
    voided = {**qbo, "TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided - Autotask invoice 1"}
    assert "is voided in QBO" in mp.describe_qbo_state(voided, "")
    assert mp.describe_qbo_state(None, "atqbo did not send it to QBO").startswith("QBO: atqbo did not send it to QBO;")
