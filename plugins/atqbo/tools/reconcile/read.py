"""Both sides of every document atqbo sent in the window, read in bulk (the reconciliation's only
I/O, and read-only): Autotask ``in`` queries of 500 ids (``AutotaskHook.get_many``/``query_in``),
QBO queries over the window's dates (``qbo_docs.find_atqbo_invoices``/``find_atqbo_bills``) and by
Id (``qbo_docs.read_current``, which confirms a deletion by QBO's 610 on a read)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from atqbo.autotask_docs import company_names, invoice_marked_synced
from atqbo.hooks.autotask import AutotaskHook, AutotaskPicklistError, exist, gt, gte, lt, lte, or_
from atqbo.hooks.qbo import QuickBooksOnlineHook
from atqbo.ledger import Ledger, from_ts
from atqbo.qbo_docs import BILL_LOOKUP_SLACK, TXN_DATE_SLACK, find_atqbo_bills, find_atqbo_invoices, read_current
from atqbo.records import INVOICE as INVOICE_RECORD
from atqbo.records import PURCHASE_ORDER
from atqbo.runs import RunInfo
from atqbo.tools.reconcile.model import BILL, INVOICE, DocumentPair
from atqbo.tools.reconcile.sides import autotask_invoice_doc, autotask_po_doc, pair_document
from atqbo.transform.invoices.plan import EARLIEST_INVOICE_DATE, LATEST_INVOICE_DAYS_AHEAD

log = logging.getLogger(__name__)

CANCELED_LABEL = "Canceled"  # PurchaseOrders.status label of a canceled PO (its value is read from Autotask)
INVOICE_FIELDS = [
    "id",
    "invoiceNumber",
    "companyID",
    "invoiceDateTime",
    "invoiceTotal",
    "totalTaxValue",
    "isVoided",
    "paidDate",
    "webServiceDate",
]
PO_FIELDS = ["id", "vendorID", "status", "externalPONumber", "createDateTime"]
PO_ITEM_FIELDS = ["id", "orderID", "quantity", "unitCost"]


def marked_invoices(run: RunInfo, autotask: AutotaskHook) -> dict[int, dict[str, Any]]:
    """The window's Autotask invoices whose marker field holds anything (one query), by id."""
    marker = run.parsed_settings.invoice_marker_field
    marked = autotask.query_all(
        "Invoices",
        [gte("invoiceDateTime", run.start), lte("invoiceDateTime", run.end), exist(marker)],
        include_fields=INVOICE_FIELDS,
    )
    return {int(r["id"]): r for r in marked}


def read_invoice_pairs(
    run: RunInfo, ledger: Ledger, autotask: AutotaskHook, qbo: QuickBooksOnlineHook
) -> list[DocumentPair]:
    """Every invoice atqbo sent in the window, both sides read in bulk."""
    marker = run.parsed_settings.invoice_marker_field
    at_by_id = marked_invoices(run, autotask)
    by_note = find_atqbo_invoices(qbo, run.start.date() - TXN_DATE_SLACK, run.end.date() + TXN_DATE_SLACK)
    qbo_by_id = _by_qbo_id(by_note)
    records = _sent_records(ledger, INVOICE_RECORD, run.start, set(at_by_id) | set(by_note), qbo_by_id)
    ids = sorted({i for i, r in at_by_id.items() if invoice_marked_synced(r, marker)} | set(by_note) | set(records))
    missing = [i for i in ids if i not in at_by_id]
    if missing:
        # dated outside the window (a QBO date changed, recorded in the window): one `in` query per 500
        found = autotask.get_many("Invoices", missing, include_fields=INVOICE_FIELDS)
        at_by_id.update({int(record["id"]): record for record in found})
    qbo_by_id.update(read_current(qbo, "Invoice", _unread_qbo_ids(records, qbo_by_id)))
    names = company_names(autotask, (at_by_id[i].get("companyID") for i in ids if i in at_by_id))
    pairs = []
    for autotask_id in ids:
        record = at_by_id.get(autotask_id)
        at_doc = autotask_invoice_doc(record, names.get(record.get("companyID"), ""), marker) if record else None
        recorded = _recorded_qbo_id(records.get(autotask_id))
        pairs.append(pair_document(INVOICE, autotask_id, at_doc, recorded, by_note.get(autotask_id, []), qbo_by_id))
    return pairs


