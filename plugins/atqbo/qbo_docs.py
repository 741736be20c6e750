"""atqbo's own documents in QuickBooks Online: how they are marked, found, read and told apart.

Every invoice and bill atqbo creates carries a PrivateNote that starts ``Autotask invoice {id}`` or
``Autotask PO {id}`` (``atqbo.qbo_notes``, re-exported here). It is how atqbo, and a person,
recognise them after a lost answer, a crash or a lost state database. QBO cannot filter on
PrivateNote, so atqbo reads a range (invoices by date, bills by creation time) and parses the
notes (``find_atqbo_invoices``, ``find_atqbo_bills``).

The ledger knows which QBO document each Autotask record became: it decides first, the note after
(``SentDocuments``, ``pick_document``). Current state is read in bulk (``read_current``); a document
no query returns is confirmed deleted by a read (QBO's 610), never assumed deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from atqbo.autotask_docs import iso_datetime
from atqbo.hooks.qbo import QboObjectNotFound, quote
from atqbo.qbo_notes import BILL_NOTE, INVOICE_NOTE, DocumentNote, is_voided, pick_document

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger

__all__ = [  # the notes are re-exported: a flow finds and tells apart its documents with one import
    "BILL_NOTE",
    "INVOICE_NOTE",
    "DocumentNote",
    "BILL_LOOKUP_SLACK",
    "SentDocuments",
    "TXN_DATE_SLACK",
    "applied_payment_ids",
    "find_atqbo_bills",
    "find_atqbo_invoices",
    "is_voided",
    "last_updated",
    "pick_document",
    "qbo_id_order",
    "read_current",
    "read_or_none",
]

log = logging.getLogger(__name__)

# Autotask's invoiceDateTime is UTC; the TxnDate atqbo wrote may be the local date: a day each way.
TXN_DATE_SLACK = timedelta(days=1)
# Clocks of Autotask and QBO differ: a bill atqbo created for a PO is created after it, give or take this.
BILL_LOOKUP_SLACK = timedelta(days=1)


def qbo_id_order(value: str) -> tuple[int, str]:
    """QBO Ids are numbers in text: a sort key that orders them as numbers."""
    return (int(value), "") if value.isdigit() else (0, value)


def applied_payment_ids(invoice: dict[str, Any] | None) -> list[str]:
    """The QBO payments applied to an invoice (its LinkedTxn of type Payment)."""
    links = (invoice or {}).get("LinkedTxn") or []
    return [str(link["TxnId"]) for link in links if link.get("TxnType") == "Payment" and link.get("TxnId")]


def last_updated(document: dict[str, Any]) -> datetime | None:
    """When QBO last changed the document (``MetaData.LastUpdatedTime``), aware; None when not given."""
    return iso_datetime((document.get("MetaData") or {}).get("LastUpdatedTime"))


# -- finding atqbo's documents ---------------------------------------------------------------------


def _by_note(documents: Iterable[dict[str, Any]], note: DocumentNote) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    for document in documents:
        autotask_id = note.autotask_id(document.get("PrivateNote"))
        if autotask_id is not None:
            found.setdefault(autotask_id, []).append(document)
    return found


def find_atqbo_invoices(qbo: QuickBooksOnlineHook, first: date, last: date) -> dict[int, list[dict[str, Any]]]:
    """atqbo's QBO invoices dated ``first`` to ``last``, by Autotask id, oldest first (an Overwrite
    copy makes two). One paged query; the notes are matched here."""
    where = [f"TxnDate >= {quote(first.isoformat())}", f"TxnDate <= {quote(last.isoformat())}"]
    return _by_note(qbo.query_all("Invoice", where=where, order_by="Id"), INVOICE_NOTE)


def find_atqbo_bills(qbo: QuickBooksOnlineHook, since: datetime) -> dict[int, list[dict[str, Any]]]:
    """atqbo's QBO bills created since ``since``, by Autotask PO id, oldest first.

    By creation time, not bill date: a bill atqbo made for a PO was created after the PO, whatever
    date a QBO user gives it since.
    """
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _by_note(qbo.query_all("Bill", where=[f"MetaData.CreateTime >= {quote(stamp)}"], order_by="Id"), BILL_NOTE)


# -- reading current state -------------------------------------------------------------------------


def read_or_none(qbo: QuickBooksOnlineHook, entity: str, qbo_id: str | int) -> dict[str, Any] | None:
    """One QBO document by Id, or None when QBO says it does not exist (610: deleted)."""
    try:
        return qbo.read(entity, qbo_id)
    except QboObjectNotFound:
        return None


def read_current(qbo: QuickBooksOnlineHook, entity: str, qbo_ids: Iterable[str | int]) -> dict[str, dict[str, Any]]:
    """The current QBO documents by Id (``Id IN (...)`` queries); one the queries miss is read on its
    own, and left out only when QBO says it is deleted (a query that misses it is not proof)."""
    ids = list(dict.fromkeys(str(i) for i in qbo_ids))
    found = qbo.get_many(entity, ids)
    for qbo_id in ids:
        if qbo_id in found:
            continue
        document = read_or_none(qbo, entity, qbo_id)
        if document is None:
            log.info("QBO %s Id=%s is deleted (610 on read)", entity, qbo_id)
        else:
            found[qbo_id] = document
    return found


# -- what the ledger says atqbo sent ---------------------------------------------------------------


class SentDocuments:
    """The ledger's SYNCED records of one entity: which QBO document each Autotask record became.

    The ledger decides first: a QBO document the ledger recorded belongs to that record, and a
    document whose note names a record the ledger sent as another document is not that record's.

    QBO Ids are per company (BEY-07): with ``realm_id`` given, a document is matched to a record
    only when the record went to that realm (a record without a realm, written before routes, is
    the ``default`` company's), and a note naming a record sent to another company is not its.
    Without ``realm_id`` (one company) the realm is not looked at.
    """

    def __init__(self, records: Iterable[dict[str, Any]], realm_id: str | None = None, default: bool = True):
        self.realm_id = realm_id
        self.default = default
        self.records = {int(r["autotask_id"]): r for r in records if r.get("qbo_id")}
        self._by_qbo_id = {str(r["qbo_id"]): autotask_id for autotask_id, r in self.records.items() if self.in_realm(r)}

    @classmethod
    def load(cls, ledger: Ledger, entity: str, realm_id: str | None = None, default: bool = True) -> SentDocuments:
        return cls(ledger.list_sync_records(entity=entity, status="SYNCED"), realm_id, default)

    def in_realm(self, record: dict[str, Any]) -> bool:
        """The record's document is in this company (always, when the realm is not looked at)."""
        if self.realm_id is None:
            return True
        realm = record.get("realm_id")
        return realm == self.realm_id if realm else self.default

    def qbo_id(self, autotask_id: int) -> str | None:
        record = self.records.get(int(autotask_id))
        return str(record["qbo_id"]) if record else None

    def owner(self, document: dict[str, Any], note: DocumentNote) -> int | None:
        """The Autotask record ``document`` stands for: the ledger's, else its note's (unless the
        ledger says that record went to another QBO document, or another company), else None."""
        qbo_id = str(document["Id"])
        if qbo_id in self._by_qbo_id:
            return self._by_qbo_id[qbo_id]
        from_note = note.autotask_id(document.get("PrivateNote"))
        if from_note is None:
            return None
        record = self.records.get(int(from_note))
        if record is not None and (str(record["qbo_id"]) != qbo_id or not self.in_realm(record)):
            log.info(
                "QBO document %s carries the note of Autotask record %s, but atqbo sent that record as QBO "
                "document %s (realm %s): not its",
                qbo_id,
                from_note,
                record["qbo_id"],
                record.get("realm_id") or "of the default company",
            )
            return None
        return from_note
