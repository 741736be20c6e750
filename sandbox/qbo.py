"""Emulator of the QuickBooks Online Accounting API v3 and Intuit's OAuth 2.0 token endpoint.

A client written against the real service (python-quickbooks with intuitlib, or atqbo's own
hook) works against this one after changing only its base URLs. It keeps one company (realm)
with Customers, Vendors, Employees, Items, Accounts, Terms, Classes, Invoices, Bills and
Payments, and enforces the business rules, faults and limits the real service is known for
(see ``sandbox/README.md``, section "QuickBooks Online", for every rule and every guess).

Layout: ``Company`` holds the books and every business rule (it never sleeps and never sees
HTTP); ``_OAuth`` the tokens; ``_Idempotency`` the ``requestid`` replay store; ``QboApi`` the
HTTP surface: auth, limits, latency, routing and envelopes. The query language lives in
``sandbox.qbo_query``.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs

from sandbox.api import ApiEmulator
from sandbox.core import Request, Response, SeedError
from sandbox.limits import Gate, RollingWindow
from sandbox.qbo_query import PACIFIC, QueryError, check_query, parse_datetime, parse_query, run_query

# -- defaults ------------------------------------------------------------------------------------

DEFAULT_REALM_ID = "9341453050529220"
DEFAULT_CLIENT_ID = "atqbo-sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_REFRESH_TOKEN = "sandbox-refresh-token-0"

TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
DISCOVERY_PREFIX = "/.well-known/openid"

DEFAULT_LIMITS: dict[str, float] = {
    "requests_per_minute": 500,  # per realm, in sandbox minutes
    "concurrent": 10,  # requests in flight per realm
    "batch_per_minute": 40,  # batch requests per realm, in sandbox minutes
    "max_batch_items": 30,
    "latency_ms": 0,  # added to every API request, slept holding the concurrency slot
    "name_write_ms": 0,  # how long a Customer/Vendor/Employee write holds the one-name-at-a-time gate
    "access_token_ttl_s": 3600,  # sandbox seconds
    "refresh_token_ttl_s": 8726400,  # sandbox seconds (101 days)
}

# Automated sales tax (Preferences.TaxPrefs.PartnerTaxEnabled): one fixed rate for every taxable line.
AST_RATE = Decimal("0.07")
AST_TAX_RATE_ID = "1"

CDC_REACH = timedelta(days=30)
CDC_MAX_OBJECTS = 1000

# The admin who "finished first" in the stale-object message.
ADMIN_USER = "Jane Admin"

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
}

NAME_LISTS = ("Customer", "Vendor", "Employee")
LISTS = NAME_LISTS + ("Item", "Account", "Term", "Class")
TRANSACTIONS = ("Invoice", "Bill", "Payment")
ENTITIES = LISTS + TRANSACTIONS
# The order a seed is applied in, so that references resolve.
SEED_ORDER = ("Account", "Term", "Class", "Customer", "Vendor", "Employee", "Item", "Invoice", "Bill", "Payment")
URL_ENTITIES = {e.lower(): e for e in ENTITIES}

# Id sequences: names share one (as in QBO), transactions share one, the other lists their own.
ID_SEQUENCE = {
    "Customer": "name",
    "Vendor": "name",
    "Employee": "name",
    "Invoice": "txn",
    "Bill": "txn",
    "Payment": "txn",
    "Item": "Item",
    "Account": "Account",
    "Term": "Term",
    "Class": "Class",
}
ID_START = {"name": 1, "txn": 1001, "Item": 1, "Account": 1, "Term": 1, "Class": 5000000000000000001}

# -- entity schemas (top-level properties, from the v3 XSD) ----------------------------------------

_BASE = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status", "CustomField", "AttachableRef"}
_NAME_BASE = {
    "Organization",
    "Title",
    "GivenName",
    "MiddleName",
    "FamilyName",
    "Suffix",
    "FullyQualifiedName",
    "CompanyName",
    "DisplayName",
    "PrintOnCheckName",
    "UserId",
    "Active",
    "V4IDPseudonym",
    "PrimaryPhone",
    "AlternatePhone",
    "Mobile",
    "Fax",
    "PrimaryEmailAddr",
    "WebAddr",
    "OtherContactInfo",
    "DefaultTaxCodeRef",
}
_TXN = {
    "DocNumber",
    "TxnDate",
    "DepartmentRef",
    "CurrencyRef",
    "ExchangeRate",
    "PrivateNote",
    "TxnStatus",
    "LinkedTxn",
    "Line",
    "TxnTaxDetail",
    "TxnSource",
    "TaxFormType",
    "TaxFormNum",
    "TransactionLocationType",
    "Tag",
    "TxnApprovalInfo",
    "RecurDataRef",
    "RecurringInfo",
    "ProjectRef",
    "HomeTotalAmt",
}
_SALES = {
    "AutoDocNumber",
    "CustomerRef",
    "CustomerMemo",
    "BillAddr",
    "ShipAddr",
    "FreeFormAddress",
    "ShipFromAddr",
    "RemitToRef",
    "ClassRef",
    "SalesTermRef",
    "DueDate",
    "SalesRepRef",
    "PONumber",
    "FOB",
    "ShipMethodRef",
    "ShipDate",
    "TrackingNum",
    "GlobalTaxCalculation",
    "TotalAmt",
    "ApplyTaxAfterDiscount",
    "TemplateRef",
    "PrintStatus",
    "EmailStatus",
    "BillEmail",
    "BillEmailCc",
    "BillEmailBcc",
    "ARAccountRef",
    "Balance",
    "HomeBalance",
    "FinanceCharge",
    "PaymentMethodRef",
    "PaymentRefNum",
    "PaymentType",
    "CheckPayment",
    "CreditCardPayment",
    "DepositToAccountRef",
    "DeliveryInfo",
    "DiscountRate",
    "DiscountAmt",
    "GovtTxnRefIdentifier",
    "TaxExemptionRef",
    "SalesTransactionEx",
}

FIELDS: dict[str, set[str]] = {
    "Customer": _BASE
    | _NAME_BASE
    | {
        "Taxable",
        "BillAddr",
        "ShipAddr",
        "OtherAddr",
        "ContactName",
        "AltContactName",
        "Notes",
        "Job",
        "BillWithParent",
        "RootCustomerRef",
        "ParentRef",
        "Level",
        "CustomerTypeRef",
        "SalesTermRef",
        "SalesRepRef",
        "PaymentMethodRef",
        "CCDetail",
        "PriceLevelRef",
        "Balance",
        "OpenBalanceDate",
        "BalanceWithJobs",
        "CreditLimit",
        "AcctNum",
        "CurrencyRef",
        "OverDueBalance",
        "TotalRevenue",
        "TotalExpense",
        "PreferredDeliveryMethod",
        "ResaleNum",
        "JobInfo",
        "TDSEnabled",
        "CustomerEx",
        "SecondaryTaxIdentifier",
        "ARAccountRef",
        "PrimaryTaxIdentifier",
        "TaxExemptionReasonId",
        "IsProject",
        "BusinessNumber",
        "GSTIN",
        "GSTRegistrationType",
        "IsCISContractor",
        "ClientCompanyId",
        "ClientEntityId",
        "Source",
        "TaxRegime",
    },
    "Vendor": _BASE
    | _NAME_BASE
    | {
        "ContactName",
        "AltContactName",
        "Notes",
        "BillAddr",
        "ShipAddr",
        "OtherAddr",
        "TaxCountry",
        "TaxIdentifier",
        "BusinessNumber",
        "ParentRef",
        "VendorTypeRef",
        "TermRef",
        "PrefillAccountRef",
        "Balance",
        "BillRate",
        "CostRate",
        "OpenBalanceDate",
        "CreditLimit",
        "AcctNum",
        "Vendor1099",
        "T4AEligible",
        "T5018Eligible",
        "CurrencyRef",
        "TaxReportingBasis",
        "APAccountRef",
        "VendorEx",
        "GSTIN",
        "GSTRegistrationType",
        "IsSalesTaxVendor",
        "HasTPAR",
        "VendorPaymentBankDetail",
        "Source",
    },
    "Employee": _BASE
    | _NAME_BASE
    | {
        "EmployeeType",
        "EmployeeNumber",
        "SSN",
        "PrimaryAddr",
        "OtherAddr",
        "BillableTime",
        "BillRate",
        "CostRate",
        "BirthDate",
        "Gender",
        "HiredDate",
        "ReleasedDate",
        "UseTimeEntry",
        "EmployeeEx",
    },
    "Item": _BASE
    | {
        "Name",
        "Sku",
        "Description",
        "Active",
        "SubItem",
        "ParentRef",
        "Level",
        "FullyQualifiedName",
        "Taxable",
        "SalesTaxIncluded",
        "PercentBased",
        "UnitPrice",
        "RatePercent",
        "Type",
        "PaymentMethodRef",
        "UOMSetRef",
        "IncomeAccountRef",
        "PurchaseDesc",
        "PurchaseTaxIncluded",
        "PurchaseCost",
        "ExpenseAccountRef",
        "COGSAccountRef",
        "AssetAccountRef",
        "PrefVendorRef",
        "AvgCost",
        "TrackQtyOnHand",
        "QtyOnHand",
        "QtyOnPurchaseOrder",
        "QtyOnSalesOrder",
        "ReorderPoint",
        "ManPartNum",
        "DepositToAccountRef",
        "SalesTaxCodeRef",
        "PurchaseTaxCodeRef",
        "InvStartDate",
        "BuildPoint",
        "PrintGroupedItems",
        "SpecialItem",
        "SpecialItemType",
        "ItemGroupDetail",
        "ItemAssemblyDetail",
        "AbatementRate",
        "ReverseChargeRate",
        "ServiceType",
        "ItemCategoryType",
        "ItemEx",
        "TaxClassificationRef",
        "UQCDisplayText",
        "UQCId",
        "ClassRef",
        "Source",
    },
    "Account": _BASE
    | {
        "Name",
        "SubAccount",
        "ParentRef",
        "Description",
        "FullyQualifiedName",
        "AccountAlias",
        "TxnLocationType",
        "Active",
        "Classification",
        "AccountType",
        "AccountSubType",
        "AccountPurposes",
        "AcctNum",
        "AcctNumExtn",
        "BankNum",
        "OpeningBalance",
        "OpeningBalanceDate",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
        "CurrencyRef",
        "TaxAccount",
        "TaxCodeRef",
        "OnlineBankingEnabled",
        "FIName",
        "JournalCodeRef",
        "AccountEx",
    },
    "Term": _BASE
    | {
        "Name",
        "Active",
        "Type",
        "DiscountPercent",
        "DueDays",
        "DiscountDays",
        "DayOfMonthDue",
        "DueNextMonthDays",
        "DiscountDayOfMonth",
        "SalesTermEx",
    },
    "Class": _BASE | {"Name", "SubClass", "ParentRef", "FullyQualifiedName", "Active", "ClassEx"},
    "Invoice": _BASE
    | _TXN
    | _SALES
    | {
        "Deposit",
        "AllowIPNPayment",
        "AllowOnlinePayment",
        "AllowOnlineCreditCardPayment",
        "AllowOnlineACHPayment",
        "AllowOnlinePayPalPayment",
        "EInvoiceStatus",
        "ECloudStatusTimeStamp",
        "CfdiUse",
        "Exportation",
        "GlobalInfo",
        "InvoiceLink",
        "InvoiceLinkSecureUrl",
        "InvoiceEx",
    },
    "Bill": _BASE
    | _TXN
    | {
        "VendorRef",
        "APAccountRef",
        "TotalAmt",
        "BillEmail",
        "ReplyEmail",
        "Memo",
        "GlobalTaxCalculation",
        "SalesTermRef",
        "DueDate",
        "RemitToAddr",
        "ShipAddr",
        "Balance",
        "HomeBalance",
        "VendorAddr",
        "BillEx",
        "IncludeInAnnualTPAR",
    },
    "Payment": _BASE
    | _TXN
    | {
        "CustomerRef",
        "RemitToRef",
        "ARAccountRef",
        "DepositToAccountRef",
        "PaymentMethodRef",
        "PaymentRefNum",
        "PaymentType",
        "CheckPayment",
        "CreditCardPayment",
        "TotalAmt",
        "UnappliedAmt",
        "ProcessPayment",
        "PaymentEx",
        "TaxExemptionRef",
    },
}

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
}
_ALWAYS_READ_ONLY = {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}

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
}
LINE_DESCRIPTION_MAX = 4000
CUSTOMER_MEMO_MAX = 1000
EMAIL_MAX = 100

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


# -- faults ----------------------------------------------------------------------------------------


class Fault(Exception):
    """A QBO fault: HTTP ``status`` with ``{"Fault": {"Error": [...], "type": kind}}``.

    ``replayable`` is False for faults that mean "try again" (the one-name-at-a-time 6000):
    those are not kept for a ``requestid`` replay, so the retry really runs again.
    """

    def __init__(
        self,
        code: str,
        message: str,
        detail: str = "",
        element: str = "",
        *,
        status: int = 400,
        kind: str = "ValidationFault",
        replayable: bool = True,
    ):
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.kind = kind
        self.replayable = replayable

    def fault(self) -> dict[str, Any]:
        return {
            "Error": [{"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}],
            "type": self.kind,
        }


def required(element: str) -> Fault:
    return Fault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def too_long(element: str, maximum: int, length: int) -> Fault:
    return Fault(
        "2050",
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. "
        f"Min:0 Max:{maximum} supported. Supplied length:{length}",
        element,
    )


def invalid_property(detail: str, element: str = "") -> Fault:
    return Fault("2010", "Request has invalid or unsupported property", f"Property Name:{detail}", element)


def wrong_shape(exc: Exception) -> Fault:
    """A body whose JSON types are not what the entity's schema says (an object where a list
    belongs, a string where an object does): the real service's deserializer refuses those."""
    return invalid_property(f"a value of the wrong JSON type specified is unsupported or invalid ({exc})")


