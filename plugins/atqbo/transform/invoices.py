"""Autotask invoices -> QuickBooks Online invoices: every INV rule, as pure functions.

Two steps, with the QBO look-ups between them (done by ``atqbo.sync.invoices``):

1. ``plan_invoices``: Autotask records + settings -> one ``InvoicePlan`` per invoice: send, skip
   or error, and for those to send the customer name, the item keys, the lines, the term and
   class names, all decided without QBO.
2. ``build_invoice_payload``: a plan + the QBO ids found or created for its names + what the QBO
   company allows (``QboCompany``) -> the QBO Invoice JSON.

Plus the payloads of the customers and items created on the way, the total check after creation
(INV-13) and the seed's negative-invoice message (INV-19). Nothing here does I/O.

Money is ``Decimal`` throughout, rounded half up to the cent; payloads carry plain JSON numbers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from atqbo.exceptions import AtqboError
from atqbo.money import as_decimal, cents, json_number, to_cents
from atqbo.settings import Settings

# QBO field limits (api-facts 2.11); the single place they live for the transforms.
MAX_DISPLAY_NAME = 100  # the documented limit is now 500; 100 is the old one and safe everywhere
MAX_COMPANY_NAME = 100
MAX_ITEM_NAME = 100
MAX_LINE_DESCRIPTION = 4000
MAX_DOC_NUMBER = 21
MAX_PRIVATE_NOTE = 4000
MAX_CUSTOMER_MEMO = 1000
MAX_CUSTOM_FIELD_VALUE = 31  # QBO sales-form custom field values
MAX_ITEM_DESCRIPTION = 4000
MAX_ITEM_SKU = 100
MAX_EMAIL = 100
MAX_PHONE = 30
MAX_CUSTOMER_NOTES = 2000
MAX_ADDRESS_LINE = 500
MAX_CITY = 255
MAX_POSTAL_CODE = 30
UNIT_PRICE_PLACES = 5  # QBO amounts are "10.5": five decimals is the finest unit price it keeps

# The generic item for lines without a billing code (INV-22) when default_item_name is not set.
GENERIC_ITEM_NAME = "Autotask Services"
# The item that carries Autotask's tax when QBO does not calculate tax itself (no AST).
TAX_ITEM_NAME = "Autotask Sales Tax"

PRIVATE_NOTE_PREFIX = "Autotask invoice"  # PrivateNote starts "Autotask invoice {id}": how atqbo finds its own
QBO_VOIDED_NOTE_SEPARATOR = "Voided - "  # QBO's note on a voided invoice: "Voided - <the note it had>"

INVOICE_EMAIL_FIELD = "Invoice Email"  # the Autotask company user-defined field holding the billing address
NEGATIVE_INVOICE_FIX = "credit the invoice in Autotask (or void it) instead of sending a negative invoice"

_ELLIPSIS = "..."  # ASCII, so a byte-counting limit cannot be exceeded by the ellipsis itself
_DATE_FORMATS = {"MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y", "YYYY-MM-DD": "%Y-%m-%d"}
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


@dataclass(frozen=True)
class AutotaskInvoiceData:
    """Everything the plan needs from Autotask, as extracted (records keep Autotask's field names).

    invoices: Invoices records; billing_items: BillingItems records of those invoices;
    companies: id -> Companies record; billing_codes: id -> BillingCodes record;
    payment_terms: picklist value (int) -> label (Invoices.paymentTerm, e.g. 1 -> "Net 30 Days");
    lines_of_business: organizationalLevelAssociationID -> "Division:Line of business".
    """

    invoices: list[dict[str, Any]]
    billing_items: list[dict[str, Any]]
    companies: dict[int, dict[str, Any]]
    billing_codes: dict[int, dict[str, Any]]
    payment_terms: dict[int, str]
    lines_of_business: dict[int, str]


@dataclass(frozen=True)
class PlannedLine:
    """One line of the QBO invoice to be, decided from Autotask alone."""

    description: str  # truncated to MAX_LINE_DESCRIPTION (INV-22)
    item_key: str  # the QBO item Name to find or create (INV-06/07/22); "" for a DescriptionOnly line
    billing_code_id: int | None  # where the item comes from (for item creation), None for generic/tax lines
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal  # what the line adds to the QBO total
    service_date: date | None
    class_name: str | None  # per-line class (INV-09), used when QBO tracks classes per line
    # "item": a billing item; "description": the billing-period line (INV-11, no item);
    # "tax": Autotask's tax, sent only when QBO does not calculate tax itself (INV-18)
    kind: Literal["item", "description", "tax"] = "item"
    billing_item_id: int | None = None  # the Autotask BillingItems id, for messages


@dataclass(frozen=True)
class InvoicePlan:
    """What to do with one Autotask invoice (send, skip or error) and, to send it, everything but QBO ids."""

    autotask_id: int
    invoice_number: str | None  # Autotask's invoiceNumber (None when Autotask does not number)
    company_id: int
    company_name: str  # as in Autotask
    decision: Literal["send", "skip", "error"]
    reason: str = ""  # why skipped / why it failed (names the invoice and company)
    fix: str = ""  # what the user should do (errors only)
    warnings: tuple[str, ...] = ()
    customer_name: str = ""  # the QBO DisplayName (INV-05)
    txn_date: date | None = None
    due_date: date | None = None
    doc_number: str | None = None  # None when QBO numbers (INV-04)
    total: Decimal = Decimal("0")  # Autotask invoiceTotal
    tax: Decimal = Decimal("0")  # Autotask totalTaxValue
    lines: tuple[PlannedLine, ...] = ()
    term_name: str | None = None  # INV-08
    class_name: str | None = None  # transaction-level class (INV-09)
    po_number: str | None = None  # INV-10
    customer_memo: str | None = None  # INV-12 (None = leave empty)
    bill_email: str | None = None  # INV-17
    ship_address: dict[str, str] | None = None  # INV-18 (QBO PhysicalAddress shape)
    private_note: str = ""  # "Autotask invoice {id} ({number}) ..." (how atqbo recognises its own)
    payload_hash: str = ""  # stable hash of everything sent: a changed invoice is noticed

    @property
    def label(self) -> str:
        """How messages name the invoice: "Autotask invoice 29684001 (INV-1001) of Contoso Dental"."""
        return _invoice_label(self.autotask_id, self.invoice_number, self.company_name or f"company {self.company_id}")


@dataclass(frozen=True)
class QboCompany:
    """What the QBO company allows, from its Preferences (looked up once per run)."""

    automated_sales_tax: bool  # US edition and TaxPrefs.PartnerTaxEnabled
    class_tracking: Literal["none", "transaction", "line"]
    custom_fields: dict[str, str] = field(default_factory=dict)  # enabled custom field name -> DefinitionId
    custom_txn_numbers: bool = True  # SalesFormsPrefs.CustomTxnNumbers


@dataclass(frozen=True)
class QboRefs:
    """QBO ids for the names a plan uses, found or created by the load step."""

    customer_id: str
    items: dict[str, str]  # item_key -> Item Id
    term_id: str | None = None
    classes: dict[str, str] = field(default_factory=dict)  # class name -> Class Id
    customer_has_default_payment_method: bool = False
    customer_email: str | None = None  # PrimaryEmailAddr of the QBO customer


# -- QBO company -------------------------------------------------------------------------------


def autotask_id_in_note(private_note: str | None) -> int | None:
    """The Autotask id in atqbo's PrivateNote ``"Autotask invoice {id} ..."``, or None for other notes.

    The id is every digit after the prefix, so ``"Autotask invoice 123"`` is invoice 123, never 12;
    a voided invoice's note has QBO's ``"Voided - "`` in front of atqbo's.
    """
    note = private_note or ""
    if note.startswith(QBO_VOIDED_NOTE_SEPARATOR):
        note = note[len(QBO_VOIDED_NOTE_SEPARATOR) :]
    prefix = PRIVATE_NOTE_PREFIX + " "
    if not note.startswith(prefix):
        return None
    digits = ""
    for char in note[len(prefix) :]:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else None


def qbo_company_from_preferences(preferences: dict[str, Any], settings: Settings) -> QboCompany:
    """Read AST, class tracking, enabled custom fields and custom numbering from QBO Preferences.

    Takes the Preferences entity (or the ``{"Preferences": ...}`` answer around it).
    """
    prefs = preferences.get("Preferences", preferences)
    accounting = prefs.get("AccountingInfoPrefs") or {}
    sales_forms = prefs.get("SalesFormsPrefs") or {}
    tax = prefs.get("TaxPrefs") or {}
    if accounting.get("ClassTrackingPerTxnLine"):
        tracking: Literal["none", "transaction", "line"] = "line"
    elif accounting.get("ClassTrackingPerTxn"):
        tracking = "transaction"
    else:
        tracking = "none"
    return QboCompany(
        # AST exists only in US companies; a non-US setting wins over a stray preference flag
        automated_sales_tax=settings.qbo_edition == "US" and bool(tax.get("PartnerTaxEnabled")),
        class_tracking=tracking,
        custom_fields=_enabled_custom_fields(sales_forms.get("CustomField") or []),
        # absent means we cannot tell; True is the safe guess (we then ask QBO to number explicitly)
        custom_txn_numbers=bool(sales_forms.get("CustomTxnNumbers", True)),
    )


def _enabled_custom_fields(groups: list[dict[str, Any]]) -> dict[str, str]:
    """``SalesFormsPrefs.CustomField`` -> {label: DefinitionId} of the fields switched on.

    QBO sends groups of name/value pairs: ``SalesFormsPrefs.UseSalesCustomName{n}`` (on/off) and
    ``SalesFormsPrefs.SalesCustomName{n}`` (the label); a flat list of pairs is read the same way.
    """
    switches: dict[str, bool] = {}
    labels: dict[str, str] = {}
    for pair in _custom_field_pairs(groups):
        name = str(pair.get("Name", ""))
        if match := re.fullmatch(r"SalesFormsPrefs\.UseSalesCustomName(\d+)", name):
            switches[match.group(1)] = pair.get("BooleanValue") in (True, "true")
        elif match := re.fullmatch(r"SalesFormsPrefs\.SalesCustomName(\d+)", name):
            labels[match.group(1)] = str(pair.get("StringValue") or "").strip()
    return {labels[n]: n for n in sorted(labels, key=int) if labels[n] and switches.get(n)}


def _custom_field_pairs(groups: Iterable[Any]) -> Iterable[dict[str, Any]]:
    """Every name/value pair of the custom field preference, grouped or flat."""
    for entry in groups:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("CustomField"), list):
            yield from (pair for pair in entry["CustomField"] if isinstance(pair, dict))
        else:
            yield entry


# -- planning ------------------------------------------------------------------------------------


class _NotSent(Exception):
    """Raised while planning an invoice that will not be sent: a skip or an error, with the why."""

    def __init__(self, decision: Literal["skip", "error"], reason: str, fix: str = ""):
        super().__init__(reason)
        self.decision = decision
        self.reason = reason
        self.fix = fix


def plan_invoices(data: AutotaskInvoiceData, settings: Settings, today: date) -> list[InvoicePlan]:
    """One plan per invoice in ``data.invoices`` (same order).

    ``today`` stands in for an invoice date Autotask did not give (never seen; said in a warning).
    """
    items_by_invoice: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    # sorted by id: the lines (and so the payload hash) do not depend on the order a query returned
    for item in sorted(data.billing_items, key=lambda i: (i.get("id") is None, i.get("id") or 0)):
        items_by_invoice[item.get("invoiceID")].append(item)
    return [
        plan_invoice(invoice, items_by_invoice.get(invoice.get("id"), []), data, settings, today)
        for invoice in data.invoices
    ]


def plan_invoice(
    invoice: dict[str, Any], items: list[dict[str, Any]], data: AutotaskInvoiceData, settings: Settings, today: date
) -> InvoicePlan:
    """The plan of one invoice (``items`` are its billing items); never raises for bad data."""
    company = data.companies.get(invoice.get("companyID"))
    head = InvoicePlan(
        autotask_id=invoice.get("id"),
        invoice_number=_text(invoice.get("invoiceNumber")).strip() or None,
        company_id=invoice.get("companyID"),
        company_name=_text((company or {}).get("companyName")),
        decision="send",
        total=cents(invoice.get("invoiceTotal")),
        tax=cents(invoice.get("totalTaxValue")),
    )
    try:
        plan = _plan_to_send(head, invoice, items, company, data, settings, today)
    except _NotSent as stop:
        txn_date = _date_of(invoice.get("invoiceDateTime"))
        return replace(head, decision=stop.decision, reason=stop.reason, fix=stop.fix, txn_date=txn_date)
    return replace(plan, payload_hash=payload_hash(plan))


def _plan_to_send(
    head: InvoicePlan,
    invoice: dict[str, Any],
    items: list[dict[str, Any]],
    company: dict[str, Any] | None,
    data: AutotaskInvoiceData,
    settings: Settings,
    today: date,
) -> InvoicePlan:
    """The send plan, or ``_NotSent`` at the first reason not to send it."""
    warnings: list[str] = []
    txn_date = _invoice_date(head, invoice, today, warnings)
    _refuse_unsendable(head, invoice, company, txn_date, settings)
    assert company is not None  # _refuse_unsendable made sure
    _refuse_empty(head, items)
    lines = (
        *_billing_period_line(invoice, settings),
        *_item_lines(head, items, data, settings, warnings),
        *_tax_line(head, invoice),
    )
    _warn_if_lines_miss_total(head, lines, settings, warnings)
    return replace(
        head,
        customer_name=qbo_name(head.company_name, MAX_DISPLAY_NAME),
        txn_date=txn_date,
        due_date=_date_of(invoice.get("dueDate")),
        doc_number=_doc_number(head, invoice, settings),
        lines=lines,
        term_name=_term_name(head, invoice, data, warnings),
        class_name=_transaction_class(lines, settings),
        po_number=_po_number(invoice, items),
        customer_memo=_customer_memo(head, invoice, settings, warnings),
        bill_email=_invoice_email(company, head.label, warnings),
        ship_address=_ship_address(head, company, settings, warnings),
        private_note=_private_note(head),
        warnings=tuple(warnings),
    )


def _invoice_date(head: InvoicePlan, invoice: dict[str, Any], today: date, warnings: list[str]) -> date:
    """The QBO TxnDate: the date of Autotask's invoiceDateTime (today, with a warning, if it has none)."""
    txn_date = _date_of(invoice.get("invoiceDateTime"))
    if txn_date is None:
        warnings.append(f"{head.label}: Autotask gave no invoice date; the QBO invoice is dated today ({today})")
        return today
    return txn_date


def _refuse_unsendable(
    head: InvoicePlan, invoice: dict[str, Any], company: dict[str, Any] | None, txn_date: date, settings: Settings
) -> None:
    """Voided, before the earliest sync date, unknown company, negative, or a $0 to skip."""
    if invoice.get("isVoided"):
        raise _NotSent("skip", f"{head.label}: voided in Autotask; not sent")
    if settings.earliest_sync_date and txn_date < settings.earliest_sync_date:
        raise _NotSent(
            "skip",
            f"{head.label}: dated {txn_date}, before earliest_sync_date {settings.earliest_sync_date} "
            "(books closed); not sent",
        )
    if company is None:
        raise _NotSent(
            "error",
            f"{head.label}: its company (Autotask company id {head.company_id}) was not found in Autotask",
            f"check that company {head.company_id} exists in Autotask and that the atqbo API user may read it",
        )
    if not head.company_name.strip():
        raise _NotSent(
            "error",
            f"{head.label}: Autotask company {head.company_id} has no name, so no QBO customer can be matched",
            f"give company {head.company_id} a name in Autotask",
        )
    if head.total < 0:
        reason = negative_invoice_message(head.autotask_id, head.company_name, settings.invoice_marker_field)
        raise _NotSent("error", reason, NEGATIVE_INVOICE_FIX)
    if head.total == 0 and settings.skip_zero_invoices:
        raise _NotSent("skip", f"{head.label}: total is 0.00 and skip_zero_invoices is on; not sent")


def _refuse_empty(head: InvoicePlan, items: list[dict[str, Any]]) -> None:
    """An invoice without billing items is an error: QBO needs a sales line, and it is incomplete data."""
    if not items:
        raise _NotSent(
            "error",
            f"{head.label}: has no billing items in Autotask (total {head.total}); nothing to put on a QBO invoice",
            "check the invoice's items in Autotask (a $0 invoice without items can be skipped with skip_zero_invoices)",
        )


def _doc_number(head: InvoicePlan, invoice: dict[str, Any], settings: Settings) -> str | None:
    """INV-04: None when QBO numbers; Autotask's number or id otherwise."""
    if settings.invoice_numbering == "qbo":
        return None
    if settings.invoice_numbering == "autotask_id":
        return str(head.autotask_id)
    number = head.invoice_number
    if not number:
        raise _NotSent(
            "error",
            f"{head.label}: invoice_numbering is 'autotask_number' but Autotask gave the invoice no number",
            "turn on invoice numbering in Autotask (Admin > Invoice settings), "
            "or set invoice_numbering to 'qbo' or 'autotask_id'",
        )
    if len(number) > MAX_DOC_NUMBER:
        raise _NotSent(
            "error",
            f"{head.label}: invoice number {number!r} has {len(number)} characters; "
            f"QBO allows at most {MAX_DOC_NUMBER} in DocNumber",
            "use shorter invoice numbers in Autotask, or set invoice_numbering to 'qbo' or 'autotask_id'",
        )
    return number


# -- lines ---------------------------------------------------------------------------------------


def _billing_period_line(invoice: dict[str, Any], settings: Settings) -> tuple[PlannedLine, ...]:
    """INV-11: "Billing period: <from> - <to>" as a first description line, when both dates exist."""
    start, end = _date_of(invoice.get("fromDate")), _date_of(invoice.get("toDate"))
    if start is None or end is None:
        return ()
    fmt = _DATE_FORMATS[settings.date_format]
    return (
        PlannedLine(
            description=f"Billing period: {start.strftime(fmt)} - {end.strftime(fmt)}",
            item_key="",
            billing_code_id=None,
            quantity=None,
            unit_price=None,
            amount=Decimal("0.00"),
            service_date=None,
            class_name=None,
            kind="description",
        ),
    )


def _item_lines(
    head: InvoicePlan,
    items: list[dict[str, Any]],
    data: AutotaskInvoiceData,
    settings: Settings,
    warnings: list[str],
) -> tuple[PlannedLine, ...]:
    """Every billing item of the invoice as a sales line, in Autotask's (id) order."""
    return tuple(_item_line(head, item, data, settings, warnings) for item in items)


def _item_line(
    head: InvoicePlan, item: dict[str, Any], data: AutotaskInvoiceData, settings: Settings, warnings: list[str]
) -> PlannedLine:
    """One billing item -> one sales line: its item key, quantities and amount, class and description."""
    code = _billing_code_of(head, item, data)
    key, item_code_id = _item_key(head, item, code, settings, warnings)
    quantity, unit_price, amount = _line_amounts(head, item, settings, warnings)
    description = _line_description(head, item, code, warnings)
    lob = data.lines_of_business.get(item.get("organizationalLevelAssociationID"))
    return PlannedLine(
        description=description,
        item_key=key,
        billing_code_id=item_code_id,
        quantity=quantity,
        unit_price=unit_price,
        amount=amount,
        service_date=_date_of(item.get("itemDate")),
        class_name=settings.lob_class_map.get(lob) if lob else None,
        kind="item",
        billing_item_id=item.get("id"),
    )


def _billing_code_of(head: InvoicePlan, item: dict[str, Any], data: AutotaskInvoiceData) -> dict[str, Any] | None:
    """The billing code of an item (None when it has none); an unknown code stops the invoice."""
    code_id = item.get("billingCodeID")
    if code_id is None:
        return None
    code = data.billing_codes.get(code_id)
    if code is None:
        raise _NotSent(
            "error",
            f"{head.label}: billing item {item.get('id')} references billing code {code_id}, "
            "which was not found in Autotask",
            f"check that billing code {code_id} exists in Autotask and that the atqbo API user may read it",
        )
    return code


def _item_key(
    head: InvoicePlan, item: dict[str, Any], code: dict[str, Any] | None, settings: Settings, warnings: list[str]
) -> tuple[str, int | None]:
    """INV-06/22: the QBO item name for a line and the billing code it comes from; the generic item
    (no billing code) when the line has no code or its code has no usable key."""
    if code is None:
        return generic_item_name(settings), None
    key = item_key_for_billing_code(code, settings)
    if key:
        return key, item.get("billingCodeID")
    # the configured field is blank: this code cannot match any item, i.e. the item is missing
    what = f"billing code {code.get('name')!r} (id {code.get('id')})"
    if settings.missing_item_action == "error":
        raise _NotSent(
            "error",
            f"{head.label}: billing item {item.get('id')} uses {what}, which has no "
            f"{_match_field_label(settings)} to match a QBO item (item_match_field is {settings.item_match_field!r})",
            f"fill in the {_match_field_label(settings)} of {what} in Autotask, "
            "or set item_match_field to 'external_number_or_name'",
        )
    generic = generic_item_name(settings)
    warnings.append(
        f"{head.label}: {what} has no {_match_field_label(settings)}; billing item {item.get('id')} "
        f"goes on the generic item {generic!r}"
    )
    return generic, None


def _match_field_label(settings: Settings) -> str:
    """How messages name the billing code field that ``item_match_field`` reads."""
    return "name" if settings.item_match_field == "name" else "External Number"


def _line_amounts(
    head: InvoicePlan, item: dict[str, Any], settings: Settings, warnings: list[str]
) -> tuple[Decimal, Decimal, Decimal]:
    """INV-15: (Qty, UnitPrice, Amount) of a billing item, by Autotask's rate or by its billed amount."""
    quantity = as_decimal(item.get("quantity"))
    if not settings.blended_rate:
        rate = as_decimal(item.get("rate"))
        return quantity, rate, to_cents(rate * quantity)
    amount = _billed_amount(item)
    if quantity == 0:
        return Decimal(1), amount, amount
    unit_price = (amount / quantity).quantize(Decimal(1).scaleb(-UNIT_PRICE_PLACES), rounding=ROUND_HALF_UP)
    if to_cents(unit_price * quantity) != amount:
        # a large quantity magnifies the rounding of a 5-decimal price past a cent; QBO would refuse
        # Amount != Qty x UnitPrice, so bill it as one unit and say so
        warnings.append(
            f"{head.label}: billing item {item.get('id')} ({quantity} x {amount}) has no unit price with "
            f"{UNIT_PRICE_PLACES} decimals that gives its amount; sent as quantity 1 at {amount}"
        )
        return Decimal(1), amount, amount
    return quantity, unit_price, amount


def _billed_amount(item: dict[str, Any]) -> Decimal:
    """What Autotask bills for an item before tax: extendedPrice; else totalAmount less taxDollars."""
    if item.get("extendedPrice") is not None:
        return cents(item["extendedPrice"])
    return cents(item.get("totalAmount")) - cents(item.get("taxDollars"))


def _line_description(head: InvoicePlan, item: dict[str, Any], code: dict[str, Any] | None, warnings: list[str]) -> str:
    """INV-22: the invoice text of a billing item, cut to QBO's 4,000 characters with an ellipsis."""
    for candidate in (item.get("lineItemFullDescription"), item.get("description"), item.get("itemName")):
        text = _text(candidate).strip()
        if text:
            break
    else:
        text = _text((code or {}).get("name")).strip()
    if len(text) > MAX_LINE_DESCRIPTION:
        warnings.append(
            f"{head.label}: the description of billing item {item.get('id')} has {len(text)} characters; "
            f"cut to QBO's {MAX_LINE_DESCRIPTION}"
        )
    return _clip(text, MAX_LINE_DESCRIPTION, ellipsis=True)


def _tax_line(head: InvoicePlan, invoice: dict[str, Any]) -> tuple[PlannedLine, ...]:
    """INV-18: Autotask's tax as a line, so QBO's total matches; dropped at build time under AST."""
    if head.tax <= 0:
        return ()
    region = _text(invoice.get("taxRegionName")).strip()
    return (
        PlannedLine(
            description=f"Sales tax ({region})" if region else "Sales tax",
            item_key=TAX_ITEM_NAME,
            billing_code_id=None,
            quantity=Decimal(1),
            unit_price=head.tax,
            amount=head.tax,
            service_date=None,
            class_name=None,
            kind="tax",
        ),
    )


def _warn_if_lines_miss_total(
    head: InvoicePlan, lines: tuple[PlannedLine, ...], settings: Settings, warnings: list[str]
) -> None:
    """Say before sending when QBO's total will not be Autotask's (the INV-13 check comes after)."""
    planned = sum((line.amount for line in lines), Decimal(0))
    difference = planned - head.total
    if abs(difference) <= settings.rounding_tolerance:
        return
    hint = (
        "; turn on blended_rate so the line amounts follow Autotask's billed amounts"
        if not settings.blended_rate
        else "; Autotask's items do not add up to its invoice total"
    )
    warnings.append(
        f"{head.label}: the lines add up to {planned} (with tax) but Autotask's total is {head.total} "
        f"(difference {difference:+}){hint}"
    )


# -- header fields -------------------------------------------------------------------------------


def _term_name(
    head: InvoicePlan, invoice: dict[str, Any], data: AutotaskInvoiceData, warnings: list[str]
) -> str | None:
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


def _transaction_class(lines: tuple[PlannedLine, ...], settings: Settings) -> str | None:
    """INV-09: the mapped lines' one class; their largest by amount when they differ; else the default.

    (The warning naming a mix is given by ``build_invoice_payload``, and only under transaction-level
    tracking: with per-line tracking every line keeps its own class and nothing is lost.)
    """
    amounts = _class_amounts(lines)
    if not amounts:
        return settings.default_class
    return max(amounts, key=lambda name: amounts[name])  # ties: the first class met on the invoice


def _class_amounts(lines: Iterable[PlannedLine]) -> dict[str, Decimal]:
    """Mapped class -> the amount its lines carry, in the order the classes first appear."""
    amounts: dict[str, Decimal] = {}
    for line in lines:
        if line.class_name:
            amounts[line.class_name] = amounts.get(line.class_name, Decimal(0)) + line.amount
    return amounts


def _po_number(invoice: dict[str, Any], items: list[dict[str, Any]]) -> str | None:
    """INV-10: the invoice's order number, else the first PO number found on its items."""
    candidates = [invoice.get("orderNumber"), *(item.get("purchaseOrderNumber") for item in items)]
    return next((_text(c).strip() for c in candidates if _text(c).strip()), None)


def _customer_memo(head: InvoicePlan, invoice: dict[str, Any], settings: Settings, warnings: list[str]) -> str | None:
    """INV-12: Autotask's invoice comments as the customer message, unless it must stay empty."""
    if settings.empty_customer_message:
        return None
    comments = _text(invoice.get("comments")).strip()
    if not comments:
        return None
    if len(comments) > MAX_CUSTOMER_MEMO:
        warnings.append(
            f"{head.label}: the invoice comments have {len(comments)} characters; "
            f"cut to QBO's {MAX_CUSTOMER_MEMO} for the customer message"
        )
    return _clip(comments, MAX_CUSTOMER_MEMO, ellipsis=True)


def _invoice_email(company: dict[str, Any], label: str, warnings: list[str]) -> str | None:
    """The company's "Invoice Email" user-defined field, as one address QBO accepts."""
    raw = ""
    for udf in company.get("userDefinedFields") or []:
        if _text(udf.get("name")).strip().lower() == INVOICE_EMAIL_FIELD.lower():
            raw = _text(udf.get("value")).strip()
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


def _ship_address(
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


def _private_note(head: InvoicePlan) -> str:
    """ "Autotask invoice {id} ({number}) - sent by atqbo": how atqbo (and a person) recognises its invoices."""
    number = f" ({head.invoice_number})" if head.invoice_number else ""
    return _clip(f"{PRIVATE_NOTE_PREFIX} {head.autotask_id}{number} - sent by atqbo", MAX_PRIVATE_NOTE)


def payload_hash(plan: InvoicePlan) -> str:
    """sha256 of a canonical JSON of what the plan sends (not its decision, warnings or own hash)."""
    content = asdict(plan)
    for key in ("decision", "reason", "fix", "warnings", "payload_hash"):
        content.pop(key)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- names, items and customers ----------------------------------------------------------------


def qbo_name(text: str, limit: int) -> str:
    """A name QBO accepts (INV-05): no ':' (QBO's sub-record separator), one line, single spaces, cut."""
    cleaned = re.sub(r"\s+", " ", _text(text).replace(":", "-")).strip()
    return cleaned[:limit].rstrip()


def generic_item_name(settings: Settings) -> str:
    """INV-22: the item for lines without a billing code (or without a key)."""
    return qbo_name(settings.default_item_name or GENERIC_ITEM_NAME, MAX_ITEM_NAME)


def item_key_for_billing_code(code: dict[str, Any], settings: Settings) -> str:
    """INV-06: the QBO item name a billing code matches, by ``item_match_field``; "" when blank."""
    name = _text(code.get("name")).strip()
    external = _text(code.get("externalNumber")).strip()
    if settings.item_match_field == "name":
        key = name
    elif settings.item_match_field == "external_number":
        key = external
    else:
        key = external or name
    return qbo_name(key, MAX_ITEM_NAME)


def item_keys_needed(plan: InvoicePlan, company: QboCompany) -> dict[str, int | None]:
    """The items ``build_invoice_payload`` will reference: item key -> billing code id (None: generic/tax).

    For the load step: under AST the tax line is not sent, so its item is not needed.
    """
    needed: dict[str, int | None] = {}
    for line in _lines_to_send(plan, company):
        if line.item_key and line.item_key not in needed:
            needed[line.item_key] = line.billing_code_id
    return needed


def class_names_needed(plan: InvoicePlan, company: QboCompany, settings: Settings) -> list[str]:
    """The class names ``build_invoice_payload`` will reference under the company's class tracking."""
    if company.class_tracking == "transaction":
        return [plan.class_name] if plan.class_name else []
    if company.class_tracking == "line":
        names = (_line_class(line, settings) for line in _lines_to_send(plan, company) if line.kind != "description")
        return list(dict.fromkeys(n for n in names if n))
    return []


def customer_payload(company: dict[str, Any], display_name: str, settings: Settings) -> dict[str, Any]:
    """The QBO Customer to create for an Autotask company (INV-05).

    BillAddr is the company's bill-to address when Autotask has one (then ShipAddr is the company
    address), else the company address.
    """
    payload: dict[str, Any] = {
        "DisplayName": display_name,
        "CompanyName": _clip(re.sub(r"\s+", " ", _text(company.get("companyName"))).strip(), MAX_COMPANY_NAME),
        "Notes": _clip(f"Autotask company {company.get('id')}", MAX_CUSTOMER_NOTES),
    }
    physical, bill_to = company_address(company), bill_to_address(company)
    if bill_to:
        payload["BillAddr"] = bill_to
        if physical:
            payload["ShipAddr"] = physical
    elif physical:
        payload["BillAddr"] = physical
    phone = _text(company.get("phone")).strip()
    if phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": _clip(phone, MAX_PHONE)}
    email = _invoice_email(company, f"Autotask company {company.get('id')}", [])
    if email:
        payload["PrimaryEmailAddr"] = {"Address": email}
    return payload


def item_payload(
    item_key: str, billing_code: dict[str, Any] | None, income_account_id: str, settings: Settings
) -> dict[str, Any]:
    """The QBO Item (Service) to create for a missing item (INV-07, INV-22)."""
    payload: dict[str, Any] = {
        "Name": qbo_name(item_key, MAX_ITEM_NAME),
        "Type": "Service",
        "IncomeAccountRef": {"value": str(income_account_id)},
    }
    if billing_code is None:
        payload["Description"] = (
            "Sales tax calculated by Autotask"
            if item_key == TAX_ITEM_NAME
            else "Autotask billing items without a billing code"
        )
        return payload
    description = _text(billing_code.get("description")).strip() or _text(billing_code.get("name")).strip()
    if description:
        payload["Description"] = _clip(description, MAX_ITEM_DESCRIPTION, ellipsis=True)
    if billing_code.get("unitPrice") is not None:
        payload["UnitPrice"] = json_number(as_decimal(billing_code["unitPrice"]))
    sku = _text(billing_code.get("externalNumber")).strip()
    if sku:
        payload["Sku"] = _clip(sku, MAX_ITEM_SKU)
    return payload


def company_address(company: dict[str, Any]) -> dict[str, str]:
    """The Autotask company address as a QBO PhysicalAddress ({} when it has none)."""
    return _address(company, "address1", "address2", "city", "state", "postalCode")


def bill_to_address(company: dict[str, Any]) -> dict[str, str]:
    """The Autotask bill-to address as a QBO PhysicalAddress ({} when it has none)."""
    return _address(company, "billingAddress1", "billingAddress2", "billToCity", "billToState", "billToZipCode")


def _address(company: dict[str, Any], line1: str, line2: str, city: str, state: str, postal: str) -> dict[str, str]:
    """Five Autotask address fields as a QBO PhysicalAddress, blank parts left out."""
    parts = {
        "Line1": _clip(_text(company.get(line1)).strip(), MAX_ADDRESS_LINE),
        "Line2": _clip(_text(company.get(line2)).strip(), MAX_ADDRESS_LINE),
        "City": _clip(_text(company.get(city)).strip(), MAX_CITY),
        "CountrySubDivisionCode": _text(company.get(state)).strip(),
        "PostalCode": _clip(_text(company.get(postal)).strip(), MAX_POSTAL_CODE),
    }
    if not (parts["Line1"] or parts["City"] or parts["PostalCode"]):
        return {}  # a state alone is no address
    return {key: value for key, value in parts.items() if value}


# -- the QBO invoice -----------------------------------------------------------------------------


def build_invoice_payload(
    plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The QBO Invoice JSON for a plan to send, and any warnings found while building it.

    Raises ``AtqboError`` for a plan not to send or an item the load step did not resolve.
    """
    if plan.decision != "send":
        raise AtqboError(f"{plan.label}: its plan is {plan.decision!r} ({plan.reason}); only 'send' plans are built")
    warnings: list[str] = []
    payload: dict[str, Any] = {**_numbering(plan, company)}
    if plan.txn_date:
        payload["TxnDate"] = plan.txn_date.isoformat()
    if plan.due_date:
        payload["DueDate"] = plan.due_date.isoformat()
    payload["CustomerRef"] = {"value": str(refs.customer_id)}
    if refs.term_id:
        payload["SalesTermRef"] = {"value": str(refs.term_id)}
    payload["PrivateNote"] = plan.private_note
    if plan.customer_memo:
        payload["CustomerMemo"] = {"value": plan.customer_memo}
    payload.update(_email_fields(plan, refs, settings, warnings))
    payload.update(_online_payment_flags(refs, settings))
    payload.update(_custom_fields(plan, company, settings, warnings))
    payload.update(_transaction_class_ref(plan, refs, company, settings, warnings))
    if company.automated_sales_tax:
        payload.update(_ast_ship_address(plan, warnings))
    payload["Line"] = _payload_lines(plan, refs, company, settings, warnings)
    return payload, tuple(warnings)


def _numbering(plan: InvoicePlan, company: QboCompany) -> dict[str, Any]:
    """INV-04: our DocNumber, or ask QBO for its next number.

    With custom transaction numbers on, QBO leaves an invoice without DocNumber unnumbered unless
    AutoDocNumber is true; with them off it numbers every invoice itself (and AutoDocNumber is moot).
    """
    if plan.doc_number:
        return {"DocNumber": plan.doc_number}
    return {"AutoDocNumber": True} if company.custom_txn_numbers else {}


def _email_fields(plan: InvoicePlan, refs: QboRefs, settings: Settings, warnings: list[str]) -> dict[str, Any]:
    """INV-17: BillEmail when known; EmailStatus NeedToSend only when emailing and an address exists."""
    email = refs.customer_email or plan.bill_email
    fields: dict[str, Any] = {"BillEmail": {"Address": email}} if email else {}
    if settings.email_invoices and email:
        fields["EmailStatus"] = "NeedToSend"
        return fields
    if settings.email_invoices:
        warnings.append(
            f"{plan.label}: customer {plan.customer_name!r} has no email address in QBO or Autotask; "
            "the invoice is not emailed (add an email to the customer, or the company's "
            f"{INVOICE_EMAIL_FIELD!r} field in Autotask)"
        )
    fields["EmailStatus"] = "NotSet"
    return fields


def _online_payment_flags(refs: QboRefs, settings: Settings) -> dict[str, bool]:
    """INV-16: credit card (optionally only with a default payment method) and ACH."""
    card = settings.allow_credit_card and (
        not settings.credit_card_only_with_default_method or refs.customer_has_default_payment_method
    )
    return {"AllowOnlineCreditCardPayment": card, "AllowOnlineACHPayment": settings.allow_ach}


def _custom_fields(plan: InvoicePlan, company: QboCompany, settings: Settings, warnings: list[str]) -> dict[str, Any]:
    """INV-10: the PO number in the configured custom field, when QBO has that field switched on."""
    wanted = settings.po_number_custom_field
    if not wanted or not plan.po_number:
        return {}
    label = _find_custom_field(wanted, company.custom_fields)
    if label is None:
        warnings.append(
            f"{plan.label}: custom field {wanted!r} is not enabled in QBO (Settings > Sales > Custom fields); "
            f"PO number {plan.po_number!r} not sent"
        )
        return {}
    value = plan.po_number
    if len(value) > MAX_CUSTOM_FIELD_VALUE:
        warnings.append(
            f"{plan.label}: PO number {value!r} is longer than the {MAX_CUSTOM_FIELD_VALUE} characters a QBO custom "
            f"field holds; cut to {value[:MAX_CUSTOM_FIELD_VALUE]!r}"
        )
        value = value[:MAX_CUSTOM_FIELD_VALUE]
    field_ = {"DefinitionId": company.custom_fields[label], "Name": label, "Type": "StringType", "StringValue": value}
    return {"CustomField": [field_]}


def _find_custom_field(wanted: str, enabled: dict[str, str]) -> str | None:
    """The enabled custom field's label for a configured name (exact, else ignoring case and spaces)."""
    if wanted in enabled:
        return wanted
    folded = wanted.strip().casefold()
    return next((label for label in enabled if label.strip().casefold() == folded), None)


def _transaction_class_ref(
    plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings, warnings: list[str]
) -> dict[str, Any]:
    """INV-09: ClassRef on the invoice under transaction tracking; a warning when a class is lost."""
    if company.class_tracking == "transaction":
        amounts = _class_amounts(plan.lines)
        if len(amounts) > 1:
            mix = ", ".join(f"{name} {amount}" for name, amount in amounts.items())
            warnings.append(
                f"{plan.label}: lines of business map to several classes ({mix}); QBO tracks one class per "
                f"invoice, so the invoice's class is {plan.class_name} (the largest amount)"
            )
        ref = _class_ref(plan.class_name, plan, refs, warnings)
        return {"ClassRef": ref} if ref else {}
    if company.class_tracking == "none":
        wanted = sorted({n for n in (plan.class_name, *(line.class_name for line in plan.lines)) if n})
        if wanted:
            warnings.append(
                f"{plan.label}: class tracking is off in QBO, so no class is set (wanted: {', '.join(wanted)}); "
                "turn on class tracking in QBO (Settings > Advanced > Categories)"
            )
    return {}


def _class_ref(name: str | None, plan: InvoicePlan, refs: QboRefs, warnings: list[str]) -> dict[str, str] | None:
    """A ClassRef for a class name, or None (and one warning) when the load found no such class."""
    if not name:
        return None
    class_id = refs.classes.get(name)
    if class_id is None:
        message = (
            f"{plan.label}: no class named {name!r} in QBO; that class is not set "
            "(create the class in QBO, or correct lob_class_map / default_class)"
        )
        if message not in warnings:
            warnings.append(message)
        return None
    return {"value": str(class_id)}


def _ast_ship_address(plan: InvoicePlan, warnings: list[str]) -> dict[str, Any]:
    """INV-18: under automated sales tax the shipping address is where QBO taxes the sale."""
    if plan.ship_address:
        return {"ShipAddr": dict(plan.ship_address)}
    warnings.append(
        f"{plan.label}: company {plan.company_name!r} has no address in Autotask; QBO's automated sales tax "
        "uses the customer's own address"
    )
    return {}


def _lines_to_send(plan: InvoicePlan, company: QboCompany) -> list[PlannedLine]:
    """The plan's lines QBO gets: all but the tax line under AST (QBO taxes itself; twice would overcharge)."""
    return [line for line in plan.lines if not (line.kind == "tax" and company.automated_sales_tax)]


def _line_class(line: PlannedLine, settings: Settings) -> str | None:
    """Per-line class: the line's own (its line of business), else the default class.

    Not the invoice's class: with mixed lines that is another line of business's class, and an
    unmapped line is better left unclassified than booked to the wrong one. (When no line is
    mapped the invoice's class is the default class, so the result is the same.)
    """
    return line.class_name or settings.default_class


def _payload_lines(
    plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings, warnings: list[str]
) -> list[dict[str, Any]]:
    """The QBO lines, numbered in order: the billing period, the sales lines, the tax line (if sent)."""
    out = []
    for number, line in enumerate(_lines_to_send(plan, company), start=1):
        if line.kind == "description":
            out.append(
                {
                    "LineNum": number,
                    "Description": line.description,
                    "DetailType": "DescriptionOnly",
                    "DescriptionLineDetail": {},
                }
            )
            continue
        out.append(
            {
                "LineNum": number,
                "Description": line.description,
                "Amount": json_number(line.amount),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": _sales_item_detail(line, plan, refs, company, settings, warnings),
            }
        )
    return out


def _sales_item_detail(
    line: PlannedLine, plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings, warnings: list[str]
) -> dict[str, Any]:
    """SalesItemLineDetail of a line: item, quantity, unit price, service date, and the class per line."""
    item_id = refs.items.get(line.item_key)
    if item_id is None:
        raise AtqboError(
            f"{plan.label}: no QBO item id for {line.item_key!r}; the load step must find or create every item "
            "of item_keys_needed(plan, company) before building the invoice"
        )
    detail: dict[str, Any] = {"ItemRef": {"value": str(item_id), "name": line.item_key}}
    if line.quantity is not None:
        detail["Qty"] = json_number(line.quantity)
    if line.unit_price is not None:
        detail["UnitPrice"] = json_number(line.unit_price)
    if line.service_date:
        detail["ServiceDate"] = line.service_date.isoformat()
    if company.class_tracking == "line":
        ref = _class_ref(_line_class(line, settings), plan, refs, warnings)
        if ref:
            detail["ClassRef"] = ref
    return detail


# -- after creation ------------------------------------------------------------------------------


def compare_totals(
    plan: InvoicePlan, created: dict[str, Any], company: QboCompany, settings: Settings
) -> tuple[Literal["ok", "warning", "error"], str]:
    """INV-13: the QBO total against Autotask's after creation, and what to say about it.

    Under automated sales tax QBO computes its own tax, so totals are compared without tax.
    """
    qbo_label = f"QBO invoice {created.get('DocNumber') or created.get('Id') or '(no number)'}"
    if created.get("TotalAmt") is None:
        return "error", f"{qbo_label} for {plan.label}: QBO returned no TotalAmt to compare with Autotask's total"
    qbo_total, autotask_total, basis = cents(created["TotalAmt"]), plan.total, "total"
    if company.automated_sales_tax:
        qbo_total -= cents((created.get("TxnTaxDetail") or {}).get("TotalTax"))
        autotask_total -= plan.tax
        basis = "total before tax"
    difference = qbo_total - autotask_total
    if difference == 0:
        return "ok", ""
    message = (
        f"{qbo_label} for {plan.label}: QBO {basis} {qbo_total} differs from Autotask's {autotask_total} "
        f"by {difference:+}"
    )
    if abs(difference) <= settings.rounding_tolerance:
        if settings.suppress_rounding_warnings:
            return "ok", ""
        return "warning", f"{message} (a rounding difference; suppress_rounding_warnings hides these)"
    fix = "compare the QBO invoice's lines with Autotask's and correct the QBO invoice"
    if not settings.blended_rate:
        fix += "; blended_rate makes QBO's lines follow Autotask's billed amounts"
    return "error", f"{message}: {fix}"


def negative_invoice_message(invoice_id: int, account: str, marker_field: str) -> str:
    """INV-19: the seed's message (verbatim in invoiceNumber mode)."""
    head = "The invoice total is negative. Negative invoices cannot be sent to QuickBooks Online."
    if marker_field == "invoiceNumber":
        # verbatim from the vendor's text, typo ("Autotaskinvoice") included: users search for it
        return (
            f"{head} The invoice number for the Autotaskinvoice id {invoice_id} and account {account}, "
            "was set to 'ERROR' in Autotask. return code 1."
        )
    return (
        f"{head} The Autotask invoice id {invoice_id} of account {account} was not sent; "
        "it is in the atqbo error log. return code 1."
    )


# -- small helpers -------------------------------------------------------------------------------


def _invoice_label(autotask_id: Any, number: str | None, company: str) -> str:
    """ "Autotask invoice 29684001 (INV-1001) of Contoso Dental": how every message names an invoice."""
    return f"{PRIVATE_NOTE_PREFIX} {autotask_id}" + (f" ({number})" if number else "") + f" of {company}"


def _text(value: Any) -> str:
    """A field as text; None is ""."""
    return "" if value is None else str(value)


def _date_of(value: Any) -> date | None:
    """The calendar date of an Autotask date/datetime, as written (no time-zone shift)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _clip(text: str, limit: int, ellipsis: bool = False) -> str:
    """``text`` cut to ``limit`` characters; with ``ellipsis`` the cut is shown by "..." within the limit."""
    if len(text) <= limit:
        return text
    if not ellipsis:
        return text[:limit]
    return text[: limit - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
