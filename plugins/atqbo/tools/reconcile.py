"""Reconciliation (BEY-04): every document atqbo sent, compared between Autotask and QuickBooks Online.

Used by the ``atqbo_reconcile`` DAG. Read-only: nothing is written to Autotask or QBO; the only
writes are the run's own staging rows and run history in the state database.

Which documents are checked ("sent in the window", the last ``window_days`` days):

* invoices: the ledger's SYNCED ``invoice`` records (recorded in the window, or whose invoice is
  dated in it), QBO invoices dated in the window carrying atqbo's PrivateNote
  ``"Autotask invoice {id}"``, and Autotask invoices dated in the window that carry the synced
  marker (``invoice_marker_field``), so an invoice Autotask calls synced but QBO lacks is found too;
* bills: the ledger's SYNCED ``purchase_order`` records recorded in the window and QBO bills
  created in the window carrying ``"Autotask PO {id}"``.

What is compared, per document (the pure part: ``compare_document``):

* missing on either side: the QBO document deleted, the Autotask record gone, or an Autotask
  invoice marked synced with no QBO invoice of atqbo's at all;
* several live QBO documents carrying the same PrivateNote;
* total drift beyond ``rounding_tolerance``, in cents (the transform's ``as_decimal``/``to_cents``);
  under QBO's automated sales tax invoice totals are compared before tax, as ``compare_totals`` does
  after a create;
* void state: voided in one system and not the other (a PO is "voided" when Canceled);
* paid state (invoices): QBO balance 0 while Autotask has no paid date, and an Autotask paid date
  while QBO still shows a balance. Autotask POs have no paid state, so bills are not compared on it.

Reads are in bulk, never one per document: Autotask ``in`` queries of 500 ids, QBO ``query_all``
over the window's dates and ``Id IN (...)`` queries of 100. Only a QBO document the ledger
recorded and no query returned is read on its own, to confirm it was deleted (QBO's 610).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from atqbo.hooks.autotask import AutotaskHook, AutotaskPicklistError, exist, gte, in_, lte
from atqbo.hooks.qbo import QboObjectNotFound, QuickBooksOnlineHook, quote, where_in
from atqbo.ledger import Ledger, from_ts
from atqbo.money import as_decimal, cents, cents_text, to_cents
from atqbo.notify import ReportRow, RunReport, csv_table
from atqbo.qbo_notes import INVOICE_NOTE
from atqbo.records import INVOICE as INVOICE_ENTITY
from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.payments import autotask_paid_on
from atqbo.sync.purchase_orders import BILL_LOOKUP_SLACK, find_atqbo_bills
from atqbo.sync.purchase_orders import ENTITY as PO_ENTITY
from atqbo.sync.voids import TXN_DATE_SLACK, is_voided_in_qbo, load_company_names, read_qbo_invoices
from atqbo.transform.invoices import qbo_company_from_preferences

autotask_id_in_note = INVOICE_NOTE.autotask_id  # until this tool moves onto qbo_docs

log = logging.getLogger(__name__)

REPORT_TITLE = "atqbo reconciliation"
INVOICE, BILL = "invoice", "bill"  # document kinds
ERROR_MARKER = "ERROR"  # invoiceNumber of an invoice that failed (INV-20): not "synced"
CANCELED_LABEL = "Canceled"  # PurchaseOrders.status label of a canceled PO (its value is read from Autotask)

AUTOTASK_IN_CHUNK = 500  # ids per Autotask `in` query (a page holds 500)
QBO_IN_CHUNK = 100  # ids per QBO `Id IN (...)` query

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

# Drift kinds, in the order a document's drifts are listed.
MISSING_IN_QBO = "missing in QBO"
NOT_IN_QBO = "marked synced, not in QBO"
MISSING_IN_AUTOTASK = "missing in Autotask"
MISSING_BOTH = "missing on both sides"
DUPLICATE = "duplicate in QBO"
VOID = "void state"
TOTAL = "total"
PAID = "paid state"

STAGE_DOCUMENTS = "reconcile_document"  # ledger staging kind: one pair per document
STAGE_META = "reconcile_meta"

DOCUMENT_CSV_COLUMNS: tuple[str, ...] = (
    "document",
    "autotask_id",
    "reference",
    "company",
    "qbo_id",
    "qbo_number",
    "result",
    "drift",
    "autotask_total",
    "qbo_total",
    "autotask_voided",
    "qbo_voided",
    "autotask_paid_date",
    "qbo_balance",
    "details",
    "fix",
)
_CSV_TEXT_COLUMNS = frozenset({"reference", "company", "qbo_number", "drift", "details", "fix"})


# -- the two sides of one document (pure data) -----------------------------------------------------------


@dataclass(frozen=True)
class AutotaskDoc:
    """What the comparison needs of an Autotask invoice or purchase order, amounts in cents."""

    autotask_id: int
    reference: str  # what a person recognises: the invoice number, "PO {id}"
    company: str = ""
    total: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    voided: bool = False  # an invoice voided, a PO canceled
    paid_on: date | None = None
    marked_synced: bool = False  # the Autotask marker says it was sent
    has_paid_state: bool = True  # invoices have a paid date; POs do not

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.update(total=str(self.total), tax=str(self.tax), paid_on=self.paid_on.isoformat() if self.paid_on else None)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AutotaskDoc:
        paid_on = doc.get("paid_on")
        return cls(
            **{
                **doc,
                "total": Decimal(doc["total"]),
                "tax": Decimal(doc["tax"]),
                "paid_on": date.fromisoformat(paid_on) if paid_on else None,
            }
        )


@dataclass(frozen=True)
class QboDoc:
    """What the comparison needs of a QBO invoice or bill, amounts in cents."""

    qbo_id: str
    doc_number: str | None = None
    total: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")  # TxnTaxDetail.TotalTax
    balance: Decimal = Decimal("0")
    voided: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {**asdict(self), "total": str(self.total), "tax": str(self.tax), "balance": str(self.balance)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> QboDoc:
        return cls(
            **{**doc, "total": Decimal(doc["total"]), "tax": Decimal(doc["tax"]), "balance": Decimal(doc["balance"])}
        )

    def label(self, kind: str) -> str:
        """``invoice 1044 (Id 187)``, ``bill Id 95``: how a value names it (after "QBO")."""
        name = "invoice" if kind == INVOICE else "bill"
        return f"{name} {self.doc_number} (Id {self.qbo_id})" if self.doc_number else f"{name} Id {self.qbo_id}"

    def describe(self, kind: str) -> str:
        """``QBO invoice 1044 (Id 187)``: how a fix names it."""
        return f"QBO {self.label(kind)}"


@dataclass(frozen=True)
class DocumentPair:
    """One document atqbo sent, as each system holds it now (None: not there)."""

    kind: str  # invoice | bill
    autotask_id: int
    autotask: AutotaskDoc | None
    qbo: QboDoc | None
    recorded_qbo_id: str | None = None  # the QBO Id the ledger recorded when atqbo sent it
    extra_qbo_ids: tuple[str, ...] = ()  # other live QBO documents carrying the same PrivateNote

    def to_doc(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "autotask_id": self.autotask_id,
            "autotask": self.autotask.to_doc() if self.autotask else None,
            "qbo": self.qbo.to_doc() if self.qbo else None,
            "recorded_qbo_id": self.recorded_qbo_id,
            "extra_qbo_ids": list(self.extra_qbo_ids),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DocumentPair:
        return cls(
            kind=doc["kind"],
            autotask_id=int(doc["autotask_id"]),
            autotask=AutotaskDoc.from_doc(doc["autotask"]) if doc.get("autotask") else None,
            qbo=QboDoc.from_doc(doc["qbo"]) if doc.get("qbo") else None,
            recorded_qbo_id=doc.get("recorded_qbo_id"),
            extra_qbo_ids=tuple(doc.get("extra_qbo_ids") or ()),
        )


@dataclass(frozen=True)
class Rules:
    """What the comparison depends on besides the two documents."""

    rounding_tolerance: Decimal = Decimal("0.01")
    automated_sales_tax: bool = False  # QBO computes the tax: invoice totals are compared before tax
    marker_field: str = "webServiceDate"  # for the fixes: what to clear so atqbo sends an invoice again


@dataclass(frozen=True)
class Drift:
    """One way a document differs between the systems, with both values and the fix."""

    kind: str
    what: str  # what differs, in words
    autotask_value: str
    qbo_value: str
    fix: str

    def describe(self) -> str:
        return f"{self.what}: Autotask {self.autotask_value}, QBO {self.qbo_value}"


@dataclass(frozen=True)
class DocumentCheck:
    """The comparison's answer for one document."""

    pair: DocumentPair
    drifts: tuple[Drift, ...] = ()
    notes: tuple[str, ...] = ()  # agreeing details worth a line in the CSV (a rounding difference)

    @property
    def agrees(self) -> bool:
        return not self.drifts

    @property
    def reference(self) -> str:
        """The invoice number or "PO {id}"; blank when the Autotask record is gone (the report shows its id)."""
        if self.pair.autotask:
            return self.pair.autotask.reference
        return f"PO {self.pair.autotask_id}" if self.pair.kind == BILL else ""

    def report_row(self) -> ReportRow:
        """The report's row for a drifted document: every drift with both values, and the fixes."""
        at, qbo = self.pair.autotask, self.pair.qbo
        return ReportRow(
            outcome="warning",
            entity=INVOICE_ENTITY if self.pair.kind == INVOICE else PO_ENTITY,
            autotask_id=self.pair.autotask_id,
            reference=self.reference,
            company=at.company if at else "",
            qbo_id=qbo.qbo_id if qbo else self.pair.recorded_qbo_id,
            qbo_number=qbo.doc_number if qbo else None,
            autotask_total=at.total if at else None,
            qbo_total=qbo.total if qbo else None,
            reason="; ".join(d.describe() for d in self.drifts),
            fix=" ".join(_sentence(d.fix) for d in self.drifts),
        )

    def csv_cells(self) -> dict[str, Any]:
        at, qbo = self.pair.autotask, self.pair.qbo
        return {
            "document": self.pair.kind,
            "autotask_id": self.pair.autotask_id,
            "reference": self.reference,
            "company": at.company if at else "",
            "qbo_id": qbo.qbo_id if qbo else (self.pair.recorded_qbo_id or ""),
            "qbo_number": (qbo.doc_number or "") if qbo else "",
            "result": "agrees" if self.agrees else "drift",
            "drift": "; ".join(d.kind for d in self.drifts),
            "autotask_total": str(at.total) if at else "",
            "qbo_total": str(qbo.total) if qbo else "",
            "autotask_voided": _yes_no(at.voided) if at else "",
            "qbo_voided": _yes_no(qbo.voided) if qbo else "",
            "autotask_paid_date": (at.paid_on.isoformat() if at.paid_on else "") if at else "",
            "qbo_balance": str(qbo.balance) if qbo else "",
            "details": "; ".join([*(d.describe() for d in self.drifts), *self.notes]),
            "fix": " ".join(_sentence(d.fix) for d in self.drifts),
        }


