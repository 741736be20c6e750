"""The entities of the emulated QBO company: which entities exist and in which groups, which
properties the server computes, length limits and enumerations (their top-level properties, from
the v3 XSD, are ``sandbox.qbo.fields``). Data only; the rules that use it live in ``checks``,
``lists``, ``tax_lists``, ``currency``, ``invoices``, ``bills`` and ``payments``.
"""

from __future__ import annotations

from sandbox.qbo.fields import FIELDS

# The ISO 4217 currencies the sandbox knows, with the names QBO gives them in a CurrencyRef.
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
    "NZD": "New Zealand Dollar",
    "JPY": "Japanese Yen",
    "CHF": "Swiss Franc",
    "SEK": "Swedish Krona",
    "NOK": "Norwegian Krone",
    "DKK": "Danish Krone",
    "MXN": "Mexican Peso",
    "INR": "Indian Rupee",
    "SGD": "Singapore Dollar",
    "HKD": "Hong Kong Dollar",
    "ZAR": "South African Rand",
}

NAME_LISTS = ("Customer", "Vendor", "Employee")
# A company's currencies and tax setup: read and queried like lists, opt-in through the seed.
SETUP_LISTS = ("CompanyCurrency", "TaxAgency", "TaxRate", "TaxCode")
LISTS = NAME_LISTS + ("Item", "Account", "Term", "Class") + SETUP_LISTS
TRANSACTIONS = ("Invoice", "Bill", "Payment")
ENTITIES = LISTS + TRANSACTIONS
# Created through the TaxService resource in QBO, which the sandbox does not serve: seeds only.
SEED_ONLY = ("TaxRate", "TaxCode")
# The order a seed is applied in, so that references resolve.
SEED_ORDER = (
    "CompanyCurrency",
    "TaxAgency",
    "TaxRate",
    "TaxCode",
    "Account",
    "Term",
    "Class",
    "Customer",
    "Vendor",
    "Employee",
    "Item",
    "Invoice",
    "Bill",
    "Payment",
)
URL_ENTITIES = {e.lower(): e for e in ENTITIES}


# Properties the server computes: whatever a client sends for them is ignored.
READ_ONLY: dict[str, set[str]] = {
    "Customer": {"Balance", "BalanceWithJobs", "Level", "FullyQualifiedName", "OverDueBalance", "TotalRevenue"},
    "Vendor": {"Balance"},
    "Employee": set(),
    "Item": {"Level", "FullyQualifiedName", "AvgCost"},
    "Account": {
        "FullyQualifiedName",
        "Classification",
        "SubAccount",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
    },
    "Term": set(),
    "Class": {"FullyQualifiedName", "SubClass"},
    "Invoice": {"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "LinkedTxn", "InvoiceLink"},
    "Bill": {"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "LinkedTxn"},
    "Payment": {"UnappliedAmt", "HomeTotalAmt"},
    "CompanyCurrency": {"Name"},
    "TaxAgency": set(),
    "TaxRate": set(),
    "TaxCode": {"TaxGroup", "Taxable", "TaxCodeConfigType"},
}
ALWAYS_READ_ONLY = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}

QUERYABLE: dict[str, set[str]] = {**FIELDS, "Preferences": set(), "CompanyInfo": set()}

# Length limits: (entity or "*", property) -> max characters.
LENGTHS: dict[tuple[str, str], int] = {
    ("*", "DisplayName"): 500,
    ("*", "GivenName"): 100,
    ("*", "MiddleName"): 100,
    ("*", "FamilyName"): 100,
    ("*", "CompanyName"): 100,
    ("*", "Title"): 16,
    ("*", "Suffix"): 16,
    ("Customer", "PrintOnCheckName"): 110,
    ("Vendor", "PrintOnCheckName"): 100,
    ("Customer", "Notes"): 2000,
    ("Vendor", "Notes"): 2000,
    ("Item", "Name"): 100,
    ("Item", "Sku"): 100,
    ("Item", "Description"): 4000,
    ("Item", "PurchaseDesc"): 1000,
    ("Class", "Name"): 100,
    ("Account", "Name"): 100,
    ("Account", "Description"): 100,
    ("Term", "Name"): 31,
    ("*", "DocNumber"): 21,
    ("*", "PrivateNote"): 4000,
    ("Bill", "Memo"): 4000,
    ("*", "PaymentRefNum"): 21,
    ("TaxCode", "Name"): 100,
    ("TaxCode", "Description"): 100,
    ("TaxRate", "Name"): 100,
    ("TaxRate", "Description"): 100,
}
LINE_DESCRIPTION_MAX = 4000
CUSTOMER_MEMO_MAX = 1000
EMAIL_MAX = 100

GLOBAL_TAX_CALCULATIONS = ("TaxExcluded", "TaxInclusive", "NotApplicable")
# Customer.TaxExemptionReasonId: 1 Federal government ... 15 Foreign diplomat (Intuit's list).
TAX_EXEMPTION_REASONS = range(1, 16)
ITEM_TYPES = {"Inventory", "NonInventory", "Service", "Category", "Group", "Bundle", "Other Charge"}
ACCOUNT_CLASSIFICATION = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}

ACCOUNT_SUBTYPE = {
    "Bank": "Checking",
    "Accounts Receivable": "AccountsReceivable",
    "Other Current Asset": "OtherCurrentAssets",
    "Fixed Asset": "OtherFixedAssets",
    "Other Asset": "OtherLongTermAssets",
    "Accounts Payable": "AccountsPayable",
    "Credit Card": "CreditCard",
    "Other Current Liability": "OtherCurrentLiabilities",
    "Long Term Liability": "OtherLongTermLiabilities",
    "Equity": "OwnersEquity",
    "Income": "ServiceFeeIncome",
    "Other Income": "OtherMiscellaneousIncome",
    "Cost of Goods Sold": "SuppliesMaterialsCogs",
    "Expense": "OtherMiscellaneousServiceCost",
    "Other Expense": "OtherMiscellaneousExpense",
}
