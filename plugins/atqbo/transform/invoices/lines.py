"""The lines of a QBO invoice, planned from Autotask's billing items: items, amounts and blended
rates (INV-06, INV-15), descriptions (INV-22), the billing period line (INV-11), each line's tax
code (non-US, TAX-01/02), Autotask's tax as a line when QBO keeps the tax it is sent (INV-18); and
what the lines need in QBO (items, classes)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from atqbo.money import as_decimal, cents, number_or_none, to_cents
from atqbo.settings import Settings
from atqbo.transform.invoices.items import TAX_ITEM_NAME, generic_item_name, item_key_for_billing_code
from atqbo.transform.invoices.model import AutotaskInvoiceData, InvoicePlan, NotSent, PlannedLine, QboCompany
from atqbo.transform.invoices.tax import line_tax_code
from atqbo.transform.values import (
    MAX_AMOUNT_DIGITS,
    MAX_LINE_DESCRIPTION,
    UNIT_PRICE_PLACES,
    as_text,
    clip,
    control_characters,
    date_of,
    digits_past_qbo,
    without_control_characters,
)

# What a billing item's line is computed from: always its quantity and rate; its billed amount and
# tax when Autotask gives them (a null there is read as "not given", as Autotask's own UI does)
_REQUIRED_NUMBERS = ("quantity", "rate")
_OPTIONAL_NUMBERS = ("extendedPrice", "totalAmount", "taxDollars")
RETRY_AFTER_FIX = "then clear the marker (or retry from the error log)"

_DATE_FORMATS = {"MM/DD/YYYY": "%m/%d/%Y", "DD/MM/YYYY": "%d/%m/%Y", "YYYY-MM-DD": "%Y-%m-%d"}


# -- lines ---------------------------------------------------------------------------------------


def billing_period_line(invoice: dict[str, Any], settings: Settings) -> tuple[PlannedLine, ...]:
    """INV-11: "Billing period: <from> - <to>" as a first description line, when both dates exist."""
    start, end = date_of(invoice.get("fromDate")), date_of(invoice.get("toDate"))
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


def item_lines(
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
    refuse_unusable_numbers(head, item)
    code = _billing_code_of(head, item, data)
    key, item_code_id = _item_key(head, item, code, settings, warnings)
    quantity, unit_price, amount = _line_amounts(head, item, settings, warnings)
    description = _line_description(head, item, code, warnings)
    lob = data.lines_of_business.get(item.get("organizationalLevelAssociationID"))
    category = data.tax_categories.get((code or {}).get("taxCategoryID"))
    region = data.tax_regions.get((data.companies.get(head.company_id) or {}).get("taxRegionID"))
    tax_code, tax_reason = line_tax_code(head, item, category, region, amount, settings)
    return PlannedLine(
        description=description,
        item_key=key,
        billing_code_id=item_code_id,
        quantity=quantity,
        unit_price=unit_price,
        amount=amount,
        service_date=date_of(item.get("itemDate")),
        class_name=settings.lob_class_map.get(lob) if lob else None,
        kind="item",
        billing_item_id=item.get("id"),
        autotask_tax=cents(item.get("taxDollars")),
        tax_code=tax_code,
        tax_reason=tax_reason,
    )


def refuse_unusable_numbers(head: InvoicePlan, item: dict[str, Any]) -> None:
    """Item 2 of issue 11: a billing item whose quantity or rate is null, or any of whose amounts is
    not a number, stops the invoice (read as 0 it would go out at the wrong amount)."""
    for name in (*_REQUIRED_NUMBERS, *_OPTIONAL_NUMBERS):
        value = item.get(name)
        if value is None and name in _OPTIONAL_NUMBERS:
            continue
        if number_or_none(value) is not None:
            continue
        said = (
            "no " + name + " in Autotask (it is null)" if value is None else f"{name} {value!r}, which is not a number"
        )
        raise NotSent(
            "error",
            f"{head.label}: billing item {item.get('id')} has {said}, so what its line costs is not known; not sent",
            f"correct the {name} of billing item {item.get('id')} in Autotask (void the invoice, unpost the item, "
            f"fix it, post it and invoice it again), {RETRY_AFTER_FIX}",
        )


def refuse_unusable_totals(head: InvoicePlan, invoice: dict[str, Any]) -> None:
    """The invoice's own total and tax: numbers, a tax that is not negative, a total QBO can hold."""
    for name, required in (("invoiceTotal", True), ("totalTaxValue", False)):
        value = invoice.get(name)
        if (value is None and not required) or number_or_none(value) is not None:
            continue
        said = "no " + name + " (it is null)" if value is None else f"{name} {value!r}, which is not a number"
        raise NotSent(
            "error",
            f"{head.label}: Autotask gave the invoice {said}, so its total cannot be checked; not sent",
            f"check the invoice in Autotask (open it and save it again, or void it and invoice the items again), "
            f"{RETRY_AFTER_FIX}",
        )
    if head.tax < 0:
        raise NotSent(
            "error",
            f"{head.label}: its tax is negative ({head.tax}) while its total is {head.total}; QBO cannot carry a "
            "negative tax on an invoice, so it was not sent",
            "correct the tax of the invoice's items in Autotask (a refund of tax belongs on a credit), "
            + RETRY_AFTER_FIX,
        )
    too_big = digits_past_qbo(head.total)
    if too_big:
        raise NotSent(
            "error",
            f"{head.label}: its total {head.total} has {too_big}; not sent",
            f"correct the invoice in Autotask (QBO amounts have at most {MAX_AMOUNT_DIGITS} digits before the "
            f"decimal point and {UNIT_PRICE_PLACES} after), {RETRY_AFTER_FIX}",
        )


