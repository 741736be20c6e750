"""Each side of a document built from the APIs' records (amounts to the cent, as each system rounds
them), and which of atqbo's QBO documents stands for an Autotask record (``pair_document``). No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from atqbo.autotask_docs import invoice_marked_synced, paid_on, po_marked_synced
from atqbo.money import as_decimal, cents, to_cents
from atqbo.qbo_docs import is_voided, pick_document
from atqbo.tools.reconcile.model import AutotaskDoc, DocumentPair, QboDoc
from atqbo.transform.invoices.items import TAX_ITEM_NAME


def autotask_invoice_doc(invoice: dict[str, Any], company: str, marker_field: str) -> AutotaskDoc:
    """An Autotask invoice as the comparison sees it; ``marker_field`` says whether atqbo marked it sent."""
    return AutotaskDoc(
        autotask_id=int(invoice["id"]),
        reference=str(invoice.get("invoiceNumber") or "").strip() or f"Autotask invoice {invoice['id']}",
        company=company,
        total=cents(invoice.get("invoiceTotal")),
        tax=cents(invoice.get("totalTaxValue")),
        voided=bool(invoice.get("isVoided")),
        paid_on=paid_on(invoice),
        marked_synced=invoice_marked_synced(invoice, marker_field),
    )


def autotask_po_doc(po: dict[str, Any], items: Iterable[dict[str, Any]], vendor: str, canceled: Any) -> AutotaskDoc:
    """A PO's total as its bill is made (each line quantity x unit cost, to the cent; PurchaseOrder.total).
    ``canceled`` is the status value of a canceled PO (None: unknown, no PO counts as canceled)."""
    total = sum((cents((i.get("quantity")) * as_decimal(i.get("unitCost"))) for i in items), Decimal(0))
    return AutotaskDoc(
        autotask_id=int(po["id"]),
        reference=f"PO {po['id']}",
        company=vendor,
        total=to_cents(total),
        voided=canceled is not None and po.get("status") == canceled,
        marked_synced=po_marked_synced(po),
        has_paid_state=False,
    )


def qbo_doc(record: dict[str, Any]) -> QboDoc:
    """A QBO invoice or bill as the comparison sees it."""
    return QboDoc(
        qbo_id=str(record["Id"]),
        doc_number=record.get("DocNumber") or None,
        total=cents(record.get("TotalAmt")),
        tax=cents((record.get("TxnTaxDetail") or {}).get("TotalTax")) + _tax_item_lines(record),
        balance=cents(record.get("Balance")),
        voided=is_voided(record),
    )


def _tax_item_lines(record: dict[str, Any]) -> Decimal:
    """Autotask's tax sent as lines of the tax item (INV-18, a company without sales tax in QBO)."""
    return sum(
        (
            cents(line.get("Amount"))
            for line in record.get("Line") or []
            if ((line.get("SalesItemLineDetail") or {}).get("ItemRef") or {}).get("name") == TAX_ITEM_NAME
        ),
        Decimal(0),
    )


def pair_document(
    kind: str,
    autotask_id: int,
    autotask: AutotaskDoc | None,
    recorded_qbo_id: str | None,
    by_note: list[dict[str, Any]],
    by_id: dict[str, dict[str, Any]],
) -> DocumentPair:
    """Which QBO document stands for this Autotask record (``qbo_docs.pick_document``): the one the
    ledger recorded while it exists (``by_id``: read by Id, whatever its note says now), else the live
    one carrying the PrivateNote (``by_note``), else the newest voided one. The other live ones
    carrying the note are duplicates."""
    recorded = by_id.get(recorded_qbo_id) if recorded_qbo_id else None
    copies = list(by_note)
    if recorded is not None and all(str(c["Id"]) != recorded_qbo_id for c in copies):
        copies.append(recorded)  # its note changed since: still the record's document, never its duplicate
    copies.sort(key=lambda r: _id_order(str(r["Id"])))
    chosen, others = pick_document(copies, recorded_qbo_id if recorded is not None else None)
    return DocumentPair(
        kind=kind,
        autotask_id=autotask_id,
        autotask=autotask,
        qbo=qbo_doc(chosen) if chosen is not None else None,
        recorded_qbo_id=recorded_qbo_id,
        extra_qbo_ids=tuple(str(r["Id"]) for r in others),
    )


def _id_order(value: str) -> tuple[int, str]:
    """QBO Ids are numbers in text: order them as numbers."""
    return (int(value), "") if value.isdigit() else (0, value)