# -- 1. the comparison (pure) ------------------------------------------------------------------------------


def compare_documents(pairs: Iterable[DocumentPair], rules: Rules) -> list[DocumentCheck]:
    """Every pair compared, invoices then bills, each in Autotask id order."""
    order = {INVOICE: 0, BILL: 1}
    return [compare_document(p, rules) for p in sorted(pairs, key=lambda p: (order.get(p.kind, 9), p.autotask_id))]


def compare_document(pair: DocumentPair, rules: Rules) -> DocumentCheck:
    """One document: missing, duplicated, void, total and paid drift (in that order), or agreement."""
    at, qbo = pair.autotask, pair.qbo
    if at is None or qbo is None:
        return _compare_missing(pair, rules)
    drifts: list[Drift] = []
    notes: list[str] = []
    if pair.extra_qbo_ids:
        drifts.append(_duplicate_drift(pair, qbo, list(pair.extra_qbo_ids)))
    if at.voided != qbo.voided:
        drifts.append(_void_drift(pair, at, qbo, rules))
    elif not at.voided:  # both voided: nothing is owed on either side, totals and payments do not matter
        total = _total_drift(pair, at, qbo, rules, notes)
        if total:
            drifts.append(total)
        paid = _paid_drift(pair, at, qbo)
        if paid:
            drifts.append(paid)
    return DocumentCheck(pair, tuple(drifts), tuple(notes))


