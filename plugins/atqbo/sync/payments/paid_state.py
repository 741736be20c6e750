"""The payment sync's rule for one Autotask invoice: from both sides' current state (and what
happened to its payments), whether to set its paid date, to what, and what to say. Pure: no I/O.

Paid in full in QBO: the paid date is the day of the latest live payment applied to the invoice
(the one that settled it). Money still owed: reported, never marked; a paid date Autotask already
shows is never cleared (a person decides).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from atqbo.autotask_docs import paid_on as autotask_paid_on
from atqbo.money import as_decimal, money_text
from atqbo.qbo_docs import is_voided
from atqbo.sync.payments.model import RETRY, PaymentEvent

CHECK_PAID_DATE_FIX = (
    "check the invoice in QBO: if it is no longer paid, clear the paid date in Autotask by hand "
    "(atqbo never clears it); if it is, nothing to do"
)


@dataclass(frozen=True)
class PaidState:
    """What atqbo should do about one Autotask invoice, decided from both sides' current state."""

    fingerprint: str  # the ledger's memory of this state (payload_hash)
    status: str  # ledger status once handled: SYNCED | SKIPPED
    outcome: str  # report outcome when acted on / first seen
    reason: str
    fix: str = ""
    mark_on: date | None = None  # write paidDate = this
    plan: str = ""  # what a dry run says it would do


def latest_payment_date(payment_ids: Iterable[str], dates: dict[str, str | None]) -> date | None:
    """The day the invoice was paid in full: the latest of its live payments' dates."""
    days = [date.fromisoformat(d[:10]) for pid in payment_ids if (d := dates.get(pid))]
    return max(days) if days else None


def describe_events(events: Iterable[PaymentEvent]) -> str:
    """What happened to the invoice's payments, for a reason (each thing once; retries left out)."""
    texts = [e.describe() for e in events if e.kind != RETRY]
    return "; ".join(dict.fromkeys(texts))


def decide_paid_state(
    autotask_invoice: dict[str, Any] | None,
    qbo_invoice: dict[str, Any] | None,
    paid_on: date | None,
    events: Iterable[PaymentEvent],
) -> PaidState:
    """The decision for one Autotask invoice (pure: both sides' state in, what to do out).

    ``paid_on`` is the date of the latest live payment applied to the QBO invoice.
    """
    happened = describe_events(tuple(events))
    because = f" ({happened})" if happened else ""
    if autotask_invoice is None:
        return PaidState("not in Autotask", "SKIPPED", "skipped", f"the Autotask invoice no longer exists{because}")
    if autotask_invoice.get("isVoided"):
        return PaidState("voided in Autotask", "SKIPPED", "skipped", f"voided in Autotask: not marked paid{because}")
    if qbo_invoice is None:
        return PaidState("QBO invoice deleted", "SKIPPED", "skipped", f"the QBO invoice was deleted{because}")
    if is_voided(qbo_invoice):
        return PaidState("QBO invoice voided", "SKIPPED", "skipped", f"the QBO invoice is voided{because}")
    current = autotask_paid_on(autotask_invoice)
    balance = as_decimal(qbo_invoice.get("Balance"))
    if balance == 0:
        return _paid_in_full(current, paid_on, because)
    return _money_owed(current, balance, as_decimal(qbo_invoice.get("TotalAmt")), happened, because)


def _paid_in_full(current: date | None, paid_on: date | None, because: str) -> PaidState:
    """QBO shows the invoice paid: mark it on the day of the payment that settled it."""
    if paid_on is None:
        return PaidState(
            "paid without payment",
            "SKIPPED",
            "warning",
            f"QBO shows it paid in full, but by no payment atqbo can date (a credit memo?){because}: not marked paid",
            fix="set the paid date in Autotask by hand if it is paid",
        )
    fingerprint = f"paid {paid_on.isoformat()}"
    if current == paid_on:
        return PaidState(fingerprint, "SYNCED", "skipped", f"already marked paid on {paid_on} in Autotask")
    if current is None:
        reason = f"marked paid on {paid_on}: paid in full in QBO{because}"
        plan = f"would mark it paid on {paid_on}: paid in full in QBO{because}"
    else:
        reason = f"paid date changed from {current} to {paid_on}, the day QBO shows it paid in full{because}"
        plan = f"would change the paid date from {current} to {paid_on}, the day QBO shows it paid in full{because}"
    return PaidState(fingerprint, "SYNCED", "transferred", reason, mark_on=paid_on, plan=plan)


def _money_owed(current: date | None, balance: Decimal, total: Decimal, happened: str, because: str) -> PaidState:
    """QBO shows money owed: never marked; a paid date Autotask shows is left for a person."""
    if current is not None:
        # Autotask says paid, QBO says money is owed: a person decides (never cleared automatically).
        what = happened or "QBO shows money owed on it"
        return PaidState(
            f"reopened {money_text(balance)} (Autotask paid {current})",
            "SKIPPED",
            "warning",
            f"{what}: QBO balance is {money_text(balance)} of {money_text(total)}, but Autotask shows it paid on "
            f"{current}; the paid date was left as is",
            fix=CHECK_PAID_DATE_FIX,
        )
    if balance < total:
        return PaidState(
            f"open {money_text(balance)}",
            "SKIPPED",
            "warning",
            f"partially paid: balance {money_text(balance)} of {money_text(total)}{because}; "
            "marked paid once QBO shows it paid in full",
        )
    return PaidState(
        f"open {money_text(balance)}",
        "SKIPPED",
        "skipped",
        f"nothing paid on it any more{because}; it was not marked paid in Autotask: nothing to change",
    )
