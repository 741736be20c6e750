"""Manually mark an Autotask invoice paid (TOOL-06), the vendor's "Manually Mark an Invoice as Paid".

Used by the ``atqbo_mark_invoice_paid`` DAG. The invoice is found by its Autotask invoice number
(exactly one must match), a voided invoice is refused, and its ``paidDate`` is set by the payment
sync's own write (``atqbo.sync.payments.paid_date``; Autotask keeps the date only). Anything
refused is refused before a write: nothing changes.

The report says what changed (marked paid; the paid date moved from an earlier date; already
paid on that date, nothing changed) and what QBO shows for the same invoice, because the hourly
payment sync (``atqbo_payments``) keeps working on it afterwards:

* while QBO still shows money owed, the payment sync leaves the manual paid date alone: it never
  clears a paid date, and when a payment on the invoice changes it only reports the difference
  (``decide_paid_state``: "Autotask shows it paid ... the paid date was left as is");
* once QBO shows the invoice paid in full, the payment sync sets the paid date to the day of the
  payment that settled it, which replaces a different manual date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from atqbo.autotask_docs import company_names
from atqbo.autotask_docs import paid_on as autotask_paid_on
from atqbo.companies import company_of_record, run_companies
from atqbo.exceptions import AtqboConfigError
from atqbo.forms import FormError
from atqbo.hooks.autotask import AutotaskHook, eq
from atqbo.hooks.qbo import QuickBooksOnlineHook
from atqbo.ledger import Ledger
from atqbo.money import as_decimal, cents, money_text
from atqbo.notify import ReportRow, RunReport
from atqbo.qbo_docs import TXN_DATE_SLACK, find_atqbo_invoices, is_voided, pick_document, read_or_none
from atqbo.records import INVOICE
from atqbo.routes import route_of
from atqbo.runs import RunInfo
from atqbo.sync.payments.paid_date import write_paid_dates

log = logging.getLogger(__name__)

REPORT_TITLE = "atqbo mark invoice paid"
INVOICE_FIELDS = [
    "id",
    "invoiceNumber",
    "companyID",
    "invoiceDateTime",
    "invoiceTotal",
    "isVoided",
    "voidedDate",
    "paidDate",
]
# A date typed in a time zone ahead of UTC may be tomorrow in UTC; anything later is a typo.
FUTURE_SLACK = timedelta(days=1)
ALREADY_PAID = "already paid on that date: nothing changed"


class MarkPaidRefused(AtqboConfigError):
    """The invoice cannot be marked paid as asked; nothing was written. Not retried (a config error)."""

    def __init__(self, reason: str, fix: str, invoice: dict[str, Any] | None = None):
        super().__init__(f"{reason}. Nothing was changed. Fix: {fix}")
        self.reason = reason
        self.fix = fix
        self.invoice = invoice


@dataclass(frozen=True)
class PaidMark:
    """What marking one invoice paid on ``paid_on`` does (pure: decided from the invoice as read)."""

    autotask_id: int
    reference: str  # the invoice number
    company_id: int | None
    total: Decimal | None
    previous: date | None  # the paid date before
    paid_on: date

    @property
    def changes(self) -> bool:
        return self.previous != self.paid_on

    def describe(self, done: bool = True) -> str:
        if not self.changes:
            return f"{ALREADY_PAID} (paid on {self.paid_on} in Autotask)"
        if self.previous is None:
            return f"{'marked' if done else 'would mark it'} paid on {self.paid_on} in Autotask (it had no paid date)"
        verb = "paid date changed" if done else "would change the paid date"
        return f"{verb} from {self.previous} to {self.paid_on} in Autotask"


def today_utc() -> date:
    return datetime.now(UTC).date()


def check_paid_date(paid_on: date, today: date) -> None:
    """A payment date cannot lie after today (a day of slack for time zones ahead of UTC)."""
    if paid_on > today + FUTURE_SLACK:
        raise FormError(
            f"the trigger form has bad input, so nothing was done: paid_date: {paid_on} is after today ({today}, UTC). "
            "Fix: trigger the DAG again with the date the payment was made (YYYY-MM-DD), or leave it empty for today"
        )


def find_invoice_by_number(autotask: AutotaskHook, number: str) -> dict[str, Any]:
    """The one Autotask invoice with this invoice number; ``MarkPaidRefused`` for none or several.

    Autotask compares text without case, so "inv-1001" finds "INV-1001"; when that finds several,
    the one spelt exactly as typed wins.
    """
    found = autotask.query_all("Invoices", [eq("invoiceNumber", number)], include_fields=INVOICE_FIELDS)
    if len(found) > 1:
        exact = [r for r in found if str(r.get("invoiceNumber") or "").strip() == number]
        found = exact if len(exact) == 1 else found
    if not found:
        raise MarkPaidRefused(
            f"no Autotask invoice has invoice number {number!r}",
            "check the number on the invoice in Autotask (Contracts > Invoices, or the invoice PDF) and trigger "
            "atqbo_mark_invoice_paid again with it",
        )
    if len(found) > 1:
        ids = ", ".join(str(r["id"]) for r in sorted(found, key=lambda r: r["id"]))
        raise MarkPaidRefused(
            f"{len(found)} Autotask invoices have invoice number {number!r} (ids {ids}), so atqbo cannot tell which "
            "one was paid",
            "set the paid date on the right invoice in Autotask by hand, or give the invoices distinct numbers and "
            "trigger atqbo_mark_invoice_paid again",
        )
    return found[0]


def plan_paid_mark(invoice: dict[str, Any], paid_on: date) -> PaidMark:
    """The mark for this invoice, or ``MarkPaidRefused`` when it is voided (a voided invoice owes nothing)."""
    number = str(invoice.get("invoiceNumber") or "").strip() or f"Autotask invoice {invoice['id']}"
    if invoice.get("isVoided"):
        voided = str(invoice.get("voidedDate") or "")[:10]
        raise MarkPaidRefused(
            f"Autotask invoice {number} (id {invoice['id']}) is voided{f' (on {voided})' if voided else ''}, "
            "so it cannot be marked paid",
            "check the invoice number; if the payment belongs to the invoice that replaced this one, mark that one "
            "paid",
            invoice,
        )
    total = invoice.get("invoiceTotal")
    return PaidMark(
        autotask_id=int(invoice["id"]),
        reference=number,
        company_id=invoice.get("companyID"),
        total=None if total is None else cents(total),
        previous=autotask_paid_on(invoice),
        paid_on=paid_on,
    )


def write_paid_date(autotask: AutotaskHook, mark: PaidMark) -> None:
    """PATCH paidDate with the payment sync's write; Autotask's refusal becomes ``MarkPaidRefused``."""
    refused = write_paid_dates(autotask, [(mark.autotask_id, mark.paid_on)])
    if mark.autotask_id in refused:
        exc = refused[mark.autotask_id]
        raise MarkPaidRefused(
            f"Autotask refused paid date {mark.paid_on} on invoice {mark.reference} (id {mark.autotask_id}): {exc}",
            "fix what Autotask names on the invoice, then trigger atqbo_mark_invoice_paid again",
        ) from exc


def find_qbo_invoice(
    ledger: Ledger, qbo: QuickBooksOnlineHook, invoice: dict[str, Any]
) -> tuple[dict[str, Any] | None, str]:
    """The QBO invoice atqbo created for this Autotask invoice, and how it was looked for.

    The ledger's record first (a read by Id), else atqbo's PrivateNote among QBO's invoices of the
    invoice's date (one query; of several copies, ``pick_document``'s).
    """
    autotask_id = int(invoice["id"])
    record = ledger.get_sync_record(INVOICE, autotask_id)
    if record and record["status"] == "SYNCED" and record.get("qbo_id"):
        found = read_or_none(qbo, "Invoice", record["qbo_id"])
        if found is None:
            return None, f"QBO invoice Id {record['qbo_id']}, which atqbo created for it, was deleted in QBO"
        return found, ""
    raw = invoice.get("invoiceDateTime")
    if raw:
        day = date.fromisoformat(str(raw)[:10])
        copies = find_atqbo_invoices(qbo, day - TXN_DATE_SLACK, day + TXN_DATE_SLACK).get(autotask_id)
        if copies:
            return pick_document(copies)[0], ""
    return None, "atqbo did not send it to QBO (no record, no QBO invoice with its PrivateNote)"


def describe_qbo_state(qbo_invoice: dict[str, Any] | None, why_none: str) -> str:
    """What QBO shows for the invoice, and what the payment sync will do with the manual paid date."""
    if qbo_invoice is None:
        return f"QBO: {why_none}; the payment sync only acts on invoices atqbo sent, so it leaves this paid date alone"
    name = f"QBO invoice {qbo_invoice.get('DocNumber') or qbo_invoice['Id']} (Id {qbo_invoice['Id']})"
    if is_voided(qbo_invoice):
        return f"{name} is voided in QBO; the payment sync does not touch the paid date of a voided invoice"
    balance = as_decimal(qbo_invoice.get("Balance"))
    total = as_decimal(qbo_invoice.get("TotalAmt"))
    if balance == 0:
        return f"{name} shows it paid in full too"
    return (
        f"{name} still shows a balance of {money_text(balance)} of {money_text(total)}. The hourly payment sync "
        "(atqbo_payments) does not undo this paid date: it never clears one, and reports the difference when a "
        "payment on this invoice changes in QBO. Once QBO shows it paid in full, the payment sync sets the paid "
        "date to the day of that payment"
    )


def _row(
    outcome: str,
    reason: str,
    *,
    mark: PaidMark | None = None,
    invoice: dict[str, Any] | None = None,
    reference: str = "",
    fix: str = "",
    company: str = "",
) -> ReportRow:
    invoice = invoice or {}
    total = mark.total if mark else invoice.get("invoiceTotal")
    return ReportRow(
        outcome=outcome,  # type: ignore[arg-type]
        entity=INVOICE,
        autotask_id=mark.autotask_id if mark else invoice.get("id"),
        reference=mark.reference if mark else str(invoice.get("invoiceNumber") or reference),
        company=company,
        autotask_total=None if total is None else cents(total),
        reason=reason,
        fix=fix,
    )


def mark_invoice_paid(run: RunInfo, invoice_number: str, paid_on: date, date_given: bool) -> dict[str, Any]:
    """Find, check, write, report (always emailed). A refusal is reported too, then raised: the run fails."""
    ledger = run.ledger()
    ledger.create_schema()
    autotask = run.autotask()
    report = RunReport(
        title=REPORT_TITLE,
        dag_id=run.dag_id,
        run_id=run.run_id,
        dry_run=run.dry_run,
        window=f"invoice number {invoice_number}, paid date {paid_on}",
        always_email=True,
    )
    if not date_given:
        report.notes.append(f"no date was given: today's date ({paid_on}, UTC) was used")
    invoice: dict[str, Any] | None = None
    try:
        invoice = find_invoice_by_number(autotask, invoice_number)
        mark = plan_paid_mark(invoice, paid_on)
        company = company_names(autotask, [mark.company_id]).get(mark.company_id, "") if mark.company_id else ""
        if mark.changes and not run.dry_run:
            write_paid_date(autotask, mark)
    except MarkPaidRefused as refused:
        report.rows.append(
            _row(
                "failed", refused.reason, invoice=refused.invoice or invoice, reference=invoice_number, fix=refused.fix
            )
        )
        run.publish(report, ledger)
        raise
    outcome = "skipped" if not mark.changes else "planned" if run.dry_run else "transferred"
    report.rows.append(_row(outcome, mark.describe(done=not run.dry_run), mark=mark, company=company))
    report.notes.append(qbo_note(run, ledger, invoice))
    log.info("Autotask invoice %s (id %s): %s", mark.reference, mark.autotask_id, mark.describe(not run.dry_run))
    run.publish(report, ledger)
    return {
        "autotask_id": mark.autotask_id,
        "invoice_number": mark.reference,
        "previous": mark.previous.isoformat() if mark.previous else None,
        "paid_on": mark.paid_on.isoformat(),
        "changed": mark.changes and not run.dry_run,
    }


def qbo_note(run: RunInfo, ledger: Ledger, invoice: dict[str, Any]) -> str:
    """``describe_qbo_state`` read from QBO; a QBO problem never undoes or hides the Autotask change."""
    try:
        qbo, company = invoice_company(run, ledger, invoice)
        qbo_invoice, why_none = find_qbo_invoice(ledger, qbo, invoice)
    except Exception as exc:  # the paid date is set: say QBO could not be checked rather than fail the run
        log.warning("QBO could not be checked for Autotask invoice %s: %s", invoice.get("id"), exc)
        return f"QBO could not be checked ({type(exc).__name__}: {exc}); the Autotask paid date is as reported above"
    note = describe_qbo_state(qbo_invoice, why_none)
    return f"QBO company {company}: {note}" if company else note


def invoice_company(run: RunInfo, ledger: Ledger, invoice: dict[str, Any]) -> tuple[QuickBooksOnlineHook, str | None]:
    """The hook of the QBO company the invoice went to, and its connection when the run has several
    (BEY-07): the realm of its ledger record (none: the default company), else the routes' rule on
    its Autotask company."""
    if len(run.qbo_conn_ids) == 1:
        return run.qbo(ledger), None
    record = ledger.get_sync_record(INVOICE, int(invoice["id"]))
    if record is not None and record.get("qbo_id"):
        companies = run_companies(run, ledger)
        company = company_of_record(companies, record)
        if company is None:
            raise AtqboConfigError(
                f"atqbo sent it to QBO realm {record.get('realm_id')}, which is none of the QBO companies it can use "
                f"now ({', '.join(c.conn_id for c in companies)})"
            )
        if company.qbo is None:
            raise AtqboConfigError(company.problem)
        return company.qbo, company.conn_id
    settings = run.parsed_settings
    what = f"Autotask invoice {invoice['id']}"
    conn_id = route_of(settings.routes, settings.qbo_conn_id, invoice.get("companyID"), (), what).qbo_conn_id
    return run.for_company(conn_id).qbo(ledger), conn_id
