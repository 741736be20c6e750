"""What a QBO company allows an invoice to carry, read from its Preferences: automated sales tax,
class tracking, custom fields, custom transaction numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from atqbo.settings import Settings
from atqbo.transform.invoices.model import QboCompany


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
