"""Emulator of the QuickBooks Online Accounting API v3 and Intuit's OAuth 2.0 token endpoint.

A client written against the real service (python-quickbooks with intuitlib, or atqbo's own
hook) works against this one after changing only its base URLs. It keeps a default company (realm)
and the extra ones a seed's ``qbo.companies`` adds (``sandbox.qbo.realms``), each with Customers,
Vendors, Employees, Items, Accounts, Terms, Classes, Invoices, Bills and Payments, and its own
tokens, limits and the company's tax and currency setup (TaxAgency, TaxRate, TaxCode,
CompanyCurrency, exchange rates), and enforces the business rules, faults and limits the real
service is known for, US or not, in one currency or several (see ``sandbox/README.md``, section
"QuickBooks Online", for every rule and every guess, and for which module holds what).

This package re-exports the names seeds, tests and the server use: the defaults a reset leaves
(realm, client credentials, the chart of accounts' Ids, Preferences) and ``QboApi``.
"""

from sandbox.qbo.api import QboApi
from sandbox.qbo.defaults import (
    ACCOUNT_AP,
    ACCOUNT_AR,
    ACCOUNT_CHECKING,
    ACCOUNT_COGS,
    ACCOUNT_INVENTORY_ASSET,
    ACCOUNT_PRODUCT_INCOME,
    ACCOUNT_SERVICES_INCOME,
    ACCOUNT_UNDEPOSITED,
    DEFAULT_REALM_ID,
    custom_field_prefs,
    default_company_info,
    default_preferences,
)
from sandbox.qbo.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN

__all__ = [
    "ACCOUNT_AP",
    "ACCOUNT_AR",
    "ACCOUNT_CHECKING",
    "ACCOUNT_COGS",
    "ACCOUNT_INVENTORY_ASSET",
    "ACCOUNT_PRODUCT_INCOME",
    "ACCOUNT_SERVICES_INCOME",
    "ACCOUNT_UNDEPOSITED",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REALM_ID",
    "DEFAULT_REFRESH_TOKEN",
    "QboApi",
    "custom_field_prefs",
    "default_company_info",
    "default_preferences",
]
