"""The rules of a Payment: its customer, deposit account (Undeposited Funds by default), and lines
that each apply an amount to one of that customer's open invoices. The applications are handed
to ``sandbox.qbo.writes.commit``, which applies them to the invoices' balances.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.checks import check_optional_ref, check_ref
from sandbox.qbo.currency import check_transaction_currency, set_home_amounts
from sandbox.qbo.defaults import ACCOUNT_UNDEPOSITED
from sandbox.qbo.faults import business, invalid_reference, required
from sandbox.qbo.transactions import line_amount, set_txn_dates
from sandbox.qbo.values import CENT, dec, money, ref_value


def normalize_payment(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """Payments: each line applies its amount to one of the customer's open invoices (``commit`` applies it)."""
    if "CustomerRef" not in record:
        raise required("CustomerRef")
    record["CustomerRef"] = check_ref(books, record["CustomerRef"], "Customer", "CustomerRef")
    customer_id = record["CustomerRef"]["value"]
    set_txn_dates(books, record, existing)
    customer = books.get("Customer", customer_id)
    assert customer is not None
    check_transaction_currency(books, record, customer, "payment")
    check_optional_ref(books, record, "DepositToAccountRef", "Account")
    check_optional_ref(books, record, "ARAccountRef", "Account")
    undeposited = books.get("Account", ACCOUNT_UNDEPOSITED)
    if "DepositToAccountRef" not in record and undeposited is not None:
        record["DepositToAccountRef"] = {"value": undeposited["Id"], "name": undeposited["Name"]}
    lines_out, applications = _payment_lines(books, record, existing, customer_id)
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
    if existing and ("Payment", existing["Id"]) in books.voided:
        raise business("This payment has been voided and cannot be changed.")
    record["Line"] = lines_out
    record["TotalAmt"] = money(total)
    record["UnappliedAmt"] = money(total - applied_total)
    record["_applications"] = applications  # consumed by commit
    record.setdefault("ProcessPayment", False)
    set_home_amounts(books, record)


def _payment_lines(
    books: Company, record: dict[str, Any], existing: dict[str, Any] | None, customer_id: str
) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    """The payment's lines as QBO prints them, and invoice Id -> amount applied. An update may
    re-apply what it applied before: that much counts as open on the invoice."""
    previous = books.payment_applications(existing["Id"]) if existing else {}
    applications: dict[str, Decimal] = {}
    lines_out = []
    for line in record.get("Line") or []:
        amount = line_amount(line, "Line")
        if amount < 0:
            raise business("A payment line amount cannot be negative.", "Line.Amount")
        links = [link for link in line.get("LinkedTxn") or [] if isinstance(link, dict)]
        invoice_links = [link for link in links if link.get("TxnType") == "Invoice"]
        if not invoice_links:
            raise required("Line.LinkedTxn")
        invoice_id = str(invoice_links[0].get("TxnId", ""))
        invoice = books.get("Invoice", invoice_id)
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
    return lines_out, applications
