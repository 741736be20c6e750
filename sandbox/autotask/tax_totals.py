"""What no Autotask database with tax tables holds, checked on seeds: an invoice whose totals
disagree with its lines, or a line taxed otherwise than its company's tax region and its billing
code's tax category say.

Autotask computes a billing item's tax when it is posted: the taxes (AT-HELP TaxesEntity) of the
company's ``taxRegionID`` and the billing code's ``taxCategoryID`` on the item's amount, none for a
company with ``isTaxExempt``; an invoice's ``totalTaxValue`` is its items' ``taxDollars`` and its
``invoiceTotal`` their ``totalAmount`` plus that tax (AT-INVDOC, AT-BIDOC; docs/api-facts.md 5.1).
How it rounds is not documented: a line may differ from amount x rate by a cent per tax (a seed may
round each tax once per invoice and spread the cents), and totals by a cent.

Only a tenant with Taxes rows is checked (the demo tenant has none: its tax is a flat rate the
seed states), only invoices the seed adds or adds billing items to, and a line is checked against
rates only when its company has a region and its billing code a category.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sandbox.autotask.values import WriteError

Records = Mapping[int, dict[str, Any]]
# The entities the check reads.
TAX_TOTALS_ENTITIES = ("Taxes", "Companies", "BillingCodes", "Invoices", "BillingItems")
CENT = Decimal("0.01")


def check_invoice_tax(tables: Mapping[str, Records], invoice_ids: set[int]) -> None:
    """``tables``: every entity's records once the seed is merged; ``invoice_ids``: the invoices it touches."""
    if not tables["Taxes"]:
        return
    taxes: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for tax in tables["Taxes"].values():
        taxes[(tax.get("taxRegionID"), tax.get("taxCategoryID"))].append(tax)
    items_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in tables["BillingItems"].values():
        items_of[item.get("invoiceID")].append(item)
    for invoice_id in sorted(i for i in invoice_ids if i in tables["Invoices"]):
        invoice = tables["Invoices"][invoice_id]
        items = sorted(items_of.get(invoice_id, []), key=lambda item: item["id"])
        if not items:
            continue
        company = tables["Companies"].get(invoice.get("companyID")) or {}
        for item in items:
            code = tables["BillingCodes"].get(item.get("billingCodeID")) or {}
            pair = (company.get("taxRegionID"), code.get("taxCategoryID"))
            _check_line_tax(invoice, item, company, None if None in pair else taxes.get(pair, []))
        _check_totals(invoice, items)


def _check_line_tax(
    invoice: dict[str, Any], item: dict[str, Any], company: dict[str, Any], taxes: list[dict[str, Any]] | None
) -> None:
    """One line's tax: none for an exempt company; else, when ``taxes`` is known (the company has a
    region and the code a category; ``[]``: no Taxes row for the pair, so untaxed), their sum."""
    where = f"billing item {item['id']} of invoice {invoice['id']} ({invoice.get('invoiceNumber')})"
    tax = _dec(item.get("taxDollars"))
    if company.get("isTaxExempt"):
        if tax:
            raise WriteError(
                f"{where} has taxDollars {tax} but company {company['id']} is tax exempt: set taxDollars to 0"
            )
        return
    if taxes is None:
        return
    expected, tolerance = _tax_of(_dec(item.get("totalAmount")), taxes)
    if abs(tax - expected) > tolerance:
        names = ", ".join(f"{t['taxName']} {t['taxRate']}%" for t in taxes) or "no tax"
        raise WriteError(
            f"{where} has taxDollars {tax}, but its amount {item.get('totalAmount')} at {names} (tax region "
            f"{company['taxRegionID']} of company {company['id']}) is {expected.quantize(CENT)}: recompute its tax"
        )


def _tax_of(amount: Decimal, taxes: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
    """The exact tax on ``amount`` (a compounded tax is on the amount plus the others) and the
    rounding allowed (a cent per tax)."""
    simple = [t for t in taxes if not t.get("isCompounded")]
    compounded = [t for t in taxes if t.get("isCompounded")]
    base_tax = sum((amount * _dec(t.get("taxRate")) / 100 for t in simple), Decimal(0))
    on_top = sum(((amount + base_tax) * _dec(t.get("taxRate")) / 100 for t in compounded), Decimal(0))
    return base_tax + on_top, CENT * len(taxes)


def _check_totals(invoice: dict[str, Any], items: list[dict[str, Any]]) -> None:
    where = f"invoice {invoice['id']} ({invoice.get('invoiceNumber')})"
    lines_tax = sum((_dec(item.get("taxDollars")) for item in items), Decimal(0))
    total_tax = _dec(invoice.get("totalTaxValue"))
    if abs(lines_tax - total_tax) > CENT:
        raise WriteError(
            f"{where} has totalTaxValue {total_tax} but its billing items' taxDollars add up to {lines_tax}: "
            "make totalTaxValue their sum"
        )
    expected = sum((_dec(item.get("totalAmount")) for item in items), Decimal(0)) + total_tax
    if abs(_dec(invoice.get("invoiceTotal")) - expected) > CENT:
        raise WriteError(
            f"{where} has invoiceTotal {invoice.get('invoiceTotal')} but its billing items' totalAmount plus "
            f"totalTaxValue is {expected}: make invoiceTotal that sum"
        )


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0))
