"""The reconciliation with several QBO companies (BEY-07): both sides of every document in the
window, each Autotask invoice or PO compared with the document in the QBO company it went to.

Which company a document went to (``home_of``, pure): the realm of its ledger record (a record
without one, written before routes, is the default company's); else, for a document atqbo never
recorded, the company whose books carry its note (the routes' one when several do); else the
routes' rule on its Autotask company (an invoice's ``companyID``, a PO's ``purchaseForCompanyID``).
QBO Ids are per company: a recorded Id is looked up in its company only, never in another.

Every company's books are read (atqbo's documents by their notes, in the window); a live document
carrying the note of a record that went to another company is a drift of its own (``elsewhere``).

A company that cannot be read (its connection missing, its token revoked, QBO refusing it) is
reported as such (``Unreached``): its documents are not compared, and the others are, as with one
company. Autotask's failure stops the run, as always (it is every company's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from atqbo.autotask_docs import company_names, invoice_marked_synced
from atqbo.companies import QboCompany, company_failure, company_of_record, run_companies, stopped_reason
from atqbo.hooks.autotask import AutotaskHook
from atqbo.ledger import Ledger
from atqbo.qbo_docs import (
    BILL_LOOKUP_SLACK,
    TXN_DATE_SLACK,
    find_atqbo_bills,
    find_atqbo_invoices,
    is_voided,
    read_current,
)
from atqbo.records import INVOICE as INVOICE_RECORD
from atqbo.records import PURCHASE_ORDER
from atqbo.routes import route_of
from atqbo.runs import RunInfo
from atqbo.tools.reconcile.model import BILL, INVOICE, AutotaskDoc, DocumentPair, autotask_name
from atqbo.tools.reconcile.read import (
    INVOICE_FIELDS,
    PO_FIELDS,
    PO_ITEM_FIELDS,
    _by_qbo_id,
    _canceled_status,
    _recorded_qbo_id,
    _recorded_since,
    marked_invoices,
)
from atqbo.tools.reconcile.sides import autotask_invoice_doc, autotask_po_doc, pair_document, qbo_doc

log = logging.getLogger(__name__)

PO_ROUTE_FIELDS = [*PO_FIELDS, "purchaseForCompanyID"]  # a PO goes where the company it is bought for routes


@dataclass
class CompanyBooks:
    """One company's documents of atqbo's, read for the reconciliation."""

    company: QboCompany
    invoices: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by Autotask id (their notes)
    bills: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    invoice_ids: dict[str, dict[str, Any]] = field(default_factory=dict)  # by QBO Id, in this company only
    bill_ids: dict[str, dict[str, Any]] = field(default_factory=dict)
    tax_source: str = ""

    @property
    def conn_id(self) -> str:
        return self.company.conn_id

    @property
    def readable(self) -> bool:
        return not self.company.problem and self.company.qbo is not None

    def stop(self, exc: BaseException) -> None:
        """What stopped this company's reads: the company is reported as not reached."""
        if not company_failure(exc):
            raise exc
        self.company.problem = stopped_reason(self.conn_id, exc)
        log.warning("%s", self.company.problem)


@dataclass
class Reconciled:
    """What the read gives the report: the pairs (each naming its company), each company's tax
    source, and what could not be compared, by company (``unreached``: conn id -> reason, documents)."""

    invoices: list[DocumentPair]
    bills: list[DocumentPair]
    tax_sources: dict[str, str]
    unreached: dict[str, dict[str, Any]]


def home_of(record_company: str | None, has_record: bool, found_in: Sequence[str], routed: str) -> str | None:
    """The company a document went to: its ledger record's (None: the record's realm is none of the
    run's companies); else the one whose books carry its note (the routed one among several); else
    the routes' rule. Pure."""
    if has_record:
        return record_company
    if found_in:
        return routed if routed in found_in else found_in[0]
    return routed


