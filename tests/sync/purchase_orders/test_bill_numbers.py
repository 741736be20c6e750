"""PO-04 and PO-07's numbers (atqbo.sync.purchase_orders.bill_numbers)."""

from __future__ import annotations

from atqbo.sync.purchase_orders.bill_numbers import bill_number


def test_po07_the_write_back_number_is_the_docnumber_else_the_bill_id():
    assert bill_number({"Id": "1042"}) == "1042"
    assert bill_number({"Id": "1042", "DocNumber": "29686003"}) == "29686003"
