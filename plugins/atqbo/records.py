"""The kinds of record atqbo keeps in its ledger (sync records, error log), by the names every flow,
tool and view uses for them, and the short digest a record's content or request is remembered by."""

from __future__ import annotations

import hashlib

INVOICE = "invoice"  # an Autotask invoice atqbo sends to QBO (atqbo_invoices and the invoice tools)
INVOICE_VOID = "invoice_void"  # the void of an invoice voided in Autotask (atqbo_invoice_voids)
PAYMENT = "payment"  # the paid state of an Autotask invoice atqbo sent (atqbo_payments)
PURCHASE_ORDER = "purchase_order"  # an Autotask purchase order atqbo sends as a QBO bill (atqbo_purchase_orders)

ENTITIES: tuple[str, ...] = (INVOICE, INVOICE_VOID, PAYMENT, PURCHASE_ORDER)


def short_digest(text: str, length: int = 16) -> str:
    """The first ``length`` hex digits of ``text``'s sha256: a short, stable identity for a text
    (a payload's content, a failure's message, the names of a batch of creates)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
