"""Planning: Autotask records + settings -> one ``InvoicePlan`` per invoice: send, skip or error,
and for those to send everything but QBO ids (INV-02..22). No I/O."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from atqbo.money import cents
from atqbo.settings import Settings
from atqbo.transform.invoices.checks import NEGATIVE_INVOICE_FIX, negative_invoice_message
from atqbo.transform.invoices.header import (
    customer_memo,
    invoice_email,
    payload_hash,
    po_number,
    private_note,
    ship_address,
    term_name,
    transaction_class,
)
from atqbo.transform.invoices.lines import (
    RETRY_AFTER_FIX,
    billing_period_line,
    item_lines,
    refuse_amounts_qbo_cannot_hold,
    refuse_if_lines_miss_total,
    refuse_unusable_totals,
    tax_line,
)
from atqbo.transform.invoices.model import AutotaskInvoiceData, InvoicePlan, NotSent
from atqbo.transform.values import MAX_DISPLAY_NAME, MAX_DOC_NUMBER, as_text, control_characters, date_of, qbo_name

# Issue 11 item 5: an invoice dated outside these is a typo (1900, 2999), never a real invoice;
# the sync's window never reaches it, and a copy by id must not send it as it is
EARLIEST_INVOICE_DATE = date(1990, 1, 1)
LATEST_INVOICE_DAYS_AHEAD = 366


def plan_invoices(data: AutotaskInvoiceData, settings: Settings, today: date) -> list[InvoicePlan]:
    """One plan per invoice in ``data.invoices`` (same order).

    ``today`` stands in for an invoice date Autotask did not give (never seen; said in a warning).
    """
    items_by_invoice: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    # sorted by id: the lines (and so the payload hash) do not depend on the order a query returned
    for item in sorted(data.billing_items, key=lambda i: (i.get("id") is None, i.get("id") or 0)):
        items_by_invoice[item.get("invoiceID")].append(item)
    return [
        plan_invoice(invoice, items_by_invoice.get(invoice.get("id"), []), data, settings, today)
        for invoice in data.invoices
    ]


def plan_invoice(
    invoice: dict[str, Any], items: list[dict[str, Any]], data: AutotaskInvoiceData, settings: Settings, today: date
) -> InvoicePlan:
    """The plan of one invoice (``items`` are its billing items); never raises for bad data."""
    company = data.companies.get(invoice.get("companyID"))
    head = InvoicePlan(
        autotask_id=invoice.get("id"),
        invoice_number=as_text(invoice.get("invoiceNumber")).strip() or None,
        company_id=invoice.get("companyID"),
        company_name=as_text((company or {}).get("companyName")),
        decision="send",
        total=cents(invoice.get("invoiceTotal")),
        tax=cents(invoice.get("totalTaxValue")),
        currency=company_currency(company, data),
        tax_exempt=bool((company or {}).get("isTaxExempt")),
        tax_region=data.tax_regions.get((company or {}).get("taxRegionID")),
    )
    try:
        plan = _plan_to_send(head, invoice, items, company, data, settings, today)
    except NotSent as stop:
        txn_date = date_of(invoice.get("invoiceDateTime"))
        return replace(head, decision=stop.decision, reason=stop.reason, fix=stop.fix, txn_date=txn_date)
    return replace(plan, payload_hash=payload_hash(plan))


def company_currency(company: dict[str, Any] | None, data: AutotaskInvoiceData) -> str | None:
    """CUR-01: the ISO code of the company's currency (its currencyID), else Autotask's internal
    currency; None when Autotask told us of no currency."""
    currency_id = (company or {}).get("currencyID")
    if currency_id is not None and currency_id in data.currencies:
        return data.currencies[currency_id]
    return data.internal_currency


def _plan_to_send(
    head: InvoicePlan,
    invoice: dict[str, Any],
    items: list[dict[str, Any]],
    company: dict[str, Any] | None,
    data: AutotaskInvoiceData,
    settings: Settings,
    today: date,
) -> InvoicePlan:
    """The send plan, or ``NotSent`` at the first reason not to send it."""
    warnings: list[str] = []
    txn_date = _invoice_date(head, invoice, today, warnings)
    _refuse_unsendable(head, invoice, company, txn_date, settings, today)
    assert company is not None  # _refuse_unsendable made sure
    _refuse_empty(head, items)
    lines = (
        *billing_period_line(invoice, settings),
        *item_lines(head, items, data, settings, warnings),
        *tax_line(head, invoice, settings),
    )
    refuse_amounts_qbo_cannot_hold(head, lines, settings)
    refuse_if_lines_miss_total(head, lines, items, settings)
    return replace(
        head,
        customer_name=qbo_name(head.company_name, MAX_DISPLAY_NAME),
        txn_date=txn_date,
        due_date=date_of(invoice.get("dueDate")),
        doc_number=_doc_number(head, invoice, settings),
        lines=lines,
        term_name=term_name(head, invoice, data, warnings),
        class_name=transaction_class(lines, settings),
        po_number=po_number(invoice, items),
        customer_memo=customer_memo(head, invoice, settings, warnings),
        bill_email=invoice_email(company, head.label, warnings),
        ship_address=ship_address(head, company, settings, warnings),
        private_note=private_note(head),
        warnings=tuple(warnings),
    )


def _invoice_date(head: InvoicePlan, invoice: dict[str, Any], today: date, warnings: list[str]) -> date:
    """The QBO TxnDate: the date of Autotask's invoiceDateTime (today, with a warning, if it has none)."""
    txn_date = date_of(invoice.get("invoiceDateTime"))
    if txn_date is None:
        warnings.append(f"{head.label}: Autotask gave no invoice date; the QBO invoice is dated today ({today})")
        return today
    return txn_date