def invalid_enum(element: str, value: Any) -> Fault:
    return Fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element)


def invalid_reference(entity: str, element: str) -> Fault:
    return Fault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} assigned to this transaction has been deleted. "
        f"Before you can modify this transaction, you must restore {entity}",
        element,
    )


def inactive_reference(element: str) -> Fault:
    return Fault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        element,
    )


def object_not_found(transaction: bool) -> Fault:
    detail = (
        "Object Not Found : Another user has deleted this transaction."
        if transaction
        else "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees."
    )
    return Fault("610", "Object Not Found", detail)


def business(detail: str, element: str = "", *, replayable: bool = True) -> Fault:
    return Fault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
        replayable=replayable,
    )


def one_name_at_a_time() -> Fault:
    # Not kept for a requestid replay: it means "try again", so the retry must really run.
    return business("You can only add or edit one name at a time. Please try again.", replayable=False)


def stale_object() -> Fault:
    return Fault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and {ADMIN_USER} were working on this at the same time. "
        f"{ADMIN_USER} finished before you did, so your work was not saved.",
    )


def duplicate_name(kind: str) -> Fault:
    return Fault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {kind} is already using this name. Please use a different name.",
    )


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> Fault:
    return Fault(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number has already been used. "
        f"DocNumber={doc_number} is assigned to TxnType={txn_type} with TxnId={txn_id}",
    )


def period_closed() -> Fault:
    return Fault(
        "6210",
        "Account Period Closed",
        "The account period has closed and the books cannot be updated through the QBO services API. "
        "Please use the QBO user interface to make these changes.",
    )


def unsupported(detail: str) -> Fault:
    return Fault("500", "Unsupported Operation", detail)


# -- small helpers -------------------------------------------------------------------------------

CENT = Decimal("0.01")


def dec(value: Any, element: str) -> Decimal:
    """A money/quantity value as Decimal; numbers and numeric strings are accepted, like Jackson does."""
    if isinstance(value, bool):
        raise invalid_property(f"{element} specified is unsupported or invalid", element)
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise invalid_property(
            f"Can not construct instance of java.math.BigDecimal from String value '{value}'", element
        ) from None


