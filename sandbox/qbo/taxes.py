"""Sales and purchase tax on a transaction, as the company's edition computes it.

Which rules apply is the company's tax regime (``tax_regime``):

- ``global``: a non-US company (``CompanyInfo.Country`` GB, CA, AU, ...) that uses sales tax. Every
  sales line and every expense line names a TaxCode of the company (else QBO's 6000 "Make sure all
  your transactions have a VAT rate before you save.", GST/HST in Canada, GST in Australia); the
  server computes ``TxnTaxDetail`` (one TaxLine per rate: the lines' net amounts at that rate, rounded
  once per rate) and ignores any tax the client sends. ``GlobalTaxCalculation`` says how line amounts
  relate to tax: ``TaxExcluded`` (the default: amounts are net), ``TaxInclusive`` (the amount entered,
  or ``TaxInclusiveAmt``, includes the tax: the line's Amount becomes its net), ``NotApplicable`` (out
  of scope of tax: no codes, no tax).
- ``automated``: a US company with automated sales tax (``TaxPrefs.PartnerTaxEnabled``): a fixed rate
  on the taxable lines (line code TAX/NON, else the item's Taxable) of a taxable customer; the only
  override is ``TxnTaxDetail.TxnTaxCodeRef`` together with ``TotalTax``.
- ``manual``: a US company without it that has tax codes: lines are TAX or NON, and the tax is the
  rates of the transaction's tax code (``TxnTaxCodeRef``, else the customer's DefaultTaxCodeRef, else
  ``TaxPrefs.TaxGroupCodeRef``) on the taxable lines.
- ``client``: a US company without either, or a company that uses no sales tax: the client's
  ``TxnTaxDetail.TotalTax`` is kept, nothing is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.checks import check_ref
from sandbox.qbo.faults import business, invalid_enum, missing_tax_rate
from sandbox.qbo.schema import GLOBAL_TAX_CALCULATIONS
from sandbox.qbo.tax_lists import PSEUDO_CODES
from sandbox.qbo.values import CENT, dec, money, number_out, ref_value

# Automated sales tax: one fixed rate for every taxable line (the sandbox has no address-based engine).
AST_RATE = Decimal("0.07")
AST_TAX_RATE_ID = "1"
# The word QBO's "Make sure all your transactions have a ... rate" fault uses, by country.
TAX_WORDS = {"GB": "VAT", "CA": "GST/HST", "AU": "GST", "NZ": "GST", "SG": "GST", "IN": "GST"}
# A unit price QBO derives (TaxInclusive lines) keeps this many decimals.
UNIT_PRICE_PLACES = Decimal("0.0000001")


@dataclass
class TaxableLine:
    """A sales or expense line whose tax the regime decides: the line, its detail object, its item
    (None on an account-based expense line) and the detail's path for faults."""

    line: dict[str, Any]
    detail: dict[str, Any]
    item: dict[str, Any] | None
    element: str

    @property
    def amount(self) -> Decimal:
        return Decimal(str(self.line["Amount"]))


def tax_regime(books: Company) -> str:
    """``global``, ``automated``, ``manual`` or ``client`` (see the module's docstring)."""
    using_tax = bool(books.pref("TaxPrefs", "UsingSalesTax", default=True))
    if books.country != "US":
        return "global" if using_tax else "client"
    if books.pref("TaxPrefs", "PartnerTaxEnabled", default=False):
        return "automated"
    if any(code["Name"] not in PSEUDO_CODES for code in books.records["TaxCode"].values()):
        return "manual"
    return "client"


def apply_sales_tax(
    books: Company, record: dict[str, Any], lines: list[TaxableLine], customer: dict[str, Any]
) -> Decimal:
    """Set the sales lines' tax codes and the transaction's TxnTaxDetail; return its tax."""
    regime = tax_regime(books)
    if regime == "global":
        return _global_tax(books, record, lines, "SalesTaxRateList")
    if regime == "automated":
        return _automated_tax(books, record, lines, customer)
    if regime == "manual":
        return _manual_tax(books, record, lines, customer)
    return _client_tax(record)


def apply_purchase_tax(books: Company, record: dict[str, Any], lines: list[TaxableLine]) -> Decimal:
    """Tax on a bill: a global company's purchase rates; a US bill carries none (it is left as sent)."""
    if tax_regime(books) == "global":
        return _global_tax(books, record, lines, "PurchaseTaxRateList")
    return Decimal(0)