def _compare_missing(pair: DocumentPair, rules: Rules) -> DocumentCheck:
    at, qbo = pair.autotask, pair.qbo
    name = _name(pair.kind)
    if at is None and qbo is None:
        recorded = f"{name} Id {pair.recorded_qbo_id}" if pair.recorded_qbo_id else f"no {name}"
        return DocumentCheck(
            pair,
            (
                Drift(
                    MISSING_BOTH,
                    f"atqbo sent this {_autotask_name(pair.kind)} but neither side has it any more",
                    "no such record",
                    f"{recorded} deleted",
                    "nothing to do if both were removed on purpose; otherwise restore them from each system's audit "
                    "trail",
                ),
            ),
        )
    if at is None:
        assert qbo is not None
        return DocumentCheck(
            pair,
            (
                Drift(
                    MISSING_IN_AUTOTASK,
                    f"the Autotask {_autotask_name(pair.kind)} (id {pair.autotask_id}) no longer exists",
                    "no such record",
                    f"{qbo.label(pair.kind)}{' (voided)' if qbo.voided else ''}",
                    f"if it was removed from Autotask on purpose, {'delete' if pair.kind == BILL else 'void'} "
                    f"{qbo.describe(pair.kind)} in QBO; otherwise find out in Autotask why it is gone",
                ),
            ),
        )
    assert at is not None
    if at.voided:
        # Voided in Autotask and gone from QBO: nothing is owed on either side.
        note = f"voided in Autotask and not in QBO ({name} deleted): both say nothing is owed"
        return DocumentCheck(pair, notes=(note,))
    if pair.recorded_qbo_id:
        return DocumentCheck(
            pair,
            (
                Drift(
                    MISSING_IN_QBO,
                    f"the QBO {name} atqbo created was deleted",
                    f"{at.reference} total {cents_text(at.total)}",
                    f"{name} Id {pair.recorded_qbo_id} deleted",
                    _resend_fix(pair.kind, rules),
                ),
            ),
        )
    return DocumentCheck(
        pair,
        (
            Drift(
                NOT_IN_QBO,
                f"Autotask marks it sent ({rules.marker_field if pair.kind == INVOICE else 'External PO Number'} is "
                "set) "
                f"but QBO has no {name} of atqbo's for it",
                f"{at.reference} marked synced, total {cents_text(at.total)}",
                f"no {name} with PrivateNote '{_note(pair)}'",
                f"if it was never sent, {_resend_fix(pair.kind, rules)}; if it reached QBO another way (before atqbo, "
                "or typed in by hand), nothing to do",
            ),
        ),
    )


