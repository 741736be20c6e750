"""The checks every invoice passes before anything is written for it (the invoice load step): its
currency allowed in QBO (CUR-02), the tax codes it names found (TAX-01, TAX-02, TAX-05), and QBO's
tax from those codes equal to Autotask's (TAX-01, TAX-05); and the setting ``tax_mode`` ``autotask``
needs on a company with manual sales tax. An invoice that fails one is not sent; nothing was
created for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atqbo.exceptions import AtqboConfigError
from atqbo.settings import VARIABLE_NAME
from atqbo.transform.invoices.tax import tax_code_names, tax_difference
from atqbo.transform.tax_codes import TaxCodes

if TYPE_CHECKING:
    from atqbo.settings import Settings
    from atqbo.transform.invoices import InvoicePlan, QboCompany

Failures = dict[int, tuple[str, str]]  # Autotask id -> (reason, fix) of a plan that cannot be sent


def require_invoice_tax_code(company: QboCompany, codes: TaxCodes, settings: Settings) -> None:
    """Stop the invoice run when ``tax_mode`` ``autotask`` needs ``sales_tax_code`` (TAX-05 on a
    company with manual sales tax) and it is unset."""
    if company.tax_regime == "manual" and settings.tax_mode == "autotask" and not settings.sales_tax_code:
        raise AtqboConfigError(
            "tax_mode is 'autotask' and QBO computes sales tax from its own tax codes (no automated sales tax), "
            f"so each invoice must name one: set sales_tax_code in the {VARIABLE_NAME} Variable to the QBO tax "
            f"code Autotask's tax is at (QBO's codes: {codes.describe()}); nothing was written"
        )


def refuse_before_writing(
    plans: list[InvoicePlan], company: QboCompany, codes: TaxCodes, settings: Settings
) -> tuple[dict[int, dict[str, str]], Failures]:
    """Each plan's tax code ids (name -> Id), and (reason, fix) of each plan that must not be sent."""
    ids: dict[int, dict[str, str]] = {}
    failures: Failures = {}
    for plan in plans:
        problem = currency_problem(plan, company)
        if problem is None:
            found, missing = codes.ids(tax_code_names(plan, company, settings))
            ids[plan.autotask_id] = found
            problem = _missing_codes(plan, missing, codes) if missing else None
        if problem is None:
            problem = tax_difference(plan, codes, company, settings)
        if problem is not None:
            failures[plan.autotask_id] = problem
    return ids, failures


def currency_problem(plan: InvoicePlan, company: QboCompany) -> tuple[str, str] | None:
    """CUR-02: an invoice in a foreign currency into a company without multi-currency would be
    booked in the home currency at the foreign amounts."""
    if company.multi_currency or plan.currency is None or plan.currency == company.home_currency:
        return None
    return (
        f"{plan.label}: Autotask bills the company in {plan.currency}, but multi-currency is off in QBO (home "
        f"currency {company.home_currency}), so QBO would book the {plan.currency} amounts as {company.home_currency}; "
        "not sent",
        "turn on multi-currency in QBO (Settings > Account and settings > Advanced > Currency; it cannot be turned "
        f"off again), or bill the company in {company.home_currency} in Autotask; then clear the marker",
    )


def _missing_codes(plan: InvoicePlan, missing: list[str], codes: TaxCodes) -> tuple[str, str]:
    named = ", ".join(repr(name) for name in missing)
    return (
        f"{plan.label}: QBO has no active tax code named {named}, which its lines need",
        f"correct sales_tax_code, exempt_sales_tax_code or tax_code_map in the {VARIABLE_NAME} Variable to "
        f"the names of QBO's tax codes ({codes.describe()}); then clear the marker",
    )
