"""The payment sync (PAY-01, PAY-02): QBO payments mark the Autotask invoices atqbo sent as paid.

Used by the ``atqbo_payments`` DAG, one function per task:

1. ``find_payment_changes``: the QBO payments changed since the last successful run, read with
   change data capture (CDC) and grouped by the invoice each payment line is applied to. CDC
   reaches back 30 days; the first run reads ``payment_lookback_days``; a run that finds the last
   success further back than QBO's reach reads what it can and says what it could not.
2. ``apply_payments``: reads those QBO invoices (``Id IN (...)``), keeps the ones atqbo created
   (the ledger's ``invoice`` record, else the PrivateNote ``"Autotask invoice {id}"``), reads
   their Autotask invoices in bulk, and for each one decides:

   * QBO balance 0: the Autotask invoice's ``paidDate`` becomes the date of the payment that
     settled it (the latest payment applied to it), unless it already is that date. A payment
     spread over several invoices marks each one it settles (PAY-02).
   * QBO balance above 0: reported ("partially paid: balance X of Y"), never marked.
   * A payment deleted or voided in QBO: reported for a person to check. atqbo never clears a
     paid date by itself: the money may have been recorded again another way, and an Autotask
     paid date is often typed in by hand.
3. ``report_payments``: the ``RunReport`` by email and in the task log.
4. ``advance_payment_watermark``: only after all of the above succeeded, the run's CDC time
   becomes the next run's starting point.

Idempotency. The ledger's ``payment`` record of each Autotask invoice remembers the last state
atqbo saw and acted on (``payload_hash``: ``paid 2026-02-25``, ``open 150.00``, ...; ``qbo_id``:
the QBO invoice; ``qbo_number``: the Ids of the QBO payments applied to it then, comma-separated,
which is how a deleted payment, of which CDC returns only the Id, is traced to its invoices). A
state already recorded is neither written again nor reported again, so CDC's overlap between runs
and a re-run of the same window are silent; a paid date already right is never written.
``dry_run`` reads the same and writes nothing (no Autotask update, no ledger change, no watermark).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from atqbo.hooks.autotask import AutotaskHook, AutotaskNotFoundError, AutotaskValidationError
from atqbo.hooks.qbo import CDC_MAX_DAYS, CDC_MAX_OBJECTS, QuickBooksOnlineHook, where_in
from atqbo.ledger import Ledger
from atqbo.money import cents, money_text
from atqbo.notify import ReportRow, RunReport
from atqbo.qbo_notes import INVOICE_NOTE
from atqbo.runs import RunInfo
from atqbo.sync.voids import is_voided_in_qbo, load_company_names, read_qbo_invoices

autotask_id_in_note = INVOICE_NOTE.autotask_id  # until this flow moves onto qbo_docs

log = logging.getLogger(__name__)

ENTITY = "payment"  # ledger entity: the paid state of one Autotask invoice
INVOICE_ENTITY = "invoice"  # ledger entity of an invoice atqbo sent to QBO
REPORT_TITLE = "atqbo payments"
PAYMENT_SYNC_OFF = "payment sync is off (payment_sync_enabled=false): nothing to do"

WATERMARK_KEY = "payments.cdc_watermark.{realm_id}"  # atqbo_meta key; per QBO company
# CDC is read again from this long before the last run's CDC time: QBO stamps changes to the
# second and its clock is not ours, so a change made while the last run read could fall between.
# What is read twice is recognised by the ledger and stays silent.
WATERMARK_OVERLAP = timedelta(minutes=5)
CDC_REACH = timedelta(days=CDC_MAX_DAYS)
# Ask for a little less than CDC's reach, so the request is still inside it when QBO checks it.
CDC_REACH_MARGIN = timedelta(minutes=10)

QBO_IN_CHUNK = 100  # ids per `Id IN (...)` query, as in the void sync
AUTOTASK_WRITERS = 3  # Autotask allows 3 concurrent calls per endpoint and integration
AUTOTASK_INVOICE_FIELDS = ["id", "invoiceNumber", "companyID", "invoiceTotal", "isVoided", "paidDate"]

QBO_VOIDED_NOTE = "Voided"  # QBO prefixes a voided transaction's PrivateNote with this

# Event kinds: what happened to a payment applied to an invoice.
APPLIED, VOIDED, DELETED, RETRY = "applied", "voided", "deleted", "retry"

CHECK_PAID_DATE_FIX = (
    "check the invoice in QBO: if it is no longer paid, clear the paid date in Autotask by hand "
    "(atqbo never clears it); if it is, nothing to do"
)


# -- data passed between tasks ---------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentEvent:
    """One thing that happened to a payment applied to an invoice, as CDC (or the ledger) told it."""

    kind: str  # applied | voided | deleted | retry
    payment_id: str | None = None
    txn_date: str | None = None  # the payment's TxnDate (yyyy-mm-dd), when known
    amount: str | None = None  # applied to this invoice by this payment line

    def describe(self) -> str:
        if self.kind == DELETED:
            return f"QBO payment {self.payment_id} was deleted"
        if self.kind == VOIDED:
            return f"QBO payment {self.payment_id} was voided"
        if self.kind == RETRY:
            return "retry of an earlier refusal"
        text = f"QBO payment {self.payment_id}"
        if self.txn_date:
            text += f" of {self.txn_date}"
        if self.amount is not None:
            text += f", {Decimal(self.amount):,.2f} applied"
        return text


@dataclass(frozen=True)
class InvoiceTarget:
    """A QBO invoice some changed payment is (or was) applied to, with what happened to it."""

    qbo_invoice_id: str
    events: tuple[PaymentEvent, ...]
    autotask_id: int | None = None  # known when the ledger traced a deleted/voided payment to it

    def to_xcom(self) -> dict[str, Any]:
        return {
            "qbo_invoice_id": self.qbo_invoice_id,
            "autotask_id": self.autotask_id,
            "events": [asdict(e) for e in self.events],
        }

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> InvoiceTarget:
        return cls(
            qbo_invoice_id=str(doc["qbo_invoice_id"]),
            autotask_id=doc.get("autotask_id"),
            events=tuple(PaymentEvent(**e) for e in doc.get("events") or ()),
        )


@dataclass(frozen=True)
class CdcWindow:
    """Where this run reads CDC from, and whether its end may become the next run's start."""

    since: datetime
    until: datetime
    advance: bool
    note: str = ""


