"""The void sync (VOID-01, VOID-02): invoices voided in Autotask are voided in QuickBooks Online.

Used by the ``atqbo_invoice_voids`` DAG, one function per task:

1. ``find_void_targets``: the Autotask invoices voided inside the run's window (the data interval
   widened by ``void_lookback_days``), in one bulk query; those the ledger has already settled are
   dropped; each remaining one is resolved to the QBO invoice atqbo created for it
   (``resolve_qbo_invoices``): the ledger's ``invoice`` record, else a QBO invoice whose
   PrivateNote starts ``"Autotask invoice {id}"``, found with one paged query per cluster of
   invoice dates, never one query per invoice.
2. ``apply_voids``: reads the current state of those QBO invoices (one ``Id IN (...)`` query per
   100), then voids each one, or records why not: not created by atqbo, already voided, deleted,
   refused by QBO. With ``dry_run`` it reads the same and writes nothing.
3. ``report_voids``: the ``RunReport`` by email and in the task log.

Idempotency (VOID-02, BEY-01). The ledger's ``invoice_void`` record says what happened to each
Autotask invoice, and what it says is reported once:

* ``SYNCED``: atqbo voided the QBO invoice. Nothing more to do, never reported again.
* ``SKIPPED``: nothing to void (not created by atqbo, already voided or deleted in QBO); reported
  the run it was found, then silent.
* ``IN_PROGRESS``: written just before the void request (with its ``requestid``). A run that finds
  one (the previous one crashed mid-void) reads the QBO invoice: voided means the void went
  through (``SYNCED``), otherwise it is voided now.
* ``ERROR``: QBO refused the void (say payments are applied: 6000). The record keeps the QBO
  invoice's SyncToken at the refusal. Later runs read the invoice and try again only when it has
  changed since (removing a payment changes the invoice's SyncToken) or when a retry was asked for
  in the error log after the refusal (TOOL-08); otherwise they stay silent, so the same refusal
  is not reported every 15 minutes. The error log keeps the open entry (entity ``invoice_void``)
  until the invoice is voided or found voided/deleted.

The requestid of a void is ``atqbo-void-{autotask id}`` on the first attempt and
``atqbo-void-{autotask id}-{attempt}`` on later ones: QBO answers a repeated requestid with its
first answer, so a retry after a refusal under the same key would only replay the refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from atqbo.hooks.autotask import AutotaskHook, eq, gte, lt
from atqbo.hooks.qbo import (
    QboAuthError,
    QboBusinessValidation,
    QboFault,
    QboObjectNotFound,
    QuickBooksOnlineHook,
    quote,
    where_in,
)
from atqbo.ledger import Ledger
from atqbo.notify import ReportRow, RunReport
from atqbo.qbo_notes import INVOICE_NOTE
from atqbo.runs import RunInfo

PRIVATE_NOTE_PREFIX, autotask_id_in_note = (
    INVOICE_NOTE.prefix,
    INVOICE_NOTE.autotask_id,
)  # until this flow moves onto qbo_docs

log = logging.getLogger(__name__)

ENTITY = "invoice_void"  # ledger entity of a void applied or reported
INVOICE_ENTITY = "invoice"  # ledger entity of an invoice atqbo sent to QBO
SETTLED = ("SYNCED", "SKIPPED")  # nothing left to do, already reported
REPORT_TITLE = "atqbo invoice voids"
VOID_SYNC_OFF = "void sync is off (void_sync_enabled=false): nothing to do"

QBO_VOIDED_NOTE = "Voided"  # QBO prefixes a voided transaction's PrivateNote with this
QBO_IN_CHUNK = 100  # ids per `Id IN (...)` query: well under QBO's statement limits
AUTOTASK_IN_CHUNK = 500  # ids per Autotask `in` query (a page holds 500)
# Invoice dates further apart than this are looked up with separate QBO queries, so that a few
# old voids do not pull every invoice in between.
DATE_CLUSTER_GAP = timedelta(days=31)
# Autotask's invoiceDateTime is UTC; the QBO TxnDate atqbo wrote may be the local date: widen.
TXN_DATE_SLACK = timedelta(days=1)

AUTOTASK_INVOICE_FIELDS = ["id", "invoiceNumber", "companyID", "invoiceTotal", "invoiceDateTime", "voidedDate"]

NOT_CREATED_BY_ATQBO = "not created by atqbo"
ALREADY_VOIDED = "already voided in QBO"
DELETED_IN_QBO = "deleted in QBO"


# -- data passed between tasks ---------------------------------------------------------------------


@dataclass(frozen=True)
class VoidedInvoice:
    """An Autotask invoice voided inside the window (what the rest of the run needs of it)."""

    autotask_id: int
    invoice_number: str | None
    company_id: int | None
    total: Decimal | None
    invoice_date: date | None
    voided_at: str | None  # Autotask's voidedDate, ISO-8601 UTC

    @classmethod
    def from_autotask(cls, record: dict[str, Any]) -> VoidedInvoice:
        raw_date = record.get("invoiceDateTime")
        total = record.get("invoiceTotal")
        return cls(
            autotask_id=int(record["id"]),
            invoice_number=record.get("invoiceNumber") or None,
            company_id=record.get("companyID"),
            total=None if total is None else Decimal(str(total)),
            invoice_date=date.fromisoformat(str(raw_date)[:10]) if raw_date else None,
            voided_at=record.get("voidedDate"),
        )


@dataclass(frozen=True)
class VoidTarget:
    """A voided Autotask invoice and the QBO invoice atqbo created for it (compact, for XCom).

    ``qbo_id`` is None when atqbo did not create one; ``found_by`` says how it was recognised
    ("ledger" or "private_note"); ``ambiguous_ids`` lists the QBO invoices when several carry
    the invoice's PrivateNote and none is clearly the one to void.
    """

    autotask_id: int
    reference: str  # the Autotask invoice number, what a person recognises
    company: str = ""
    autotask_total: str | None = None
    qbo_id: str | None = None
    qbo_number: str | None = None
    found_by: str | None = None
    ambiguous_ids: tuple[str, ...] = ()

    def to_xcom(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["ambiguous_ids"] = list(self.ambiguous_ids)
        return doc

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> VoidTarget:
        return cls(**{**doc, "ambiguous_ids": tuple(doc.get("ambiguous_ids") or ())})


# -- the off switch -----------------------------------------------------------------------------------


def void_sync_enabled(run: RunInfo) -> bool:
    """VOID-01: the sync is off by default; say so in the log when it is."""
    if run.settings.get("void_sync_enabled"):
        return True
    log.info(VOID_SYNC_OFF)
    return False


# -- 1. find ------------------------------------------------------------------------------------------


def find_voided_invoices(autotask: AutotaskHook, start: datetime, end: datetime) -> list[VoidedInvoice]:
    """Autotask invoices with isVoided = true and voidedDate in [start, end), one bulk query."""
    filters = [eq("isVoided", True), gte("voidedDate", start), lt("voidedDate", end)]
    records = autotask.query_all("Invoices", filters, include_fields=AUTOTASK_INVOICE_FIELDS)
    return [VoidedInvoice.from_autotask(r) for r in records]


def drop_settled_voids(ledger: Ledger, invoices: Iterable[VoidedInvoice]) -> list[VoidedInvoice]:
    """The invoices whose void is not settled yet (no ``invoice_void`` record SYNCED or SKIPPED)."""
    pending = []
    for invoice in invoices:
        record = ledger.get_sync_record(ENTITY, invoice.autotask_id)
        if record is None or record["status"] not in SETTLED:
            pending.append(invoice)
    return pending


def cluster_dates(days: Iterable[date], gap: timedelta = DATE_CLUSTER_GAP) -> list[tuple[date, date]]:
    """Sorted ``days`` grouped into (first, last) ranges whose neighbours are at most ``gap`` apart."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day - ranges[-1][1] <= gap:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def find_invoices_by_private_note(
    qbo: QuickBooksOnlineHook, invoices: Iterable[VoidedInvoice]
) -> dict[int, list[dict[str, Any]]]:
    """QBO invoices carrying atqbo's PrivateNote for each of ``invoices``, by Autotask id.

    One paged query per cluster of invoice dates (``TxnDate`` range, widened a day each way),
    matched in Python: QBO cannot filter on PrivateNote.
    """
    wanted = {inv.autotask_id: inv for inv in invoices if inv.invoice_date is not None}
    found: dict[int, list[dict[str, Any]]] = {}
    for first, last in cluster_dates(inv.invoice_date for inv in wanted.values() if inv.invoice_date):
        where = [
            f"TxnDate >= {quote((first - TXN_DATE_SLACK).isoformat())}",
            f"TxnDate <= {quote((last + TXN_DATE_SLACK).isoformat())}",
        ]
        for qbo_invoice in qbo.query_all("Invoice", where=where, order_by="Id"):
            autotask_id = autotask_id_in_note(qbo_invoice.get("PrivateNote"))
            if autotask_id in wanted:
                found.setdefault(autotask_id, []).append(qbo_invoice)
    return found


