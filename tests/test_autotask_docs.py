"""atqbo.autotask_docs: markers and paid dates as every flow reads them (INV-20, PO-07)."""

from __future__ import annotations

from datetime import date

from atqbo.autotask_docs import invoice_marked_synced, is_blank, is_error_marker, paid_on, po_marked_synced


def test_inv20_an_error_marker_is_a_failure_not_a_send():
    assert is_error_marker("ERROR") and is_error_marker(" error ") and not is_error_marker("ERRORS")
    assert invoice_marked_synced({"invoiceNumber": "ERROR"}, "invoiceNumber") is False
    assert invoice_marked_synced({"invoiceNumber": "1044"}, "invoiceNumber") is True
    assert invoice_marked_synced({"webServiceDate": None}, "webServiceDate") is False
    assert invoice_marked_synced({"webServiceDate": "2026-03-02T12:00:00Z"}, "webServiceDate") is True
    assert invoice_marked_synced({"invoiceNumber": "  "}, "invoiceNumber") is False


def test_po07_a_po_is_sent_when_its_external_number_holds_a_bill_number():
    assert po_marked_synced({"externalPONumber": "1042"}) is True
    assert po_marked_synced({"externalPONumber": "ERROR"}) is False
    assert po_marked_synced({"externalPONumber": None}) is False


def test_paid_dates_are_dates():
    assert paid_on({"paidDate": "2026-02-25T00:00:00"}) == date(2026, 2, 25)
    assert paid_on({"paidDate": None}) is None and paid_on({}) is None


def test_line03_a_blank_marker_is_decided_in_code():
    assert is_blank(None) and is_blank("") and is_blank("   ") and is_blank("\t")
    assert not is_blank("ERROR") and not is_blank("2026-03-02T12:00:00Z") and not is_blank("1044")
    assert invoice_marked_synced({"webServiceDate": ""}, "webServiceDate") is False