def _duplicate_drift(pair: DocumentPair, qbo: QboDoc, extras: list[str]) -> Drift:
    name = _name(pair.kind)
    ids = ", ".join([qbo.qbo_id, *extras])
    return Drift(
        DUPLICATE,
        f"more than one QBO {name} carries PrivateNote '{_note(pair)}'",
        "one document",
        f"{name}s Ids {ids}",
        f"keep {qbo.describe(pair.kind)} and delete or void the other copies (Ids {', '.join(extras)}) in QBO",
    )


def _void_drift(pair: DocumentPair, at: AutotaskDoc, qbo: QboDoc, rules: Rules) -> Drift:
    qbo_name, qbo_label = qbo.describe(pair.kind), qbo.label(pair.kind)
    if pair.kind == BILL:
        if at.voided:
            return Drift(
                VOID,
                "canceled in Autotask, not in QBO",
                "PO canceled",
                f"{qbo_label} open",
                f"delete (or void) {qbo_name} in QBO, or reopen the PO in Autotask if canceling it was a mistake",
            )
        return Drift(
            VOID,
            "voided in QBO, not canceled in Autotask",
            "PO not canceled",
            f"{qbo_label} voided",
            "cancel the PO in Autotask too, or re-enter the bill in QBO if voiding it was a mistake",
        )
    if at.voided:
        return Drift(
            VOID,
            "voided in Autotask, not in QBO",
            "voided",
            "not voided",
            f"void {qbo_name} in QBO (with void_sync_enabled the atqbo_invoice_voids DAG does this once the void "
            "is inside void_lookback_days)",
        )
    return Drift(
        VOID,
        "voided in QBO, not in Autotask",
        "not voided",
        "voided",
        f"void invoice {at.reference} in Autotask too; if voiding {qbo_name} was a mistake, re-enter it in QBO by hand",
    )


def invoice_amounts(at: AutotaskDoc, qbo: QboDoc, rules: Rules) -> tuple[Decimal, Decimal, str]:
    """(Autotask amount, QBO amount, basis) compared for total drift; without tax under automated sales tax."""
    if rules.automated_sales_tax:
        return at.total - at.tax, qbo.total - qbo.tax, "total before tax"
    return at.total, qbo.total, "total"