def money(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def number_out(value: Decimal) -> float | int:
    """A quantity/price as QBO prints it: integers without a fraction."""
    return int(value) if value == value.to_integral_value() else float(value)


def clean(value: Any) -> Any:
    """Drop nulls, empty strings, empty objects and empty lists inside objects, recursively.

    python-quickbooks sends every attribute it has (``"DueDate": ""``, ``"name": ""``...); the
    real service treats those as absent, and answers only with properties that have values.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = clean(v)
            if v is None or v == "" or v == {} or v == []:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [clean(v) for v in value if v is not None]
    return value


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Objects merge key by key; anything else (lists included) is replaced."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_date(value: Any, element: str) -> str:
    """A yyyy-MM-dd date (a date-time is cut to its date)."""
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise invalid_property(
            f'Can not deserialize value of type java.util.Date from String "{text}": not a valid date', element
        ) from None


def id_key(value: Any) -> tuple[int, Any]:
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text)


def stamp(dt: datetime) -> str:
    """A MetaData time: seconds, US Pacific offset (``2024-06-01T08:14:05-07:00``)."""
    return dt.astimezone(PACIFIC).isoformat(timespec="seconds")


def response_time(dt: datetime) -> str:
    """The top-level ``time`` of a response: milliseconds, US Pacific offset."""
    return dt.astimezone(PACIFIC).isoformat(timespec="milliseconds")


def pacific_now() -> datetime:
    return datetime.now(PACIFIC)


def ref_value(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    return None


def display_name(entity: str, record: dict[str, Any]) -> str:
    if entity in NAME_LISTS:
        return record.get("DisplayName", "")
    if entity in ("Account", "Class", "Item"):
        return record.get("FullyQualifiedName") or record.get("Name", "")
    return record.get("Name", "")


# -- the books -------------------------------------------------------------------------------------


class Company:
    """One QBO company: its records and every business rule. Not thread-safe: callers hold a lock.

    Writes validate first and change nothing until every rule passed, so a fault leaves the
    books as they were.
    """

    def __init__(self, realm_id: str, now: Callable[[], datetime] = pacific_now):
        self.realm_id = realm_id
        self.now = now
        self.records: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ENTITIES}
        self.tombstones: dict[str, dict[str, str]] = {e: {} for e in ENTITIES}  # entity -> Id -> deleted at
        self.sequences: dict[str, int] = dict(ID_START)
        self.preferences: dict[str, Any] = {}
        self.company_info: dict[str, Any] = {}
        self.voided: set[tuple[str, str]] = set()
        self.names: dict[tuple[str, str], tuple[str, str]] = {}  # (group, casefolded name) -> (entity, Id)
        self.doc_numbers: dict[str, set[str]] = {}  # Invoice DocNumber -> Ids
        self.max_doc_number = 1000
        self.applied: dict[str, dict[str, Decimal]] = {}  # invoice Id -> payment Id -> amount
        # During a batch: (entity, Id) of objects created by it, invisible to its other items.
        self.hidden: set[tuple[str, str]] | None = None
        # While loading a seed: skip the closed-books rule (seeds may hold history).
        self.seeding = False

    @classmethod
    def fresh(cls, realm_id: str, now: Callable[[], datetime] = pacific_now) -> Company:
        company = cls(realm_id, now)
        created = stamp(now())
        company.preferences = {
            **default_preferences(),
            "Id": "1",
            "SyncToken": "0",
            "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
        }
        company.company_info = {
            **default_company_info(realm_id),
            "SyncToken": "0",
            "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
        }
        for account in DEFAULT_ACCOUNTS:
            company.save("Account", dict(account), seed=True)
        return company

    def clone(self) -> Company:
        twin = Company(self.realm_id, self.now)
        for attr in (
            "records",
            "tombstones",
            "sequences",
            "preferences",
            "company_info",
            "voided",
            "names",
            "doc_numbers",
            "max_doc_number",
            "applied",
        ):
            setattr(twin, attr, copy.deepcopy(getattr(self, attr)))
        return twin

    # -- lookups ----------------------------------------------------------------------------------

    def get(self, entity: str, record_id: Any) -> dict[str, Any] | None:
        """A record as the current request may see it (objects created earlier in a batch are not)."""
        rid = str(record_id)
        record = self.records[entity].get(rid)
        if record is None or (self.hidden is not None and (entity, rid) in self.hidden):
            return None
        return record

    def visible(self, entity: str) -> list[dict[str, Any]]:
        rows = self.records[entity].values()
        if self.hidden:
            return [r for r in rows if (entity, r["Id"]) not in self.hidden]
        return list(rows)

    def pref(self, *path: str, default: Any = None) -> Any:
        node: Any = self.preferences
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def home_currency(self) -> str:
        return ref_value(self.pref("CurrencyPrefs", "HomeCurrency")) or "USD"

    @property
    def multi_currency(self) -> bool:
        return bool(self.pref("CurrencyPrefs", "MultiCurrencyEnabled", default=False))

    def today(self) -> str:
        return self.now().date().isoformat()

    # -- reads ------------------------------------------------------------------------------------

    def read(self, entity: str, record_id: str) -> dict[str, Any]:
        record = self.get(entity, record_id)
        if record is None:
            raise object_not_found(transaction=False)
        return copy.deepcopy(record)

    def query(self, text: str) -> dict[str, Any]:
        try:
            query = parse_query(text)
            check_query(query, QUERYABLE)
        except QueryError as exc:
            raise Fault(exc.code, exc.message, exc.detail) from None
        if query.entity == "Preferences":
            rows = [self.preferences]
        elif query.entity == "CompanyInfo":
            rows = [self.company_info]
        else:
            rows = self.visible(query.entity)
            if query.entity in LISTS and not any(c.path == "Active" for c in query.conditions):
                # Like QBO: name lists answer with active records unless the query asks about Active.
                rows = [r for r in rows if r.get("Active", True) is not False]
        return copy.deepcopy(run_query(query, rows))

    def cdc(self, entities: str | None, changed_since: str | None) -> dict[str, Any]:
        """Changes since ``changed_since`` (at most 30 days back), deletions as tombstones, 1000 objects at most."""
        if not entities:
            raise required("entities")
        if not changed_since:
            raise required("changedSince")
        since = parse_datetime(changed_since)
        if since is None:
            raise invalid_property(f"changedSince specified is unsupported or invalid: {changed_since}", "changedSince")
        if since < self.now() - CDC_REACH:
            raise Fault(
                "4001",
                "Invalid query",
                f"Operation cdc with changedSince date {changed_since} "
                "which is older than fixed days is not supported.",
                "changedSince",
            )
        names = []
        for raw in entities.split(","):
            name = URL_ENTITIES.get(raw.strip().lower())
            if name is None:
                raise Fault(
                    "4001", "Invalid query", f"QueryValidationError: CDC is not supported for entity {raw.strip()}"
                )
            if name not in names:
                names.append(name)
        changes: list[tuple[datetime, str, str, dict[str, Any]]] = []
        for name in names:
            for record in self.visible(name):
                updated = parse_datetime(record["MetaData"]["LastUpdatedTime"])
                if updated is not None and updated >= since:
                    changes.append((updated, name, record["Id"], copy.deepcopy(record)))
            for rid, when in self.tombstones[name].items():
                deleted = parse_datetime(when)
                if deleted is not None and deleted >= since:
                    gone = {"Id": rid, "status": "Deleted", "domain": "QBO", "MetaData": {"LastUpdatedTime": when}}
                    changes.append((deleted, name, rid, gone))
        changes.sort(key=lambda c: (c[0], id_key(c[2])))
        changes = changes[:CDC_MAX_OBJECTS]
        responses = []
        for name in names:
            objs = [c[3] for c in changes if c[1] == name]
            responses.append({name: objs, "startPosition": 1, "maxResults": len(objs)} if objs else {})
        return {"CDCResponse": [{"QueryResponse": responses}]}

    # -- writes -----------------------------------------------------------------------------------

    def save(
        self, entity: str, body: Any, *, options: Iterable[str] = (), seed: bool = False, create_only: bool = False
    ) -> dict[str, Any]:
        """Create (no Id) or update (Id + SyncToken; ``sparse: true`` merges) one record."""
        if not isinstance(body, dict):
            raise invalid_property(f"{entity} body specified is unsupported or invalid")
        unknown = sorted(k for k in body if k not in FIELDS[entity])
        if unknown:
            raise invalid_property(
                f'Unrecognized field "{unknown[0]}" (class com.intuit.schema.finance.v3.{entity}), '
                "not marked as ignorable specified is unsupported or invalid",
                unknown[0],
            )
        raw_id = body.get("Id")
        has_id = raw_id not in (None, "")
        existing = None
        if seed:
            # A seed record with the Id of an existing one replaces it, whatever its SyncToken:
            # that is what lets a dumped state load back over the default chart of accounts.
            existing = self.records[entity].get(str(raw_id)) if has_id else None
        elif has_id:
            if create_only:
                raise invalid_property("Id specified is unsupported or invalid for a create", "Id")
            existing = self.get(entity, raw_id)
            if existing is None:
                raise object_not_found(transaction=entity in TRANSACTIONS)
            token = body.get("SyncToken")
            if token in (None, ""):
                raise required("SyncToken")
            if str(token) != existing["SyncToken"]:
                raise stale_object()
        writable = {k: v for k, v in body.items() if k not in _ALWAYS_READ_ONLY and k not in READ_ONLY[entity]}
        if existing is not None and body.get("sparse") is True and not seed:
            candidate = {k: v for k, v in copy.deepcopy(existing).items() if k not in _ALWAYS_READ_ONLY}
            for key, value in writable.items():
                if value is None or value == "":
                    candidate.pop(key, None)
                else:
                    candidate[key] = value
            candidate = clean(candidate)
        else:
            candidate = clean(writable)
        if seed and existing is not None:
            self.voided.discard((entity, existing["Id"]))
        record = self._normalize(entity, candidate, existing, set(options))
        if not seed:
            return self._commit(entity, record, existing)
        stored = self._commit(
            entity,
            record,
            existing,
            seed_id=str(raw_id) if has_id else "",
            seed_meta=body.get("MetaData"),
            seed_token=body.get("SyncToken"),
        )
        if entity in ("Invoice", "Payment") and _looks_voided(stored):
            self.voided.add((entity, stored["Id"]))
        return stored

    def delete(self, entity: str, body: Any) -> dict[str, Any]:
        """Delete a transaction (name lists are made inactive instead); CDC reports it as Deleted."""
        if entity not in TRANSACTIONS:
            raise unsupported(
                f"Operation Delete is not supported for {entity}; make it inactive instead (Active=false)."
            )
        existing = self._existing_for_operation(entity, body)
        self._check_books_open(existing.get("TxnDate"))
        if entity == "Invoice" and self.applied.get(existing["Id"]):
            raise business(
                f"Invoice {existing.get('DocNumber') or existing['Id']} has payments applied to it. "
                "Delete or void those payments before deleting the invoice."
            )
        rid = existing["Id"]
        if entity == "Payment":
            self._apply_payment(rid, {}, None)
        self._move_party_balance(entity, existing, None)
        self._unindex(entity, existing)
        del self.records[entity][rid]
        self.voided.discard((entity, rid))
        self.tombstones[entity][rid] = stamp(self.now())
        return {"domain": "QBO", "status": "Deleted", "Id": rid}

    def void(self, entity: str, body: Any) -> dict[str, Any]:
        """Void an Invoice (``operation=void``) or a Payment (``operation=update&include=void``)."""
        if entity not in ("Invoice", "Payment"):
            raise unsupported(f"Operation Void is not supported for {entity}.")
        existing = self._existing_for_operation(entity, body)
        rid = existing["Id"]
        if (entity, rid) in self.voided:
            raise business(f"This {entity.lower()} has already been voided.")
        self._check_books_open(existing.get("TxnDate"))
        if entity == "Invoice" and self.applied.get(rid):
            raise business(
                f"Invoice {existing.get('DocNumber') or rid} has payments applied to it. "
                "Void or delete those payments before voiding the invoice."
            )
        record = copy.deepcopy(existing)
        for line in record.get("Line", []):
            if "Amount" in line:
                line["Amount"] = 0
            for detail_key in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail"):
                if detail_key in line and "Qty" in line[detail_key]:
                    line[detail_key]["Qty"] = 0
        note = existing.get("PrivateNote")
        record["PrivateNote"] = f"Voided - {note}" if note else "Voided"
        record["TotalAmt"] = 0
        if entity == "Invoice":
            record["Balance"] = 0
            if "TxnTaxDetail" in record:
                record["TxnTaxDetail"]["TotalTax"] = 0
                for tax_line in record["TxnTaxDetail"].get("TaxLine", []):
                    tax_line["Amount"] = 0
            if self.multi_currency:
                record["HomeBalance"] = 0
                record["HomeTotalAmt"] = 0
        else:
            record["UnappliedAmt"] = 0
            self._apply_payment(rid, {}, record)
        self.voided.add((entity, rid))
        return self._commit(entity, record, existing)

    def send_invoice(self, invoice_id: str, send_to: str | None) -> dict[str, Any]:
        existing = self.get("Invoice", invoice_id)
        if existing is None:
            raise object_not_found(transaction=True)
        record = copy.deepcopy(existing)
        address = send_to or (record.get("BillEmail") or {}).get("Address")
        if not address:
            raise business("An email address is required to send this invoice. Set BillEmail.Address or pass sendTo.")
        record["BillEmail"] = {"Address": address}
        record["EmailStatus"] = "EmailSent"
        record["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": stamp(self.now())}
        return self._commit("Invoice", record, existing)

    def update_preferences(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_property("Preferences body specified is unsupported or invalid")
        token = body.get("SyncToken")
        if token in (None, ""):
            raise required("SyncToken")
        if str(token) != self.preferences["SyncToken"]:
            raise stale_object()
        sections = {k: v for k, v in body.items() if k not in _ALWAYS_READ_ONLY}
        self.merge_preferences(sections)
        return copy.deepcopy(self.preferences)

    def merge_preferences(self, sections: dict[str, Any]) -> None:
        book_close = (sections.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
        if book_close not in (None, ""):
            parse_date(book_close, "AccountingInfoPrefs.BookCloseDate")
        merged = deep_merge(self.preferences, sections)
        merged["SyncToken"] = str(int(self.preferences.get("SyncToken", "0")) + 1) if self.preferences else "0"
        merged.setdefault("MetaData", {})["LastUpdatedTime"] = stamp(self.now())
        self.preferences = merged

    # -- rules: shared ----------------------------------------------------------------------------

    def _existing_for_operation(self, entity: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("Id") in (None, ""):
            raise required("Id")
        existing = self.get(entity, body["Id"])
        if existing is None:
            raise object_not_found(transaction=True)
        token = body.get("SyncToken")
        if token in (None, ""):
            raise required("SyncToken")
        if str(token) != existing["SyncToken"]:
            raise stale_object()
        return existing

    def _check_books_open(self, txn_date: str | None) -> None:
        close = self.pref("AccountingInfoPrefs", "BookCloseDate")
        if self.seeding or not close or not txn_date:
            return
        if txn_date <= str(close)[:10]:
            raise period_closed()

    def _check_lengths(self, entity: str, record: dict[str, Any]) -> None:
        for (scope, prop), maximum in LENGTHS.items():
            if scope not in ("*", entity):
                continue
            value = record.get(prop)
            if isinstance(value, str) and len(value) > maximum:
                raise too_long(prop, maximum, len(value))

    def _ref(self, ref: Any, target: str, element: str) -> dict[str, Any]:
        """Check a reference (2500 missing, 610 inactive) and return it with the current name."""
        if not isinstance(ref, dict):
            raise invalid_property(f"{element} specified is unsupported or invalid", element)
        rid = ref_value(ref)
        if rid is None:
            raise required(f"{element}.value")
        record = self.get(target, rid)
        if record is None:
            raise invalid_reference(target, element)
        if record.get("Active") is False:
            raise inactive_reference(element)
        return {"value": rid, "name": display_name(target, record)}

    def _optional_ref(
        self, record: dict[str, Any], key: str, target: str, element: str | None = None
    ) -> dict[str, Any] | None:
        if key in record:
            record[key] = self._ref(record[key], target, element or key)
            return self.get(target, record[key]["value"])
        return None

    def _currency(self, record: dict[str, Any]) -> str:
        code = ref_value(record.get("CurrencyRef")) or self.home_currency
        if not self.multi_currency and code != self.home_currency:
            raise business(
                f"Multicurrency is not enabled for this company, so everything is in {self.home_currency}; "
                f"CurrencyRef {code} cannot be used.",
                "CurrencyRef",
            )
        record["CurrencyRef"] = {"value": code, "name": CURRENCY_NAMES.get(code, code)}
        return code

    def _check_name_text(self, prop: str, value: str, extra_forbidden: str = "") -> None:
        bad = [ch for ch in (":", "\t", "\n", "\r") + tuple(extra_forbidden) if ch in value]
        if bad:
            shown = {"\t": "a tab", "\n": "a new line", "\r": "a new line"}.get(bad[0], f"'{bad[0]}'")
            raise Fault(
                "2040",
                "Invalid Character",
                f"Invalid Character : {prop} cannot contain {shown}. Remove the colon, tab or new line and try again.",
                prop,
            )

    def _claim_name(self, group: str, name: str, entity: str, existing: dict[str, Any] | None, kind: str) -> None:
        owner = self.names.get((group, name.casefold()))
        if owner is not None and not (existing is not None and owner == (entity, existing["Id"])):
            raise duplicate_name(kind)

    # -- rules: per entity ------------------------------------------------------------------------

    def _normalize(
        self, entity: str, record: dict[str, Any], existing: dict[str, Any] | None, options: set[str]
    ) -> dict[str, Any]:
        if entity in NAME_LISTS:
            self._normalize_name(entity, record, existing)
        elif entity == "Item":
            self._normalize_item(record, existing)
        elif entity == "Account":
            self._normalize_account(record, existing)
        elif entity == "Term":
            self._normalize_term(record, existing)
        elif entity == "Class":
            self._normalize_class(record, existing)
        elif entity == "Invoice":
            self._normalize_invoice(record, existing, options)
        elif entity == "Bill":
            self._normalize_bill(record, existing)
        elif entity == "Payment":
            self._normalize_payment(record, existing)
        self._check_lengths(entity, record)
        return record

    def _normalize_name(self, entity: str, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        """Customer/Vendor/Employee: DisplayName derived if absent, free of : tab newline, unique across all three."""
        if not record.get("DisplayName"):
            parts = [record.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
            derived = " ".join(p for p in parts if isinstance(p, str) and p.strip())
            record["DisplayName"] = derived or record.get("CompanyName") or ""
        name = record["DisplayName"]
        if not isinstance(name, str) or not name.strip():
            raise required("DisplayName")
        self._check_name_text("DisplayName", name)
        self._check_lengths(entity, record)
        self._claim_name("name", name, entity, existing, "customer, vendor or employee")
        record.setdefault("Active", True)
        if entity in ("Customer", "Vendor"):
            record.setdefault("PrintOnCheckName", name[: LENGTHS[(entity, "PrintOnCheckName")]])
            if self.multi_currency or "CurrencyRef" in record:
                self._currency(record)
            else:
                record["CurrencyRef"] = {
                    "value": self.home_currency,
                    "name": CURRENCY_NAMES.get(self.home_currency, self.home_currency),
                }
            record["Balance"] = existing.get("Balance", 0) if existing else 0
        email = (record.get("PrimaryEmailAddr") or {}).get("Address")
        if isinstance(email, str) and len(email) > EMAIL_MAX:
            raise too_long("PrimaryEmailAddr.Address", EMAIL_MAX, len(email))
        if entity == "Customer":
            record.setdefault("Taxable", True)
            record.setdefault("Job", False)
            record.setdefault("BillWithParent", False)
            parent = self._optional_ref(record, "ParentRef", "Customer")
            record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}" if parent else name
            record["Level"] = parent.get("Level", 0) + 1 if parent else 0
            if parent:
                record["Job"] = True
            self._optional_ref(record, "SalesTermRef", "Term")
            self._optional_ref(record, "ARAccountRef", "Account")
            record["BalanceWithJobs"] = record["Balance"]
        elif entity == "Vendor":
            self._optional_ref(record, "TermRef", "Term")
            self._optional_ref(record, "APAccountRef", "Account")
        else:
            record.setdefault("BillableTime", False)

    def _normalize_item(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        """Items: a unique Name, the accounts its Type needs (Inventory: income, expense, asset)."""
        name = record.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise required("Name")
        self._check_name_text("Name", name)
        self._check_lengths("Item", record)
        item_type = record.setdefault("Type", "Service")
        if item_type not in ITEM_TYPES:
            raise invalid_enum("Type", item_type)
        parent = self._optional_ref(record, "ParentRef", "Item")
        record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}" if parent else name
        record["SubItem"] = parent is not None
        record["Level"] = parent.get("Level", 0) + 1 if parent else 0
        self._claim_name("Item", record["FullyQualifiedName"], "Item", existing, "product or service")
        for key in (
            "IncomeAccountRef",
            "ExpenseAccountRef",
            "AssetAccountRef",
            "COGSAccountRef",
            "DepositToAccountRef",
        ):
            self._optional_ref(record, key, "Account")
        self._optional_ref(record, "PrefVendorRef", "Vendor")
        self._optional_ref(record, "ClassRef", "Class")
        if item_type == "Inventory":
            for key in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
                if key not in record:
                    raise required(key)
            if record.get("TrackQtyOnHand") is not True:
                raise business(
                    "Inventory items must track quantity on hand: set TrackQtyOnHand to true.", "TrackQtyOnHand"
                )
            if "QtyOnHand" not in record:
                raise required("QtyOnHand")
            if "InvStartDate" not in record:
                raise required("InvStartDate")
            record["InvStartDate"] = parse_date(record["InvStartDate"], "InvStartDate")
        elif item_type in ("Service", "NonInventory", "Other Charge") and not (
            "IncomeAccountRef" in record or "ExpenseAccountRef" in record
        ):
            raise required("IncomeAccountRef")
        record.setdefault("Active", True)
        record.setdefault("Taxable", False)
        for key in ("UnitPrice", "PurchaseCost", "QtyOnHand"):
            if key in record:
                record[key] = number_out(dec(record[key], key))
        record.setdefault("UnitPrice", 0)
        record.setdefault("TrackQtyOnHand", False)

    def _normalize_account(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        name = record.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise required("Name")
        self._check_name_text("Name", name, extra_forbidden='"')
        self._check_lengths("Account", record)
        account_type = record.get("AccountType")
        if not account_type:
            raise required("AccountType")
        if account_type not in ACCOUNT_CLASSIFICATION:
            raise invalid_enum("AccountType", account_type)
        record["Classification"] = ACCOUNT_CLASSIFICATION[account_type]
        record.setdefault("AccountSubType", ACCOUNT_SUBTYPE[account_type])
        parent = self._optional_ref(record, "ParentRef", "Account")
        record["SubAccount"] = parent is not None
        record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}" if parent else name
        self._claim_name("Account", record["FullyQualifiedName"], "Account", existing, "account")
        record.setdefault("Active", True)
        record["CurrentBalance"] = existing.get("CurrentBalance", 0) if existing else 0
        record["CurrentBalanceWithSubAccounts"] = record["CurrentBalance"]
        if "CurrencyRef" in record:
            self._currency(record)
        else:
            record["CurrencyRef"] = {
                "value": self.home_currency,
                "name": CURRENCY_NAMES.get(self.home_currency, self.home_currency),
            }

    def _normalize_term(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        name = record.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise required("Name")
        self._check_name_text("Name", name)
        self._check_lengths("Term", record)
        self._claim_name("Term", name, "Term", existing, "term")
        record.setdefault("Active", True)
        record.setdefault("Type", "STANDARD")
        if "DueDays" in record:
            days = dec(record["DueDays"], "DueDays")
            if not 0 <= days <= 999:
                raise business("DueDays must be between 0 and 999.", "DueDays")
            record["DueDays"] = int(days)

    def _normalize_class(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        name = record.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise required("Name")
        self._check_name_text("Name", name)
        self._check_lengths("Class", record)
        parent = self._optional_ref(record, "ParentRef", "Class")
        record["SubClass"] = parent is not None
        record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}" if parent else name
        self._claim_name("Class", record["FullyQualifiedName"], "Class", existing, "class")
        record.setdefault("Active", True)

    def _txn_dates(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        record["TxnDate"] = parse_date(record["TxnDate"], "TxnDate") if "TxnDate" in record else self.today()
        if existing is not None:
            self._check_books_open(existing.get("TxnDate"))
        self._check_books_open(record["TxnDate"])

    def _due_date(self, record: dict[str, Any], term_ref: dict[str, Any] | None) -> None:
        if "DueDate" in record:
            record["DueDate"] = parse_date(record["DueDate"], "DueDate")
            return
        term = self.get("Term", term_ref["value"]) if term_ref else None
        days = int(term.get("DueDays", 0)) if term else 0
        record["DueDate"] = (date.fromisoformat(record["TxnDate"]) + timedelta(days=days)).isoformat()

    def _check_qty_price(self, detail: dict[str, Any], amount: Decimal, element: str) -> None:
        if "Qty" in detail:
            detail["Qty"] = number_out(dec(detail["Qty"], f"{element}.Qty"))
        if "UnitPrice" in detail:
            detail["UnitPrice"] = number_out(dec(detail["UnitPrice"], f"{element}.UnitPrice"))
        qty, price = detail.get("Qty"), detail.get("UnitPrice")
        if qty and price:
            expected = (Decimal(str(qty)) * Decimal(str(price))).quantize(CENT, rounding=ROUND_HALF_UP)
            if abs(expected - amount) > CENT / 2:
                raise Fault(
                    "6070",
                    "Amount calculation incorrect in the request",
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{money(amount)}",
                    f"{element}.Amount",
                )

    def _lines(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        lines = record.get("Line")
        if not isinstance(lines, list) or not lines:
            raise required("Line")
        for line in lines:
            if not isinstance(line, dict):
                raise invalid_property("Line specified is unsupported or invalid", "Line")
            description = line.get("Description")
            if isinstance(description, str) and len(description) > LINE_DESCRIPTION_MAX:
                raise too_long("Line.Description", LINE_DESCRIPTION_MAX, len(description))
        return lines

    def _line_amount(self, line: dict[str, Any], element: str) -> Decimal:
        if "Amount" not in line:
            raise required(f"{element}.Amount")
        return dec(line["Amount"], f"{element}.Amount").quantize(CENT, rounding=ROUND_HALF_UP)

    def _custom_fields(self, record: dict[str, Any]) -> None:
        fields = record.get("CustomField")
        if not fields:
            record.pop("CustomField", None)
            return
        switches: dict[str, bool] = {}
        labels: dict[str, str] = {}
        for group in self.pref("SalesFormsPrefs", "CustomField", default=[]) or []:
            for item in group.get("CustomField", []):
                name = str(item.get("Name", ""))
                if name.startswith("SalesFormsPrefs.UseSalesCustomName"):
                    switches[name[-1]] = bool(item.get("BooleanValue"))
                elif name.startswith("SalesFormsPrefs.SalesCustomName"):
                    labels[name[-1]] = str(item.get("StringValue", ""))
        out = []
        for field in fields:
            definition = str(field.get("DefinitionId", ""))
            if not switches.get(definition) or not labels.get(definition):
                raise business(
                    f"Custom field DefinitionId={definition} is not enabled for sales forms. "
                    "Turn it on in Account and Settings > Sales > Custom fields "
                    "(Preferences.SalesFormsPrefs.CustomField).",
                    "CustomField",
                )
            entry = {"DefinitionId": definition, "Name": labels[definition], "Type": "StringType"}
            if field.get("StringValue") not in (None, ""):
                entry["StringValue"] = str(field["StringValue"])
            out.append(entry)
        record["CustomField"] = out

    def _normalize_invoice(self, record: dict[str, Any], existing: dict[str, Any] | None, options: set[str]) -> None:
        """Invoices: references, dates and closed books, numbering, custom fields, and the server's own
        totals (lines, discounts, automated sales tax) and balance (total less payments applied)."""
        if existing is not None and ("Invoice", existing["Id"]) in self.voided:
            raise business("This invoice has been voided and cannot be changed.")
        if "CustomerRef" not in record:
            raise required("CustomerRef")
        record["CustomerRef"] = self._ref(record["CustomerRef"], "Customer", "CustomerRef")
        customer = self.get("Customer", record["CustomerRef"]["value"])
        assert customer is not None
        self._txn_dates(record, existing)
        currency = self._currency(record)
        if self.multi_currency and currency != ref_value(customer.get("CurrencyRef")):
            raise business(
                f"The transaction currency ({currency}) must match the currency of customer "
                f"'{customer['DisplayName']}' ({ref_value(customer.get('CurrencyRef'))}).",
                "CurrencyRef",
            )
        if "SalesTermRef" not in record and customer.get("SalesTermRef"):
            record["SalesTermRef"] = copy.deepcopy(customer["SalesTermRef"])
        self._optional_ref(record, "SalesTermRef", "Term")
        self._due_date(record, record.get("SalesTermRef"))
        self._optional_ref(record, "ClassRef", "Class")
        self._optional_ref(record, "DepositToAccountRef", "Account")
        self._optional_ref(record, "ARAccountRef", "Account")
        self._doc_number(record, existing, options)
        if "BillEmail" not in record and (customer.get("PrimaryEmailAddr") or {}).get("Address"):
            record["BillEmail"] = {"Address": customer["PrimaryEmailAddr"]["Address"]}
        bill_email = (record.get("BillEmail") or {}).get("Address")
        if isinstance(bill_email, str) and len(bill_email) > EMAIL_MAX:
            raise too_long("BillEmail.Address", EMAIL_MAX, len(bill_email))
        for key in ("BillAddr", "ShipAddr"):
            if key not in record and customer.get(key):
                record[key] = copy.deepcopy(customer[key])
        status = record.setdefault("EmailStatus", "NotSet")
        if status not in ("NotSet", "NeedToSend", "EmailSent"):
            raise invalid_enum("EmailStatus", status)
        if status == "NeedToSend" and not bill_email:
            raise business(
                "An email address is required when EmailStatus is NeedToSend. Set BillEmail.Address.", "BillEmail"
            )
        print_status = record.setdefault("PrintStatus", "NotSet")
        if print_status not in ("NotSet", "NeedToPrint", "PrintComplete"):
            raise invalid_enum("PrintStatus", print_status)
        memo = (record.get("CustomerMemo") or {}).get("value")
        if isinstance(memo, str) and len(memo) > CUSTOMER_MEMO_MAX:
            raise too_long("CustomerMemo", CUSTOMER_MEMO_MAX, len(memo))
        for flag in (
            "AllowIPNPayment",
            "AllowOnlinePayment",
            "AllowOnlineCreditCardPayment",
            "AllowOnlineACHPayment",
            "ApplyTaxAfterDiscount",
            "FreeFormAddress",
        ):
            record.setdefault(flag, False)
        self._custom_fields(record)

        subtotal = Decimal(0)
        discount = Decimal(0)
        taxable_base = Decimal(0)
        automated_tax = bool(self.pref("TaxPrefs", "PartnerTaxEnabled", default=False))
        lines_out = []
        number = 0
        for line in self._lines(record):
            kind = line.get("DetailType")
            if kind == "SubTotalLineDetail":
                continue  # QBO computes the subtotal line itself
            number += 1
            element = "Line"
            if kind == "SalesItemLineDetail":
                detail = line.setdefault("SalesItemLineDetail", {})
                amount = self._line_amount(line, element)
                if "ItemRef" not in detail:
                    raise required("Line.SalesItemLineDetail.ItemRef")
                detail["ItemRef"] = self._ref(detail["ItemRef"], "Item", "Line.SalesItemLineDetail.ItemRef")
                item = self.get("Item", detail["ItemRef"]["value"])
                assert item is not None
                if item.get("IncomeAccountRef"):
                    detail["ItemAccountRef"] = copy.deepcopy(item["IncomeAccountRef"])
                if "ClassRef" in detail:
                    detail["ClassRef"] = self._ref(detail["ClassRef"], "Class", "Line.SalesItemLineDetail.ClassRef")
                if "ServiceDate" in detail:
                    detail["ServiceDate"] = parse_date(detail["ServiceDate"], "Line.SalesItemLineDetail.ServiceDate")
                self._check_qty_price(detail, amount, "Line.SalesItemLineDetail")
                code = ref_value(detail.get("TaxCodeRef"))
                taxable = code == "TAX" if code in ("TAX", "NON") else bool(item.get("Taxable"))
                if automated_tax:
                    detail["TaxCodeRef"] = {"value": "TAX" if taxable else "NON"}
                if taxable and customer.get("Taxable", True):
                    taxable_base += amount
                subtotal += amount
                line["Amount"] = money(amount)
            elif kind == "DescriptionOnly":
                line.pop("Amount", None)
                line.setdefault("DescriptionOnly", {})
            elif kind == "DiscountLineDetail":
                detail = line.setdefault("DiscountLineDetail", {})
                if detail.get("PercentBased"):
                    percent = dec(detail.get("DiscountPercent", 0), "Line.DiscountLineDetail.DiscountPercent")
                    amount = (subtotal * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
                else:
                    amount = self._line_amount(line, element)
                discount += amount
                line["Amount"] = money(amount)
            elif kind in (None, ""):
                raise required("Line.DetailType")
            else:
                raise invalid_enum("Line.DetailType", kind)
            line.pop("LinkedTxn", None)
            lines_out.append(_numbered(line, number))
        if automated_tax:
            tax = (taxable_base * AST_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
            detail = {"TotalTax": money(tax)}
            if tax:
                detail["TaxLine"] = [
                    {
                        "Amount": money(tax),
                        "DetailType": "TaxLineDetail",
                        "TaxLineDetail": {
                            "TaxRateRef": {"value": AST_TAX_RATE_ID},
                            "PercentBased": True,
                            "TaxPercent": float(AST_RATE * 100),
                            "NetAmountTaxable": money(taxable_base),
                        },
                    }
                ]
            if ref_value((record.get("TxnTaxDetail") or {}).get("TxnTaxCodeRef")):
                detail["TxnTaxCodeRef"] = record["TxnTaxDetail"]["TxnTaxCodeRef"]
            record["TxnTaxDetail"] = detail
        else:
            given = record.get("TxnTaxDetail") or {}
            tax = dec(given.get("TotalTax", 0), "TxnTaxDetail.TotalTax").quantize(CENT, rounding=ROUND_HALF_UP)
            if tax < 0:
                raise business("The sales tax amount cannot be negative.", "TxnTaxDetail.TotalTax")
            record["TxnTaxDetail"] = {**given, "TotalTax": money(tax)}
        lines_out.append({"Amount": money(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        record["Line"] = lines_out
        total = subtotal - discount + tax
        if total < 0:
            raise business(
                f"The invoice total ({money(total)}) is negative. An invoice total must be zero or more; "
                "record a credit memo for a negative amount.",
                "TotalAmt",
            )
        applied = sum(self.applied.get(existing["Id"], {}).values(), Decimal(0)) if existing else Decimal(0)
        if applied and existing and ref_value(existing.get("CustomerRef")) != record["CustomerRef"]["value"]:
            raise business("The customer of an invoice with payments applied cannot be changed.", "CustomerRef")
        if total < applied:
            raise business(
                f"The invoice total ({money(total)}) is less than the payments applied to it ({money(applied)}).",
                "TotalAmt",
            )
        record["TotalAmt"] = money(total)
        record["Balance"] = money(total - applied)
        if existing and existing.get("LinkedTxn"):
            record["LinkedTxn"] = copy.deepcopy(existing["LinkedTxn"])
        else:
            record.setdefault("LinkedTxn", [])
        self._home_amounts(record)

    def _home_amounts(self, record: dict[str, Any]) -> None:
        if not self.multi_currency:
            return
        rate = dec(record.get("ExchangeRate", 1), "ExchangeRate")
        record["ExchangeRate"] = number_out(rate)
        record["HomeTotalAmt"] = money(Decimal(str(record["TotalAmt"])) * rate)
        if "Balance" in record:
            record["HomeBalance"] = money(Decimal(str(record["Balance"])) * rate)

    def _doc_number(self, record: dict[str, Any], existing: dict[str, Any] | None, options: set[str]) -> None:
        """Custom numbers on: keep the client's, refuse a duplicate (6140) unless allowed.
        Off: QBO numbers a new invoice itself (highest numeric DocNumber + 1); a sent number is kept."""
        doc = record.get("DocNumber")
        custom = bool(self.pref("SalesFormsPrefs", "CustomTxnNumbers", default=True))
        auto = record.pop("AutoDocNumber", False) is True
        if doc is not None:
            doc = str(doc)
            record["DocNumber"] = doc
            if len(doc) > LENGTHS[("*", "DocNumber")]:
                raise too_long("DocNumber", LENGTHS[("*", "DocNumber")], len(doc))
        if existing is not None and doc is None and not custom and existing.get("DocNumber"):
            record["DocNumber"] = existing["DocNumber"]  # a full update keeps the number QBO assigned
            return
        if existing is None and (auto or (not custom and doc is None)):
            candidate = self.max_doc_number + 1
            while str(candidate) in self.doc_numbers:
                candidate += 1
            record["DocNumber"] = str(candidate)
            return
        if doc is None or not custom or "allowduplicatedocnum" in options:
            return
        if existing is not None and existing.get("DocNumber") == doc:
            return
        others = sorted((i for i in self.doc_numbers.get(doc, ()) if not existing or i != existing["Id"]), key=id_key)
        if others:
            raise duplicate_doc_number(doc, "Invoice", others[0])

    def _normalize_bill(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        """Bills: vendor (and its currency), A/P account, purchasable items on item lines, total from lines."""
        if "VendorRef" not in record:
            raise required("VendorRef")
        record["VendorRef"] = self._ref(record["VendorRef"], "Vendor", "VendorRef")
        vendor = self.get("Vendor", record["VendorRef"]["value"])
        assert vendor is not None
        self._txn_dates(record, existing)
        currency = self._currency(record)
        vendor_currency = ref_value(vendor.get("CurrencyRef")) or self.home_currency
        if self.multi_currency and currency != vendor_currency:
            raise business(
                f"The bill currency ({currency}) must match the currency of vendor '{vendor['DisplayName']}' "
                f"({vendor_currency}). A vendor's transactions are always in the vendor's currency.",
                "CurrencyRef",
            )
        if "APAccountRef" in record:
            record["APAccountRef"] = self._ref(record["APAccountRef"], "Account", "APAccountRef")
        else:
            payable = next(
                (
                    a
                    for a in self.visible("Account")
                    if a.get("AccountType") == "Accounts Payable" and a.get("Active", True)
                ),
                None,
            )
            if payable is not None:
                record["APAccountRef"] = {"value": payable["Id"], "name": payable["Name"]}
        if "SalesTermRef" not in record and vendor.get("TermRef"):
            record["SalesTermRef"] = copy.deepcopy(vendor["TermRef"])
        self._optional_ref(record, "SalesTermRef", "Term")
        self._due_date(record, record.get("SalesTermRef"))
        if "DocNumber" in record:
            record["DocNumber"] = str(record["DocNumber"])
        total = Decimal(0)
        lines_out = []
        for number, line in enumerate(self._lines(record), start=1):
            kind = line.get("DetailType")
            amount = self._line_amount(line, "Line")
            if kind == "ItemBasedExpenseLineDetail":
                detail = line.setdefault("ItemBasedExpenseLineDetail", {})
                if "ItemRef" not in detail:
                    raise required("Line.ItemBasedExpenseLineDetail.ItemRef")
                detail["ItemRef"] = self._ref(detail["ItemRef"], "Item", "Line.ItemBasedExpenseLineDetail.ItemRef")
                item = self.get("Item", detail["ItemRef"]["value"])
                assert item is not None
                if not item.get("ExpenseAccountRef"):
                    raise business(
                        f"Item '{item['Name']}' can't be used on a purchase form because it has no expense account. "
                        "Edit the item: turn on 'I purchase this product/service from a vendor' "
                        "and set an expense account (ExpenseAccountRef).",
                        "Line.ItemBasedExpenseLineDetail.ItemRef",
                    )
                self._check_qty_price(detail, amount, "Line.ItemBasedExpenseLineDetail")
                prefix = "Line.ItemBasedExpenseLineDetail"
            elif kind == "AccountBasedExpenseLineDetail":
                detail = line.setdefault("AccountBasedExpenseLineDetail", {})
                if "AccountRef" not in detail:
                    raise required("Line.AccountBasedExpenseLineDetail.AccountRef")
                detail["AccountRef"] = self._ref(
                    detail["AccountRef"], "Account", "Line.AccountBasedExpenseLineDetail.AccountRef"
                )
                prefix = "Line.AccountBasedExpenseLineDetail"
            elif kind in (None, ""):
                raise required("Line.DetailType")
            else:
                raise invalid_enum("Line.DetailType", kind)
            if "ClassRef" in detail:
                detail["ClassRef"] = self._ref(detail["ClassRef"], "Class", f"{prefix}.ClassRef")
            if "CustomerRef" in detail:
                detail["CustomerRef"] = self._ref(detail["CustomerRef"], "Customer", f"{prefix}.CustomerRef")
            detail.setdefault("BillableStatus", "NotBillable")
            total += amount
            line["Amount"] = money(amount)
            lines_out.append(_numbered(line, number))
        record["Line"] = lines_out
        if total < 0:
            raise business(
                f"The bill total ({money(total)}) is negative. A bill total must be zero or more; "
                "record a vendor credit for a negative amount.",
                "TotalAmt",
            )
        record["TotalAmt"] = money(total)
        record["Balance"] = money(total)
        record.setdefault("LinkedTxn", [])
        self._home_amounts(record)

    def _normalize_payment(self, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
        """Payments: each line applies its amount to one of the customer's open invoices (``_commit`` applies it)."""
        if "CustomerRef" not in record:
            raise required("CustomerRef")
        record["CustomerRef"] = self._ref(record["CustomerRef"], "Customer", "CustomerRef")
        customer_id = record["CustomerRef"]["value"]
        self._txn_dates(record, existing)
        self._currency(record)
        self._optional_ref(record, "DepositToAccountRef", "Account")
        self._optional_ref(record, "ARAccountRef", "Account")
        undeposited = self.get("Account", ACCOUNT_UNDEPOSITED)
        if "DepositToAccountRef" not in record and undeposited is not None:
            record["DepositToAccountRef"] = {"value": undeposited["Id"], "name": undeposited["Name"]}
        previous = self._payment_applications(existing["Id"]) if existing else {}
        applications: dict[str, Decimal] = {}
        lines_out = []
        for line in record.get("Line") or []:
            amount = self._line_amount(line, "Line")
            if amount < 0:
                raise business("A payment line amount cannot be negative.", "Line.Amount")
            links = [link for link in line.get("LinkedTxn") or [] if isinstance(link, dict)]
            invoice_links = [link for link in links if link.get("TxnType") == "Invoice"]
            if not invoice_links:
                raise required("Line.LinkedTxn")
            invoice_id = str(invoice_links[0].get("TxnId", ""))
            invoice = self.get("Invoice", invoice_id)
            if invoice is None:
                raise invalid_reference("Invoice", "Line.LinkedTxn.TxnId")
            if ref_value(invoice.get("CustomerRef")) != customer_id:
                raise business(
                    f"Invoice {invoice.get('DocNumber') or invoice_id} belongs to another customer; "
                    "a payment can only be applied to its own customer's invoices.",
                    "Line.LinkedTxn.TxnId",
                )
            open_balance = (
                Decimal(str(invoice["Balance"]))
                + previous.get(invoice_id, Decimal(0))
                - applications.get(invoice_id, Decimal(0))
            )
            if amount > open_balance:
                raise business(
                    f"The amount applied to invoice {invoice.get('DocNumber') or invoice_id} ({money(amount)}) "
                    f"is more than its open balance ({money(open_balance)}).",
                    "Line.Amount",
                )
            if amount > 0:  # a zeroed line (a voided payment's) links nothing
                applications[invoice_id] = applications.get(invoice_id, Decimal(0)) + amount
            lines_out.append({"Amount": money(amount), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]})
        applied_total = sum(applications.values(), Decimal(0))
        if "TotalAmt" in record:
            total = dec(record["TotalAmt"], "TotalAmt").quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            total = applied_total
        if total < 0:
            raise business(
                f"The payment total ({money(total)}) is negative. A payment amount must be zero or more.", "TotalAmt"
            )
        if applied_total > total:
            raise business(
                f"The amounts applied to invoices ({money(applied_total)}) "
                f"are more than the payment amount ({money(total)}).",
                "TotalAmt",
            )
        if existing and ("Payment", existing["Id"]) in self.voided:
            raise business("This payment has been voided and cannot be changed.")
        record["Line"] = lines_out
        record["TotalAmt"] = money(total)
        record["UnappliedAmt"] = money(total - applied_total)
        record["_applications"] = applications  # consumed by _commit
        record.setdefault("ProcessPayment", False)
        self._home_amounts(record)

    def _payment_applications(self, payment_id: str) -> dict[str, Decimal]:
        return {inv: by_payment[payment_id] for inv, by_payment in self.applied.items() if payment_id in by_payment}

    # -- commit -----------------------------------------------------------------------------------

    def _next_id(self, entity: str) -> str:
        sequence = ID_SEQUENCE[entity]
        value = self.sequences[sequence]
        self.sequences[sequence] = value + 1
        return str(value)

    def _reserve_id(self, entity: str, rid: str) -> None:
        if rid.isdigit():
            sequence = ID_SEQUENCE[entity]
            self.sequences[sequence] = max(self.sequences[sequence], int(rid) + 1)

    def _commit(
        self,
        entity: str,
        record: dict[str, Any],
        existing: dict[str, Any] | None,
        *,
        seed_id: str | None = None,
        seed_meta: Any = None,
        seed_token: Any = None,
    ) -> dict[str, Any]:
        """Store a validated record. ``seed_id`` not None means a seed: its Id (or a new one when
        empty), MetaData and SyncToken (default "0") are taken as given."""
        applications = record.pop("_applications", None)
        now = stamp(self.now())
        if seed_id is not None:
            rid = existing["Id"] if existing is not None else (seed_id or self._next_id(entity))
            self._reserve_id(entity, rid)
            meta = {"CreateTime": now, "LastUpdatedTime": now}
            if isinstance(seed_meta, dict):
                meta["CreateTime"] = seed_meta.get("CreateTime") or now
                meta["LastUpdatedTime"] = seed_meta.get("LastUpdatedTime") or meta["CreateTime"]
            token = str(seed_token) if str(seed_token or "").isdigit() else "0"
        elif existing is None:
            rid = self._next_id(entity)
            meta = {"CreateTime": now, "LastUpdatedTime": now}
            token = "0"
        else:
            rid = existing["Id"]
            meta = {"CreateTime": existing["MetaData"]["CreateTime"], "LastUpdatedTime": now}
            token = str(int(existing["SyncToken"]) + 1)
        body = {k: v for k, v in record.items() if k not in _ALWAYS_READ_ONLY}
        stored = {"Id": rid, "SyncToken": token, "domain": "QBO", "sparse": False, "MetaData": meta, **body}
        if entity == "Payment":
            self._apply_payment(rid, applications or {}, stored)
        if existing is not None:
            self._unindex(entity, existing)
        self._move_party_balance(entity, existing, stored)
        self.records[entity][rid] = stored
        self._index(entity, stored)
        if existing is None and self.hidden is not None:
            self.hidden.add((entity, rid))
        return copy.deepcopy(stored)

    def _index(self, entity: str, record: dict[str, Any]) -> None:
        key = self._name_key(entity, record)
        if key is not None:
            self.names[key] = (entity, record["Id"])
        if entity == "Invoice" and record.get("DocNumber"):
            doc = record["DocNumber"]
            self.doc_numbers.setdefault(doc, set()).add(record["Id"])
            if doc.isdigit():
                self.max_doc_number = max(self.max_doc_number, int(doc))

    def _unindex(self, entity: str, record: dict[str, Any]) -> None:
        key = self._name_key(entity, record)
        if key is not None and self.names.get(key) == (entity, record["Id"]):
            del self.names[key]
        if entity == "Invoice" and record.get("DocNumber"):
            ids = self.doc_numbers.get(record["DocNumber"], set())
            ids.discard(record["Id"])
            if not ids:
                self.doc_numbers.pop(record["DocNumber"], None)

    @staticmethod
    def _name_key(entity: str, record: dict[str, Any]) -> tuple[str, str] | None:
        if entity in NAME_LISTS:
            return ("name", record["DisplayName"].casefold())
        if entity in ("Item", "Account", "Class"):
            return (entity, record["FullyQualifiedName"].casefold())
        if entity == "Term":
            return ("Term", record["Name"].casefold())
        return None

    def _move_party_balance(self, entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        """Keep Customer.Balance / Vendor.Balance equal to the open balance of their invoices / bills."""
        if entity not in ("Invoice", "Bill"):
            return
        party_entity, ref_key = ("Customer", "CustomerRef") if entity == "Invoice" else ("Vendor", "VendorRef")
        for record, sign in ((old, -1), (new, 1)):
            if record is None:
                continue
            party = self.records[party_entity].get(ref_value(record.get(ref_key)) or "")
            if party is None:
                continue
            balance = Decimal(str(party.get("Balance", 0))) + sign * Decimal(str(record.get("Balance", 0)))
            party["Balance"] = money(balance)
            if party_entity == "Customer":
                party["BalanceWithJobs"] = party["Balance"]

    def _apply_payment(self, payment_id: str, applications: dict[str, Decimal], payment: dict[str, Any] | None) -> None:
        """Replace what a payment applies to invoices; update their Balance, LinkedTxn and version."""
        touched = set(self._payment_applications(payment_id)) | set(applications)
        for invoice_id in list(self.applied):
            self.applied[invoice_id].pop(payment_id, None)
            if not self.applied[invoice_id]:
                del self.applied[invoice_id]
        for invoice_id, amount in applications.items():
            self.applied.setdefault(invoice_id, {})[payment_id] = amount
        now = stamp(self.now())
        for invoice_id in sorted(touched, key=id_key):
            invoice = self.records["Invoice"].get(invoice_id)
            if invoice is None:
                continue
            before = copy.deepcopy(invoice)
            paid = sum(self.applied.get(invoice_id, {}).values(), Decimal(0))
            invoice["Balance"] = money(Decimal(str(invoice["TotalAmt"])) - paid)
            links = [
                link
                for link in invoice.get("LinkedTxn", [])
                if not (link.get("TxnType") == "Payment" and link.get("TxnId") == payment_id)
            ]
            if payment_id in self.applied.get(invoice_id, {}):
                links.append({"TxnId": payment_id, "TxnType": "Payment"})
            invoice["LinkedTxn"] = links
            if "HomeBalance" in invoice:
                self._home_amounts(invoice)
            if invoice != before:
                if not self.seeding:  # seeded records keep SyncToken "0" and their given MetaData
                    invoice["SyncToken"] = str(int(invoice["SyncToken"]) + 1)
                    invoice["MetaData"]["LastUpdatedTime"] = now
                self._move_party_balance("Invoice", before, invoice)

    # -- state ------------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "realm_id": self.realm_id,
            "Preferences": copy.deepcopy(self.preferences),
            "CompanyInfo": copy.deepcopy(self.company_info),
        }
        for entity in ENTITIES:
            out[entity] = [copy.deepcopy(self.records[entity][k]) for k in sorted(self.records[entity], key=id_key)]
        return out