def is_voided_in_qbo(qbo_invoice: dict[str, Any]) -> bool:
    """How QBO shows a voided invoice: zeroed, PrivateNote starting "Voided"."""
    zeroed = Decimal(str(qbo_invoice.get("TotalAmt") or 0)) == 0
    return zeroed and str(qbo_invoice.get("PrivateNote") or "").startswith(QBO_VOIDED_NOTE)


def resolve_qbo_invoices(
    ledger: Ledger,
    qbo: QuickBooksOnlineHook,
    invoices: list[VoidedInvoice],
    company_names: dict[int, str] | None = None,
) -> list[VoidTarget]:
    """For each voided invoice, the QBO invoice atqbo created for it, or none.

    The ledger's ``invoice`` record (SYNCED with a qbo_id) comes first; the others are looked up
    by PrivateNote. Of several QBO invoices with the same note, the one not voided yet is taken;
    several not voided are ambiguous (a person decides which to void).
    """
    company_names = company_names or {}
    from_ledger: dict[int, dict[str, Any]] = {}
    for invoice in invoices:
        record = ledger.get_sync_record(INVOICE_ENTITY, invoice.autotask_id)
        if record and record["status"] == "SYNCED" and record.get("qbo_id"):
            from_ledger[invoice.autotask_id] = record
    unresolved = [inv for inv in invoices if inv.autotask_id not in from_ledger]
    by_note = find_invoices_by_private_note(qbo, unresolved) if unresolved else {}

    targets = []
    for invoice in invoices:
        base = {
            "autotask_id": invoice.autotask_id,
            "reference": invoice.invoice_number or f"Autotask invoice {invoice.autotask_id}",
            "company": company_names.get(invoice.company_id, "") if invoice.company_id is not None else "",
            "autotask_total": None if invoice.total is None else str(invoice.total),
        }
        record = from_ledger.get(invoice.autotask_id)
        if record is not None:
            targets.append(
                VoidTarget(**base, qbo_id=str(record["qbo_id"]), qbo_number=record.get("qbo_number"), found_by="ledger")
            )
            continue
        matches = by_note.get(invoice.autotask_id, [])
        live = [m for m in matches if not is_voided_in_qbo(m)]
        chosen = live if live else matches[-1:]  # all voided: the newest one tells the story
        if len(chosen) == 1:
            qbo_invoice = chosen[0]
            targets.append(
                VoidTarget(
                    **base,
                    qbo_id=str(qbo_invoice["Id"]),
                    qbo_number=qbo_invoice.get("DocNumber"),
                    found_by="private_note",
                )
            )
        elif len(chosen) > 1:
            ids = tuple(str(m["Id"]) for m in chosen)
            targets.append(VoidTarget(**base, found_by="private_note", ambiguous_ids=ids))
        else:
            targets.append(VoidTarget(**base))
    return targets