def read_unreachable_invoices(run: RunInfo, autotask: AutotaskHook, today: date | None = None) -> list[str]:
    """Unsent, unvoided Autotask invoices dated where no run's window reaches (before 1990, or more
    than a year ahead: a typo in the date), one sentence each with the fix (BEY-12). One query."""
    latest = (today or date.today()) + timedelta(days=LATEST_INVOICE_DAYS_AHEAD)
    marker = run.parsed_settings.invoice_marker_field
    records = autotask.query_all(
        "Invoices",
        [
            or_(
                lt("invoiceDateTime", datetime.combine(EARLIEST_INVOICE_DATE, time(), UTC)),
                gt("invoiceDateTime", datetime.combine(latest, time(), UTC)),
            )
        ],
        include_fields=INVOICE_FIELDS,
    )
    return [
        f"Autotask invoice {r['id']} ({r.get('invoiceNumber') or 'no number'}) is dated "
        f"{str(r.get('invoiceDateTime'))[:10]}, which no atqbo run reaches (atqbo sends invoices dated "
        f"{EARLIEST_INVOICE_DATE} to {latest}): correct its date in Autotask (void it and invoice its items "
        "again with the right date)"
        for r in sorted(records, key=lambda r: int(r["id"]))
        if not r.get("isVoided") and not invoice_marked_synced(r, marker)
    ]


def read_bill_pairs(
    run: RunInfo, ledger: Ledger, autotask: AutotaskHook, qbo: QuickBooksOnlineHook
) -> list[DocumentPair]:
    """Every bill atqbo created from a PO in the window, both sides read in bulk."""
    by_note = find_atqbo_bills(qbo, run.start - BILL_LOOKUP_SLACK)  # created since: one paged query
    bills_by_id = _by_qbo_id(by_note)
    records = _sent_records(ledger, PURCHASE_ORDER, run.start, set(by_note), bills_by_id)
    ids = sorted(set(by_note) | set(records))
    if not ids:
        return []
    orders = {int(po["id"]): po for po in autotask.get_many("PurchaseOrders", ids, include_fields=PO_FIELDS)}
    items: dict[int, list[dict[str, Any]]] = {}
    for item in autotask.query_in("PurchaseOrderItems", "orderID", sorted(orders), include_fields=PO_ITEM_FIELDS):
        items.setdefault(int(item["orderID"]), []).append(item)
    canceled = _canceled_status(autotask) if orders else None
    bills_by_id.update(read_current(qbo, "Bill", _unread_qbo_ids(records, bills_by_id)))
    names = company_names(autotask, (po.get("vendorID") for po in orders.values()))
    pairs = []
    for autotask_id in ids:
        po = orders.get(autotask_id)
        vendor = names.get(po.get("vendorID"), "") if po else ""
        at_doc = autotask_po_doc(po, items.get(autotask_id, []), vendor, canceled) if po else None
        recorded = _recorded_qbo_id(records.get(autotask_id))
        pairs.append(pair_document(BILL, autotask_id, at_doc, recorded, by_note.get(autotask_id, []), bills_by_id))
    return pairs


def _sent_records(
    ledger: Ledger, entity: str, start: datetime, known_ids: set[int], known_qbo_ids: Iterable[str]
) -> dict[int, dict[str, Any]]:
    """The ledger's SYNCED records of ``entity`` in the reconciliation, by Autotask id: those of a
    record or QBO document already found, and those recorded in the window."""
    qbo_ids = set(known_qbo_ids)
    return {
        int(r["autotask_id"]): r
        for r in ledger.list_sync_records(entity=entity, status="SYNCED")
        if int(r["autotask_id"]) in known_ids or str(r.get("qbo_id")) in qbo_ids or _recorded_since(r, start)
    }


def _recorded_since(record: dict[str, Any], start: datetime) -> bool:
    updated = from_ts(record.get("updated_at"))
    return updated is not None and updated >= start


def _recorded_qbo_id(record: dict[str, Any] | None) -> str | None:
    return str(record["qbo_id"]) if record and record.get("qbo_id") else None


def _by_qbo_id(by_note: dict[int, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {str(d["Id"]): d for found in by_note.values() for d in found}


def _unread_qbo_ids(records: dict[int, dict[str, Any]], read: dict[str, dict[str, Any]]) -> list[str]:
    """The QBO documents the ledger recorded that the window's query did not return (to read by Id)."""
    return [str(r["qbo_id"]) for r in records.values() if r.get("qbo_id") and str(r["qbo_id"]) not in read]


def _canceled_status(autotask: AutotaskHook) -> Any:
    """The status value of a canceled PO, or None when this tenant has no "Canceled" status."""
    try:
        return autotask.picklist_value("PurchaseOrders", "status", CANCELED_LABEL)
    except AutotaskPicklistError as exc:  # a tenant that renamed the status: compare the rest all the same
        log.warning("PO cancellations are not compared: %s", exc)
        return None