@dataclass(frozen=True)
class PaymentScan:
    """``find_payment_changes``'s answer (XCom-ready through ``to_xcom``)."""

    since: str  # ISO-8601 UTC
    until: str
    watermark_key: str
    advance: bool
    notes: tuple[str, ...] = ()
    targets: tuple[InvoiceTarget, ...] = ()

    def to_xcom(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["notes"] = list(self.notes)
        doc["targets"] = [t.to_xcom() for t in self.targets]
        return doc

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> PaymentScan:
        return cls(
            since=doc["since"],
            until=doc["until"],
            watermark_key=doc["watermark_key"],
            advance=bool(doc["advance"]),
            notes=tuple(doc.get("notes") or ()),
            targets=tuple(InvoiceTarget.from_xcom(t) for t in doc.get("targets") or ()),
        )

    def run_with_window(self, run: RunInfo) -> RunInfo:
        """``run`` with its window set to what CDC read, so the report shows that."""
        return replace(run, window_start=self.since, window_end=self.until)


# -- the off switch -----------------------------------------------------------------------------------


def payment_sync_enabled(run: RunInfo) -> bool:
    """PAY-01: the sync is off by default; say so in the log when it is."""
    if run.settings.get("payment_sync_enabled"):
        return True
    log.info(PAYMENT_SYNC_OFF)
    return False


# -- 1. find ------------------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(UTC)


def payment_window(
    now: datetime, watermark: datetime | None, lookback_days: int, rescan_days: int | None = None
) -> CdcWindow:
    """Where CDC is read from: a re-scan asked for in the trigger form, else the last successful
    run (less ``WATERMARK_OVERLAP``), else ``lookback_days`` (the first run); never further back
    than CDC reaches.

    The watermark may move to ``now`` after the run only when the run read everything since the
    current watermark: a narrower re-scan must not skip what lies between.
    """
    if rescan_days is not None:
        wanted = now - timedelta(days=rescan_days)
    elif watermark is not None:
        wanted = watermark - WATERMARK_OVERLAP
    else:
        wanted = now - timedelta(days=lookback_days)
    reach = now - CDC_REACH + CDC_REACH_MARGIN
    note = ""
    since = wanted
    if wanted < reach:
        since = reach
        if wanted < now - CDC_REACH:  # a real gap, not only the safety margin
            start = watermark if rescan_days is None and watermark is not None else wanted
            note = (
                f"QBO keeps changes for {CDC_MAX_DAYS} days, and this run should have read from "
                f"{start:%Y-%m-%d %H:%M} UTC (the last successful run): payments changed between then and "
                f"{since:%Y-%m-%d %H:%M} UTC were not read. Check the invoices paid in that time in QBO and set "
                "their paid dates in Autotask by hand."
            )
    since = since.replace(microsecond=0)  # CDC compares whole seconds; rounding down reads a bit more
    # A run that had to start at CDC's reach still moves the watermark: nothing earlier can be read.
    covers_watermark = watermark is None or since <= watermark - WATERMARK_OVERLAP or wanted < reach
    return CdcWindow(since=since, until=now, advance=covers_watermark, note=note)


def last_updated(record: dict[str, Any]) -> datetime | None:
    raw = (record.get("MetaData") or {}).get("LastUpdatedTime")
    if not raw:
        return None
    parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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


def is_voided_payment(payment: dict[str, Any]) -> bool:
    """How QBO shows a voided payment: zeroed, PrivateNote starting "Voided"."""
    zeroed = Decimal(str(payment.get("TotalAmt") or 0)) == 0
    return zeroed and str(payment.get("PrivateNote") or "").startswith(QBO_VOIDED_NOTE)


def invoice_links(payment: dict[str, Any]) -> list[tuple[str, Decimal]]:
    """(QBO invoice Id, amount) of each payment line applied to an invoice; other links ignored."""
    links = []
    for line in payment.get("Line") or []:
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType") == "Invoice" and linked.get("TxnId") is not None:
                links.append((str(linked["TxnId"]), Decimal(str(line.get("Amount") or 0))))
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
    events: dict[str, list[PaymentEvent]] = {}
    autotask_ids: dict[str, int] = {}
    removed: dict[str, str] = {}  # payment Id -> voided | deleted

    for payment in payments:
        payment_id = str(payment["Id"])
        if payment.get("status") == "Deleted":
            removed[payment_id] = DELETED
            continue
        voided = is_voided_payment(payment)
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
        for invoice_id, found in sorted(events.items(), key=lambda item: _id_key(item[0]))
    ]