# -- OAuth -----------------------------------------------------------------------------------------


class _OAuth:
    """Client credentials and the live tokens. Times are sandbox seconds (``clock.seconds()``)."""

    def __init__(self) -> None:
        self.client_id = DEFAULT_CLIENT_ID
        self.client_secret = DEFAULT_CLIENT_SECRET
        self.refresh_token: str | None = DEFAULT_REFRESH_TOKEN
        self.refresh_expires_at: float | None = None  # None: set on first use from the limits
        self.access_tokens: dict[str, float] = {}  # token -> expires at
        self.authorization_code: str | None = None

    def __repr__(self) -> str:  # never show secrets
        return f"_OAuth(client_id={self.client_id!r}, live_access_tokens={len(self.access_tokens)})"

    def revoke_all(self) -> None:
        self.refresh_token = None
        self.refresh_expires_at = None
        self.access_tokens.clear()


class _Idempotency:
    """Responses to writes by (realm, requestid): a retry gets the first answer, nothing runs twice."""

    def __init__(self, capacity: int = 100_000):
        self._done: OrderedDict[tuple[str, str], Response] = OrderedDict()
        self._running: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()
        self.capacity = capacity

    def begin(self, key: tuple[str, str]) -> Response | None:
        """The stored response, or None when the caller now owns ``key`` and must call ``finish``."""
        while True:
            with self._lock:
                if key in self._done:
                    return self._done[key]
                running = self._running.get(key)
                if running is None:
                    self._running[key] = threading.Event()
                    return None
            running.wait(timeout=150)

    def finish(self, key: tuple[str, str], response: Response | None) -> None:
        with self._lock:
            if response is not None:
                self._done[key] = response
                while len(self._done) > self.capacity:
                    self._done.popitem(last=False)
            event = self._running.pop(key, None)
        if event is not None:
            event.set()

    def clear(self) -> None:
        with self._lock:
            self._done.clear()


