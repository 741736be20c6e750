"""The kinds of record atqbo keeps in its ledger (sync records, error log), by the names every flow,
tool and view uses for them."""

from __future__ import annotations

INVOICE = "invoice"  # an Autotask invoice atqbo sends to QBO (atqbo_invoices and the invoice tools)
INVOICE_VOID = "invoice_void"  # the void of an invoice voided in Autotask (atqbo_invoice_voids)
PAYMENT = "payment"  # the paid state of an Autotask invoice atqbo sent (atqbo_payments)
PURCHASE_ORDER = "purchase_order"  # an Autotask purchase order atqbo sends as a QBO bill (atqbo_purchase_orders)

ENTITIES: tuple[str, ...] = (INVOICE, INVOICE_VOID, PAYMENT, PURCHASE_ORDER)