def watermark_key(qbo: QuickBooksOnlineHook) -> str:
    return WATERMARK_KEY.format(realm_id=qbo.realm_id)


def read_watermark(ledger: Ledger, key: str) -> datetime | None:
    raw = ledger.get_meta(key)
    return datetime.fromisoformat(raw) if raw else None


def find_payment_changes(run: RunInfo, rescan_days: int | None = None) -> dict[str, Any]:
    """Task 1: the QBO payments changed since the last successful run, grouped by invoice (XCom-ready).

    ``rescan_days`` (the trigger form's ``payment_lookback_days``) reads that far back instead.
    """
    ledger = run.ledger()
    ledger.create_schema()
    qbo = run.qbo(ledger)
    key = watermark_key(qbo)
    watermark = read_watermark(ledger, key)
    window = payment_window(utcnow(), watermark, int(run.settings["payment_lookback_days"]), rescan_days)
    log.info(
        "reading QBO payments changed since %s (%s)",
        window.since.isoformat(),
        "re-scan from the trigger form"
        if rescan_days is not None
        else ("the last successful run" if watermark else "first run: payment_lookback_days"),
    )
    payments, cdc_note = read_changed_payments(qbo, window.since)
    removed = any(p.get("status") == "Deleted" or is_voided_payment(p) for p in payments)
    records = ledger.list_sync_records(entity=ENTITY)
    # Only records that can matter: those to retry, and all of them when a payment went away.
    records = [r for r in records if removed or r["status"] == "ERROR"]
    targets = group_by_invoice(payments, records)
    log.info(
        "%d payment change(s) in QBO (%d deleted, %d voided); %d invoice(s) to look at",
        len(payments),
        sum(1 for p in payments if p.get("status") == "Deleted"),
        sum(1 for p in payments if p.get("status") != "Deleted" and is_voided_payment(p)),
        len(targets),
    )
    scan = PaymentScan(
        since=window.since.isoformat(),
        until=window.until.isoformat(),
        watermark_key=key,
        advance=window.advance,
        notes=tuple(n for n in (window.note, cdc_note) if n),
        targets=tuple(targets),
    )
    return scan.to_xcom()


