"""The rules of a Bill: its vendor (whose currency it is in), the A/P account (of that currency) and
terms taken by default, and expense lines: item lines need a purchasable item (one with an expense
account), account lines an account. The total is the lines' sum plus the purchase tax a global
company computes (``sandbox.qbo.taxes``); a new bill is fully open.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.checks import check_optional_ref, check_ref
from sandbox.qbo.currency import check_currency_account, set_home_amounts
from sandbox.qbo.faults import business, invalid_enum, required
from sandbox.qbo.taxes import TaxableLine, apply_purchase_tax
from sandbox.qbo.transactions import (
    check_party_and_dates,
    check_qty_price,
    checked_lines,
    line_amount,
    numbered_line,
    set_due_date,
)
from sandbox.qbo.values import money


def normalize_bill(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """Bills: vendor (and its currency), A/P account, purchasable items on item lines, total from
    lines and purchase tax."""
    _check_bill_vendor_and_dates(books, record, existing)
    lines_out = []
    expenses = []
    for number, line in enumerate(checked_lines(record), start=1):
        amount = line_amount(line, "Line")
        line["Amount"] = money(amount)
        detail, item, element = _check_expense_line(books, line, amount)
        lines_out.append(numbered_line(line, number))
        expenses.append(TaxableLine(lines_out[-1], detail, item, element))
    record["Line"] = lines_out
    tax = apply_purchase_tax(books, record, expenses)
    total = sum((expense.amount for expense in expenses), Decimal(0)) + tax
    if total < 0:
        raise business(
            f"The bill total ({money(total)}) is negative. A bill total must be zero or more; "
            "record a vendor credit for a negative amount.",
            "TotalAmt",
        )
    record["TotalAmt"] = money(total)
    record["Balance"] = money(total)
    record.setdefault("LinkedTxn", [])
    set_home_amounts(books, record)


def _check_bill_vendor_and_dates(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """The vendor (and its currency), dates, the A/P account and the terms (both the vendor's by default)."""
    vendor, currency = check_party_and_dates(books, record, existing, "VendorRef", "Vendor", "bill")
    if "APAccountRef" in record:
        record["APAccountRef"] = check_ref(books, record["APAccountRef"], "Account", "APAccountRef")
    check_currency_account(books, record, "APAccountRef", "Accounts Payable", currency, set_default=True)
    if "SalesTermRef" not in record and vendor.get("TermRef"):
        record["SalesTermRef"] = copy.deepcopy(vendor["TermRef"])
    check_optional_ref(books, record, "SalesTermRef", "Term")
    set_due_date(books, record, record.get("SalesTermRef"))
    if "DocNumber" in record:
        record["DocNumber"] = str(record["DocNumber"])


def _check_expense_line(
    books: Company, line: dict[str, Any], amount: Decimal
) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """An item-based line (a purchasable item) or an account-based one, with optional class and
    customer. Returns its detail, its item (None for an account line) and the detail's path."""
    item = None
    kind = line.get("DetailType")
    if kind == "ItemBasedExpenseLineDetail":
        detail = line.setdefault("ItemBasedExpenseLineDetail", {})
        if "ItemRef" not in detail:
            raise required("Line.ItemBasedExpenseLineDetail.ItemRef")
        detail["ItemRef"] = check_ref(books, detail["ItemRef"], "Item", "Line.ItemBasedExpenseLineDetail.ItemRef")
        item = books.get("Item", detail["ItemRef"]["value"])
        assert item is not None
        if not item.get("ExpenseAccountRef"):
            raise business(
                f"Item '{item['Name']}' can't be used on a purchase form because it has no expense account. "
                "Edit the item: turn on 'I purchase this product/service from a vendor' "
                "and set an expense account (ExpenseAccountRef).",
                "Line.ItemBasedExpenseLineDetail.ItemRef",
            )
        check_qty_price(detail, amount, "Line.ItemBasedExpenseLineDetail")
        prefix = "Line.ItemBasedExpenseLineDetail"
    elif kind == "AccountBasedExpenseLineDetail":
        detail = line.setdefault("AccountBasedExpenseLineDetail", {})
        if "AccountRef" not in detail:
            raise required("Line.AccountBasedExpenseLineDetail.AccountRef")
        detail["AccountRef"] = check_ref(
            books, detail["AccountRef"], "Account", "Line.AccountBasedExpenseLineDetail.AccountRef"
        )
        prefix = "Line.AccountBasedExpenseLineDetail"
    elif kind in (None, ""):
        raise required("Line.DetailType")
    else:
        raise invalid_enum("Line.DetailType", kind)
    if "ClassRef" in detail:
        detail["ClassRef"] = check_ref(books, detail["ClassRef"], "Class", f"{prefix}.ClassRef")
    if "CustomerRef" in detail:
        detail["CustomerRef"] = check_ref(books, detail["CustomerRef"], "Customer", f"{prefix}.CustomerRef")
    detail.setdefault("BillableStatus", "NotBillable")
    return detail, item, prefix