# -- the HTTP surface --------------------------------------------------------------------------------


class QboApi(ApiEmulator):
    """QuickBooks Online: ``/oauth2/v1/tokens/bearer`` and ``/v3/company/{realmId}/...``."""

    name = "qbo"

    def __init__(self, sandbox: Any):
        super().__init__(sandbox)
        self._lock = threading.RLock()  # guards the books and the tokens; never held while sleeping
        self._rate_lock = threading.Lock()
        self._gate = Gate()  # concurrent requests per realm
        self._name_gate = Gate()  # one name-list write at a time per realm
        self._idempotency = _Idempotency()
        self.reset()

    # -- ApiEmulator -------------------------------------------------------------------------------

    def handles(self, req: Request) -> bool:
        path = req.path.lower()
        return path.startswith(("/v3/company/", DISCOVERY_PREFIX)) or path.rstrip("/") in (TOKEN_PATH, REVOKE_PATH)

    def requestid(self, req: Request) -> str | None:
        return req.arg("requestid")

    def reset(self) -> None:
        with self._lock:
            self._limits = dict(DEFAULT_LIMITS)
            self._oauth = _OAuth()
            self._company = Company.fresh(DEFAULT_REALM_ID)
            self._minute = RollingWindow(self.clock, 60)
            self._batch_minute = RollingWindow(self.clock, 60)
            self._idempotency.clear()

    @property
    def realm_id(self) -> str:
        return self._company.realm_id

    def limits(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._limits)

    def set_limits(self, doc: dict[str, Any]) -> None:
        unknown = set(doc) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(f"unknown qbo limits: {sorted(unknown)}; known: {sorted(DEFAULT_LIMITS)}")
        for key, value in doc.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"qbo limit {key!r} must be a number >= 0, got {value!r}")
        with self._lock:
            self._limits.update(doc)

    def airflow_connection(self, base_url: str) -> dict[str, Any]:
        with self._lock:
            self._live_refresh_token()
            return {
                "conn_type": "quickbooks_online",
                "host": base_url,
                "login": self._oauth.client_id,
                "password": self._oauth.client_secret,
                "extra": {
                    "realm_id": self.realm_id,
                    "refresh_token": self._oauth.refresh_token,
                    "token_url": base_url + TOKEN_PATH,
                },
            }

    def dump_state(self) -> dict[str, Any]:
        with self._lock:
            state = self._company.dump()
            self._live_refresh_token()
            now = self.clock.seconds()
            state["oauth"] = {
                "client_id": self._oauth.client_id,
                "client_secret": self._oauth.client_secret,
                "refresh_token": self._oauth.refresh_token,
                "live_access_tokens": sum(1 for t in self._oauth.access_tokens.values() if t > now),
            }
            return state

    def fault_response(self, mode: str) -> Response:
        if mode == "throttle_429":
            return self._throttled()
        if mode == "error_503":
            title = "503 Service Temporarily Unavailable"
            body = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>"
            return Response(503, body.encode(), {"Content-Type": "text/html", "intuit_tid": self._tid()})
        fault = Fault(
            "10000",
            "An application error has occurred while processing your request",
            "System Failure Error: An unexpected error occurred while accessing or saving your data. "
            "Please wait a few minutes and try again. If the problem persists, contact customer support.",
            status=500,
            kind="SystemFault",
        )
        return self._fault(fault)

    # -- seeds -------------------------------------------------------------------------------------

    def prepare_seed(self, part: dict[str, Any]) -> Callable[[], None]:
        if not isinstance(part, dict):
            raise SeedError("qbo seed: the 'qbo' part must be an object")
        known = {"realm_id", "oauth", "Preferences", "CompanyInfo", *ENTITIES}
        unknown = set(part) - known
        if unknown:
            raise SeedError(f"qbo seed: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        oauth = part.get("oauth") or {}
        if not isinstance(oauth, dict):
            raise SeedError("qbo seed: 'oauth' must be an object")
        # live_access_tokens is what dump_state reports; accepted (and ignored) so a dump loads back.
        unknown = set(oauth) - {
            "client_id",
            "client_secret",
            "refresh_token",
            "authorization_code",
            "revoke",
            "live_access_tokens",
        }
        if unknown:
            raise SeedError(f"qbo seed: unknown oauth keys {sorted(unknown)}")
        with self._lock:
            books = self._company.clone()
        if part.get("realm_id") is not None:
            books.realm_id = str(part["realm_id"])
        books.seeding = True
        try:
            if part.get("Preferences"):
                books.merge_preferences({k: v for k, v in part["Preferences"].items() if k not in _ALWAYS_READ_ONLY})
            if part.get("CompanyInfo"):
                books.company_info = deep_merge(books.company_info, part["CompanyInfo"])
            for entity in SEED_ORDER:
                rows = part.get(entity) or []
                if not isinstance(rows, list):
                    raise SeedError(f"qbo seed: '{entity}' must be a list of records")
                for index, row in enumerate(rows):
                    try:
                        books.save(entity, row, seed=True)
                    except Fault as fault:
                        label = _seed_label(entity, row)
                        raise SeedError(
                            f"qbo seed: {entity}[{index}] {label} breaks rule {fault.code} {fault.message}: "
                            f"{fault.detail}" + (f" (element {fault.element})" if fault.element else "")
                        ) from None
        finally:
            books.seeding = False

        def commit() -> None:
            with self._lock:
                self._company = books
                if "client_id" in oauth:
                    self._oauth.client_id = str(oauth["client_id"])
                if "client_secret" in oauth:
                    self._oauth.client_secret = str(oauth["client_secret"])
                if oauth.get("revoke"):
                    self._oauth.revoke_all()
                if "refresh_token" in oauth:
                    self._oauth.refresh_token = str(oauth["refresh_token"])
                    self._oauth.refresh_expires_at = None
                if "authorization_code" in oauth:
                    self._oauth.authorization_code = str(oauth["authorization_code"])

        return commit

    # -- dispatch ----------------------------------------------------------------------------------

    def serve(self, req: Request) -> Response:
        path = req.path.rstrip("/").lower()
        if path == TOKEN_PATH:
            return self._serve_token(req)
        if path == REVOKE_PATH:
            return self._serve_revoke(req)
        if path.startswith(DISCOVERY_PREFIX):
            return self._serve_discovery(req)
        return self._serve_api(req)

    def _serve_api(self, req: Request) -> Response:
        parts = req.path.rstrip("/").split("/")  # ['', 'v3', 'company', realm, resource, ...]
        if len(parts) < 5:
            return self._fault(unsupported(f"Operation {req.method} {req.path} is not supported."))
        realm, rest = parts[3], parts[4:]
        denied = self._authenticate(req, realm)
        if denied is not None:
            return denied
        is_batch = rest[0].lower() == "batch"
        with self._lock:
            concurrent = int(self._limits["concurrent"])
        if not self._gate.enter(realm, concurrent):
            return self._throttled()
        try:
            if not self._admit(is_batch):  # counted only once it has a slot: refusals never count
                return self._throttled()
            requestid = req.arg("requestid") if req.method == "POST" else None
            if not requestid:
                return self._execute(req, rest)[0]
            key = (realm, requestid)
            stored = self._idempotency.begin(key)
            if stored is not None:
                return stored
            response, replayable = None, False
            try:
                response, replayable = self._execute(req, rest)
                return response
            finally:
                self._idempotency.finish(key, response if replayable else None)
        finally:
            self._gate.leave(realm)

    def _execute(self, req: Request, rest: list[str]) -> tuple[Response, bool]:
        """Run one admitted request; return the response and whether a requestid retry may replay it."""
        try:
            minor = req.arg("minorversion")
            if minor is not None and not (minor.isdigit() and int(minor) >= 1):
                raise invalid_property(f"minorversion={minor} specified is unsupported or invalid", "minorversion")
            body = self._json_body(req, rest)
            name_write = self._is_name_write(req, rest, body)
            with self._lock:
                latency_ms = float(self._limits["latency_ms"])
                name_ms = float(self._limits["name_write_ms"]) if name_write else 0.0
            holds_names = name_write and self._name_gate.enter(self.realm_id, 1)
            # A batch still runs when another name write is in flight: only its name items fault.
            names_blocked = name_write and not holds_names
            if names_blocked and rest[0].lower() != "batch":
                raise one_name_at_a_time()
            try:
                # Latency and the name hold are slept here: in the concurrency slot, outside the lock.
                pause_ms = latency_ms + (name_ms if holds_names else 0.0)
                if pause_ms > 0:
                    time.sleep(pause_ms / 1000)
                with self._lock:
                    try:
                        payload = self._route(req, rest, body, names_blocked)
                    except (TypeError, AttributeError) as exc:
                        raise wrong_shape(exc) from None
            finally:
                if holds_names:
                    self._name_gate.leave(self.realm_id)
        except Fault as fault:
            return self._fault(fault), fault.replayable
        if isinstance(payload, Response):
            return payload, True
        return self._ok(payload), not names_blocked

    def _route(self, req: Request, rest: list[str], body: Any, names_blocked: bool) -> dict[str, Any] | Response:
        books = self._company
        resource = rest[0].lower()
        options = self._options(req.arg("include"))
        operation = (req.arg("operation") or "").lower()
        if resource == "query":
            text = req.arg("query") if req.method == "GET" else req.body.decode("utf-8", "replace")
            if req.method == "POST" and req.arg("query") and not req.body:
                text = req.arg("query")
            return {"QueryResponse": books.query(text or "")}
        if resource == "batch" and req.method == "POST":
            return self._batch(body, names_blocked)
        if resource == "cdc" and req.method == "GET":
            return books.cdc(req.arg("entities"), req.arg("changedSince"))
        if resource == "preferences":
            if req.method == "GET":
                return {"Preferences": copy.deepcopy(books.preferences)}
            return {"Preferences": books.update_preferences(body)}
        if resource == "companyinfo" and req.method == "GET":
            return {"CompanyInfo": copy.deepcopy(books.company_info)}
        entity = URL_ENTITIES.get(resource)
        if entity is None:
            raise unsupported(f"Operation {req.method} {rest[0]} is not supported.")
        if req.method == "GET" and len(rest) == 2:
            return {entity: books.read(entity, rest[1])}
        if req.method == "GET" and len(rest) == 3 and rest[2].lower() == "pdf" and entity == "Invoice":
            invoice = books.read(entity, rest[1])
            return Response(200, _invoice_pdf(invoice), {"Content-Type": "application/pdf", "intuit_tid": self._tid()})
        if req.method == "POST" and len(rest) == 3 and rest[2].lower() == "send" and entity == "Invoice":
            sent = books.send_invoice(rest[1], req.arg("sendTo"))
            self._deliver_invoice(books, sent)
            return {entity: sent}
        if req.method != "POST" or len(rest) != 1:
            raise unsupported(f"Operation {req.method} {'/'.join(rest)} is not supported.")
        if operation == "delete":
            return {entity: books.delete(entity, body)}
        if operation == "void" or (operation == "update" and "void" in options):
            return {entity: books.void(entity, body)}
        if operation not in ("", "create", "update"):
            raise unsupported(f"Operation {operation} is not supported for {entity}.")
        return {entity: books.save(entity, body, options=options, create_only=operation == "create")}

    def _batch(self, body: Any, names_blocked: bool) -> dict[str, Any]:
        books = self._company
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise required("BatchItemRequest")
        limit = int(self._limits["max_batch_items"])
        if len(items) > limit:
            raise Fault(
                "1040",
                "Batch size exceeds allowed limit",
                f"Batch size {len(items)} exceeds the limit of {limit} BatchItemRequest items per batch.",
            )
        books.hidden = set()
        try:
            responses = []
            for item in items:
                bid = item.get("bId") if isinstance(item, dict) else None
                try:
                    if names_blocked and self._is_name_item(item):
                        raise one_name_at_a_time()
                    responses.append({"bId": bid, **self._batch_item(books, item)})
                except Fault as fault:
                    responses.append({"bId": bid, "Fault": fault.fault()})
                except (TypeError, AttributeError) as exc:
                    responses.append({"bId": bid, "Fault": wrong_shape(exc).fault()})
        finally:
            books.hidden = None
        return {"BatchItemResponse": responses}

    def _batch_item(self, books: Company, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict) or not item.get("bId"):
            raise required("bId")
        if "Query" in item:
            return {"QueryResponse": books.query(str(item["Query"]))}
        entities = [k for k in item if k in ENTITIES]
        if len(entities) != 1:
            others = [k for k in item if k not in ("bId", "operation", "optionsData")]
            raise unsupported(f"Batch item {item.get('bId')}: unsupported content {others or 'none'}.")
        entity = entities[0]
        operation = str(item.get("operation") or "").lower()
        options = self._options(item.get("optionsData"))
        body = item[entity]
        if operation == "delete":
            return {entity: books.delete(entity, body)}
        if operation == "void" or (operation == "update" and "void" in options):
            return {entity: books.void(entity, body)}
        if operation in ("create", "update"):
            if operation == "update" and (not isinstance(body, dict) or body.get("Id") in (None, "")):
                raise required("Id")
            return {entity: books.save(entity, body, options=options, create_only=operation == "create")}
        raise required("operation")

    def _deliver_invoice(self, books: Company, invoice: dict[str, Any]) -> None:
        """Put the email QBO sends for ``invoice/{id}/send`` in the sandbox's mailbox (when the
        SMTP part runs), PDF attached, so a test can read what the customer received."""
        mailbox = getattr(self.sandbox, "mail", None)
        if mailbox is None:
            return
        company = books.company_info.get("CompanyName", "QuickBooks")
        number = invoice.get("DocNumber") or invoice["Id"]
        message = EmailMessage()
        message["From"] = f"{company} <quickbooks@notification.intuit.com>"
        message["To"] = invoice["BillEmail"]["Address"]
        message["Subject"] = f"Invoice {number} from {company}"
        message.set_content(
            f"Dear {invoice['CustomerRef'].get('name', 'customer')},\n\n"
            f"Here's your invoice! We appreciate your prompt payment.\n\n"
            f"Invoice {number}: {invoice.get('Balance', 0):.2f} {ref_value(invoice.get('CurrencyRef')) or ''} "
            f"due {invoice.get('DueDate', '')}.\n\n{company}\n"
        )
        message.add_attachment(
            _invoice_pdf(invoice), maintype="application", subtype="pdf", filename=f"Invoice_{number}.pdf"
        )
        mailbox.add("quickbooks@notification.intuit.com", [message["To"]], message.as_bytes())

    # -- request parts -----------------------------------------------------------------------------

    @staticmethod
    def _options(raw: Any) -> set[str]:
        return {o.strip().lower() for o in str(raw or "").split(",") if o.strip()}

    @staticmethod
    def _json_body(req: Request, rest: list[str]) -> Any:
        if req.method != "POST" or rest[0].lower() == "query" or not req.body:
            return None
        try:
            return json.loads(req.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise Fault(
                "500", "Unsupported Operation", "Invalid UTF-8 in the request payload; send UTF-8 JSON."
            ) from None
        except json.JSONDecodeError as exc:
            raise invalid_property(
                f"Unexpected character at line {exc.lineno}, column {exc.colno} specified is unsupported or invalid"
            ) from None

    @staticmethod
    def _is_name_item(item: Any) -> bool:
        """A batch item that creates or updates a Customer, Vendor or Employee."""
        return (
            isinstance(item, dict)
            and any(k in item for k in NAME_LISTS)
            and str(item.get("operation") or "").lower() in ("create", "update")
        )

    @classmethod
    def _is_name_write(cls, req: Request, rest: list[str], body: Any) -> bool:
        if req.method != "POST":
            return False
        resource = rest[0].lower()
        if resource in ("customer", "vendor", "employee") and len(rest) == 1:
            return (req.arg("operation") or "").lower() != "delete"
        if resource == "batch" and isinstance(body, dict) and isinstance(body.get("BatchItemRequest"), list):
            return any(cls._is_name_item(item) for item in body["BatchItemRequest"])
        return False

    # -- auth --------------------------------------------------------------------------------------

    def _authenticate(self, req: Request, realm: str) -> Response | None:
        header = req.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        with self._lock:
            expires = self._oauth.access_tokens.get(token) if scheme.lower() == "bearer" and token else None
            now = self.clock.seconds()
            for dead in [t for t, exp in self._oauth.access_tokens.items() if exp <= now - 3600 * 24]:
                del self._oauth.access_tokens[dead]
            realm_ok = realm == self.realm_id
        if expires is None or expires <= now:
            detail = "Token expired" if expires is not None else "Token invalid or missing"
            payload = {
                "fault": {
                    "error": [
                        {
                            "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                            "detail": detail,
                            "code": "3200",
                        }
                    ],
                    "type": "AUTHENTICATION",
                },
                "time": response_time(pacific_now()),
            }
            return Response.json(
                401,
                payload,
                {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"', "intuit_tid": self._tid()},
            )
        if not realm_ok:
            return self._fault(
                Fault(
                    "3100",
                    "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                    f"The access token does not give access to company {realm}.",
                    status=403,
                    kind="AuthorizationFault",
                )
            )
        return None

    def _live_refresh_token(self) -> None:
        """Start the refresh token's lifetime on first sight; drop it once expired."""
        oauth = self._oauth
        if oauth.refresh_token is None:
            return
        now = self.clock.seconds()
        if oauth.refresh_expires_at is None:
            oauth.refresh_expires_at = now + float(self._limits["refresh_token_ttl_s"])
        elif oauth.refresh_expires_at <= now:
            oauth.refresh_token = None
            oauth.refresh_expires_at = None

    def _client_ok(self, req: Request) -> bool:
        header = req.header("authorization") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, secret = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        with self._lock:
            return secrets.compare_digest(client_id, self._oauth.client_id) and secrets.compare_digest(
                secret, self._oauth.client_secret
            )

    def _serve_token(self, req: Request) -> Response:
        headers = {"intuit_tid": self._tid(), "Cache-Control": "no-store"}
        if req.method != "POST":
            return Response.json(405, {"error": "invalid_request", "error_description": "use POST"}, headers)
        if not self._client_ok(req):
            return Response.json(401, {"error": "invalid_client"}, headers)
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        grant = form.get("grant_type")
        with self._lock:
            oauth = self._oauth
            self._live_refresh_token()
            if grant == "refresh_token":
                offered = form.get("refresh_token")
                if not offered:
                    return Response.json(
                        400, {"error": "invalid_request", "error_description": "refresh_token is required"}, headers
                    )
                if oauth.refresh_token is None or not secrets.compare_digest(offered, oauth.refresh_token):
                    return Response.json(400, {"error": "invalid_grant", "error_description": "Token invalid"}, headers)
            elif grant == "authorization_code":
                code = form.get("code")
                if (
                    not code
                    or oauth.authorization_code is None
                    or not secrets.compare_digest(code, oauth.authorization_code)
                ):
                    return Response.json(400, {"error": "invalid_grant", "error_description": "Token invalid"}, headers)
                oauth.authorization_code = None  # a code works once
            else:
                return Response.json(400, {"error": "unsupported_grant_type"}, headers)
            now = self.clock.seconds()
            access_ttl = float(self._limits["access_token_ttl_s"])
            refresh_ttl = float(self._limits["refresh_token_ttl_s"])
            access = "eyJ" + secrets.token_urlsafe(48)
            oauth.access_tokens[access] = now + access_ttl
            oauth.refresh_token = "AB11" + secrets.token_hex(24)
            oauth.refresh_expires_at = now + refresh_ttl
            payload = {
                "token_type": "bearer",
                "access_token": access,
                # Real seconds, so a client that trusts expires_in refreshes in time under a time scale.
                "expires_in": max(1, int(self.clock.real_seconds(access_ttl))),
                "refresh_token": oauth.refresh_token,
                "x_refresh_token_expires_in": max(1, int(self.clock.real_seconds(refresh_ttl))),
            }
        return Response.json(200, payload, headers)

    def _serve_revoke(self, req: Request) -> Response:
        headers = {"intuit_tid": self._tid()}
        if req.method != "POST":
            return Response.json(405, {"error": "invalid_request"}, headers)
        if not self._client_ok(req):
            return Response.json(401, {"error": "invalid_client"}, headers)
        try:
            token = (json.loads(req.body.decode("utf-8") or "{}") or {}).get("token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            return Response.json(400, {"error": "invalid_request"}, headers)
        with self._lock:
            oauth = self._oauth
            if token == oauth.refresh_token or token in oauth.access_tokens:
                oauth.revoke_all()
        return Response(200, b"", headers)

    def _serve_discovery(self, req: Request) -> Response:
        base = f"http://{req.header('host') or 'localhost'}"
        doc = {
            "issuer": "https://oauth.platform.intuit.com/op/v1",
            "authorization_endpoint": base + "/connect/oauth2",
            "token_endpoint": base + TOKEN_PATH,
            "userinfo_endpoint": base + "/v1/openid_connect/userinfo",
            "revocation_endpoint": base + REVOKE_PATH,
            "jwks_uri": base + "/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        }
        return Response.json(200, doc)

    # -- limits ------------------------------------------------------------------------------------

    def _admit(self, is_batch: bool) -> bool:
        with self._lock:
            per_minute = self._limits["requests_per_minute"]
            batch_per_minute = self._limits["batch_per_minute"]
        with self._rate_lock:
            if self._minute.count() >= per_minute:
                return False
            if is_batch and self._batch_minute.count() >= batch_per_minute:
                return False
            self._minute.add()
            if is_batch:
                self._batch_minute.add()
            return True

    # -- responses ---------------------------------------------------------------------------------

    @staticmethod
    def _tid() -> str:
        return f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"

    def _ok(self, payload: dict[str, Any]) -> Response:
        return Response.json(200, {**payload, "time": response_time(pacific_now())}, {"intuit_tid": self._tid()})

    def _fault(self, fault: Fault) -> Response:
        payload = {"Fault": fault.fault(), "time": response_time(pacific_now())}
        return Response.json(fault.status, payload, {"intuit_tid": self._tid()})

    def _throttled(self) -> Response:
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<IntuitResponse time="{response_time(pacific_now())}" xmlns="http://schema.intuit.com/finance/v3">'
            '<Fault type="SERVICE"><Error code="3001">'
            "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
            "<Detail>The request limit was reached.  Try again later</Detail>"
            "</Error></Fault></IntuitResponse>"
        )
        return Response(429, body.encode("utf-8"), {"Content-Type": "application/xml", "intuit_tid": self._tid()})


def _looks_voided(record: dict[str, Any]) -> bool:
    """How a seeded (or reloaded) transaction is known to be voided: zeroed, with the Voided note."""
    return record.get("TotalAmt") == 0 and str(record.get("PrivateNote", "")).startswith("Voided")


def _numbered(line: dict[str, Any], number: int) -> dict[str, Any]:
    """A transaction line with its Id and LineNum first, as QBO prints them."""
    rest = {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
    return {"Id": str(number), "LineNum": number, **rest}


def _seed_label(entity: str, row: Any) -> str:
    if not isinstance(row, dict):
        return "(not an object)"
    name = row.get("DisplayName") or row.get("Name") or row.get("DocNumber")
    parts = [f"Id={row['Id']}" if row.get("Id") not in (None, "") else "", f"'{name}'" if name else ""]
    return " ".join(p for p in parts if p) or "(no Id)"


def _invoice_pdf(invoice: dict[str, Any]) -> bytes:
    """A small, valid one-page PDF naming the invoice (enough for attachment tests)."""
    text = f"Invoice {invoice.get('DocNumber') or invoice['Id']}  Total {invoice.get('TotalAmt', 0):.2f}"
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
