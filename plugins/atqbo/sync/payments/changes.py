"""The QBO payments changed since a point in time (CDC), and the QBO invoices they touch, each with
what happened to it: a payment applied, voided or deleted (traced through the ledger when QBO no
longer says which invoices it was on), or an earlier refusal to retry."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from atqbo.hooks.qbo import CDC_MAX_OBJECTS, QuickBooksOnlineHook
from atqbo.money import as_decimal
from atqbo.qbo_docs import is_voided, last_updated, qbo_id_order
from atqbo.sync.payments.model import APPLIED, DELETED, RETRY, VOIDED, InvoiceTarget, PaymentEvent

log = logging.getLogger(__name__)


def read_changed_payments(qbo: QuickBooksOnlineHook, since: datetime) -> tuple[list[dict[str, Any]], str]:
    """Every Payment CDC reports changed since ``since`` (deleted ones as ``status: Deleted``).

    One CDC answer holds at most ``CDC_MAX_OBJECTS``; a full answer is followed by another from
    the newest change it held, until an answer is not full. Returns the payments (newest version
    of each) and a note when that could not finish.
    """
    by_id: dict[str, dict[str, Any]] = {}
    cursor = since
    while True:
        changed = qbo.cdc(["Payment"], cursor).get("Payment") or []
        for payment in changed:
            by_id[str(payment["Id"])] = payment
        if len(changed) < CDC_MAX_OBJECTS:
            return list(by_id.values()), ""
        newest = max((t for t in (last_updated(p) for p in changed) if t is not None), default=None)
        if newest is None or newest <= cursor:
            note = (
                f"QBO reported more than {CDC_MAX_OBJECTS} payment changes at {cursor:%Y-%m-%d %H:%M:%S} UTC and "
                "atqbo could not page past them; some changed payments may not have been read"
            )
            log.warning(note)
            return list(by_id.values()), note
        log.info("CDC answer full (%d objects): reading on from %s", len(changed), newest.isoformat())
        cursor = newest


def is_removed(payment: dict[str, Any]) -> bool:
    """CDC reports the payment deleted, or QBO shows it voided."""
    return payment.get("status") == "Deleted" or is_voided(payment)


def invoice_links(payment: dict[str, Any]) -> list[tuple[str, Decimal]]:
    """(QBO invoice Id, amount) of each payment line applied to an invoice; other links ignored."""
    links = []
    for line in payment.get("Line") or []:
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType") == "Invoice" and linked.get("TxnId") is not None:
                links.append((str(linked["TxnId"]), as_decimal(line.get("Amount"))))
    return links


def payment_ids_of(record: dict[str, Any] | None) -> set[str]:
    """The QBO payment Ids a ledger ``payment`` record remembers (``qbo_number``, comma-separated)."""
    text = (record or {}).get("qbo_number") or ""
    return {part for part in text.split(",") if part}


def group_by_invoice(payments: Iterable[dict[str, Any]], payment_records: list[dict[str, Any]]) -> list[InvoiceTarget]:
    """The QBO invoices the changed ``payments`` touch, each with what happened to it.

    A live or voided payment names its invoices in its lines. A deleted one (CDC gives only its
    Id) and a voided one are also traced through the ledger: the ``payment`` records remembering
    that payment Id. Records whose last update failed (status ERROR) are tried again.
    """
    events, removed = _events_by_invoice(payments)
    autotask_ids: dict[str, int] = {}
    for record in payment_records:
        invoice_id = record.get("qbo_id")
        if not invoice_id:
            continue
        traced = [(pid, kind) for pid, kind in removed.items() if pid in payment_ids_of(record)]
        for payment_id, kind in traced:
            known = events.setdefault(str(invoice_id), [])
            if not any(e.payment_id == payment_id for e in known):
                known.append(PaymentEvent(kind=kind, payment_id=payment_id))
        if record.get("status") == "ERROR":
            events.setdefault(str(invoice_id), []).append(PaymentEvent(kind=RETRY))
        if str(invoice_id) in events:
            autotask_ids[str(invoice_id)] = int(record["autotask_id"])

    return [
        InvoiceTarget(qbo_invoice_id=invoice_id, events=tuple(found), autotask_id=autotask_ids.get(invoice_id))
        for invoice_id, found in sorted(events.items(), key=lambda item: qbo_id_order(item[0]))
    ]


def _events_by_invoice(payments: Iterable[dict[str, Any]]) -> tuple[dict[str, list[PaymentEvent]], dict[str, str]]:
    """What the payments' own lines say, by QBO invoice Id; and the payments that went away
    (payment Id -> voided | deleted), to trace through the ledger."""
    events: dict[str, list[PaymentEvent]] = {}
    removed: dict[str, str] = {}
    for payment in payments:
        payment_id = str(payment["Id"])
        if payment.get("status") == "Deleted":
            removed[payment_id] = DELETED
            continue
        voided = is_voided(payment)
        if voided:
            removed[payment_id] = VOIDED
        for invoice_id, amount in invoice_links(payment):
            event = PaymentEvent(
                kind=VOIDED if voided else APPLIED,
                payment_id=payment_id,
                txn_date=payment.get("TxnDate"),
                amount=None if voided else str(amount),
            )
            events.setdefault(invoice_id, []).append(event)
    return events, removed