def load_company_names(autotask: AutotaskHook, company_ids: Iterable[int | None]) -> dict[int, str]:
    """Autotask company names for the report, in bulk."""
    ids = sorted({int(c) for c in company_ids if c is not None})
    if not ids:
        return {}
    records = autotask.get_many("Companies", ids, chunk_size=AUTOTASK_IN_CHUNK, include_fields=["id", "companyName"])
    return {int(r["id"]): r.get("companyName") or "" for r in records}


def find_void_targets(run: RunInfo) -> list[dict[str, Any]]:
    """Task 1: the voided Autotask invoices of the window still to settle, resolved to QBO (XCom-ready)."""
    ledger = run.ledger()
    ledger.create_schema()
    autotask = run.autotask()
    voided = find_voided_invoices(autotask, run.start, run.end)
    pending = drop_settled_voids(ledger, voided)
    log.info(
        "%d Autotask invoice(s) voided %s; %d already settled in earlier runs, %d to look at",
        len(voided),
        run.describe_window(),
        len(voided) - len(pending),
        len(pending),
    )
    if not pending:
        return []
    names = load_company_names(autotask, (inv.company_id for inv in pending))
    targets = resolve_qbo_invoices(ledger, run.qbo(ledger), pending, names)
    return [t.to_xcom() for t in targets]


