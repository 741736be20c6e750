"""The reconciliation's data: one document as each system holds it (``AutotaskDoc``, ``QboDoc``),
the two paired (``DocumentPair``), the rules of a comparison (``Rules``) and one way a document
differs (``Drift``). Amounts are cents. A pair is staged in the ledger between the DAG's tasks, so
each side turns into a JSON-ready dict and back (``to_doc``, ``from_doc``). No I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

INVOICE, BILL = "invoice", "bill"  # document kinds

# Drift kinds, in the order a document's drifts are listed.
MISSING_IN_QBO = "missing in QBO"
NOT_IN_QBO = "marked synced, not in QBO"
MISSING_IN_AUTOTASK = "missing in Autotask"
MISSING_BOTH = "missing on both sides"
DUPLICATE = "duplicate in QBO"
ELSEWHERE = "in another QBO company"
VOID = "void state"
TOTAL = "total"
PAID = "paid state"


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
        name = document_name(kind)
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
    # BEY-07, several QBO companies: the company (connection id) the document went to, and atqbo's
    # live documents carrying its note in the other companies ("qbo_au: invoice 1003 (Id 12)")
    qbo_company: str = ""
    elsewhere: tuple[str, ...] = ()

    def to_doc(self) -> dict[str, Any]:
        doc = {
            "kind": self.kind,
            "autotask_id": self.autotask_id,
            "autotask": self.autotask.to_doc() if self.autotask else None,
            "qbo": self.qbo.to_doc() if self.qbo else None,
            "recorded_qbo_id": self.recorded_qbo_id,
            "extra_qbo_ids": list(self.extra_qbo_ids),
        }
        if self.qbo_company:
            doc.update(qbo_company=self.qbo_company, elsewhere=list(self.elsewhere))
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DocumentPair:
        return cls(
            kind=doc["kind"],
            autotask_id=int(doc["autotask_id"]),
            autotask=AutotaskDoc.from_doc(doc["autotask"]) if doc.get("autotask") else None,
            qbo=QboDoc.from_doc(doc["qbo"]) if doc.get("qbo") else None,
            recorded_qbo_id=doc.get("recorded_qbo_id"),
            extra_qbo_ids=tuple(doc.get("extra_qbo_ids") or ()),
            qbo_company=doc.get("qbo_company") or "",
            elsewhere=tuple(doc.get("elsewhere") or ()),
        )


@dataclass(frozen=True)
class Rules:
    """What the comparison depends on besides the two documents."""

    rounding_tolerance: Decimal = Decimal("0.01")
    tax_source: str = ""  # who computed QBO's invoice tax, for the message of a total drift (TAX-04)
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


def document_name(kind: str) -> str:
    """How the QBO side of a document kind is named: "invoice" or "bill"."""
    return "invoice" if kind == INVOICE else "bill"


def autotask_name(kind: str) -> str:
    """How the Autotask side of a document kind is named: "invoice" or "purchase order"."""
    return "invoice" if kind == INVOICE else "purchase order"
