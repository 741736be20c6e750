"""Checks with the vendor app's words: totals compared after creation (INV-13) and the message of a
negative invoice (INV-19)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from atqbo.money import cents
from atqbo.settings import Settings
from atqbo.transform.invoices.model import InvoicePlan, QboCompany
from atqbo.transform.invoices.tax import tax_source

NEGATIVE_INVOICE_FIX = "credit the invoice in Autotask (or void it) instead of sending a negative invoice"


# -- after creation ------------------------------------------------------------------------------


def compare_totals(
    plan: InvoicePlan, created: dict[str, Any], company: QboCompany, settings: Settings
) -> tuple[Literal["ok", "warning", "error"], str]:
    """INV-13, TAX-04: the QBO total against Autotask's after creation, both with tax, and what to
    say about it: both figures, both taxes and who computed QBO's tax."""
    qbo_label = f"QBO invoice {created.get('DocNumber') or created.get('Id') or '(no number)'}"
    if created.get("TotalAmt") is None:
        return "error", f"{qbo_label} for {plan.label}: QBO returned no TotalAmt to compare with Autotask's total"
    qbo_total = cents(created["TotalAmt"])
    qbo_tax = cents((created.get("TxnTaxDetail") or {}).get("TotalTax"))
    if not company.computes_tax and settings.tax_mode == "qbo":
        qbo_tax = plan.tax  # the tax went as a line of the tax item; QBO's TxnTaxDetail has none
    difference = qbo_total - plan.total
    if difference == 0:
        return "ok", ""
    message = (
        f"{qbo_label} for {plan.label}: QBO's total {qbo_total} (tax {qbo_tax}) differs from Autotask's "
        f"{plan.total} (tax {plan.tax}) by {difference:+}; {tax_source(company, settings)}"
    )
    if abs(difference) <= settings.rounding_tolerance:
        if settings.suppress_rounding_warnings:
            return "ok", ""
        return "warning", f"{message} (a rounding difference; suppress_rounding_warnings hides these)"
    return "error", f"{message}: {_total_fix(plan, qbo_total - qbo_tax, company, settings)}"


def _total_fix(plan: InvoicePlan, qbo_before_tax: Decimal, company: QboCompany, settings: Settings) -> str:
    """What to do about a total that differs: the tax when the amounts before tax agree, else the lines."""
    if qbo_before_tax == plan.total - plan.tax:
        if company.tax_regime == "automated":
            return (
                "QBO's automated sales tax taxes the invoice differently from Autotask: check the customer's "
                "address and tax status in QBO and the items' taxability, or set tax_mode 'autotask' so QBO "
                "takes Autotask's tax"
            )
        if company.tax_regime == "global":
            return "the lines' QBO tax codes tax differently from Autotask: check tax_code_map and sales_tax_code"
        return "check the invoice's tax code in QBO and the company's tax region in Autotask"
    fix = "compare the QBO invoice's lines with Autotask's and correct the QBO invoice"
    if not settings.blended_rate:
        fix += "; blended_rate makes QBO's lines follow Autotask's billed amounts"
    return fix


def negative_invoice_message(invoice_id: int, account: str, marker_field: str) -> str:
    """INV-19: the vendor app's message (quoted in docs/features.md), verbatim in invoiceNumber mode."""
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