# -- 2. void ------------------------------------------------------------------------------------------


def read_qbo_invoices(qbo: QuickBooksOnlineHook, qbo_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Current QBO invoices by Id, with ``Id IN (...)`` queries; a missing one is confirmed by a read
    (610 = deleted) and left out."""
    ids = list(dict.fromkeys(str(i) for i in qbo_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), QBO_IN_CHUNK):
        chunk = ids[start : start + QBO_IN_CHUNK]
        for invoice in qbo.query_all("Invoice", where=where_in("Id", chunk)):
            found[str(invoice["Id"])] = invoice
    for qbo_id in ids:
        if qbo_id in found:
            continue
        try:  # a query that misses it is not proof: the read says "deleted" with QBO's own 610
            found[qbo_id] = qbo.read("Invoice", qbo_id)
        except QboObjectNotFound:
            log.info("QBO invoice Id=%s is deleted (610 on read)", qbo_id)
    return found


def void_requestid(autotask_id: int, attempt: int) -> str:
    """The idempotency key of a void: stable for one attempt, new for a retry after a refusal."""
    base = f"atqbo-void-{autotask_id}"
    return base if attempt <= 1 else f"{base}-{attempt}"


def qbo_state_fingerprint(qbo_invoice: dict[str, Any]) -> str:
    """What a refusal is remembered by: the QBO invoice's version (any change to it moves the SyncToken)."""
    return f"Invoice {qbo_invoice['Id']} SyncToken {qbo_invoice.get('SyncToken')}"


def explain_void_refusal(target: VoidTarget, qbo_invoice: dict[str, Any], fault: QboFault) -> tuple[str, str]:
    """The failed row's reason and fix for a void QBO refused."""
    doc = qbo_invoice.get("DocNumber") or qbo_invoice["Id"]
    said = fault.detail or fault.message or str(fault)
    reason = (
        f"QBO refused to void invoice {doc} (Id {qbo_invoice['Id']}) for Autotask invoice {target.reference} "
        f"(id {target.autotask_id}): QBO fault {fault.code or '?'}: {said}"
    )
    has_payments = any(link.get("TxnType") == "Payment" for link in qbo_invoice.get("LinkedTxn") or [])
    text = f"{fault.message} {fault.detail}".lower()
    if isinstance(fault, QboBusinessValidation) and (has_payments or "payment" in text):
        fix = (
            f"remove the payment in QBO (delete it, or unapply it from invoice {doc}), then the next run voids "
            "the invoice by itself (the change to the invoice is noticed)"
        )
    elif fault.hint:
        fix = (
            f"{fault.hint}; the next run tries again once the invoice changes in QBO, or ask for a retry in the "
            "error log"
        )
    else:
        fix = (
            f"fix what QBO says on invoice {doc}, or void it in QBO by hand; the next run tries again once the "
            "invoice changes in QBO, or ask for a retry in the error log"
        )
    return reason, fix


def _row(
    target: VoidTarget,
    outcome: str,
    reason: str,
    fix: str = "",
    qbo_invoice: dict[str, Any] | None = None,
    qbo_total: Any = None,
) -> ReportRow:
    """A report row for ``target``; the QBO columns come from the invoice read when there is one."""
    qbo_id = str(qbo_invoice["Id"]) if qbo_invoice else target.qbo_id
    qbo_number = (qbo_invoice or {}).get("DocNumber") or target.qbo_number
    if qbo_total is None and qbo_invoice is not None:
        qbo_total = qbo_invoice.get("TotalAmt")
    return ReportRow(
        outcome=outcome,  # type: ignore[arg-type]
        entity=ENTITY,
        autotask_id=target.autotask_id,
        reference=target.reference,
        company=target.company,
        qbo_id=qbo_id,
        qbo_number=qbo_number,
        autotask_total=None if target.autotask_total is None else Decimal(target.autotask_total),
        qbo_total=None if qbo_total is None else Decimal(str(qbo_total)),
        reason=reason,
        fix=fix,
    )


def _describe_qbo(qbo_invoice: dict[str, Any] | None, target: VoidTarget) -> str:
    number = (qbo_invoice or {}).get("DocNumber") or target.qbo_number
    qbo_id = (qbo_invoice or {}).get("Id") or target.qbo_id
    return f"QBO invoice {number}" if number else f"QBO invoice Id {qbo_id}"


class _VoidRun:
    """One run's void step: the ledger bookkeeping around each decision, in one place."""

    def __init__(self, run: RunInfo, ledger: Ledger, qbo: QuickBooksOnlineHook):
        self.run = run
        self.ledger = ledger
        self.qbo = qbo
        self.dry_run = run.dry_run
        self.rows: list[ReportRow] = []
        self.silent = 0  # refusals not retried (nothing changed) and records another run settled
        self._errors: list[dict[str, Any]] | None = None

    def open_errors(self, autotask_id: int) -> list[dict[str, Any]]:
        if self._errors is None:
            self._errors = self.ledger.list_errors(entity=ENTITY)
        return [e for e in self._errors if e["autotask_id"] == autotask_id]

    def retry_requested_since(self, autotask_id: int, since: str | None) -> bool:
        """A retry asked for in the error log (TOOL-08) after the last attempt."""
        return any(
            e["retry_requested_at"] and (since is None or e["retry_requested_at"] > since)
            for e in self.open_errors(autotask_id)
        )

    def settle(self, target: VoidTarget, status: str, reason: str, qbo_id: str | None = None) -> None:
        """Record the end state of a void (not in a dry run) and close its open errors."""
        if self.dry_run:
            return
        self.ledger.set_sync_status(
            ENTITY,
            target.autotask_id,
            status,
            qbo_id=qbo_id or target.qbo_id,
            qbo_number=target.qbo_number,
            last_error=reason if status != "SYNCED" else None,
            run_id=self.run.run_id,
        )
        self.ledger.resolve_errors(ENTITY, target.autotask_id)

    def skip(self, target: VoidTarget, reason: str, qbo_invoice: dict[str, Any] | None = None, fix: str = "") -> None:
        self.settle(target, "SKIPPED", reason, qbo_id=(qbo_invoice or {}).get("Id"))
        self.rows.append(_row(target, "skipped", reason, fix, qbo_invoice=qbo_invoice))

    def fail(self, target: VoidTarget, reason: str, fix: str, qbo_invoice: dict[str, Any] | None = None) -> None:
        if not self.dry_run:
            self.ledger.set_sync_status(
                ENTITY, target.autotask_id, "ERROR", qbo_id=target.qbo_id, last_error=reason, run_id=self.run.run_id
            )
            self.ledger.log_error(
                ENTITY,
                target.autotask_id,
                reason,
                fix=fix,
                qbo_id=(qbo_invoice or {}).get("Id") or target.qbo_id,
                dag_id=self.run.dag_id,
                run_id=self.run.run_id,
            )
        self.rows.append(_row(target, "failed", reason, fix, qbo_invoice=qbo_invoice))

    def replay_settled(self, target: VoidTarget, record: dict[str, Any]) -> None:
        """A retry of this task: what this same run already settled is reported, not redone."""
        if record["status"] == "SYNCED":
            self.rows.append(_row(target, "voided", f"voided {_describe_qbo(None, target)}", qbo_total=0))
        else:
            self.rows.append(_row(target, "skipped", record.get("last_error") or ""))

    # -- the decision for one invoice --------------------------------------------------------------

    def handle(self, target: VoidTarget, qbo_state: dict[str, dict[str, Any]]) -> None:
        record = self.ledger.get_sync_record(ENTITY, target.autotask_id)
        status = record["status"] if record else None
        if status in SETTLED:
            if record and record.get("run_id") == self.run.run_id:
                self.replay_settled(target, record)
            else:
                self.silent += 1  # another run settled it meanwhile
            return

        if target.ambiguous_ids:
            self.handle_ambiguous(target)
            return
        if target.qbo_id is None:
            self.skip(
                target,
                f"{NOT_CREATED_BY_ATQBO}: no ledger record and no QBO invoice with PrivateNote "
                f"'{PRIVATE_NOTE_PREFIX} {target.autotask_id}', so there is nothing of atqbo's to void",
                fix="if QBO holds this invoice from another source, void it in QBO by hand",
            )
            return

        qbo_invoice = qbo_state.get(target.qbo_id)
        if qbo_invoice is None:
            self.skip(target, f"{DELETED_IN_QBO}: {_describe_qbo(None, target)} (Id {target.qbo_id}) no longer exists")
            return
        if is_voided_in_qbo(qbo_invoice):
            if status == "IN_PROGRESS":
                # Our void went through before the previous attempt could record it (BEY-01).
                self.settle(target, "SYNCED", "", qbo_id=str(qbo_invoice["Id"]))
                reason = f"voided {_describe_qbo(qbo_invoice, target)} (found voided after an interrupted attempt)"
                self.rows.append(_row(target, "voided", reason, qbo_invoice=qbo_invoice))
            else:
                self.skip(
                    target, f"{ALREADY_VOIDED}: {_describe_qbo(qbo_invoice, target)} was voided there", qbo_invoice
                )
            return

        fingerprint = qbo_state_fingerprint(qbo_invoice)
        if (
            status == "ERROR"
            and record
            and record.get("payload_hash") == fingerprint
            and not self.retry_requested_since(target.autotask_id, record.get("updated_at"))
        ):
            self.silent += 1
            log.info(
                "Autotask invoice %s: QBO refused its void before and invoice %s has not changed since; not retried "
                "(%s)",
                target.reference,
                qbo_invoice["Id"],
                record.get("last_error"),
            )
            if self.dry_run:  # the plan shows everything it looked at
                reason = f"not retried: unchanged since QBO refused it ({record.get('last_error')})"
                self.rows.append(_row(target, "skipped", reason, qbo_invoice=qbo_invoice))
            return

        if self.dry_run:
            self.rows.append(_row(target, "planned", self.plan_text(qbo_invoice, target), qbo_invoice=qbo_invoice))
            return
        self.void(target, qbo_invoice, fingerprint, record)

    def plan_text(self, qbo_invoice: dict[str, Any], target: VoidTarget) -> str:
        text = f"would void {_describe_qbo(qbo_invoice, target)}"
        if any(link.get("TxnType") == "Payment" for link in qbo_invoice.get("LinkedTxn") or []):
            text += " (QBO will refuse while payments are applied to it: remove them first)"
        return text

    def void(
        self, target: VoidTarget, qbo_invoice: dict[str, Any], fingerprint: str, record: dict[str, Any] | None
    ) -> None:
        attempt = int((record or {}).get("attempts") or 0) + 1  # record_intent counts this attempt
        requestid = void_requestid(target.autotask_id, attempt)
        # Written before the request: a crash after it is resolved by reading QBO, not by guessing.
        self.ledger.record_intent(
            ENTITY, target.autotask_id, payload_hash=fingerprint, request_id=requestid, run_id=self.run.run_id
        )
        try:
            voided = self.qbo.void_invoice(qbo_invoice["Id"], qbo_invoice.get("SyncToken"), requestid=requestid)
        except QboFault as fault:
            if fault.retryable or isinstance(fault, QboAuthError):
                raise  # the run cannot go on (or may later): Airflow retries the task
            reason, fix = explain_void_refusal(target, qbo_invoice, fault)
            self.fail(target, reason, fix, qbo_invoice)
            return
        self.settle(target, "SYNCED", "", qbo_id=str(voided.get("Id") or qbo_invoice["Id"]))
        reason = f"voided {_describe_qbo(qbo_invoice, target)}"
        self.rows.append(_row(target, "voided", reason, qbo_invoice=qbo_invoice, qbo_total=voided.get("TotalAmt", 0)))

    def handle_ambiguous(self, target: VoidTarget) -> None:
        ids = ", ".join(target.ambiguous_ids)
        reason = (
            f"several QBO invoices (Ids {ids}) carry PrivateNote '{PRIVATE_NOTE_PREFIX} {target.autotask_id}' "
            f"for Autotask invoice {target.reference}; atqbo does not guess which to void"
        )
        fix = "void the right one(s) in QBO by hand, or delete the extra copies; the next run then sees them"
        if not self.dry_run and any(e["message"] == reason for e in self.open_errors(target.autotask_id)):
            self.silent += 1  # reported when first seen; the open error-log entry stands for it
            return
        self.fail(target, reason, fix)


def void_targets(run: RunInfo, ledger: Ledger, qbo: QuickBooksOnlineHook, targets: list[VoidTarget]) -> list[ReportRow]:
    """Void each target's QBO invoice (or plan it, in a dry run) and return the report rows."""
    qbo_ids = [t.qbo_id for t in targets if t.qbo_id]
    state = read_qbo_invoices(qbo, qbo_ids) if qbo_ids else {}
    step = _VoidRun(run, ledger, qbo)
    for target in targets:
        step.handle(target, state)
    counts: dict[str, int] = {}
    for row in step.rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    log.info(
        "voids%s: %s; %d not reported again (refusals unchanged since, or settled by another run)",
        " (dry run)" if run.dry_run else "",
        counts or "nothing",
        step.silent,
    )
    return step.rows


def apply_voids(run: RunInfo, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Task 2: void (or plan) what ``find_void_targets`` found; the report rows, XCom-ready."""
    if not targets:
        return []
    ledger = run.ledger()
    rows = void_targets(run, ledger, run.qbo(ledger), [VoidTarget.from_xcom(t) for t in targets])
    return [r.to_dict() for r in rows]


# -- 3. report ----------------------------------------------------------------------------------------


SKIP_NOTES = {
    NOT_CREATED_BY_ATQBO: (
        "{n} invoice(s) voided in Autotask were not created by atqbo, so atqbo left QBO alone: if QBO "
        "holds them from another source (the vendor app, typed in by hand), void them there yourself"
    ),
    ALREADY_VOIDED: "{n} invoice(s) voided in Autotask were already voided in QBO: nothing to do",
    DELETED_IN_QBO: "{n} invoice(s) voided in Autotask were deleted in QBO: nothing to void",
}


def build_void_report(run: RunInfo, rows: Iterable[ReportRow]) -> RunReport:
    """The run's report: failures first, then voids, plans and skips.

    Skips are reported once (the ledger remembers them), and each kind gets a note: a person should
    hear once that an invoice was not atqbo's to void, or was already voided or deleted in QBO,
    even though nothing failed (notes make the report worth an email; plain skips alone do not).
    """
    order = {"failed": 0, "voided": 1, "planned": 2, "skipped": 3}
    ordered = sorted(rows, key=lambda r: (order.get(r.outcome, 9), r.autotask_id or 0))
    notes = []
    for kind, text in SKIP_NOTES.items():
        n = sum(1 for r in ordered if r.outcome == "skipped" and r.reason.startswith(kind))
        if n:
            notes.append(text.format(n=n))
    return RunReport(
        title=REPORT_TITLE,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=run.describe_window(),
        dry_run=run.dry_run,
        rows=ordered,
        notes=notes,
    )


def report_voids(run: RunInfo, rows: list[dict[str, Any]]) -> bool:
    """Task 3: log the summary and email it when the run did anything; returns whether mail went out."""
    report = build_void_report(run, [ReportRow.from_dict(r) for r in rows])
    return run.publish(report)