def _total_drift(pair: DocumentPair, at: AutotaskDoc, qbo: QboDoc, rules: Rules, notes: list[str]) -> Drift | None:
    if pair.kind == INVOICE:
        at_amount, qbo_amount, basis = invoice_amounts(at, qbo, rules)
    else:
        at_amount, qbo_amount, basis = at.total, qbo.total, "total"
    difference = qbo_amount - at_amount
    if difference == 0:
        return None
    if abs(difference) <= rules.rounding_tolerance:
        notes.append(f"{basis} differs by {difference:+} (within rounding_tolerance {rules.rounding_tolerance})")
        return None
    if pair.kind == INVOICE:
        fix = (
            f"compare the lines of {qbo.describe(pair.kind)} with Autotask invoice {at.reference} and correct "
            "the one that is wrong (a changed QBO invoice is not sent again by atqbo)"
        )
    else:
        fix = f"correct {qbo.describe(pair.kind)} in QBO to match the PO's items (or the PO in Autotask)"
    return Drift(TOTAL, f"{basis} differs by {difference:+}", cents_text(at_amount), cents_text(qbo_amount), fix)


def _paid_drift(pair: DocumentPair, at: AutotaskDoc, qbo: QboDoc) -> Drift | None:
    if not at.has_paid_state or pair.kind != INVOICE:
        return None
    qbo_paid = qbo.balance == 0 and qbo.total != 0  # a zero invoice has nothing to pay
    balance = f"balance {cents_text(qbo.balance)} of {cents_text(qbo.total)}"
    if qbo_paid and at.paid_on is None:
        return Drift(
            PAID,
            "paid in full in QBO, not paid in Autotask",
            "no paid date",
            f"{balance} (paid)",
            f"mark it paid in Autotask: atqbo_mark_invoice_paid with invoice number {at.reference} and the "
            "payment's date (with payment_sync_enabled the hourly atqbo_payments DAG does this for new payments)",
        )
    if at.paid_on is not None and qbo.balance > 0:
        return Drift(
            PAID,
            "paid in Autotask, money still owed in QBO",
            f"paid on {at.paid_on}",
            balance,
            f"record the payment against {qbo.describe(pair.kind)} in QBO; if the Autotask paid date was set by "
            "mistake, clear it there (atqbo never clears a paid date)",
        )
    return None


def _resend_fix(kind: str, rules: Rules) -> str:
    if kind == BILL:
        return (
            "clear the PO's External PO Number in Autotask and the next atqbo_purchase_orders run creates the bill "
            "again (while the PO is Submitted and inside po_lookback_days)"
        )
    return (
        f"clear the Autotask invoice's {rules.marker_field} and the next atqbo_invoices run sends it again (while it "
        "is inside invoice_lookback_days); if it should not be in QBO, void it in Autotask"
    )


def _name(kind: str) -> str:
    return "invoice" if kind == INVOICE else "bill"


def _autotask_name(kind: str) -> str:
    return "invoice" if kind == INVOICE else "purchase order"


def _note(pair: DocumentPair) -> str:
    return f"Autotask invoice {pair.autotask_id}" if pair.kind == INVOICE else f"Autotask PO {pair.autotask_id}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


# -- building each side from API records (pure) -------------------------------------------------------------


def is_marked_synced(invoice: dict[str, Any], marker_field: str) -> bool:
    """The Autotask invoice carries atqbo's "sent" marker (an ERROR in invoiceNumber mode is a failure)."""
    value = str(invoice.get(marker_field) or "").strip()
    return bool(value) and not (marker_field == "invoiceNumber" and value.upper() == ERROR_MARKER)


def autotask_invoice_doc(invoice: dict[str, Any], company: str, marker_field: str) -> AutotaskDoc:
    return AutotaskDoc(
        autotask_id=int(invoice["id"]),
        reference=str(invoice.get("invoiceNumber") or "").strip() or f"Autotask invoice {invoice['id']}",
        company=company,
        total=cents(invoice.get("invoiceTotal")),
        tax=cents(invoice.get("totalTaxValue")),
        voided=bool(invoice.get("isVoided")),
        paid_on=autotask_paid_on(invoice),
        marked_synced=is_marked_synced(invoice, marker_field),
    )


def autotask_po_doc(po: dict[str, Any], items: Iterable[dict[str, Any]], vendor: str, canceled: Any) -> AutotaskDoc:
    """A PO's total as its bill is made (each line quantity x unit cost, to the cent; PurchaseOrder.total)."""
    total = sum((cents((i.get("quantity")) * as_decimal(i.get("unitCost"))) for i in items), Decimal(0))
    external = str(po.get("externalPONumber") or "").strip()
    return AutotaskDoc(
        autotask_id=int(po["id"]),
        reference=f"PO {po['id']}",
        company=vendor,
        total=to_cents(total),
        voided=canceled is not None and po.get("status") == canceled,
        marked_synced=bool(external) and external.upper() != ERROR_MARKER,
        has_paid_state=False,
    )


