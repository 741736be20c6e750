"""QBO payments over real HTTP: applying amounts to invoices and what that does to their balances."""

from __future__ import annotations

from tests.sandbox.qbo_support import fault_of, invoice_of


def test_payments_reduce_the_linked_invoice_balances(qbo, books):
    a = invoice_of(qbo, books, 100)
    b = invoice_of(qbo, books, 300)
    payment = qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": books["customer"]["Id"]},
            "TotalAmt": 250,
            "Line": [
                {"Amount": 100, "LinkedTxn": [{"TxnId": a["Id"], "TxnType": "Invoice"}]},
                {"Amount": 120, "LinkedTxn": [{"TxnId": b["Id"], "TxnType": "Invoice"}]},
            ],
        },
    )
    assert payment["UnappliedAmt"] == 30
    paid_a, part_b = qbo.get("Invoice", a["Id"]), qbo.get("Invoice", b["Id"])
    assert (paid_a["Balance"], part_b["Balance"]) == (0, 180)
    assert paid_a["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert paid_a["SyncToken"] == "1"  # applying a payment is a change to the invoice
    assert qbo.get("Customer", books["customer"]["Id"])["Balance"] == 180

    over = qbo.post(
        "payment",
        {
            "CustomerRef": {"value": books["customer"]["Id"]},
            "Line": [{"Amount": 181, "LinkedTxn": [{"TxnId": b["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert fault_of(over)["code"] == "6000"
    other = qbo.customer("Someone Else")
    foreign = qbo.post(
        "payment",
        {
            "CustomerRef": {"value": other["Id"]},
            "Line": [{"Amount": 1, "LinkedTxn": [{"TxnId": b["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert fault_of(foreign)["code"] == "6000"
    # an invoice with payments cannot be voided or deleted
    assert fault_of(qbo.post("invoice", {"Id": a["Id"], "SyncToken": "1"}, operation="void"))["code"] == "6000"

    voided = qbo.create(
        "Payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, operation="update", include="void"
    )
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"].startswith("Voided")
    assert qbo.get("Invoice", a["Id"])["Balance"] == 100 and qbo.get("Invoice", b["Id"])["Balance"] == 300
    assert qbo.get("Invoice", a["Id"])["LinkedTxn"] == []