def _refuse_unsendable(
    head: InvoicePlan,
    invoice: dict[str, Any],
    company: dict[str, Any] | None,
    txn_date: date,
    settings: Settings,
    today: date,
) -> None:
    """Voided, before the earliest sync date, an impossible date, unknown company, a total or tax that
    cannot be right, negative, or a $0 to skip."""
    if invoice.get("isVoided"):
        raise NotSent("skip", f"{head.label}: voided in Autotask; not sent")
    if settings.earliest_sync_date and txn_date < settings.earliest_sync_date:
        raise NotSent(
            "skip",
            f"{head.label}: dated {txn_date}, before earliest_sync_date {settings.earliest_sync_date} "
            "(books closed); not sent",
        )
    _refuse_impossible_date(head, txn_date, today)
    if company is None:
        raise NotSent(
            "error",
            f"{head.label}: its company (Autotask company id {head.company_id}) was not found in Autotask",
            f"check that company {head.company_id} exists in Autotask and that the atqbo API user may read it",
        )
    if not head.company_name.strip():
        raise NotSent(
            "error",
            f"{head.label}: Autotask company {head.company_id} has no name, so no QBO customer can be matched",
            f"give company {head.company_id} a name in Autotask",
        )
    refuse_unusable_totals(head, invoice)
    if head.total < 0:
        reason = negative_invoice_message(head.autotask_id, head.company_name, settings.invoice_marker_field)
        raise NotSent("error", reason, NEGATIVE_INVOICE_FIX)
    if head.total == 0 and settings.skip_zero_invoices:
        raise NotSent("skip", f"{head.label}: total is 0.00 and skip_zero_invoices is on; not sent")


def _refuse_impossible_date(head: InvoicePlan, txn_date: date, today: date) -> None:
    """An invoice dated before 1990 or more than a year ahead is a typo in Autotask: not sent."""
    latest = today + timedelta(days=LATEST_INVOICE_DAYS_AHEAD)
    if EARLIEST_INVOICE_DATE <= txn_date <= latest:
        return
    raise NotSent(
        "error",
        f"{head.label}: dated {txn_date}, which cannot be its real date (atqbo sends invoices dated "
        f"{EARLIEST_INVOICE_DATE} to {latest}); not sent",
        "correct the invoice date in Autotask (void the invoice and invoice its items again with the right date), "
        + RETRY_AFTER_FIX,
    )


def _refuse_empty(head: InvoicePlan, items: list[dict[str, Any]]) -> None:
    """An invoice without billing items is an error: QBO needs a sales line, and it is incomplete data."""
    if not items:
        raise NotSent(
            "error",
            f"{head.label}: has no billing items in Autotask (total {head.total}); nothing to put on a QBO invoice",
            "check the invoice's items in Autotask (a $0 invoice without items can be skipped with skip_zero_invoices)",
        )


def _doc_number(head: InvoicePlan, invoice: dict[str, Any], settings: Settings) -> str | None:
    """INV-04: None when QBO numbers; Autotask's number or id otherwise."""
    if settings.invoice_numbering == "qbo":
        return None
    if settings.invoice_numbering == "autotask_id":
        return str(head.autotask_id)
    number = head.invoice_number
    if not number:
        raise NotSent(
            "error",
            f"{head.label}: invoice_numbering is 'autotask_number' but Autotask gave the invoice no number",
            "turn on invoice numbering in Autotask (Admin > Invoice settings), "
            "or set invoice_numbering to 'qbo' or 'autotask_id'",
        )
    found = control_characters(number)
    if found:
        raise NotSent(
            "error",
            f"{head.label}: invoice number {number!r} holds control characters QBO cannot store "
            f"({', '.join(found)}), and atqbo will not send it under another number",
            "correct the invoice number in Autotask, or set invoice_numbering to 'qbo' or 'autotask_id'",
        )
    if len(number) > MAX_DOC_NUMBER:
        raise NotSent(
            "error",
            f"{head.label}: invoice number {number!r} has {len(number)} characters; "
            f"QBO allows at most {MAX_DOC_NUMBER} in DocNumber",
            "use shorter invoice numbers in Autotask, or set invoice_numbering to 'qbo' or 'autotask_id'",
        )
    return number
