"""TAX-03: the purchase tax code of a non-US company's bills.

A non-US QBO company (``qbo_edition`` "non-US": UK VAT, Canadian GST/HST, Australian GST) refuses a
bill line without a tax code of its own (fault 6000, "Make sure all your transactions have a VAT
rate before you save") and computes the bill's tax from the codes' purchase rates (docs/api-facts.md
5.1). Every line of every bill carries the code named ``purchase_tax_code``, and the bill says
``GlobalTaxCalculation`` "TaxExcluded": Autotask's PO amounts are before tax (a PO item has a unit
cost and a quantity and no tax field, the PO a tax region but no tax amount: docs/api-facts.md 5.1),
so QBO adds the code's tax on top. A US company's bills carry no tax code (PO-02).

The codes are read once per run, only for a non-US company, before anything is written; a name QBO
does not have stops the run (as a missing ``po_ap_account`` does).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from atqbo.exceptions import AtqboConfigError
from atqbo.qbo_tax import read_tax_codes
from atqbo.settings import VARIABLE_NAME

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.settings import Settings

TAX_EXCLUDED = "TaxExcluded"  # GlobalTaxCalculation: the line amounts are before tax


def find_purchase_tax_code(qbo: QuickBooksOnlineHook, settings: Settings) -> dict[str, Any] | None:
    """TAX-03: the QBO tax code named ``purchase_tax_code`` for a non-US company; None for a US one.
    Without it no bill can be sent, so the run stops naming the setting, the name and QBO's codes."""
    if not settings.non_us:
        return None
    codes = read_tax_codes(qbo)
    name = settings.purchase_tax_code or ""
    code = codes.find(name)
    if code is None:
        raise AtqboConfigError(
            f"QBO has no active tax code named {name!r} (purchase_tax_code), so no purchase order can become a bill: "
            f"a non-US company's bill lines each need one (TAX-03). QBO's tax codes: {codes.describe()}. Fix: set "
            f"purchase_tax_code in the {VARIABLE_NAME} Variable to the name of the QBO tax code your purchases are "
            "at, e.g. '20.0% S' (UK), 'HST ON' (Canada), 'GST' (Australia)"
        )
    return code


def bill_tax(bill: dict[str, Any]) -> Decimal:
    """The tax QBO computed on a bill (0 when it has none)."""
    return Decimal(str((bill.get("TxnTaxDetail") or {}).get("TotalTax") or 0))


def bill_total_before_tax(bill: dict[str, Any]) -> Decimal:
    """A bill's total without the tax QBO added: what compares with the Autotask PO's total."""
    return Decimal(str(bill["TotalAmt"])) - bill_tax(bill)
