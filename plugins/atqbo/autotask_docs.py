"""What atqbo reads and writes on Autotask's invoices and purchase orders the same way in every flow:
its markers (the field that says a record was sent, or ``ERROR`` when it failed), paid dates, and
the names of the companies the records belong to.

A sent invoice carries a value in the settings' ``invoice_marker_field`` (``webServiceDate``, or
``invoiceNumber`` as the vendor app did); a sent purchase order its bill's number in
``externalPONumber``. A record that failed carries ``ERROR`` there instead (invoices only in
``invoiceNumber`` mode): clearing it makes the next run try again (INV-20, PO-07).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from atqbo.records import INVOICE, PURCHASE_ORDER

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook

ERROR_MARKER = "ERROR"
# What atqbo reads of an Autotask billing code: its item name, number, description, price, state
# (the invoice sync's items, INV-06/07, and the item tools, TOOL-01/02).
BILLING_CODE_FIELDS = ["id", "name", "externalNumber", "description", "unitPrice", "isActive", "taxCategoryID"]
# The Autotask entity and field that hold a record's ERROR marker, by ledger entity.
ERROR_MARKER_FIELDS: dict[str, tuple[str, str]] = {
    INVOICE: ("Invoices", "invoiceNumber"),
    PURCHASE_ORDER: ("PurchaseOrders", "externalPONumber"),
}


def is_blank(value: Any) -> bool:
    """A marker field that says nothing: null, empty or only blanks (LINE-03). Decided here, not by an
    Autotask ``notExist`` filter: that does not match a field cleared to ``""``."""
    return not str(value or "").strip()


def is_error_marker(value: Any) -> bool:
    """The field holds atqbo's ERROR marker (any case, surrounding blanks ignored)."""
    return str(value or "").strip().upper() == ERROR_MARKER


def invoice_marked_synced(invoice: dict[str, Any], marker_field: str) -> bool:
    """The Autotask invoice carries atqbo's "sent" marker (an ERROR marker is a failure, not a send)."""
    value = invoice.get(marker_field)
    return not is_blank(value) and not is_error_marker(value)


def po_marked_synced(po: dict[str, Any]) -> bool:
    """The Autotask PO's External PO Number holds a bill number (not blank, not ERROR)."""
    value = po.get("externalPONumber")
    return not is_blank(value) and not is_error_marker(value)


def iso_datetime(value: Any) -> datetime | None:
    """An API timestamp as Autotask and QBO write them (``2026-03-02T11:45:00Z``, ISO-8601) as an
    aware datetime (UTC when it names no zone); None when blank or not a timestamp."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def paid_on(invoice: dict[str, Any]) -> date | None:
    """Autotask's paidDate as a date (it keeps the date only)."""
    raw = invoice.get("paidDate")
    return date.fromisoformat(str(raw)[:10]) if raw else None


def company_names(autotask: AutotaskHook, company_ids: Iterable[int | None]) -> dict[int, str]:
    """Autotask company names by id, for reports, in bulk (``in`` queries of 500)."""
    ids = sorted({int(c) for c in company_ids if c is not None})
    if not ids:
        return {}
    records = autotask.get_many("Companies", ids, include_fields=["id", "companyName"])
    return {int(r["id"]): r.get("companyName") or "" for r in records}
