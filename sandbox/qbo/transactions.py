"""What invoices, bills and payments share: TxnDate (and the closed-books rule on it), DueDate from
the sales term, the lines (present, well formed, Amount = Qty x UnitPrice) and their numbering.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.checks import check_books_open, check_ref
from sandbox.qbo.currency import check_transaction_currency
from sandbox.qbo.faults import Fault, invalid_property, required, too_long
from sandbox.qbo.schema import LINE_DESCRIPTION_MAX
from sandbox.qbo.values import CENT, dec, money, number_out, parse_date


def set_txn_dates(books: Company, record: dict[str, Any], existing: dict[str, Any] | None) -> None:
    record["TxnDate"] = parse_date(record["TxnDate"], "TxnDate") if "TxnDate" in record else books.today()
    if existing is not None:
        check_books_open(books, existing.get("TxnDate"))
    check_books_open(books, record["TxnDate"])


def set_due_date(books: Company, record: dict[str, Any], term_ref: dict[str, Any] | None) -> None:
    if "DueDate" in record:
        record["DueDate"] = parse_date(record["DueDate"], "DueDate")
        return
    term = books.get("Term", term_ref["value"]) if term_ref else None
    days = int(term.get("DueDays", 0)) if term else 0
    record["DueDate"] = (date.fromisoformat(record["TxnDate"]) + timedelta(days=days)).isoformat()


def check_qty_price(detail: dict[str, Any], amount: Decimal, element: str) -> None:
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


def checked_lines(record: dict[str, Any]) -> list[dict[str, Any]]:
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


def line_amount(line: dict[str, Any], element: str) -> Decimal:
    if "Amount" not in line:
        raise required(f"{element}.Amount")
    return dec(line["Amount"], f"{element}.Amount").quantize(CENT, rounding=ROUND_HALF_UP)


def numbered_line(line: dict[str, Any], number: int) -> dict[str, Any]:
    """A transaction line with its Id and LineNum first, as QBO prints them."""
    rest = {k: v for k, v in line.items() if k not in ("Id", "LineNum")}
    return {"Id": str(number), "LineNum": number, **rest}


def check_party_and_dates(
    books: Company, record: dict[str, Any], existing: dict[str, Any] | None, ref_field: str, entity: str, kind: str
) -> tuple[dict[str, Any], str]:
    """The ``kind`` of transaction's customer or vendor (``ref_field`` names a live ``entity``), its
    dates, and its currency and exchange rate: returns (the customer or vendor record, the currency)."""
    if ref_field not in record:
        raise required(ref_field)
    record[ref_field] = check_ref(books, record[ref_field], entity, ref_field)
    party = books.get(entity, record[ref_field]["value"])
    assert party is not None
    set_txn_dates(books, record, existing)
    return party, check_transaction_currency(books, record, party, kind)