def refuse_amounts_qbo_cannot_hold(head: InvoicePlan, lines: tuple[PlannedLine, ...], settings: Settings) -> None:
    """A line whose quantity, unit price or amount QBO cannot hold ("10.5": at most ten digits before
    the decimal point, five after) stops the invoice: QBO would refuse it, or round it to another total."""
    for line in lines:
        if line.kind == "description":
            continue
        for what, value, places in (
            ("quantity", line.quantity, UNIT_PRICE_PLACES),
            ("unit price", line.unit_price, UNIT_PRICE_PLACES),
            ("amount", line.amount, None),
        ):
            why = digits_past_qbo(value, places) if value is not None else ""
            if not why:
                continue
            which = f"billing item {line.billing_item_id}" if line.kind == "item" else "the tax line"
            fix = f"correct {which} in Autotask"
            if what == "unit price" and "decimals" in why and not settings.blended_rate:
                fix += ", or turn on blended_rate so the line is sent at the amount Autotask bills for it"
            raise NotSent(
                "error",
                f"{head.label}: the {what} of {which} ({value}) has {why}; not sent",
                f"{fix}; {RETRY_AFTER_FIX}",
            )


def _billing_code_of(head: InvoicePlan, item: dict[str, Any], data: AutotaskInvoiceData) -> dict[str, Any] | None:
    """The billing code of an item (None when it has none); an unknown code stops the invoice."""
    code_id = item.get("billingCodeID")
    if code_id is None:
        return None
    code = data.billing_codes.get(code_id)
    if code is None:
        raise NotSent(
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
        raise NotSent(
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
    """INV-15: (Qty, UnitPrice, Amount) of a billing item, by Autotask's rate or by its billed amount.

    LINE-01: a non-billable item, or one a contract covers (Autotask bills less than rate x
    quantity), is always sent at what Autotask bills for it, ``blended_rate`` or not: covered work
    is never charged.
    """
    quantity = as_decimal(item.get("quantity"))
    rate = as_decimal(item.get("rate"))
    if not settings.blended_rate and not not_charged_in_full(item, rate, quantity):
        return quantity, rate, to_cents(rate * quantity)
    amount = billed_amount(item)
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


def not_charged_in_full(item: dict[str, Any], rate: Decimal, quantity: Decimal) -> bool:
    """LINE-01: Autotask bills less than rate x quantity because the work is non-billable or covered
    by a contract (block hours, retainer, recurring service)."""
    if item.get("nonBillable"):
        return True
    return item.get("contractID") is not None and billed_amount(item) < to_cents(rate * quantity)


def billed_amount(item: dict[str, Any]) -> Decimal:
    """What Autotask bills for an item before tax: extendedPrice; else totalAmount less taxDollars."""
    if item.get("extendedPrice") is not None:
        return cents(item["extendedPrice"])
    return cents(item.get("totalAmount")) - cents(item.get("taxDollars"))


def _line_description(head: InvoicePlan, item: dict[str, Any], code: dict[str, Any] | None, warnings: list[str]) -> str:
    """INV-22: the invoice text of a billing item, cut to QBO's 4,000 characters with an ellipsis."""
    for candidate in (item.get("lineItemFullDescription"), item.get("description"), item.get("itemName")):
        text = as_text(candidate).strip()
        if text:
            break
    else:
        text = as_text((code or {}).get("name")).strip()
    found = control_characters(text)
    if found:
        text = without_control_characters(text).strip()
        warnings.append(
            f"{head.label}: the description of billing item {item.get('id')} holds control characters QBO cannot "
            f"store ({', '.join(found)}); they were removed (correct the description in Autotask to silence this)"
        )
    if len(text) > MAX_LINE_DESCRIPTION:
        warnings.append(
            f"{head.label}: the description of billing item {item.get('id')} has {len(text)} characters; "
            f"cut to QBO's {MAX_LINE_DESCRIPTION}"
        )
    return clip(text, MAX_LINE_DESCRIPTION, ellipsis=True)


def tax_line(head: InvoicePlan, invoice: dict[str, Any], settings: Settings) -> tuple[PlannedLine, ...]:
    """INV-18: Autotask's tax as a line, so QBO's total matches (the vendor app's way), for a US
    company in ``tax_mode`` ``qbo``; dropped at build time when QBO computes the tax itself. Never
    for a non-US company or in ``tax_mode`` ``autotask``: tax is not income (TAX-01, TAX-05)."""
    if head.tax <= 0 or settings.non_us or settings.tax_mode == "autotask":
        return ()
    region = as_text(invoice.get("taxRegionName")).strip()
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


def before_tax_gap(amounts: Iterable[Decimal], total: Decimal, tax: Decimal, tolerance: Decimal) -> Decimal | None:
    """LINE-02's rule: how far lines adding up to ``amounts`` are from an invoice's ``total`` less its
    ``tax``, or None when within ``tolerance`` (``rounding_tolerance``). The invoice sync's refusal
    below and the preflight's measure of the billing items an API user can see (BEY-08) both use it."""
    difference = sum(amounts, Decimal(0)) - (total - tax)
    return None if abs(difference) <= tolerance else difference


def refuse_if_lines_miss_total(
    head: InvoicePlan, lines: tuple[PlannedLine, ...], items: list[dict[str, Any]], settings: Settings
) -> None:
    """LINE-02: an invoice whose QBO lines, as built, would not add up to Autotask's (before tax) is
    not sent.

    Raised before any write, naming each line that QBO would total differently from what Autotask
    bills for it, and the fix: ``blended_rate`` when lines are charged at rate x quantity but Autotask
    bills less, or the API user's access to every line of business when the lines atqbo can see do
    not add up to the invoice (INV-13 would only find out after the invoice exists). The tax is
    checked on its own: ``tax.tax_difference`` where QBO computes it, INV-13 after creation.
    """
    planned = sum((line.amount for line in lines if line.kind == "item"), Decimal(0))
    expected = head.total - head.tax
    difference = before_tax_gap([planned], head.total, head.tax, settings.rounding_tolerance)
    if difference is None:
        return
    billed = {item.get("id"): billed_amount(item) for item in items}
    differing = [
        f"billing item {line.billing_item_id} is sent as {line.quantity} x {line.unit_price} = {line.amount}, "
        f"Autotask bills {billed[line.billing_item_id]}"
        for line in lines
        if line.kind == "item" and line.billing_item_id in billed and line.amount != billed[line.billing_item_id]
    ]
    if differing:
        fix = (
            "turn on blended_rate in atqbo_settings so each line is sent at the amount Autotask bills for it, "
            "then clear the marker (or retry from the error log)"
        )
    else:
        fix = (
            "the billing items the atqbo API user can see do not add up to the invoice: give the API user "
            "access to every line of business (Autotask: Admin > Resources/Users > the API user > Security), "
            "or correct the invoice in Autotask; then clear the marker (or retry from the error log)"
        )
        differing = [f"the {len(items)} billing item(s) atqbo can read add up to {planned}"]
    raise NotSent(
        "error",
        f"{head.label}: QBO's lines would add up to {planned} before tax but Autotask's invoice is {expected} "
        f"before tax (total {head.total}, tax {head.tax}; difference {difference:+}), so it was not sent: "
        f"{'; '.join(differing)}",
        fix,
    )


def item_keys_needed(plan: InvoicePlan, company: QboCompany) -> dict[str, int | None]:
    """The items ``build_invoice_payload`` will reference: item key -> billing code id (None: generic/tax).

    For the load step: when QBO computes the tax the tax line is not sent, so its item is not needed.
    """
    needed: dict[str, int | None] = {}
    for line in lines_to_send(plan, company):
        if line.item_key and line.item_key not in needed:
            needed[line.item_key] = line.billing_code_id
    return needed


def class_names_needed(plan: InvoicePlan, company: QboCompany, settings: Settings) -> list[str]:
    """The class names ``build_invoice_payload`` will reference under the company's class tracking."""
    if company.class_tracking == "transaction":
        return [plan.class_name] if plan.class_name else []
    if company.class_tracking == "line":
        names = (line_class(line, settings) for line in lines_to_send(plan, company) if line.kind != "description")
        return list(dict.fromkeys(n for n in names if n))
    return []


def lines_to_send(plan: InvoicePlan, company: QboCompany) -> list[PlannedLine]:
    """The plan's lines QBO gets: all but the tax line when QBO computes the tax (twice would overcharge)."""
    return [line for line in plan.lines if not (line.kind == "tax" and company.computes_tax)]


def line_class(line: PlannedLine, settings: Settings) -> str | None:
    """Per-line class: the line's own (its line of business), else the default class.

    Not the invoice's class: with mixed lines that is another line of business's class, and an
    unmapped line is better left unclassified than booked to the wrong one. (When no line is
    mapped the invoice's class is the default class, so the result is the same.)
    """
    return line.class_name or settings.default_class
