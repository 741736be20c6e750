"""Task 1's reads: the Autotask invoices voided in the window, and the QBO invoice atqbo created for
each (the ledger's record first, then atqbo's PrivateNote among QBO's invoices of nearby dates)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from atqbo.hooks.autotask import AutotaskHook, eq, gte, lt
from atqbo.hooks.qbo import QuickBooksOnlineHook
from atqbo.ledger import Ledger
from atqbo.qbo_docs import TXN_DATE_SLACK, SentDocuments, find_atqbo_invoices, pick_document
from atqbo.records import INVOICE, INVOICE_VOID
from atqbo.sync.voids.model import AUTOTASK_INVOICE_FIELDS, SETTLED, VoidedInvoice, VoidTarget

# Invoice dates further apart than this are looked up with separate QBO queries, so that a few
# old voids do not pull every invoice in between.
DATE_CLUSTER_GAP = timedelta(days=31)


def find_voided_invoices(autotask: AutotaskHook, start: datetime, end: datetime) -> list[VoidedInvoice]:
    """Autotask invoices with isVoided = true and voidedDate in [start, end), one bulk query."""
    filters = [eq("isVoided", True), gte("voidedDate", start), lt("voidedDate", end)]
    records = autotask.query_all("Invoices", filters, include_fields=AUTOTASK_INVOICE_FIELDS)
    return [VoidedInvoice.from_autotask(r) for r in records]


def drop_settled_voids(ledger: Ledger, invoices: Iterable[VoidedInvoice]) -> list[VoidedInvoice]:
    """The invoices whose void is not settled yet (no ``invoice_void`` record SYNCED or SKIPPED)."""
    pending = []
    for invoice in invoices:
        record = ledger.get_sync_record(INVOICE_VOID, invoice.autotask_id)
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
    """QBO invoices carrying atqbo's PrivateNote for each of ``invoices``, by Autotask id, oldest first.

    One paged query per cluster of invoice dates (``TxnDate`` range, widened a day each way),
    matched in Python: QBO cannot filter on PrivateNote.
    """
    dated = {inv.autotask_id: inv.invoice_date for inv in invoices if inv.invoice_date is not None}
    found: dict[int, list[dict[str, Any]]] = {}
    for first, last in cluster_dates(dated.values()):
        in_range = find_atqbo_invoices(qbo, first - TXN_DATE_SLACK, last + TXN_DATE_SLACK)
        for autotask_id, copies in in_range.items():
            if autotask_id in dated:
                found.setdefault(autotask_id, []).extend(copies)
    return found


def resolve_qbo_invoices(
    ledger: Ledger,
    qbo: QuickBooksOnlineHook,
    invoices: list[VoidedInvoice],
    company_names: dict[int, str] | None = None,
    realm_id: str | None = None,
    default: bool = True,
) -> list[VoidTarget]:
    """For each voided invoice, the QBO invoice atqbo created for it, or none.

    The ledger's ``invoice`` record (SYNCED with a qbo_id) comes first; the others are looked up
    by PrivateNote. Of several QBO invoices with the same note, the one not voided yet is taken;
    several not voided are ambiguous (a person decides which to void). With several QBO companies
    (BEY-07) ``qbo`` is the company the invoices went to, ``realm_id`` its realm and ``default``
    whether it is the default company (``SentDocuments``: a record of another realm is not its).
    """
    sent = SentDocuments.load(ledger, INVOICE, realm_id, default)
    unresolved = [inv for inv in invoices if sent.qbo_id(inv.autotask_id) is None]
    by_note = find_invoices_by_private_note(qbo, unresolved) if unresolved else {}
    targets = []
    for invoice in invoices:
        base = base_target(invoice, company_names)
        record = sent.records.get(invoice.autotask_id)
        if record is not None:
            targets.append(_recorded_target(base, record))
        else:
            targets.append(_target_by_note(base, by_note.get(invoice.autotask_id, [])))
    return targets


def base_target(invoice: VoidedInvoice, company_names: dict[int, str] | None = None) -> VoidTarget:
    """The target of a voided invoice before its QBO invoice is looked for."""
    company_names = company_names or {}
    return VoidTarget(
        autotask_id=invoice.autotask_id,
        reference=invoice.invoice_number or f"Autotask invoice {invoice.autotask_id}",
        company=company_names.get(invoice.company_id, "") if invoice.company_id is not None else "",
        autotask_total=None if invoice.total is None else str(invoice.total),
    )


def _recorded_target(base: VoidTarget, record: dict[str, Any]) -> VoidTarget:
    """The QBO invoice the ledger recorded for the Autotask invoice."""
    return replace(base, qbo_id=str(record["qbo_id"]), qbo_number=record.get("qbo_number"), found_by="ledger")


def _target_by_note(base: VoidTarget, copies: list[dict[str, Any]]) -> VoidTarget:
    """The one of atqbo's QBO copies (oldest first) to void, ambiguous when several are not voided
    (atqbo does not guess), or none (``pick_document``: all voided, the newest tells the story)."""
    chosen, others = pick_document(copies)
    if chosen is None:
        return base
    if others:
        return replace(base, found_by="private_note", ambiguous_ids=tuple(str(c["Id"]) for c in (chosen, *others)))
    return replace(base, qbo_id=str(chosen["Id"]), qbo_number=chosen.get("DocNumber"), found_by="private_note")
