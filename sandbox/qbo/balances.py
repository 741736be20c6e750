"""Balances that follow from transactions: an invoice's balance and links as payments apply to it
(and its home-currency balance), Customer.Balance / Vendor.Balance as the open balance of their
invoices / bills.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.currency import set_home_amounts
from sandbox.qbo.times import stamp
from sandbox.qbo.values import id_key, money, ref_value


def move_party_balance(books: Company, entity: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Keep Customer.Balance / Vendor.Balance equal to the open balance of their invoices / bills."""
    if entity not in ("Invoice", "Bill"):
        return
    party_entity, ref_key = ("Customer", "CustomerRef") if entity == "Invoice" else ("Vendor", "VendorRef")
    for record, sign in ((old, -1), (new, 1)):
        if record is None:
            continue
        party = books.records[party_entity].get(ref_value(record.get(ref_key)) or "")
        if party is None:
            continue
        balance = Decimal(str(party.get("Balance", 0))) + sign * Decimal(str(record.get("Balance", 0)))
        party["Balance"] = money(balance)
        if party_entity == "Customer":
            party["BalanceWithJobs"] = party["Balance"]


def apply_payment(books: Company, payment_id: str, applications: dict[str, Decimal]) -> None:
    """Replace what a payment applies to invoices; update their Balance, LinkedTxn and version."""
    touched = set(books.payment_applications(payment_id)) | set(applications)
    for invoice_id in list(books.applied):
        books.applied[invoice_id].pop(payment_id, None)
        if not books.applied[invoice_id]:
            del books.applied[invoice_id]
    for invoice_id, amount in applications.items():
        books.applied.setdefault(invoice_id, {})[payment_id] = amount
    now = stamp(books.now())
    for invoice_id in sorted(touched, key=id_key):
        invoice = books.records["Invoice"].get(invoice_id)
        if invoice is None:
            continue
        before = copy.deepcopy(invoice)
        paid = sum(books.applied.get(invoice_id, {}).values(), Decimal(0))
        invoice["Balance"] = money(Decimal(str(invoice["TotalAmt"])) - paid)
        links = [
            link
            for link in invoice.get("LinkedTxn", [])
            if not (link.get("TxnType") == "Payment" and link.get("TxnId") == payment_id)
        ]
        if payment_id in books.applied.get(invoice_id, {}):
            links.append({"TxnId": payment_id, "TxnType": "Payment"})
        invoice["LinkedTxn"] = links
        if "HomeBalance" in invoice:
            set_home_amounts(books, invoice)
        if invoice != before:
            if not books.seeding:  # seeded records keep SyncToken "0" and their given MetaData
                invoice["SyncToken"] = str(int(invoice["SyncToken"]) + 1)
                invoice["MetaData"]["LastUpdatedTime"] = now
            move_party_balance(books, "Invoice", before, invoice)