# -- global (non-US) companies ------------------------------------------------------------------------


def _global_tax(books: Company, record: dict[str, Any], lines: list[TaxableLine], rate_list: str) -> Decimal:
    """Every line's tax code, then one TaxLine per rate (net amounts at that rate, rounded per rate)."""
    calculation = record.setdefault("GlobalTaxCalculation", "TaxExcluded")
    if calculation not in GLOBAL_TAX_CALCULATIONS:
        raise invalid_enum("GlobalTaxCalculation", calculation)
    if calculation == "NotApplicable":  # out of scope of tax
        record["TxnTaxDetail"] = {"TotalTax": 0}
        return Decimal(0)
    bases: dict[str, tuple[dict[str, Any], Decimal]] = {}
    for taxable in lines:
        code = _line_tax_code(books, taxable, TAX_WORDS.get(books.country, "VAT"))
        rates = [books.get("TaxRate", d["TaxRateRef"]["value"]) for d in code[rate_list]["TaxRateDetail"]]
        rates = [rate for rate in rates if rate is not None]
        net = taxable.amount
        if calculation == "TaxInclusive":
            net = _net_of_inclusive(taxable, sum((dec(r["RateValue"], "RateValue") for r in rates), Decimal(0)))
        for rate in rates:
            _, base = bases.get(rate["Id"], (rate, Decimal(0)))
            bases[rate["Id"]] = (rate, base + net)
    tax_lines = [_tax_line(rate, base, dec(rate["RateValue"], "RateValue")) for rate, base in bases.values()]
    total = sum((Decimal(str(t["Amount"])) for t in tax_lines), Decimal(0))
    record["TxnTaxDetail"] = {"TotalTax": money(total), **({"TaxLine": tax_lines} if tax_lines else {})}
    return total


def _line_tax_code(books: Company, taxable: TaxableLine, tax_word: str) -> dict[str, Any]:
    """The live TaxCode a line of a global company names (its TaxCodeRef is required)."""
    if not ref_value(taxable.detail.get("TaxCodeRef")):
        raise missing_tax_rate(tax_word)
    ref = check_ref(books, taxable.detail["TaxCodeRef"], "TaxCode", f"{taxable.element}.TaxCodeRef")
    taxable.detail["TaxCodeRef"] = {"value": ref["value"]}
    code = books.get("TaxCode", ref["value"])
    assert code is not None
    return code


def _net_of_inclusive(taxable: TaxableLine, percent: Decimal) -> Decimal:
    """A TaxInclusive line: its gross (TaxInclusiveAmt, else the Amount entered) less the tax in it;
    the line keeps the gross as TaxInclusiveAmt and the net as Amount (and a net UnitPrice). A zero
    TaxInclusiveAmt is absent: python-quickbooks sends 0 for every line."""
    gross = taxable.amount
    if taxable.detail.get("TaxInclusiveAmt") not in (None, "", 0):
        gross = dec(taxable.detail["TaxInclusiveAmt"], f"{taxable.element}.TaxInclusiveAmt")
    gross = gross.quantize(CENT, rounding=ROUND_HALF_UP)
    net = (gross * 100 / (100 + percent)).quantize(CENT, rounding=ROUND_HALF_UP)
    taxable.detail["TaxInclusiveAmt"] = money(gross)
    taxable.line["Amount"] = money(net)
    qty = taxable.detail.get("Qty")
    if qty:
        taxable.detail["UnitPrice"] = number_out((net / Decimal(str(qty))).quantize(UNIT_PRICE_PLACES).normalize())
    return net


# -- US companies ----------------------------------------------------------------------------------


