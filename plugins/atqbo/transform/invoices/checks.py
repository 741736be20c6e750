"""Checks with the vendor app's words: totals compared after creation (INV-13) and the message of a
negative invoice (INV-19)."""

from __future__ import annotations

from typing import Any, Literal

from atqbo.money import cents
from atqbo.settings import Settings
from atqbo.transform.invoices.model import InvoicePlan, QboCompany

NEGATIVE_INVOICE_FIX = "credit the invoice in Autotask (or void it) instead of sending a negative invoice"


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
