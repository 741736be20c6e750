"""The QBO company's sales tax setup, as every flow and tool that compares or sends tax reads it:
its preferences (tax regime, currencies) and its tax codes with their rates (docs/api-facts.md,
Part 5). One to three reads; what they mean is decided by the pure transforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atqbo.transform.invoices import qbo_company_from_preferences
from atqbo.transform.tax_codes import TaxCodes

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.settings import Settings
    from atqbo.transform.invoices import QboCompany


def read_qbo_company(qbo: QuickBooksOnlineHook, settings: Settings) -> tuple[QboCompany, TaxCodes]:
    """The company's preferences and, unless it has automated sales tax, its tax codes (and their
    rates, when it has codes of its own): one to three reads."""
    preferences = qbo.preferences()
    prefs = preferences.get("Preferences", preferences)
    codes = TaxCodes({})
    if settings.non_us or not (prefs.get("TaxPrefs") or {}).get("PartnerTaxEnabled"):
        codes = read_tax_codes(qbo)
    return qbo_company_from_preferences(preferences, settings, codes), codes


def read_tax_codes(qbo: QuickBooksOnlineHook) -> TaxCodes:
    """The company's active tax codes and, when it has codes of its own (not only TAX and NON), the
    rates they name: one or two reads."""
    records = list(qbo.query_all("TaxCode", order_by="Id"))
    codes = TaxCodes.from_records(records)
    if codes.has_own_codes:
        codes = TaxCodes.from_records(records, qbo.query_all("TaxRate", order_by="Id"))
    return codes
