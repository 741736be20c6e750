"""Sales tax on a QBO invoice, as the company's tax regime and ``tax_mode`` want it (TAX-01..05).

- Non-US (regime ``global``): every sales line names a QBO tax code, decided from Autotask alone at
  plan time (``line_tax_code``): the exempt code for a tax-exempt company (TAX-02), else the code
  ``tax_code_map`` gives the line's tax region and category, else the exempt code for a line Autotask
  does not tax, else ``sales_tax_code``. Amounts are net of tax (``GlobalTaxCalculation``
  ``TaxExcluded``: Autotask's extendedPrice is before tax) and QBO computes the tax from the codes.
- US with automated sales tax: ``tax_mode`` ``qbo`` lets QBO compute it (exempt customers are made
  non-taxable: TAX-04); ``autotask`` overrides it with Autotask's (``TxnTaxDetail.TxnTaxCodeRef`` +
  ``TotalTax``, the only override QBO has: TAX-05).
- US manual sales tax: lines are ``TAX`` or ``NON`` as Autotask taxed them; ``tax_mode`` ``autotask``
  names the invoice's tax code: ``tax_code_map``'s for the company's tax region, else ``sales_tax_code``.
- US without sales tax (the demo company): ``qbo`` keeps the vendor app's way, Autotask's tax as a
  line of the "Sales Tax" item; ``autotask`` sends it as the invoice's ``TotalTax``, which QBO keeps.

Where QBO computes the tax from codes whose rates are known (non-US, and US manual tax with
``sales_tax_code``), ``tax_difference`` predicts QBO's tax before anything is written, so an invoice
whose QBO total would not be Autotask's is not created (the load step refuses it, line by line).
No I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from atqbo.money import json_number, to_cents
from atqbo.settings import Settings
from atqbo.transform.invoices.model import InvoicePlan, NotSent, PlannedLine, QboCompany, QboRefs
from atqbo.transform.tax_codes import TaxCodes

# The most QBO's tax (rounded once per rate) can differ from Autotask's (rounded per billing item)
# by rounding alone: half a cent per taxed line, and half a cent per rate.
HALF_CENT = Decimal("0.005")


# -- plan time: the code of a non-US line -------------------------------------------------------------


def line_tax_code(
    head: InvoicePlan,
    item: dict[str, Any],
    category: str | None,
    region: str | None,
    billed: Decimal,
    settings: Settings,
) -> tuple[str | None, str]:
    """TAX-01/02: (the QBO tax code name of a billing item's line, why) for a non-US company; (None, "")
    for a US one. ``category`` and ``region`` are the Autotask tax category of the item's billing code
    and the tax region of the company (None when Autotask has none)."""
    if not settings.non_us:
        return None, ""
    where = ", ".join(
        part for part in (f"category {category!r}" if category else "", f"region {region!r}" if region else "") if part
    )
    if head.tax_exempt:
        return _exempt_code(head, item, "the company is tax-exempt in Autotask", settings), "tax-exempt company"
    mapped = _mapped_code(category, region, settings.tax_code_map)
    if mapped:
        return mapped, where or "tax_code_map"
    if billed != 0 and to_cents(Decimal(str(item.get("taxDollars") or 0))) == 0:
        why = f"Autotask does not tax it ({where})" if where else "Autotask does not tax it"
        return _exempt_code(head, item, why, settings), why
    return settings.sales_tax_code, where or "sales_tax_code"


def _mapped_code(category: str | None, region: str | None, mapping: dict[str, str]) -> str | None:
    """``tax_code_map``'s code for "region:category", else the category, else the region (keys
    compared without case); a Canadian region's provincial code, an exempt category's own code."""
    folded = {key.strip().casefold(): code for key, code in mapping.items()}
    keys = [f"{region}:{category}" if region and category else None, category, region]
    return next((folded[k.strip().casefold()] for k in keys if k and k.strip().casefold() in folded), None)


def _exempt_code(head: InvoicePlan, item: dict[str, Any], why: str, settings: Settings) -> str:
    """``exempt_sales_tax_code``, or the plan stops: sending the taxable code would tax the line."""
    if settings.exempt_sales_tax_code:
        return settings.exempt_sales_tax_code
    raise NotSent(
        "error",
        f"{head.label}: billing item {item.get('id')} must not be taxed ({why}), but exempt_sales_tax_code "
        "is not set, so QBO would tax it at sales_tax_code",
        'set exempt_sales_tax_code in atqbo_settings to the QBO tax code for exempt sales (e.g. "Exempt", '
        '"No VAT", "GST free"), or map the Autotask tax category in tax_code_map; then clear the marker',
    )


# -- load time: the codes an invoice names, and QBO's tax predicted ------------------------------------


def tax_code_names(plan: InvoicePlan, company: QboCompany, settings: Settings) -> list[str]:
    """The QBO tax code names the invoice's payload will name (resolved by the load step)."""
    if company.tax_regime == "global":
        return list(dict.fromkeys(line.tax_code for line in plan.lines if line.kind == "item" and line.tax_code))
    code = invoice_tax_code(plan, company, settings)
    return [code] if code else []


def invoice_tax_code(plan: InvoicePlan, company: QboCompany, settings: Settings) -> str | None:
    """TAX-05, US manual sales tax in ``tax_mode`` ``autotask``: the QBO tax code of the whole invoice,
    ``tax_code_map``'s for the Autotask company's tax region (a state's or a county's code), else
    ``sales_tax_code``; None in every other case."""
    if company.tax_regime != "manual" or settings.tax_mode != "autotask":
        return None
    return _mapped_code(None, plan.tax_region, settings.tax_code_map) or settings.sales_tax_code


