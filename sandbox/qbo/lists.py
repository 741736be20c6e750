"""The rules of the name lists: Customer, Vendor and Employee (a DisplayName unique across all three),
and the other lists: Item (the accounts its Type needs), Account, Term and Class. Each function
completes a record about to be saved, or raises the fault that refuses it.
"""

from __future__ import annotations

from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.checks import check_lengths, check_name_text, check_optional_ref, claim_name
from sandbox.qbo.currency import check_currency, check_party_currency, currency_ref
from sandbox.qbo.faults import business, invalid_enum, required, too_long
from sandbox.qbo.schema import (
    ACCOUNT_CLASSIFICATION,
    ACCOUNT_SUBTYPE,
    EMAIL_MAX,
    ITEM_TYPES,
    LENGTHS,
    TAX_EXEMPTION_REASONS,
)
from sandbox.qbo.values import dec, number_out, parse_date


def normalize_name(books: Company, entity: str, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """Customer/Vendor/Employee: DisplayName derived if absent, free of : tab newline, unique across all three."""
    if not record.get("DisplayName"):
        parts = [record.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
        derived = " ".join(p for p in parts if isinstance(p, str) and p.strip())
        record["DisplayName"] = derived or record.get("CompanyName") or ""
    name = record["DisplayName"]
    if not isinstance(name, str) or not name.strip():
        raise required("DisplayName")
    check_name_text("DisplayName", name)
    check_lengths(entity, record)
    claim_name(books, "name", name, entity, existing, "customer, vendor or employee")
    record.setdefault("Active", True)
    if entity in ("Customer", "Vendor"):
        record.setdefault("PrintOnCheckName", name[: LENGTHS[(entity, "PrintOnCheckName")]])
        check_party_currency(books, entity, record, existing)
        record["Balance"] = existing.get("Balance", 0) if existing else 0
    email = (record.get("PrimaryEmailAddr") or {}).get("Address")
    if isinstance(email, str) and len(email) > EMAIL_MAX:
        raise too_long("PrimaryEmailAddr.Address", EMAIL_MAX, len(email))
    if entity == "Customer":
        _check_tax_exemption(record)
        record.setdefault("Job", False)
        record.setdefault("BillWithParent", False)
        parent = check_optional_ref(books, record, "ParentRef", "Customer")
        record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}" if parent else name
        record["Level"] = parent.get("Level", 0) + 1 if parent else 0
        if parent:
            record["Job"] = True
        check_optional_ref(books, record, "SalesTermRef", "Term")
        check_optional_ref(books, record, "ARAccountRef", "Account")
        record["BalanceWithJobs"] = record["Balance"]
    elif entity == "Vendor":
        check_optional_ref(books, record, "TermRef", "Term")
        check_optional_ref(books, record, "APAccountRef", "Account")
    else:
        record.setdefault("BillableTime", False)


def _check_tax_exemption(customer: dict[str, Any]) -> None:
    """Taxable defaults to true, to false for a customer with a TaxExemptionReasonId (Intuit's rule
    since minor version 10); the reason is one of Intuit's 15."""
    reason = customer.get("TaxExemptionReasonId")
    if reason is not None:
        number = dec(reason, "TaxExemptionReasonId")
        if number not in TAX_EXEMPTION_REASONS:
            raise invalid_enum("TaxExemptionReasonId", reason)
        customer["TaxExemptionReasonId"] = int(number)
    customer.setdefault("Taxable", reason is None)


def normalize_item(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """Items: a unique Name, the accounts its Type needs (Inventory: income, expense, asset)."""
    name = record.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required("Name")
    check_name_text("Name", name)
    check_lengths("Item", record)
    item_type = record.setdefault("Type", "Service")
    if item_type not in ITEM_TYPES:
        raise invalid_enum("Type", item_type)
    parent = check_optional_ref(books, record, "ParentRef", "Item")
    record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}" if parent else name
    record["SubItem"] = parent is not None
    record["Level"] = parent.get("Level", 0) + 1 if parent else 0
    claim_name(books, "Item", record["FullyQualifiedName"], "Item", existing, "product or service")
    for key in (
        "IncomeAccountRef",
        "ExpenseAccountRef",
        "AssetAccountRef",
        "COGSAccountRef",
        "DepositToAccountRef",
    ):
        check_optional_ref(books, record, key, "Account")
    check_optional_ref(books, record, "PrefVendorRef", "Vendor")
    check_optional_ref(books, record, "ClassRef", "Class")
    if item_type == "Inventory":
        for key in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
            if key not in record:
                raise required(key)
        if record.get("TrackQtyOnHand") is not True:
            raise business("Inventory items must track quantity on hand: set TrackQtyOnHand to true.", "TrackQtyOnHand")
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


def normalize_account(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    name = record.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required("Name")
    check_name_text("Name", name, extra_forbidden='"')
    check_lengths("Account", record)
    account_type = record.get("AccountType")
    if not account_type:
        raise required("AccountType")
    if account_type not in ACCOUNT_CLASSIFICATION:
        raise invalid_enum("AccountType", account_type)
    record["Classification"] = ACCOUNT_CLASSIFICATION[account_type]
    record.setdefault("AccountSubType", ACCOUNT_SUBTYPE[account_type])
    parent = check_optional_ref(books, record, "ParentRef", "Account")
    record["SubAccount"] = parent is not None
    record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}" if parent else name
    claim_name(books, "Account", record["FullyQualifiedName"], "Account", existing, "account")
    record.setdefault("Active", True)
    record["CurrentBalance"] = existing.get("CurrentBalance", 0) if existing else 0
    record["CurrentBalanceWithSubAccounts"] = record["CurrentBalance"]
    if "CurrencyRef" in record:
        check_currency(books, record)
    else:
        record["CurrencyRef"] = currency_ref(books.home_currency)


def normalize_term(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    name = record.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required("Name")
    check_name_text("Name", name)
    check_lengths("Term", record)
    claim_name(books, "Term", name, "Term", existing, "term")
    record.setdefault("Active", True)
    record.setdefault("Type", "STANDARD")
    if "DueDays" in record:
        days = dec(record["DueDays"], "DueDays")
        if not 0 <= days <= 999:
            raise business("DueDays must be between 0 and 999.", "DueDays")
        record["DueDays"] = int(days)


def normalize_class(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    name = record.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required("Name")
    check_name_text("Name", name)
    check_lengths("Class", record)
    parent = check_optional_ref(books, record, "ParentRef", "Class")
    record["SubClass"] = parent is not None
    record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{name}" if parent else name
    claim_name(books, "Class", record["FullyQualifiedName"], "Class", existing, "class")
    record.setdefault("Active", True)