# -- 2. apply -----------------------------------------------------------------------------------------


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


def autotask_paid_on(autotask_invoice: dict[str, Any]) -> date | None:
    """Autotask's paidDate as a date (it keeps the date only)."""
    raw = autotask_invoice.get("paidDate")
    return date.fromisoformat(str(raw)[:10]) if raw else None


def describe_events(events: Iterable[PaymentEvent]) -> str:
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
    events = tuple(events)
    happened = describe_events(events)
    because = f" ({happened})" if happened else ""
    if autotask_invoice is None:
        return PaidState("not in Autotask", "SKIPPED", "skipped", f"the Autotask invoice no longer exists{because}")
    if autotask_invoice.get("isVoided"):
        return PaidState("voided in Autotask", "SKIPPED", "skipped", f"voided in Autotask: not marked paid{because}")
    if qbo_invoice is None:
        return PaidState("QBO invoice deleted", "SKIPPED", "skipped", f"the QBO invoice was deleted{because}")
    if is_voided_in_qbo(qbo_invoice):
        return PaidState("QBO invoice voided", "SKIPPED", "skipped", f"the QBO invoice is voided{because}")

    current = autotask_paid_on(autotask_invoice)
    balance = Decimal(str(qbo_invoice.get("Balance") or 0))
    total = Decimal(str(qbo_invoice.get("TotalAmt") or 0))

    if balance == 0:
        if paid_on is None:
            return PaidState(
                "paid without payment",
                "SKIPPED",
                "warning",
                f"QBO shows it paid in full, but by no payment atqbo can date (a credit memo?){because}: "
                "not marked paid",
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


def resolve_atqbo_invoices(
    ledger: Ledger, targets: list[InvoiceTarget], qbo_invoices: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """QBO invoice Id -> Autotask invoice id, for the targets atqbo created; the others are left out.

    The ledger's ``invoice`` record decides first (its QBO Id is the copy atqbo made); then the
    PrivateNote, unless the ledger says that Autotask invoice went to another QBO invoice; then a
    ``payment`` record that traced a deleted payment here.
    """
    synced = ledger.list_sync_records(entity=INVOICE_ENTITY, status="SYNCED")
    autotask_by_qbo = {str(r["qbo_id"]): int(r["autotask_id"]) for r in synced if r.get("qbo_id")}
    qbo_by_autotask = {int(r["autotask_id"]): str(r["qbo_id"]) for r in synced if r.get("qbo_id")}
    owned: dict[str, int] = {}
    for target in targets:
        qbo_id = target.qbo_invoice_id
        if qbo_id in autotask_by_qbo:
            owned[qbo_id] = autotask_by_qbo[qbo_id]
            continue
        from_note = autotask_id_in_note((qbo_invoices.get(qbo_id) or {}).get("PrivateNote"))
        if from_note is not None:
            recorded = qbo_by_autotask.get(from_note)
            if recorded is not None and recorded != qbo_id:
                log.info(
                    "QBO invoice %s carries Autotask invoice %s's note, but atqbo sent that invoice as QBO invoice "
                    "%s: ignored",
                    qbo_id,
                    from_note,
                    recorded,
                )
                continue
            owned[qbo_id] = from_note
        elif target.autotask_id is not None:
            owned[qbo_id] = target.autotask_id
    return owned


def read_payment_dates(
    qbo: QuickBooksOnlineHook, payment_ids: Iterable[str], known: dict[str, str]
) -> dict[str, str | None]:
    """TxnDate of each live payment (None for a voided one); those not ``known`` from CDC are read
    with ``Id IN (...)`` queries."""
    dates: dict[str, str | None] = {pid: known[pid] for pid in payment_ids if pid in known}
    missing = sorted({pid for pid in payment_ids if pid not in known}, key=_id_key)
    for start in range(0, len(missing), QBO_IN_CHUNK):
        for payment in qbo.query_all("Payment", where=where_in("Id", missing[start : start + QBO_IN_CHUNK])):
            dates[str(payment["Id"])] = None if is_voided_payment(payment) else payment.get("TxnDate")
    return dates


def applied_payment_ids(qbo_invoice: dict[str, Any] | None) -> list[str]:
    """The QBO payments applied to an invoice (its LinkedTxn of type Payment)."""
    links = (qbo_invoice or {}).get("LinkedTxn") or []
    return [str(link["TxnId"]) for link in links if link.get("TxnType") == "Payment" and link.get("TxnId")]


def latest_payment_date(payment_ids: Iterable[str], dates: dict[str, str | None]) -> date | None:
    """The day the invoice was paid in full: the latest of its live payments' dates."""
    days = [date.fromisoformat(d[:10]) for pid in payment_ids if (d := dates.get(pid))]
    return max(days) if days else None


@dataclass
class _Decision:
    target: InvoiceTarget
    autotask_id: int
    autotask_invoice: dict[str, Any] | None
    qbo_invoice: dict[str, Any] | None
    state: PaidState
    payment_ids: str  # what the ledger remembers (qbo_number)
    record: dict[str, Any] | None = None
    problem: str | None = None  # Autotask's refusal of the paid date
    company: str = ""

    def row(self, outcome: str | None = None, reason: str | None = None, fix: str | None = None) -> ReportRow:
        at = self.autotask_invoice or {}
        qbo = self.qbo_invoice or {}
        at_total, qbo_total = at.get("invoiceTotal"), qbo.get("TotalAmt")
        return ReportRow(
            outcome=(outcome or self.state.outcome),  # type: ignore[arg-type]
            entity=ENTITY,
            autotask_id=self.autotask_id,
            reference=at.get("invoiceNumber") or f"Autotask invoice {self.autotask_id}",
            company=self.company,
            qbo_id=self.target.qbo_invoice_id,
            qbo_number=qbo.get("DocNumber"),
            autotask_total=None if at_total is None else cents(at_total),
            qbo_total=None if qbo_total is None else cents(qbo_total),
            reason=self.state.reason if reason is None else reason,
            fix=self.state.fix if fix is None else fix,
        )


def already_recorded(record: dict[str, Any] | None, state: PaidState, payment_ids: str) -> bool:
    """This state was handled and reported by an earlier run (nothing to write, nothing to say)."""
    if record is None or record["status"] == "ERROR":
        return False
    same_payments = (record.get("qbo_number") or "") == payment_ids
    return record.get("payload_hash") == state.fingerprint and same_payments


class _PaymentRun:
    """One run's apply step: reads, decisions, writes and the ledger bookkeeping, in one place."""

    def __init__(self, run: RunInfo, ledger: Ledger, qbo: QuickBooksOnlineHook, autotask: AutotaskHook):
        self.run = run
        self.ledger = ledger
        self.qbo = qbo
        self.autotask = autotask
        self.dry_run = run.dry_run
        self.silent = 0

    def decide(self, targets: list[InvoiceTarget]) -> list[_Decision]:
        qbo_invoices = read_qbo_invoices(self.qbo, [t.qbo_invoice_id for t in targets])
        owned = resolve_atqbo_invoices(self.ledger, targets, qbo_invoices)
        ignored = len(targets) - len(owned)
        if ignored:
            log.info("%d QBO invoice(s) touched by these payments were not created by atqbo: ignored", ignored)
        mine = [t for t in targets if t.qbo_invoice_id in owned]
        if not mine:
            return []

        paid_in_full = [
            qbo_invoices[t.qbo_invoice_id]
            for t in mine
            if t.qbo_invoice_id in qbo_invoices
            and Decimal(str(qbo_invoices[t.qbo_invoice_id].get("Balance") or 0)) == 0
        ]
        known_dates = {
            e.payment_id: e.txn_date
            for t in mine
            for e in t.events
            if e.kind == APPLIED and e.payment_id and e.txn_date
        }
        wanted = {pid for inv in paid_in_full for pid in applied_payment_ids(inv)}
        dates = read_payment_dates(self.qbo, wanted, known_dates) if wanted else {}

        autotask_ids = sorted({owned[t.qbo_invoice_id] for t in mine})
        records = self.autotask.get_many("Invoices", autotask_ids, include_fields=AUTOTASK_INVOICE_FIELDS)
        autotask_invoices = {int(r["id"]): r for r in records}
        names = load_company_names(self.autotask, (r.get("companyID") for r in records))

        decisions = []
        for target in mine:
            autotask_id = owned[target.qbo_invoice_id]
            qbo_invoice = qbo_invoices.get(target.qbo_invoice_id)
            payments = applied_payment_ids(qbo_invoice)
            at_invoice = autotask_invoices.get(autotask_id)
            state = decide_paid_state(at_invoice, qbo_invoice, latest_payment_date(payments, dates), target.events)
            decisions.append(
                _Decision(
                    target=target,
                    autotask_id=autotask_id,
                    autotask_invoice=at_invoice,
                    qbo_invoice=qbo_invoice,
                    state=state,
                    payment_ids=",".join(payments),
                    record=self.ledger.get_sync_record(ENTITY, autotask_id),
                    company=names.get(at_invoice.get("companyID"), "") if at_invoice else "",
                )
            )
        return decisions

    def write_paid_dates(self, decisions: list[_Decision]) -> None:
        """PATCH paidDate on the invoices that need it, 3 at a time; refusals kept per decision."""

        def write(decision: _Decision) -> tuple[_Decision, str | None]:
            try:
                self.autotask.update("Invoices", decision.autotask_id, {"paidDate": decision.state.mark_on})
            except (AutotaskValidationError, AutotaskNotFoundError) as exc:
                return decision, str(exc)  # this invoice only; anything else stops the run (and is retried)
            return decision, None

        with ThreadPoolExecutor(max_workers=AUTOTASK_WRITERS) as pool:
            for decision, problem in pool.map(write, decisions):
                decision.problem = problem

    def settle(self, decision: _Decision) -> ReportRow | None:
        """Record the outcome in the ledger (not in a dry run) and return its report row, if any."""
        state = decision.state
        if decision.problem is not None:
            reason = f"Autotask refused paid date {state.mark_on}: {decision.problem}"
            fix = "fix what Autotask names on the invoice (or set the paid date by hand); the next run tries again"
            record = decision.record
            repeated = record is not None and record["status"] == "ERROR" and record.get("last_error") == reason
            if not self.dry_run:
                self.ledger.set_sync_status(
                    ENTITY,
                    decision.autotask_id,
                    "ERROR",
                    qbo_id=decision.target.qbo_invoice_id,
                    qbo_number=decision.payment_ids,
                    last_error=reason,
                    run_id=self.run.run_id,
                    payload_hash=state.fingerprint,
                )
                self.ledger.log_error(
                    ENTITY,
                    decision.autotask_id,
                    reason,
                    fix=fix,
                    qbo_id=decision.target.qbo_invoice_id,
                    dag_id=self.run.dag_id,
                    run_id=self.run.run_id,
                )
            if repeated:  # the same refusal as last run: counted in the error log, not reported again
                self.silent += 1
                return None
            return decision.row("failed", reason, fix)

        if already_recorded(decision.record, state, decision.payment_ids):
            self.silent += 1
            return None
        if not self.dry_run:
            self.ledger.set_sync_status(
                ENTITY,
                decision.autotask_id,
                state.status,
                qbo_id=decision.target.qbo_invoice_id,
                qbo_number=decision.payment_ids,
                last_error=state.reason if state.status != "SYNCED" else None,
                run_id=self.run.run_id,
                payload_hash=state.fingerprint,
            )
            if decision.record is not None and decision.record["status"] == "ERROR":
                self.ledger.resolve_errors(ENTITY, decision.autotask_id)
        if self.dry_run and state.mark_on is not None:
            return decision.row("planned", state.plan)
        return decision.row()


def apply_payments(run: RunInfo, scan_doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Task 2: mark paid (or report) the Autotask invoices behind the changed payments; report rows."""
    scan = PaymentScan.from_xcom(scan_doc)
    if not scan.targets:
        return []
    ledger = run.ledger()
    step = _PaymentRun(run, ledger, run.qbo(ledger), run.autotask())
    decisions = step.decide(list(scan.targets))
    to_mark = [d for d in decisions if d.state.mark_on is not None]
    if to_mark and not run.dry_run:
        step.write_paid_dates(to_mark)
    rows = [row for d in decisions if (row := step.settle(d)) is not None]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    log.info(
        "payments%s: %s; %d already handled by earlier runs (not reported again)",
        " (dry run)" if run.dry_run else "",
        counts or "nothing",
        step.silent,
    )
    return [r.to_dict() for r in rows]


# -- 3. report ----------------------------------------------------------------------------------------


def build_payment_report(run: RunInfo, scan: PaymentScan, rows: Iterable[ReportRow]) -> RunReport:
    """The run's report: failures, then warnings (partial payments, payments removed), marks, skips."""
    order = {"failed": 0, "warning": 1, "transferred": 2, "planned": 3, "skipped": 4}
    ordered = sorted(rows, key=lambda r: (order.get(r.outcome, 9), r.autotask_id or 0))
    shown = scan.run_with_window(run)
    return RunReport(
        title=REPORT_TITLE,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=f"QBO payments changed {shown.describe_window()}",
        dry_run=run.dry_run,
        rows=ordered,
        notes=list(scan.notes),
    )


def report_payments(run: RunInfo, scan_doc: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    """Task 3: log the summary and email it when the run did anything; returns whether mail went out."""
    report = build_payment_report(run, PaymentScan.from_xcom(scan_doc), [ReportRow.from_dict(r) for r in rows])
    return run.publish(report)


# -- 4. watermark -------------------------------------------------------------------------------------


def advance_payment_watermark(run: RunInfo, scan_doc: dict[str, Any]) -> str | None:
    """Task 4 (after every other task succeeded): the next run reads CDC from this run's CDC time.

    Not in a dry run (it wrote nothing), and not after a re-scan that started later than the
    watermark (what lies between would be skipped). Returns the stored watermark, or None.
    """
    scan = PaymentScan.from_xcom(scan_doc)
    if run.dry_run:
        log.info("dry run: the payment watermark stays where it was")
        return None
    if not scan.advance:
        log.info("this re-scan began after the last successful run's watermark: the watermark stays where it was")
        return None
    ledger = run.ledger()
    current = read_watermark(ledger, scan.watermark_key)
    until = datetime.fromisoformat(scan.until)
    if current is not None and current >= until:
        return current.isoformat()
    ledger.set_meta(scan.watermark_key, until.isoformat())
    log.info("payment watermark %s -> %s", current.isoformat() if current else "(none)", until.isoformat())
    return until.isoformat()


def _id_key(value: str) -> tuple[int, str]:
    """QBO Ids are numbers in text: order them as numbers."""
    return (int(value), "") if value.isdigit() else (0, value)
