"""Task 2's reads, decisions and writes: the QBO invoices the changed payments touch, kept when atqbo
created them, each decided (``paid_state``) against its Autotask invoice, the paid dates written,
and each outcome recorded in the ledger so a state is acted on and reported once."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from atqbo.autotask_docs import company_names
from atqbo.hooks.autotask import AutotaskHook
from atqbo.hooks.qbo import QuickBooksOnlineHook
from atqbo.ledger import Ledger
from atqbo.money import as_decimal, cents
from atqbo.notify import ReportRow
from atqbo.qbo_docs import INVOICE_NOTE, SentDocuments, applied_payment_ids, is_voided, qbo_id_order, read_current
from atqbo.records import INVOICE, PAYMENT
from atqbo.runs import RunInfo
from atqbo.sync.payments.model import APPLIED, InvoiceTarget
from atqbo.sync.payments.paid_date import write_paid_dates
from atqbo.sync.payments.paid_state import PaidState, decide_paid_state, latest_payment_date

log = logging.getLogger(__name__)

AUTOTASK_INVOICE_FIELDS = ["id", "invoiceNumber", "companyID", "invoiceTotal", "isVoided", "paidDate"]


def resolve_atqbo_invoices(
    ledger: Ledger,
    targets: list[InvoiceTarget],
    qbo_invoices: dict[str, dict[str, Any]],
    realm_id: str | None = None,
    default: bool = True,
) -> dict[str, int]:
    """QBO invoice Id -> Autotask invoice id, for the targets atqbo created; the others are left out.

    The ledger's ``invoice`` record decides first (its QBO Id is the copy atqbo made); then the
    PrivateNote, unless the ledger says that Autotask invoice went to another QBO invoice; then a
    ``payment`` record that traced a deleted payment here. With several QBO companies (BEY-07)
    ``realm_id`` is the company's the invoices are in (``default``: the default company's): an
    ``invoice`` record matches only in the realm it went to (QBO Ids are per company).
    """
    sent = SentDocuments.load(ledger, INVOICE, realm_id, default)
    owned: dict[str, int] = {}
    for target in targets:
        document = qbo_invoices.get(target.qbo_invoice_id) or {"Id": target.qbo_invoice_id}
        owner = sent.owner(document, INVOICE_NOTE)
        if owner is None and INVOICE_NOTE.autotask_id(document.get("PrivateNote")) is None:
            owner = target.autotask_id  # no note of atqbo's (or the invoice is deleted): the ledger's trace
        if owner is not None:
            owned[target.qbo_invoice_id] = owner
    return owned


def read_payment_dates(
    qbo: QuickBooksOnlineHook, payment_ids: Iterable[str], known: dict[str, str]
) -> dict[str, str | None]:
    """TxnDate of each live payment (None for a voided one); those not ``known`` from CDC are read
    with ``Id IN (...)`` queries."""
    dates: dict[str, str | None] = {pid: known[pid] for pid in payment_ids if pid in known}
    missing = sorted({pid for pid in payment_ids if pid not in known}, key=qbo_id_order)
    for payment_id, payment in qbo.get_many("Payment", missing).items():
        dates[payment_id] = None if is_voided(payment) else payment.get("TxnDate")
    return dates


@dataclass
class Decision:
    """What the run decided for one Autotask invoice, with what it read of both sides."""

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
        """The report row: the decided outcome, reason and fix unless given."""
        at = self.autotask_invoice or {}
        qbo = self.qbo_invoice or {}
        at_total, qbo_total = at.get("invoiceTotal"), qbo.get("TotalAmt")
        return ReportRow(
            outcome=(outcome or self.state.outcome),  # type: ignore[arg-type]
            entity=PAYMENT,
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


class PaymentStep:
    """One run's apply step: reads, decisions, writes and the ledger bookkeeping, in one place."""

    def __init__(
        self,
        run: RunInfo,
        ledger: Ledger,
        qbo: QuickBooksOnlineHook,
        autotask: AutotaskHook,
        realm_id: str | None = None,
        default: bool = True,
    ):
        self.run = run
        self.realm_id = realm_id  # BEY-07: the company's realm when the run has several, else None
        self.default = default
        self.ledger = ledger
        self.qbo = qbo
        self.autotask = autotask
        self.dry_run = run.dry_run
        self.silent = 0

    def decide(self, targets: list[InvoiceTarget]) -> list[Decision]:
        """A decision for each target atqbo created, from both sides read in bulk."""
        qbo_invoices = read_current(self.qbo, "Invoice", [t.qbo_invoice_id for t in targets])
        owned = resolve_atqbo_invoices(self.ledger, targets, qbo_invoices, self.realm_id, self.default)
        ignored = len(targets) - len(owned)
        if ignored:
            log.info("%d QBO invoice(s) touched by these payments were not created by atqbo: ignored", ignored)
        mine = [t for t in targets if t.qbo_invoice_id in owned]
        if not mine:
            return []
        dates = self.read_settling_payment_dates(mine, qbo_invoices)
        records = self.autotask.get_many(
            "Invoices", sorted({owned[t.qbo_invoice_id] for t in mine}), include_fields=AUTOTASK_INVOICE_FIELDS
        )
        autotask_invoices = {int(r["id"]): r for r in records}
        names = company_names(self.autotask, (r.get("companyID") for r in records))
        decisions = []
        for target in mine:
            autotask_id = owned[target.qbo_invoice_id]
            qbo_invoice = qbo_invoices.get(target.qbo_invoice_id)
            payments = applied_payment_ids(qbo_invoice)
            at_invoice = autotask_invoices.get(autotask_id)
            state = decide_paid_state(at_invoice, qbo_invoice, latest_payment_date(payments, dates), target.events)
            decisions.append(
                Decision(
                    target=target,
                    autotask_id=autotask_id,
                    autotask_invoice=at_invoice,
                    qbo_invoice=qbo_invoice,
                    state=state,
                    payment_ids=",".join(payments),
                    record=self.ledger.get_sync_record(PAYMENT, autotask_id),
                    company=names.get(at_invoice.get("companyID"), "") if at_invoice else "",
                )
            )
        return decisions

    def read_settling_payment_dates(
        self, targets: list[InvoiceTarget], qbo_invoices: dict[str, dict[str, Any]]
    ) -> dict[str, str | None]:
        """The dates of the payments applied to the invoices QBO shows paid in full (CDC told some)."""
        paid_in_full = [
            qbo_invoices[t.qbo_invoice_id]
            for t in targets
            if t.qbo_invoice_id in qbo_invoices and as_decimal(qbo_invoices[t.qbo_invoice_id].get("Balance")) == 0
        ]
        known_dates = {
            e.payment_id: e.txn_date
            for t in targets
            for e in t.events
            if e.kind == APPLIED and e.payment_id and e.txn_date
        }
        wanted = {pid for inv in paid_in_full for pid in applied_payment_ids(inv)}
        return read_payment_dates(self.qbo, wanted, known_dates) if wanted else {}

    def write_paid_dates(self, decisions: list[Decision]) -> None:
        """PATCH paidDate on the invoices that need it; Autotask's refusals kept per decision."""
        refused = write_paid_dates(self.autotask, [(d.autotask_id, d.state.mark_on) for d in decisions])
        for decision in decisions:
            problem = refused.get(decision.autotask_id)
            decision.problem = None if problem is None else str(problem)

    def settle(self, decision: Decision) -> ReportRow | None:
        """Record the outcome in the ledger (not in a dry run) and return its report row, if any."""
        if decision.problem is not None:
            return self.settle_refusal(decision)
        state = decision.state
        if already_recorded(decision.record, state, decision.payment_ids):
            self.silent += 1
            return None
        if not self.dry_run:
            self.ledger.set_sync_status(
                PAYMENT,
                decision.autotask_id,
                state.status,
                qbo_id=decision.target.qbo_invoice_id,
                qbo_number=decision.payment_ids,
                last_error=state.reason if state.status != "SYNCED" else None,
                run_id=self.run.run_id,
                realm_id=self.realm_id,
                payload_hash=state.fingerprint,
            )
            if decision.record is not None and decision.record["status"] == "ERROR":
                self.ledger.resolve_errors(PAYMENT, decision.autotask_id)
        if self.dry_run and state.mark_on is not None:
            return decision.row("planned", state.plan)
        return decision.row()

    def settle_refusal(self, decision: Decision) -> ReportRow | None:
        """Autotask refused the paid date: an ERROR record and an error-log entry; reported unless it
        is the same refusal as last run's."""
        state = decision.state
        reason = f"Autotask refused paid date {state.mark_on}: {decision.problem}"
        fix = "fix what Autotask names on the invoice (or set the paid date by hand); the next run tries again"
        record = decision.record
        repeated = record is not None and record["status"] == "ERROR" and record.get("last_error") == reason
        if not self.dry_run:
            self.ledger.set_sync_status(
                PAYMENT,
                decision.autotask_id,
                "ERROR",
                qbo_id=decision.target.qbo_invoice_id,
                qbo_number=decision.payment_ids,
                last_error=reason,
                run_id=self.run.run_id,
                realm_id=self.realm_id,
                payload_hash=state.fingerprint,
            )
            self.ledger.log_error(
                PAYMENT,
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


def apply_payment_targets(
    run: RunInfo,
    ledger: Ledger,
    qbo: QuickBooksOnlineHook,
    autotask: AutotaskHook,
    targets: list[InvoiceTarget],
    realm_id: str | None = None,
    default: bool = True,
) -> list[ReportRow]:
    """Mark paid (or plan, or report) the Autotask invoices behind ``targets``; the report rows.
    ``realm_id``, ``default``: the QBO company's, when the run has several (BEY-07)."""
    step = PaymentStep(run, ledger, qbo, autotask, realm_id, default)
    decisions = step.decide(targets)
    to_mark = [d for d in decisions if d.state.mark_on is not None]
    if to_mark and not run.dry_run:
        step.write_paid_dates(to_mark)
    rows = [row for d in decisions if (row := step.settle(d)) is not None]
    counts = dict(Counter(row.outcome for row in rows))
    log.info(
        "payments%s: %s; %d already handled by earlier runs (not reported again)",
        " (dry run)" if run.dry_run else "",
        counts or "nothing",
        step.silent,
    )
    return rows