def read_by_company(run: RunInfo, ledger: Ledger, autotask: AutotaskHook) -> Reconciled:
    """Both sides of every document atqbo sent in the window, in every QBO company."""
    from atqbo.qbo_tax import read_qbo_company
    from atqbo.transform.invoices.tax import tax_source

    books = [CompanyBooks(c) for c in run_companies(run, ledger)]
    for book in books:
        if not book.readable:
            continue
        assert book.company.qbo is not None
        try:
            book.invoices = find_atqbo_invoices(
                book.company.qbo, run.start.date() - TXN_DATE_SLACK, run.end.date() + TXN_DATE_SLACK
            )
            book.bills = find_atqbo_bills(book.company.qbo, run.start - BILL_LOOKUP_SLACK)
            settings = book.company.run.parsed_settings
            company, _ = read_qbo_company(book.company.qbo, settings)
            book.tax_source = tax_source(company, settings)
        except Exception as exc:
            book.stop(exc)
        book.invoice_ids, book.bill_ids = _by_qbo_id(book.invoices), _by_qbo_id(book.bills)
    unreached: dict[str, dict[str, Any]] = {}
    invoices = _invoice_pairs(run, ledger, autotask, books, unreached)
    bills = _bill_pairs(run, ledger, autotask, books, unreached)
    for book in books:
        if book.company.problem:
            unreached.setdefault(book.conn_id, {"documents": []})["reason"] = book.company.problem
    return Reconciled(invoices, bills, {b.conn_id: b.tax_source for b in books if b.readable}, unreached)


def _invoice_pairs(
    run: RunInfo, ledger: Ledger, autotask: AutotaskHook, books: list[CompanyBooks], unreached: dict
) -> list[DocumentPair]:
    marker = run.parsed_settings.invoice_marker_field
    at_by_id = marked_invoices(run, autotask)
    found = {b.conn_id: b.invoices for b in books}
    records = _sent_records(ledger, INVOICE_RECORD, run.start, books, set(at_by_id), found, "invoice_ids")
    ids = sorted(
        {i for i, r in at_by_id.items() if invoice_marked_synced(r, marker)}
        | {i for docs in found.values() for i in docs}
        | set(records)
    )
    missing = [i for i in ids if i not in at_by_id]
    if missing:
        at_by_id.update(
            {int(r["id"]): r for r in autotask.get_many("Invoices", missing, include_fields=INVOICE_FIELDS)}
        )
    names = company_names(autotask, (at_by_id[i].get("companyID") for i in ids if i in at_by_id))

    def autotask_doc(autotask_id: int) -> tuple[AutotaskDoc | None, Any]:
        record = at_by_id.get(autotask_id)
        if record is None:
            return None, None
        return autotask_invoice_doc(record, names.get(record.get("companyID"), ""), marker), record.get("companyID")

    return _pairs(run, INVOICE, ids, records, books, autotask_doc, unreached)


def _bill_pairs(
    run: RunInfo, ledger: Ledger, autotask: AutotaskHook, books: list[CompanyBooks], unreached: dict
) -> list[DocumentPair]:
    found = {b.conn_id: b.bills for b in books}
    records = _sent_records(ledger, PURCHASE_ORDER, run.start, books, set(), found, "bill_ids")
    ids = sorted({i for docs in found.values() for i in docs} | set(records))
    if not ids:
        return []
    orders = {int(po["id"]): po for po in autotask.get_many("PurchaseOrders", ids, include_fields=PO_ROUTE_FIELDS)}
    items: dict[int, list[dict[str, Any]]] = {}
    for item in autotask.query_in("PurchaseOrderItems", "orderID", sorted(orders), include_fields=PO_ITEM_FIELDS):
        items.setdefault(int(item["orderID"]), []).append(item)
    canceled = _canceled_status(autotask) if orders else None
    names = company_names(autotask, (po.get("vendorID") for po in orders.values()))

    def autotask_doc(autotask_id: int) -> tuple[AutotaskDoc | None, Any]:
        po = orders.get(autotask_id)
        if po is None:
            return None, None
        doc = autotask_po_doc(po, items.get(autotask_id, []), names.get(po.get("vendorID"), ""), canceled)
        return doc, po.get("purchaseForCompanyID")

    return _pairs(run, BILL, ids, records, books, autotask_doc, unreached)


