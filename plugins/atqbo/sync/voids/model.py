"""What the void sync's tasks pass each other: the voided Autotask invoices, each one's QBO target,
and the kinds of "nothing to void" a run reports once."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from atqbo.money import as_decimal

SETTLED = ("SYNCED", "SKIPPED")  # ledger statuses of a void with nothing left to do, already reported

# Why an invoice voided in Autotask had nothing to void in QBO: each skip's reason starts with one.
NOT_CREATED_BY_ATQBO = "not created by atqbo"
ALREADY_VOIDED = "already voided in QBO"
DELETED_IN_QBO = "deleted in QBO"

AUTOTASK_INVOICE_FIELDS = ["id", "invoiceNumber", "companyID", "invoiceTotal", "invoiceDateTime", "voidedDate"]


@dataclass(frozen=True)
class VoidedInvoice:
    """An Autotask invoice voided inside the window (what the rest of the run needs of it)."""

    autotask_id: int
    invoice_number: str | None
    company_id: int | None
    total: Decimal | None
    invoice_date: date | None
    voided_at: str | None  # Autotask's voidedDate, ISO-8601 UTC

    @classmethod
    def from_autotask(cls, record: dict[str, Any]) -> VoidedInvoice:
        raw_date = record.get("invoiceDateTime")
        total = record.get("invoiceTotal")
        return cls(
            autotask_id=int(record["id"]),
            invoice_number=record.get("invoiceNumber") or None,
            company_id=record.get("companyID"),
            total=None if total is None else as_decimal(total),
            invoice_date=date.fromisoformat(str(raw_date)[:10]) if raw_date else None,
            voided_at=record.get("voidedDate"),
        )


@dataclass(frozen=True)
class VoidTarget:
    """A voided Autotask invoice and the QBO invoice atqbo created for it (compact, for XCom).

    ``qbo_id`` is None when atqbo did not create one; ``found_by`` says how it was recognised
    ("ledger" or "private_note"); ``ambiguous_ids`` lists the QBO invoices when several carry
    the invoice's PrivateNote and none is clearly the one to void. ``qbo_conn_id`` is the QBO
    company the invoice went to (BEY-07); ``company_problem`` says why that company could not be
    used (the target fails with it, nothing recorded: the next run tries again).
    """

    autotask_id: int
    reference: str  # the Autotask invoice number, what a person recognises
    company: str = ""
    autotask_total: str | None = None
    qbo_id: str | None = None
    qbo_number: str | None = None
    found_by: str | None = None
    ambiguous_ids: tuple[str, ...] = ()
    qbo_conn_id: str | None = None
    company_problem: str = ""

    def to_xcom(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["ambiguous_ids"] = list(self.ambiguous_ids)
        return doc

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> VoidTarget:
        return cls(**{**doc, "ambiguous_ids": tuple(doc.get("ambiguous_ids") or ())})