def _automated_tax(
    books: Company, record: dict[str, Any], lines: list[TaxableLine], customer: dict[str, Any]
) -> Decimal:
    """The fixed rate on the taxable lines of a taxable customer, unless the client overrides it with
    TxnTaxCodeRef and TotalTax together (Intuit staff: 'All other cases, it will be ignored')."""
    base = _us_taxable_base(lines, customer)
    computed = (base * AST_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
    given = record.get("TxnTaxDetail") or {}
    code_ref = given.get("TxnTaxCodeRef")
    override = ref_value(code_ref) is not None and given.get("TotalTax") not in (None, "")
    tax = _checked_total_tax(given) if override else computed
    detail: dict[str, Any] = {"TotalTax": money(tax)}
    if tax:
        tax_line = _tax_line({"Id": AST_TAX_RATE_ID}, base, AST_RATE * 100)
        tax_line["TaxLineDetail"]["TaxPercent"] = float(AST_RATE * 100)
        if override:
            tax_line["Amount"] = money(tax)
            tax_line["TaxLineDetail"]["OverrideDeltaAmount"] = money(tax - computed)
        detail["TaxLine"] = [tax_line]
    if ref_value(code_ref):
        detail["TxnTaxCodeRef"] = _tax_code_ref(books, code_ref) if override else code_ref
    record["TxnTaxDetail"] = detail
    return tax


def _manual_tax(books: Company, record: dict[str, Any], lines: list[TaxableLine], customer: dict[str, Any]) -> Decimal:
    """The rates of the transaction's tax code on the taxable lines of a taxable customer."""
    base = _us_taxable_base(lines, customer)
    given = record.get("TxnTaxDetail") or {}
    code_ref = next(
        (
            ref
            for ref in (
                given.get("TxnTaxCodeRef"),
                customer.get("DefaultTaxCodeRef"),
                books.pref("TaxPrefs", "TaxGroupCodeRef"),
            )
            if ref_value(ref)
        ),
        None,
    )
    if code_ref is None:
        record["TxnTaxDetail"] = {"TotalTax": 0}
        return Decimal(0)
    ref = _tax_code_ref(books, code_ref)
    code = books.get("TaxCode", ref["value"])
    assert code is not None
    rates = [books.get("TaxRate", d["TaxRateRef"]["value"]) for d in code["SalesTaxRateList"]["TaxRateDetail"]]
    tax_lines = [_tax_line(r, base, dec(r["RateValue"], "RateValue")) for r in rates if r is not None and base]
    total = sum((Decimal(str(t["Amount"])) for t in tax_lines), Decimal(0))
    record["TxnTaxDetail"] = {
        "TxnTaxCodeRef": ref,
        "TotalTax": money(total),
        **({"TaxLine": tax_lines} if tax_lines else {}),
    }
    return total


def _us_taxable_base(lines: list[TaxableLine], customer: dict[str, Any]) -> Decimal:
    """Mark each line TAX or NON (its code when it says, else its item's Taxable) and return the
    taxable amount: nothing for a customer with Taxable false."""
    base = Decimal(0)
    for taxable in lines:
        code = ref_value(taxable.detail.get("TaxCodeRef"))
        is_taxable = code == "TAX" if code in PSEUDO_CODES else bool((taxable.item or {}).get("Taxable"))
        taxable.detail["TaxCodeRef"] = {"value": "TAX" if is_taxable else "NON"}
        if is_taxable and customer.get("Taxable", True):
            base += taxable.amount
    return base


def _client_tax(record: dict[str, Any]) -> Decimal:
    """No tax computed: the TotalTax the client sent (zero or more) is kept and added."""
    given = record.get("TxnTaxDetail") or {}
    tax = _checked_total_tax(given)
    record["TxnTaxDetail"] = {**given, "TotalTax": money(tax)}
    return tax


# -- shared ----------------------------------------------------------------------------------------


def _checked_total_tax(given: dict[str, Any]) -> Decimal:
    tax = dec(given.get("TotalTax", 0), "TxnTaxDetail.TotalTax").quantize(CENT, rounding=ROUND_HALF_UP)
    if tax < 0:
        raise business("The sales tax amount cannot be negative.", "TxnTaxDetail.TotalTax")
    return tax


def _tax_code_ref(books: Company, ref: Any) -> dict[str, Any]:
    """A TxnTaxCodeRef: checked against the company's tax codes when it has any (a company without
    any, like the demo one, keeps the reference as sent)."""
    if not books.records["TaxCode"]:
        return ref
    checked = check_ref(books, ref, "TaxCode", "TxnTaxDetail.TxnTaxCodeRef")
    return {"value": checked["value"]}


def _tax_line(rate: dict[str, Any], base: Decimal, percent: Decimal) -> dict[str, Any]:
    """One TaxLine: ``percent`` of ``base``, rounded to the cent."""
    amount = (base * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "Amount": money(amount),
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": {"value": rate["Id"]},
            "PercentBased": True,
            "TaxPercent": number_out(percent),
            "NetAmountTaxable": money(base),
        },
    }