def qbo_doc(record: dict[str, Any]) -> QboDoc:
    return QboDoc(
        qbo_id=str(record["Id"]),
        doc_number=record.get("DocNumber") or None,
        total=cents(record.get("TotalAmt")),
        tax=cents((record.get("TxnTaxDetail") or {}).get("TotalTax")),
        balance=cents(record.get("Balance")),
        voided=is_voided_in_qbo(record),
    )


def pair_document(
    kind: str,
    autotask_id: int,
    autotask: AutotaskDoc | None,
    recorded_qbo_id: str | None,
    by_note: list[dict[str, Any]],
    by_id: dict[str, dict[str, Any]],
) -> DocumentPair:
    """Which QBO document stands for this Autotask record: the one the ledger recorded while it
    exists, else the live one carrying the PrivateNote (else the newest voided one). The other
    live ones carrying the note are duplicates."""
    recorded = by_id.get(recorded_qbo_id) if recorded_qbo_id else None
    notes = sorted(by_note, key=lambda r: _id_key(str(r["Id"])))
    live = [r for r in notes if not is_voided_in_qbo(r)]
    chosen = recorded or (live[0] if live else (notes[-1] if notes else None))
    extras = tuple(str(r["Id"]) for r in live if chosen is None or str(r["Id"]) != str(chosen["Id"]))
    return DocumentPair(
        kind=kind,
        autotask_id=autotask_id,
        autotask=autotask,
        qbo=qbo_doc(chosen) if chosen is not None else None,
        recorded_qbo_id=recorded_qbo_id,
        extra_qbo_ids=extras,
    )


# -- 2. reading both sides (I/O) ----------------------------------------------------------------------------


def _recorded_in_window(record: dict[str, Any], start: datetime) -> bool:
    updated = from_ts(record.get("updated_at"))
    return updated is not None and updated >= start


def read_invoice_pairs(
    run: RunInfo, ledger: Ledger, autotask: AutotaskHook, qbo: QuickBooksOnlineHook
) -> list[DocumentPair]:
    """Every invoice atqbo sent in the window, both sides read in bulk."""
    settings: Settings = run.parsed_settings
    marker = settings.invoice_marker_field
    marked = autotask.query_all(
        "Invoices",
        [gte("invoiceDateTime", run.start), lte("invoiceDateTime", run.end), exist(marker)],
        include_fields=INVOICE_FIELDS,
    )
    at_by_id = {int(r["id"]): r for r in marked}
    first = run.start.date() - TXN_DATE_SLACK
    last = run.end.date() + TXN_DATE_SLACK
    where = [f"TxnDate >= {quote(first.isoformat())}", f"TxnDate <= {quote(last.isoformat())}"]
    by_note: dict[int, list[dict[str, Any]]] = {}
    qbo_by_id: dict[str, dict[str, Any]] = {}
    for invoice in qbo.query_all("Invoice", where=where, order_by="Id"):
        autotask_id = autotask_id_in_note(invoice.get("PrivateNote"))
        if autotask_id is not None:
            by_note.setdefault(autotask_id, []).append(invoice)
            qbo_by_id[str(invoice["Id"])] = invoice
    records = {
        int(r["autotask_id"]): r
        for r in ledger.list_sync_records(entity=INVOICE_ENTITY, status="SYNCED")
        if int(r["autotask_id"]) in at_by_id
        or int(r["autotask_id"]) in by_note
        or str(r.get("qbo_id")) in qbo_by_id
        or _recorded_in_window(r, run.start)
    }
    ids = sorted({i for i, r in at_by_id.items() if is_marked_synced(r, marker)} | set(by_note) | set(records))
    missing = [i for i in ids if i not in at_by_id]
    if missing:
        # dated outside the window (a QBO date changed, recorded in the window): one `in` query per 500
        found = autotask.get_many("Invoices", missing, chunk_size=AUTOTASK_IN_CHUNK, include_fields=INVOICE_FIELDS)
        at_by_id.update({int(record["id"]): record for record in found})
    unread = [str(r["qbo_id"]) for r in records.values() if r.get("qbo_id") and str(r["qbo_id"]) not in qbo_by_id]
    if unread:
        qbo_by_id.update(read_qbo_invoices(qbo, unread))  # Id IN (...) in chunks; a missing one confirmed by a read
    names = load_company_names(autotask, (at_by_id[i].get("companyID") for i in ids if i in at_by_id))
    pairs = []
    for autotask_id in ids:
        record = at_by_id.get(autotask_id)
        at_doc = autotask_invoice_doc(record, names.get(record.get("companyID"), ""), marker) if record else None
        ledger_record = records.get(autotask_id)
        recorded = str(ledger_record["qbo_id"]) if ledger_record and ledger_record.get("qbo_id") else None
        pairs.append(pair_document(INVOICE, autotask_id, at_doc, recorded, by_note.get(autotask_id, []), qbo_by_id))
    return pairs


