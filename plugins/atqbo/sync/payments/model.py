"""What the payment sync's tasks pass each other: what happened to a payment on an invoice
(``PaymentEvent``), the QBO invoices to look at (``InvoiceTarget``) and the find task's answer
(``PaymentScan``, one ``CompanyScan`` per QBO company)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from atqbo.money import money_text
from atqbo.runs import RunInfo

# Event kinds: what happened to a payment applied to an invoice.
APPLIED, VOIDED, DELETED, RETRY = "applied", "voided", "deleted", "retry"


@dataclass(frozen=True)
class PaymentEvent:
    """One thing that happened to a payment applied to an invoice, as CDC (or the ledger) told it."""

    kind: str  # applied | voided | deleted | retry
    payment_id: str | None = None
    txn_date: str | None = None  # the payment's TxnDate (yyyy-mm-dd), when known
    amount: str | None = None  # applied to this invoice by this payment line

    def describe(self) -> str:
        if self.kind == DELETED:
            return f"QBO payment {self.payment_id} was deleted"
        if self.kind == VOIDED:
            return f"QBO payment {self.payment_id} was voided"
        if self.kind == RETRY:
            return "retry of an earlier refusal"
        text = f"QBO payment {self.payment_id}"
        if self.txn_date:
            text += f" of {self.txn_date}"
        if self.amount is not None:
            text += f", {money_text(self.amount)} applied"
        return text


@dataclass(frozen=True)
class InvoiceTarget:
    """A QBO invoice some changed payment is (or was) applied to, with what happened to it."""

    qbo_invoice_id: str
    events: tuple[PaymentEvent, ...]
    autotask_id: int | None = None  # known when the ledger traced a deleted/voided payment to it

    def to_xcom(self) -> dict[str, Any]:
        return {
            "qbo_invoice_id": self.qbo_invoice_id,
            "autotask_id": self.autotask_id,
            "events": [asdict(e) for e in self.events],
        }

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> InvoiceTarget:
        return cls(
            qbo_invoice_id=str(doc["qbo_invoice_id"]),
            autotask_id=doc.get("autotask_id"),
            events=tuple(PaymentEvent(**e) for e in doc.get("events") or ()),
        )


@dataclass(frozen=True)
class CompanyScan:
    """What the find task read of one QBO company (BEY-07: each has its own CDC watermark)."""

    qbo_conn_id: str
    since: str  # ISO-8601 UTC
    until: str
    watermark_key: str
    advance: bool
    targets: tuple[InvoiceTarget, ...] = ()
    problem: str = ""  # why the company could not be read (its changes fail, its watermark stays)

    def to_xcom(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["targets"] = [t.to_xcom() for t in self.targets]
        return doc

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> CompanyScan:
        return cls(
            qbo_conn_id=doc["qbo_conn_id"],
            since=doc["since"],
            until=doc["until"],
            watermark_key=doc["watermark_key"],
            advance=bool(doc["advance"]),
            targets=tuple(InvoiceTarget.from_xcom(t) for t in doc.get("targets") or ()),
            problem=doc.get("problem") or "",
        )


@dataclass(frozen=True)
class PaymentScan:
    """``find_payment_changes``'s answer (XCom-ready through ``to_xcom``): the stretch read (the
    earliest company's start to now), the notes, and each QBO company's scan, the default first."""

    since: str  # ISO-8601 UTC
    until: str
    notes: tuple[str, ...] = ()
    companies: tuple[CompanyScan, ...] = ()

    @property
    def targets(self) -> tuple[InvoiceTarget, ...]:
        """Every company's targets."""
        return tuple(t for c in self.companies for t in c.targets)

    def to_xcom(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "notes": list(self.notes),
            "companies": [c.to_xcom() for c in self.companies],
        }

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> PaymentScan:
        return cls(
            since=doc["since"],
            until=doc["until"],
            notes=tuple(doc.get("notes") or ()),
            companies=tuple(CompanyScan.from_xcom(c) for c in doc.get("companies") or ()),
        )

    def run_with_window(self, run: RunInfo) -> RunInfo:
        """``run`` with its window set to what CDC read, so the report shows that."""
        return replace(run, window_start=self.since, window_end=self.until)
