"""Autotask invoices -> QuickBooks Online invoices: every INV rule, as pure functions.

Two steps, with the QBO look-ups between them (done by the invoice sync, ``atqbo.sync.invoices``):

1. ``plan_invoices`` (``plan``, with ``lines`` and ``header``): Autotask records + settings -> one
   ``InvoicePlan`` per invoice: send, skip or error, and for those to send the customer name, the
   item keys, the lines, the term and class names, all decided without QBO.
2. ``build_invoice_payload`` (``payload``): a plan + the QBO ids found or created for its names +
   what the QBO company allows (``QboCompany``, read by ``company``) -> the QBO Invoice JSON.

Plus the payloads of the customers (``customers``) and items (``items``) created on the way, the
total check after creation (INV-13) and the vendor app's negative-invoice message (INV-19,
``checks``). The data types are in ``model``. Nothing here does I/O.

Money is ``Decimal`` throughout, rounded half up to the cent (``atqbo.money``); payloads carry
plain JSON numbers. QBO's field limits and the text, name and address rules shared with the
purchase order sync are in ``atqbo.transform.values``.
"""

from atqbo.transform.invoices.checks import compare_totals, negative_invoice_message
from atqbo.transform.invoices.company import qbo_company_from_preferences
from atqbo.transform.invoices.customers import customer_payload
from atqbo.transform.invoices.header import payload_hash
from atqbo.transform.invoices.items import (
    GENERIC_ITEM_NAME,
    TAX_ITEM_NAME,
    generic_item_name,
    item_key_for_billing_code,
    item_payload,
)
from atqbo.transform.invoices.lines import class_names_needed, item_keys_needed
from atqbo.transform.invoices.model import AutotaskInvoiceData, InvoicePlan, PlannedLine, QboCompany, QboRefs
from atqbo.transform.invoices.payload import build_invoice_payload
from atqbo.transform.invoices.plan import plan_invoices

__all__ = [
    "GENERIC_ITEM_NAME",
    "TAX_ITEM_NAME",
    "AutotaskInvoiceData",
    "InvoicePlan",
    "PlannedLine",
    "QboCompany",
    "QboRefs",
    "build_invoice_payload",
    "class_names_needed",
    "compare_totals",
    "customer_payload",
    "generic_item_name",
    "item_key_for_billing_code",
    "item_keys_needed",
    "item_payload",
    "negative_invoice_message",
    "payload_hash",
    "plan_invoices",
    "qbo_company_from_preferences",
]