def read_bill_pairs(
    run: RunInfo, ledger: Ledger, autotask: AutotaskHook, qbo: QuickBooksOnlineHook
) -> list[DocumentPair]:
    """Every bill atqbo created from a PO in the window, both sides read in bulk."""
    by_note = find_atqbo_bills(qbo, run.start - BILL_LOOKUP_SLACK)  # created since: one paged query
    bills_by_id = {str(b["Id"]): b for found in by_note.values() for b in found}
    records = {
        int(r["autotask_id"]): r
        for r in ledger.list_sync_records(entity=PO_ENTITY, status="SYNCED")
        if int(r["autotask_id"]) in by_note or str(r.get("qbo_id")) in bills_by_id or _recorded_in_window(r, run.start)
    }
    ids = sorted(set(by_note) | set(records))
    if not ids:
        return []
    orders = {
        int(po["id"]): po
        for po in autotask.get_many("PurchaseOrders", ids, chunk_size=AUTOTASK_IN_CHUNK, include_fields=PO_FIELDS)
    }
    items: dict[int, list[dict[str, Any]]] = {}
    found = sorted(orders)
    for start in range(0, len(found), AUTOTASK_IN_CHUNK):
        chunk = found[start : start + AUTOTASK_IN_CHUNK]
        for item in autotask.query_all("PurchaseOrderItems", [in_("orderID", chunk)], include_fields=PO_ITEM_FIELDS):
            items.setdefault(int(item["orderID"]), []).append(item)
    canceled = None
    if orders:
        try:
            canceled = autotask.picklist_value("PurchaseOrders", "status", CANCELED_LABEL)
        except AutotaskPicklistError as exc:  # a tenant that renamed the status: compare the rest all the same
            log.warning("PO cancellations are not compared: %s", exc)
    unread = [str(r["qbo_id"]) for r in records.values() if r.get("qbo_id") and str(r["qbo_id"]) not in bills_by_id]
    if unread:
        bills_by_id.update(read_qbo_bills(qbo, unread))
    names = load_company_names(autotask, (po.get("vendorID") for po in orders.values()))
    pairs = []
    for autotask_id in ids:
        po = orders.get(autotask_id)
        at_doc = (
            autotask_po_doc(po, items.get(autotask_id, []), names.get(po.get("vendorID"), ""), canceled) if po else None
        )
        record = records.get(autotask_id)
        recorded = str(record["qbo_id"]) if record and record.get("qbo_id") else None
        pairs.append(pair_document(BILL, autotask_id, at_doc, recorded, by_note.get(autotask_id, []), bills_by_id))
    return pairs