def _sent_records(
    ledger: Ledger,
    entity: str,
    start: Any,
    books: list[CompanyBooks],
    known_ids: set[int],
    found: dict[str, dict[int, list[dict[str, Any]]]],
    ids_attr: str,
) -> dict[int, dict[str, Any]]:
    """The ledger's SYNCED records of ``entity`` in the reconciliation: of a record or document found,
    of a QBO Id read in the record's own company, or recorded in the window."""
    companies = [b.company for b in books]
    by_conn = {b.conn_id: b for b in books}
    known = known_ids | {i for docs in found.values() for i in docs}
    out = {}
    for record in ledger.list_sync_records(entity=entity, status="SYNCED"):
        company = company_of_record(companies, record)
        in_books = company is not None and str(record.get("qbo_id")) in getattr(by_conn[company.conn_id], ids_attr)
        if int(record["autotask_id"]) in known or in_books or _recorded_since(record, start):
            out[int(record["autotask_id"])] = record
    return out


def _pairs(
    run: RunInfo,
    kind: str,
    ids: Iterable[int],
    records: dict[int, dict[str, Any]],
    books: list[CompanyBooks],
    autotask_doc: Callable[[int], tuple[AutotaskDoc | None, Any]],
    unreached: dict[str, dict[str, Any]],
) -> list[DocumentPair]:
    """Each document paired with the document in the company it went to; one whose company cannot
    be read is listed in ``unreached`` instead."""
    settings = run.parsed_settings
    companies = [b.company for b in books]
    by_conn = {b.conn_id: b for b in books}
    entity_ids = "invoice_ids" if kind == INVOICE else "bill_ids"
    home: dict[int, tuple[str | None, AutotaskDoc | None]] = {}
    for autotask_id in ids:
        at_doc, routed_by = autotask_doc(autotask_id)
        record = records.get(autotask_id)
        company = company_of_record(companies, record) if record else None
        found_in = [b.conn_id for b in books if autotask_id in _found(b, kind)]
        what = f"Autotask {autotask_name(kind)} {autotask_id}"
        routed = route_of(settings.routes, settings.qbo_conn_id, routed_by, (), what).qbo_conn_id
        conn_id = home_of(company.conn_id if company else None, record is not None, found_in, routed)
        home[autotask_id] = (conn_id, at_doc)
        if conn_id is None:
            realm = f"QBO realm {record['realm_id']}" if record else "?"
            unreached.setdefault(realm, {"documents": []})["reason"] = (
                f"atqbo sent documents to {realm}, which is none of the QBO companies of the settings "
                f"({', '.join(c.conn_id for c in companies)}) or one whose connection cannot be read"
            )
    # the recorded documents the window's queries missed: read by Id, each in its own company
    for book in books:
        wanted = [
            str(records[i]["qbo_id"])
            for i, (conn_id, _) in home.items()
            if conn_id == book.conn_id and i in records and records[i].get("qbo_id")
        ]
        wanted = [q for q in wanted if q not in getattr(book, entity_ids)]
        if wanted and book.readable:
            assert book.company.qbo is not None
            try:
                getattr(book, entity_ids).update(
                    read_current(book.company.qbo, "Invoice" if kind == INVOICE else "Bill", wanted)
                )
            except Exception as exc:
                book.stop(exc)
    pairs = []
    for autotask_id, (conn_id, at_doc) in home.items():
        book = by_conn.get(conn_id or "")
        if book is None or not book.readable:
            key = conn_id or f"QBO realm {records[autotask_id]['realm_id']}"
            label = at_doc.reference if at_doc else f"{autotask_name(kind)} {autotask_id}"
            unreached.setdefault(key, {"documents": []})["documents"].append(f"{label} (Autotask id {autotask_id})")
            continue
        recorded = _recorded_qbo_id(records.get(autotask_id))
        pair = pair_document(
            kind, autotask_id, at_doc, recorded, _found(book, kind).get(autotask_id, []), getattr(book, entity_ids)
        )
        elsewhere = tuple(
            f"{other.conn_id}: {qbo_doc(doc).label(kind)}"
            for other in books
            if other is not book and other.readable
            for doc in _found(other, kind).get(autotask_id, [])
            if not is_voided(doc)
        )
        pairs.append(replace(pair, qbo_company=book.conn_id, elsewhere=elsewhere))
    return pairs


def _found(book: CompanyBooks, kind: str) -> dict[int, list[dict[str, Any]]]:
    return book.invoices if kind == INVOICE else book.bills
