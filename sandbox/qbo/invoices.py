"""The rules of an Invoice: its customer and the defaults taken from it, dates and closed books,
currency and A/R account, numbering (DocNumber), delivery fields, sales custom fields, and the
server's own amounts: lines, discounts, sales tax (``sandbox.qbo.taxes``), total and balance (total
less the payments applied).
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.checks import check_optional_ref, check_ref
from sandbox.qbo.currency import check_currency_account, set_home_amounts
from sandbox.qbo.faults import business, duplicate_doc_number, invalid_enum, required, too_long
from sandbox.qbo.schema import CUSTOMER_MEMO_MAX, EMAIL_MAX, LENGTHS
from sandbox.qbo.taxes import TaxableLine, apply_sales_tax
from sandbox.qbo.transactions import (
    check_party_and_dates,
    check_qty_price,
    checked_lines,
    line_amount,
    numbered_line,
    set_due_date,
)
from sandbox.qbo.values import CENT, dec, id_key, money, parse_date, ref_value


def normalize_invoice(
    books: Company, record: dict[str, Any], existing: dict[str, Any] | None, options: set[str]
) -> None:
    """Invoices: references, dates and closed books, currency, numbering, custom fields, and the
    server's own totals (lines, discounts, sales tax) and balance (total less payments applied)."""
    customer = _check_invoice_customer_and_dates(books, record, existing, options)
    _check_invoice_delivery(books, record, customer)
    lines_out, discount, sales = _invoice_lines(books, record)
    tax = apply_sales_tax(books, record, sales, customer)
    subtotal = sum((taxable.amount for taxable in sales), Decimal(0))
    lines_out.append({"Amount": money(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    record["Line"] = lines_out
    _set_invoice_total_and_balance(books, record, existing, subtotal - discount + tax)


def _check_invoice_customer_and_dates(
    books: Company, record: dict[str, Any], existing: dict[str, Any] | None, options: set[str]
) -> dict[str, Any]:
    """The customer (and its currency and terms), dates, references and DocNumber; returns the customer."""
    if existing is not None and ("Invoice", existing["Id"]) in books.voided:
        raise business("This invoice has been voided and cannot be changed.")
    customer, currency = check_party_and_dates(books, record, existing, "CustomerRef", "Customer", "invoice")
    if "SalesTermRef" not in record and customer.get("SalesTermRef"):
        record["SalesTermRef"] = copy.deepcopy(customer["SalesTermRef"])
    check_optional_ref(books, record, "SalesTermRef", "Term")
    set_due_date(books, record, record.get("SalesTermRef"))
    check_optional_ref(books, record, "ClassRef", "Class")
    check_optional_ref(books, record, "DepositToAccountRef", "Account")
    check_optional_ref(books, record, "ARAccountRef", "Account")
    check_currency_account(books, record, "ARAccountRef", "Accounts Receivable", currency, set_default=False)
    set_doc_number(books, record, existing, options)
    return customer


def _check_invoice_delivery(books: Company, record: dict[str, Any], customer: dict[str, Any]) -> None:
    """BillEmail and addresses (the customer's by default), email and print status, memo, payment
    flags and sales custom fields."""
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
    check_custom_fields(books, record)


def _invoice_lines(books: Company, record: dict[str, Any]) -> tuple[list[dict[str, Any]], Decimal, list[TaxableLine]]:
    """The lines, checked and numbered (without the subtotal line, which the server adds), their
    discount, and the sales lines whose tax the company's regime decides."""
    subtotal = Decimal(0)  # so far: a percent discount applies to the lines above it
    discount = Decimal(0)
    sales: list[TaxableLine] = []
    lines_out = []
    number = 0
    for line in checked_lines(record):
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue  # QBO computes the subtotal line itself
        number += 1
        if kind == "SalesItemLineDetail":
            sales.append(_check_sales_line(books, line))
            subtotal += sales[-1].amount
        elif kind == "DescriptionOnly":
            line.pop("Amount", None)
            line.setdefault("DescriptionOnly", {})
        elif kind == "DiscountLineDetail":
            detail = line.setdefault("DiscountLineDetail", {})
            if detail.get("PercentBased"):
                percent = dec(detail.get("DiscountPercent", 0), "Line.DiscountLineDetail.DiscountPercent")
                amount = (subtotal * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            else:
                amount = line_amount(line, "Line")
            discount += amount
            line["Amount"] = money(amount)
        elif kind in (None, ""):
            raise required("Line.DetailType")
        else:
            raise invalid_enum("Line.DetailType", kind)
        line.pop("LinkedTxn", None)
        lines_out.append(numbered_line(line, number))
        if kind == "SalesItemLineDetail":
            sales[-1].line = lines_out[-1]  # the tax regime may restate the Amount of the line printed
    return lines_out, discount, sales


def _check_sales_line(books: Company, line: dict[str, Any]) -> TaxableLine:
    """A sales item line: its item (and income account), class, service date and Qty x UnitPrice."""
    detail = line.setdefault("SalesItemLineDetail", {})
    amount = line_amount(line, "Line")
    if "ItemRef" not in detail:
        raise required("Line.SalesItemLineDetail.ItemRef")
    detail["ItemRef"] = check_ref(books, detail["ItemRef"], "Item", "Line.SalesItemLineDetail.ItemRef")
    item = books.get("Item", detail["ItemRef"]["value"])
    assert item is not None
    if item.get("IncomeAccountRef"):
        detail["ItemAccountRef"] = copy.deepcopy(item["IncomeAccountRef"])
    if "ClassRef" in detail:
        detail["ClassRef"] = check_ref(books, detail["ClassRef"], "Class", "Line.SalesItemLineDetail.ClassRef")
    if "ServiceDate" in detail:
        detail["ServiceDate"] = parse_date(detail["ServiceDate"], "Line.SalesItemLineDetail.ServiceDate")
    check_qty_price(detail, amount, "Line.SalesItemLineDetail")
    line["Amount"] = money(amount)
    return TaxableLine(line, detail, item, "Line.SalesItemLineDetail")


def _set_invoice_total_and_balance(
    books: Company, record: dict[str, Any], existing: dict[str, Any] | None, total: Decimal
) -> None:
    """TotalAmt, and Balance = total less the payments applied (which an update may not undercut)."""
    if total < 0:
        raise business(
            f"The invoice total ({money(total)}) is negative. An invoice total must be zero or more; "
            "record a credit memo for a negative amount.",
            "TotalAmt",
        )
    applied = sum(books.applied.get(existing["Id"], {}).values(), Decimal(0)) if existing else Decimal(0)
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
    set_home_amounts(books, record)


def set_doc_number(books: Company, record: dict[str, Any], existing: dict[str, Any] | None, options: set[str]) -> None:
    """Custom numbers on: keep the client's, refuse a duplicate (6140) unless allowed.
    Off: QBO numbers a new invoice itself (highest numeric DocNumber + 1); a sent number is kept."""
    doc = record.get("DocNumber")
    custom = bool(books.pref("SalesFormsPrefs", "CustomTxnNumbers", default=True))
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
        candidate = books.max_doc_number + 1
        while str(candidate) in books.doc_numbers:
            candidate += 1
        record["DocNumber"] = str(candidate)
        return
    if doc is None or not custom or "allowduplicatedocnum" in options:
        return
    if existing is not None and existing.get("DocNumber") == doc:
        return
    others = sorted((i for i in books.doc_numbers.get(doc, ()) if not existing or i != existing["Id"]), key=id_key)
    if others:
        raise duplicate_doc_number(doc, "Invoice", others[0])


def check_custom_fields(books: Company, record: dict[str, Any]) -> None:
    fields = record.get("CustomField")
    if not fields:
        record.pop("CustomField", None)
        return
    switches: dict[str, bool] = {}
    labels: dict[str, str] = {}
    for group in books.pref("SalesFormsPrefs", "CustomField", default=[]) or []:
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
