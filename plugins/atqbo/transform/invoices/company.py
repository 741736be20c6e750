"""What a QBO company allows an invoice to carry, read from its Preferences: how it taxes a sale
(its tax regime), class tracking, custom fields, custom transaction numbers, multi-currency."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from atqbo.settings import Settings
from atqbo.transform.invoices.model import QboCompany, TaxRegime
from atqbo.transform.tax_codes import TaxCodes


def qbo_company_from_preferences(
    preferences: dict[str, Any], settings: Settings, tax_codes: TaxCodes | None = None
) -> QboCompany:
    """Read the tax regime, class tracking, enabled custom fields, custom numbering and currencies
    from QBO Preferences (and, for a US company without automated sales tax, its tax codes).

    Takes the Preferences entity (or the ``{"Preferences": ...}`` answer around it).
    """
    prefs = preferences.get("Preferences", preferences)
    accounting = prefs.get("AccountingInfoPrefs") or {}
    sales_forms = prefs.get("SalesFormsPrefs") or {}
    currency = prefs.get("CurrencyPrefs") or {}
    if accounting.get("ClassTrackingPerTxnLine"):
        tracking: Literal["none", "transaction", "line"] = "line"
    elif accounting.get("ClassTrackingPerTxn"):
        tracking = "transaction"
    else:
        tracking = "none"
    return QboCompany(
        tax_regime=tax_regime(prefs.get("TaxPrefs") or {}, settings, tax_codes),
        class_tracking=tracking,
        custom_fields=_enabled_custom_fields(sales_forms.get("CustomField") or []),
        # absent means we cannot tell; True is the safe guess (we then ask QBO to number explicitly)
        custom_txn_numbers=bool(sales_forms.get("CustomTxnNumbers", True)),
        multi_currency=bool(currency.get("MultiCurrencyEnabled")),
        home_currency=str((currency.get("HomeCurrency") or {}).get("value") or "USD"),
    )


def tax_regime(tax_prefs: dict[str, Any], settings: Settings, tax_codes: TaxCodes | None) -> TaxRegime:
    """How the company taxes a sale. The edition is the setting's (``qbo_edition``): a non-US company
    always taxes from line codes, and automated sales tax exists only in US companies, so a non-US
    setting wins over a stray preference flag. A US company without it computes sales tax only when
    sales tax is on (``UsingSalesTax``) and it has tax codes of its own (manual sales tax); else QBO
    keeps the tax it is sent (``tax_codes`` None: not read, taken as none)."""
    if settings.non_us:
        return "global"
    if tax_prefs.get("PartnerTaxEnabled"):
        return "automated"
    if tax_prefs.get("UsingSalesTax", True) and tax_codes is not None and tax_codes.has_own_codes:
        return "manual"
    return "none"


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
