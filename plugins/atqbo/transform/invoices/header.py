"""The header fields of a planned invoice: terms (INV-08), the transaction class (INV-09), the PO
number (INV-10), the customer memo (INV-12), the billing email (INV-17), the ship address
(INV-18), atqbo's PrivateNote and the hash of what is sent."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from atqbo.qbo_notes import INVOICE_NOTE
from atqbo.settings import Settings
from atqbo.transform.invoices.model import AutotaskInvoiceData, InvoicePlan, PlannedLine, plan_as_dict
from atqbo.transform.values import (
    MAX_CUSTOMER_MEMO,
    MAX_EMAIL,
    MAX_PRIVATE_NOTE,
    as_text,
    bill_to_address,
    clip,
    company_address,
    control_characters,
    without_control_characters,
)

INVOICE_EMAIL_FIELD = "Invoice Email"  # the Autotask company user-defined field holding the billing address


_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


# -- header fields -------------------------------------------------------------------------------


def term_name(head: InvoicePlan, invoice: dict[str, Any], data: AutotaskInvoiceData, warnings: list[str]) -> str | None:
    """INV-08: the Autotask payment term's label, matched by exact name in QBO at load time."""
    term = invoice.get("paymentTerm")
    if term is None:
        return None
    name = data.payment_terms.get(term)
    if not name:
        warnings.append(
            f"{head.label}: payment term {term} is not a known Autotask payment term; "
            "the invoice is created without terms"
        )
        return None
    return name


def transaction_class(lines: tuple[PlannedLine, ...], settings: Settings) -> str | None:
    """INV-09: the mapped lines' one class; their largest by amount when they differ; else the default.

    (The warning naming a mix is given by ``build_invoice_payload``, and only under transaction-level
    tracking: with per-line tracking every line keeps its own class and nothing is lost.)
    """
    amounts = class_amounts(lines)
    if not amounts:
        return settings.default_class
    return max(amounts, key=lambda name: amounts[name])  # ties: the first class met on the invoice


def class_amounts(lines: Iterable[PlannedLine]) -> dict[str, Decimal]:
    """Mapped class -> the amount its lines carry, in the order the classes first appear."""
    amounts: dict[str, Decimal] = {}
    for line in lines:
        if line.class_name:
            amounts[line.class_name] = amounts.get(line.class_name, Decimal(0)) + line.amount
    return amounts


def po_number(invoice: dict[str, Any], items: list[dict[str, Any]]) -> str | None:
    """INV-10: the invoice's order number, else the first PO number found on its items."""
    candidates = [invoice.get("orderNumber"), *(item.get("purchaseOrderNumber") for item in items)]
    texts = (without_control_characters(as_text(c)).strip() for c in candidates)
    return next((text for text in texts if text), None)


def customer_memo(head: InvoicePlan, invoice: dict[str, Any], settings: Settings, warnings: list[str]) -> str | None:
    """INV-12: Autotask's invoice comments as the customer message, unless it must stay empty."""
    if settings.empty_customer_message:
        return None
    comments = as_text(invoice.get("comments")).strip()
    found = control_characters(comments)
    if found:
        comments = without_control_characters(comments).strip()
        warnings.append(
            f"{head.label}: the invoice comments hold control characters QBO cannot store ({', '.join(found)}); "
            "they were removed from the customer message (correct the comments in Autotask to silence this)"
        )
    if not comments:
        return None
    if len(comments) > MAX_CUSTOMER_MEMO:
        warnings.append(
            f"{head.label}: the invoice comments have {len(comments)} characters; "
            f"cut to QBO's {MAX_CUSTOMER_MEMO} for the customer message"
        )
    return clip(comments, MAX_CUSTOMER_MEMO, ellipsis=True)


def invoice_email(company: dict[str, Any], label: str, warnings: list[str]) -> str | None:
    """The company's "Invoice Email" user-defined field, as one address QBO accepts."""
    raw = ""
    for udf in company.get("userDefinedFields") or []:
        if as_text(udf.get("name")).strip().lower() == INVOICE_EMAIL_FIELD.lower():
            raw = as_text(udf.get("value")).strip()
    if not raw:
        return None
    found = [a for a in _EMAIL.findall(raw) if len(a) <= MAX_EMAIL]
    if not found:
        warnings.append(f"{label}: the company's {INVOICE_EMAIL_FIELD!r} ({raw!r}) is not an email address; not used")
        return None
    if len(found) > 1:
        # QBO's BillEmail takes one address; the first is the one the company listed first
        warnings.append(f"{label}: the company's {INVOICE_EMAIL_FIELD!r} lists several addresses; {found[0]} is used")
    return found[0]


def ship_address(
    head: InvoicePlan, company: dict[str, Any], settings: Settings, warnings: list[str]
) -> dict[str, str] | None:
    """INV-18: the address QBO's automated sales tax calculates from (used only when AST is on)."""
    if settings.qbo_edition != "US":  # AST exists only in US companies
        return None
    if settings.ast_shipping_address == "bill_to":
        bill_to = bill_to_address(company)
        if bill_to:
            return bill_to
        warnings.append(
            f"{head.label}: ast_shipping_address is 'bill_to' but company {head.company_name!r} has no bill-to "
            "address in Autotask; its company address is the shipping address"
        )
    return company_address(company) or None


def private_note(head: InvoicePlan) -> str:
    """ "Autotask invoice {id} ({number}) - sent by atqbo": how atqbo (and a person) recognises its invoices."""
    number = without_control_characters(head.invoice_number) if head.invoice_number else head.invoice_number
    return clip(INVOICE_NOTE.text(head.autotask_id, number), MAX_PRIVATE_NOTE)


def payload_hash(plan: InvoicePlan) -> str:
    """sha256 of a canonical JSON of what the plan sends (not its decision, warnings or own hash)."""
    content = dict(plan_as_dict(plan))
    # not the company it goes to (BEY-07): the hash says what is sent, and a hash kept from before
    # routes existed stays the same
    for key in ("decision", "reason", "fix", "warnings", "payload_hash", "qbo_conn_id"):
        content.pop(key)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