def tax_difference(
    plan: InvoicePlan, codes: TaxCodes, company: QboCompany, settings: Settings
) -> tuple[str, str] | None:
    """(reason, fix) when QBO's tax, computed from the codes' rates, would not be Autotask's beyond
    rounding; None when it would, or when QBO's tax cannot be known in advance (automated sales
    tax, or a code whose rates the company does not list)."""
    taxed = _taxed_lines(plan, codes, company, settings)
    if taxed is None:
        return None
    by_rate: dict[str, Decimal] = {}
    for line, rates in taxed:
        for rate_id in rates:
            by_rate[rate_id] = by_rate.get(rate_id, Decimal(0)) + line.amount
    predicted = sum((to_cents(base * codes.percents[r] / 100) for r, base in by_rate.items()), Decimal(0))
    difference = predicted - plan.tax
    if abs(difference) <= settings.rounding_tolerance + HALF_CENT * (len(taxed) + len(by_rate)):
        return None
    differing = [_line_tax_text(line, rates) for line, rates in taxed if _line_tax(line, rates) != line.autotask_tax]
    reason = (
        f"{plan.label}: QBO would compute {predicted} of tax from the lines' tax codes, Autotask's tax is {plan.tax} "
        f"(difference {difference:+}), so it was not sent" + (": " + "; ".join(differing) if differing else "")
    )
    fix = (
        "map each Autotask tax category (or region) to the QBO tax code of the same rate in tax_code_map "
        f"(QBO's codes: {codes.describe()}), or correct the tax in Autotask; then clear the marker"
    )
    return reason, fix


def _taxed_lines(
    plan: InvoicePlan, codes: TaxCodes, company: QboCompany, settings: Settings
) -> list[tuple[PlannedLine, dict[str, Decimal]]] | None:
    """Each sales line with the rates QBO will tax it at (none for a line it will not tax)."""
    if company.tax_regime == "global":
        named = {line.billing_item_id: line.tax_code for line in plan.lines if line.kind == "item"}
    elif code := invoice_tax_code(plan, company, settings):
        named = {line.billing_item_id: code for line in plan.lines if us_line_taxed(line, plan)}
    else:
        return None
    out = []
    for line in plan.lines:
        if line.kind != "item":
            continue
        rates: dict[str, Decimal] | None = {}
        name = named.get(line.billing_item_id)
        if name:
            code = codes.find(name)
            rates = codes.rate_percents(code, "SalesTaxRateList") if code else None
        if rates is None:
            return None
        out.append((line, rates))
    return out


def _line_tax(line: PlannedLine, rates: dict[str, Decimal]) -> Decimal:
    return to_cents(line.amount * sum(rates.values(), Decimal(0)) / 100)


def _line_tax_text(line: PlannedLine, rates: dict[str, Decimal]) -> str:
    percent = sum(rates.values(), Decimal(0)).normalize()
    code = f"code {line.tax_code!r}" if line.tax_code else "the invoice's tax code"
    why = f", {line.tax_reason}" if line.tax_reason else ""
    return (
        f"billing item {line.billing_item_id} ({line.amount}{why}): Autotask taxes it {line.autotask_tax}, "
        f"QBO's {code} ({percent:f}%) would tax it {_line_tax(line, rates)}"
    )


# -- build time: what the payload says about tax ------------------------------------------------------


def us_line_taxed(line: PlannedLine, plan: InvoicePlan) -> bool:
    """A US line is taxable (``TAX``) when Autotask taxed it and the company is not tax-exempt."""
    return line.autotask_tax > 0 and not plan.tax_exempt


def line_tax_code_ref(
    line: PlannedLine, plan: InvoicePlan, refs: QboRefs, company: QboCompany
) -> dict[str, str] | None:
    """A sales line's TaxCodeRef: its code's Id (non-US), TAX/NON (US manual sales tax), else none
    (automated sales tax decides by itself; a company without sales tax takes none)."""
    if company.tax_regime == "global":
        assert line.tax_code is not None  # line_tax_code gave every non-US line a code
        return {"value": refs.tax_codes[line.tax_code]}
    if company.tax_regime == "manual":
        return {"value": "TAX" if us_line_taxed(line, plan) else "NON"}
    return None


def header_tax_fields(plan: InvoicePlan, refs: QboRefs, company: QboCompany, settings: Settings) -> dict[str, Any]:
    """GlobalTaxCalculation (non-US) or the TxnTaxDetail carrying Autotask's tax (TAX-05)."""
    if company.tax_regime == "global":
        return {"GlobalTaxCalculation": "TaxExcluded"}
    if settings.tax_mode != "autotask":
        return {}
    detail: dict[str, Any] = {}
    if company.tax_regime == "automated":
        # the AST override: a TAX (or, for no tax, NON) code with the total tax
        detail["TxnTaxCodeRef"] = {"value": "TAX" if plan.tax else "NON"}
    elif (code := invoice_tax_code(plan, company, settings)) in refs.tax_codes:
        detail["TxnTaxCodeRef"] = {"value": refs.tax_codes[code]}
    detail["TotalTax"] = json_number(plan.tax)
    return {"TxnTaxDetail": detail}


def tax_source(company: QboCompany, settings: Settings) -> str:
    """Who computed the QBO invoice's tax, for a message comparing totals (TAX-04)."""
    if company.tax_regime == "global":
        return "QBO computed the tax from the lines' tax codes"
    if settings.tax_mode == "autotask":
        return "the tax is Autotask's, sent as QBO's tax"
    if company.tax_regime == "automated":
        return "QBO's automated sales tax computed the tax"
    if company.tax_regime == "manual":
        return "QBO computed the tax from its sales tax codes"
    return "the tax is Autotask's, sent as a sales tax line"
