"""The company a reset leaves: its realm, chart of accounts, Preferences and CompanyInfo.

Seeds and tests refer to these (``ACCOUNT_*`` Ids, ``custom_field_prefs`` for the sales custom
fields); ``sandbox.qbo.seeding.fresh_company`` builds the books from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DEFAULT_REALM_ID = "9341453050529220"

# The default chart of accounts after reset; seeds (demo_qbo) refer to these Ids.
ACCOUNT_SERVICES_INCOME = "1"
ACCOUNT_PRODUCT_INCOME = "2"
ACCOUNT_COGS = "3"
ACCOUNT_AP = "4"
ACCOUNT_AR = "5"
ACCOUNT_UNDEPOSITED = "6"
ACCOUNT_CHECKING = "7"
ACCOUNT_INVENTORY_ASSET = "8"
DEFAULT_ACCOUNTS: list[dict[str, Any]] = [
    {"Id": ACCOUNT_SERVICES_INCOME, "Name": "Services", "AccountType": "Income", "AccountSubType": "ServiceFeeIncome"},
    {
        "Id": ACCOUNT_PRODUCT_INCOME,
        "Name": "Sales of Product Income",
        "AccountType": "Income",
        "AccountSubType": "SalesOfProductIncome",
    },
    {
        "Id": ACCOUNT_COGS,
        "Name": "Cost of Goods Sold",
        "AccountType": "Cost of Goods Sold",
        "AccountSubType": "SuppliesMaterialsCogs",
    },
    {
        "Id": ACCOUNT_AP,
        "Name": "Accounts Payable (A/P)",
        "AccountType": "Accounts Payable",
        "AccountSubType": "AccountsPayable",
    },
    {
        "Id": ACCOUNT_AR,
        "Name": "Accounts Receivable (A/R)",
        "AccountType": "Accounts Receivable",
        "AccountSubType": "AccountsReceivable",
    },
    {
        "Id": ACCOUNT_UNDEPOSITED,
        "Name": "Undeposited Funds",
        "AccountType": "Other Current Asset",
        "AccountSubType": "UndepositedFunds",
    },
    {"Id": ACCOUNT_CHECKING, "Name": "Checking", "AccountType": "Bank", "AccountSubType": "Checking"},
    {
        "Id": ACCOUNT_INVENTORY_ASSET,
        "Name": "Inventory Asset",
        "AccountType": "Other Current Asset",
        "AccountSubType": "Inventory",
    },
]


def default_preferences() -> dict[str, Any]:
    """A US company: custom transaction numbers on, no closed books, one currency, manual sales tax,
    and the 'PO Number' sales custom field defined but switched off."""
    return {
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "DepartmentTerminology": "Location",
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": True,
            "CustomerTerminology": "Customers",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomField": custom_field_prefs({1: "PO Number"}, enabled=()),
            "CustomTxnNumbers": True,
            "AllowDeposit": False,
            "AllowDiscount": True,
            "AllowEstimates": True,
            "AllowServiceDate": True,
            "AllowShipping": False,
            "ETransactionEnabledStatus": "NotApplicable",
            "IPNSupportEnabled": False,
            "UsingPriceLevels": False,
        },
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True},
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": False},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {"NameValue": [{"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": ""}]},
    }


def custom_field_prefs(names: dict[int, str], enabled: Iterable[int]) -> list[dict[str, Any]]:
    """The JSON shape of ``Preferences.SalesFormsPrefs.CustomField`` for up to three sales custom fields.

    ``names`` maps the definition number (1-3) to its label; ``enabled`` lists the numbers switched on.
    """
    on = set(enabled)
    switches = [
        {"Name": f"SalesFormsPrefs.UseSalesCustomName{n}", "Type": "BooleanType", "BooleanValue": n in on}
        for n in (1, 2, 3)
    ]
    labels = [
        {"Name": f"SalesFormsPrefs.SalesCustomName{n}", "Type": "StringType", "StringValue": label}
        for n, label in sorted(names.items())
    ]
    return [{"CustomField": switches}, {"CustomField": labels}]


def default_company_info(realm_id: str) -> dict[str, Any]:
    return {
        "CompanyName": "Sandbox MSP Books",
        "LegalName": "Sandbox MSP Books LLC",
        "CompanyAddr": {
            "Line1": "100 Main St",
            "City": "Columbus",
            "CountrySubDivisionCode": "OH",
            "PostalCode": "43004",
            "Country": "US",
        },
        "LegalAddr": {
            "Line1": "100 Main St",
            "City": "Columbus",
            "CountrySubDivisionCode": "OH",
            "PostalCode": "43004",
            "Country": "US",
        },
        "CustomerCommunicationAddr": {
            "Line1": "100 Main St",
            "City": "Columbus",
            "CountrySubDivisionCode": "OH",
            "PostalCode": "43004",
        },
        "PrimaryPhone": {"FreeFormNumber": "(614) 555-0100"},
        "Email": {"Address": "books@sandbox-msp.example"},
        "WebAddr": {"URI": "https://sandbox-msp.example"},
        "Country": "US",
        "FiscalYearStartMonth": "January",
        "CompanyStartDate": "2020-01-01",
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Computer Systems Design and Related Services"},
            {"Name": "SubscriptionStatus", "Value": "PAID"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
        ],
        "Id": "1",
    }