def read_qbo_bills(qbo: QuickBooksOnlineHook, qbo_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Current QBO bills by Id (``Id IN (...)``); one a query misses is confirmed deleted by a read (610)."""
    ids = list(dict.fromkeys(str(i) for i in qbo_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), QBO_IN_CHUNK):
        for bill in qbo.query_all("Bill", where=where_in("Id", ids[start : start + QBO_IN_CHUNK])):
            found[str(bill["Id"])] = bill
    for qbo_id in ids:
        if qbo_id in found:
            continue
        try:
            found[qbo_id] = qbo.read("Bill", qbo_id)
        except QboObjectNotFound:
            log.info("QBO bill Id=%s is deleted (610 on read)", qbo_id)
    return found


def read_documents(run: RunInfo) -> dict[str, Any]:
    """Task 2: read both sides of every document in the window and stage the pairs; returns counts."""
    ledger = run.ledger()
    ledger.create_schema()
    autotask = run.autotask()
    qbo = run.qbo(ledger)
    invoices = read_invoice_pairs(run, ledger, autotask, qbo)
    bills = read_bill_pairs(run, ledger, autotask, qbo)
    ast = False
    if invoices:
        ast = qbo_company_from_preferences(qbo.preferences(), run.parsed_settings).automated_sales_tax
    ledger.stage_clear(run.run_key)
    ledger.stage_put(run.run_key, STAGE_DOCUMENTS, {f"{p.kind}:{p.autotask_id}": p.to_doc() for p in invoices + bills})
    ledger.stage_put(run.run_key, STAGE_META, {"automated_sales_tax": ast})
    log.info(
        "read %d invoice(s) and %d bill(s) atqbo sent %s (%d Autotask calls)",
        len(invoices),
        len(bills),
        run.describe_window(),
        autotask.total_calls,
    )
    return {"invoices": len(invoices), "bills": len(bills), "autotask_calls": autotask.total_calls}


# -- 3. the report ------------------------------------------------------------------------------------------


def build_reconcile_report(run: RunInfo, checks: list[DocumentCheck], automated_sales_tax: bool) -> RunReport:
    """One warning row per drifted document, the counts as notes, every document in a CSV attachment."""
    invoices = sum(1 for c in checks if c.pair.kind == INVOICE)
    bills = len(checks) - invoices
    agreeing = sum(1 for c in checks if c.agrees)
    drifted = len(checks) - agreeing
    counts = (
        f"{len(checks)} document(s) checked ({invoices} invoice(s), {bills} bill(s) from purchase orders): "
        f"{agreeing} in agreement, {drifted} with drift"
    )
    notes = [counts + (": all agree between Autotask and QBO" if not drifted and checks else "")]
    if not checks:
        notes = ["no documents sent by atqbo in the window: nothing to compare"]
    if automated_sales_tax:
        notes.append("QBO computes sales tax (automated sales tax): invoice totals are compared before tax")
    settings = run.parsed_settings
    notes.append(
        f"totals agree within rounding_tolerance {settings.rounding_tolerance}; read-only: nothing was changed in "
        "Autotask or QBO"
    )
    report = RunReport(
        title=REPORT_TITLE,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=f"documents sent {run.describe_window()}",
        rows=[c.report_row() for c in checks if not c.agrees],
        notes=notes,
        always_email=True,
        headline=(f"{len(checks)} checked, " + (f"{drifted} with drift" if drifted else "all agree"))
        if checks
        else "nothing sent in the window",
    )
    report.attachments[documents_csv_filename(report)] = documents_csv(checks)
    return report


def documents_csv_filename(report: RunReport) -> str:
    return report.csv_filename().removesuffix(".csv") + "-documents.csv"


def documents_csv(checks: Iterable[DocumentCheck]) -> str:
    """One line per document checked (``DOCUMENT_CSV_COLUMNS``), RFC 4180 quoting, CRLF line ends."""
    return csv_table(DOCUMENT_CSV_COLUMNS, (check.csv_cells() for check in checks), _CSV_TEXT_COLUMNS)


def staged_checks(run: RunInfo, ledger: Ledger) -> tuple[list[DocumentCheck], bool]:
    """The staged pairs compared under the run's settings; and whether QBO computes tax."""
    settings = run.parsed_settings
    meta = ledger.stage_get(run.run_key, STAGE_META)
    ast = bool(meta.get("automated_sales_tax"))
    rules = Rules(
        rounding_tolerance=settings.rounding_tolerance,
        automated_sales_tax=ast,
        marker_field=settings.invoice_marker_field,
    )
    pairs = [DocumentPair.from_doc(d) for d in ledger.stage_get(run.run_key, STAGE_DOCUMENTS).values()]
    return compare_documents(pairs, rules), ast


def report_reconciliation(run: RunInfo) -> dict[str, int]:
    """Task 3: compare, then log and email the report (always) and record the run; staging cleared."""
    ledger = run.ledger()
    checks, ast = staged_checks(run, ledger)
    report = build_reconcile_report(run, checks, ast)
    run.publish(report, ledger)
    ledger.stage_clear(run.run_key)
    agreeing = sum(1 for c in checks if c.agrees)
    return {"checked": len(checks), "agree": agreeing, "drift": len(checks) - agreeing}


def _id_key(value: str) -> tuple[int, str]:
    """QBO Ids are numbers in text: order them as numbers."""
    return (int(value), "") if value.isdigit() else (0, value)
