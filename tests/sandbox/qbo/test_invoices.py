"""The rules of a QBO invoice, over real HTTP: server-computed totals and balances, Qty x
UnitPrice, DocNumbers, closed books, references, custom fields, delivery fields and automated
sales tax."""

from __future__ import annotations

from sandbox.qbo import custom_field_prefs
from tests.sandbox.qbo_support import fault_of, invoice_of, set_preferences


def test_totals_and_balances_are_computed_by_the_server(qbo, books):
    invoice = invoice_of(qbo, books, 100, 250.5, TotalAmt=1, Balance=1)
    assert invoice["TotalAmt"] == 350.5 and invoice["Balance"] == 350.5
    assert [line["Id"] for line in invoice["Line"][:2]] == ["1", "2"]
    assert invoice["Line"][-1] == {"Amount": 350.5, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    assert invoice["Line"][0]["SalesItemLineDetail"]["ItemAccountRef"]["value"] == "1"
    assert qbo.get("Customer", books["customer"]["Id"])["Balance"] == 350.5


def test_amount_must_equal_qty_times_unit_price(qbo, books):
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 100)
    body["Line"][0]["SalesItemLineDetail"].update({"Qty": 3, "UnitPrice": 40})
    assert fault_of(qbo.post("invoice", body))["code"] == "6070"


def test_negative_invoice_total_is_a_6000(qbo, books):
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 50, -80)
    error = fault_of(qbo.post("invoice", body))
    assert error["code"] == "6000"
    assert error["Message"] == "A business validation error has occurred while processing your request"
    assert error["Detail"].startswith("Business Validation Error:") and "negative" in error["Detail"]
    assert (
        qbo.create("Invoice", qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 80, -80))["TotalAmt"] == 0
    )


def test_duplicate_doc_number_is_6140_naming_the_existing_txn(qbo, books):
    first = invoice_of(qbo, books, 10, DocNumber="INV-10421")
    error = fault_of(
        qbo.post("invoice", qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 20, DocNumber="INV-10421"))
    )
    assert error["code"] == "6140" and error["Message"] == "Duplicate Document Number Error"
    assert error["Detail"] == (
        "Duplicate Document Number Error : You must specify a different number. This number has already been used. "
        f"DocNumber=INV-10421 is assigned to TxnType=Invoice with TxnId={first['Id']}"
    )
    allowed = qbo.post(
        "invoice",
        qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 20, DocNumber="INV-10421"),
        include="allowduplicatedocnum",
    )
    assert allowed.status_code == 200 and allowed.json()["Invoice"]["DocNumber"] == "INV-10421"
    # updating the invoice that holds the number is not a duplicate of itself
    again = qbo.create("Invoice", {"Id": first["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "edited"})
    assert again["DocNumber"] == "INV-10421"


def test_qbo_numbers_invoices_itself_when_custom_numbers_are_off(qbo, books):
    qbo_customer = books["customer"]["Id"]
    invoice_of(qbo, books, 10, DocNumber="1041")
    set_preferences(qbo, {"SalesFormsPrefs": {"CustomTxnNumbers": False}})
    first = qbo.create("Invoice", qbo.invoice_body(qbo_customer, books["item"]["Id"], 10))
    second = qbo.create("Invoice", qbo.invoice_body(qbo_customer, books["item"]["Id"], 10))
    assert (first["DocNumber"], second["DocNumber"]) == ("1042", "1043")
    # no duplicate check when QBO owns the numbering
    assert (
        qbo.create("Invoice", qbo.invoice_body(qbo_customer, books["item"]["Id"], 10, DocNumber="1042"))["DocNumber"]
        == "1042"
    )
    set_preferences(qbo, {"SalesFormsPrefs": {"CustomTxnNumbers": True}})
    assert "DocNumber" not in qbo.create("Invoice", qbo.invoice_body(qbo_customer, books["item"]["Id"], 10))
    assert (
        qbo.create("Invoice", qbo.invoice_body(qbo_customer, books["item"]["Id"], 10, AutoDocNumber=True))["DocNumber"]
        == "1044"
    )


def test_closed_books_refuse_writes_on_or_before_the_close_date(qbo, books):
    old = invoice_of(qbo, books, 10, TxnDate="2024-03-15")
    set_preferences(qbo, {"AccountingInfoPrefs": {"BookCloseDate": "2024-03-31"}})
    for body, params in (
        (qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 10, TxnDate="2024-03-31"), {}),
        ({"Id": old["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "late edit"}, {}),
        ({"Id": old["Id"], "SyncToken": "0"}, {"operation": "void"}),
        ({"Id": old["Id"], "SyncToken": "0"}, {"operation": "delete"}),
    ):
        error = fault_of(qbo.post("invoice", body, **params))
        assert error["code"] == "6210" and error["Message"] == "Account Period Closed"
    assert invoice_of(qbo, books, 10, TxnDate="2024-04-01")["TxnDate"] == "2024-04-01"


def test_references_to_missing_objects_are_2500_and_to_inactive_ones_610(qbo, books):
    body = qbo.invoice_body("4242", books["item"]["Id"], 10)
    error = fault_of(qbo.post("invoice", body))
    assert error["code"] == "2500" and error["element"] == "CustomerRef"
    error = fault_of(qbo.post("invoice", qbo.invoice_body(books["customer"]["Id"], "4242", 10)))
    assert error == {
        "Message": "Invalid Reference Id",
        "Detail": "Invalid Reference Id : Item assigned to this transaction has been deleted. "
        "Before you can modify this transaction, you must restore Item",
        "code": "2500",
        "element": "Line.SalesItemLineDetail.ItemRef",
    }
    item = books["item"]
    qbo.create("Item", {"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "Active": False})
    error = fault_of(qbo.post("invoice", qbo.invoice_body(books["customer"]["Id"], item["Id"], 10)))
    assert error["code"] == "610" and error["Message"] == "Object Not Found"
    assert error["element"] == "Line.SalesItemLineDetail.ItemRef"


def test_custom_fields_only_when_enabled_in_preferences(qbo, books):
    po = [{"DefinitionId": "1", "Type": "StringType", "StringValue": "PO-7781"}]
    error = fault_of(
        qbo.post("invoice", qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 10, CustomField=po))
    )
    assert error["code"] == "6000" and "DefinitionId=1" in error["Detail"]
    set_preferences(qbo, {"SalesFormsPrefs": {"CustomField": custom_field_prefs({1: "PO Number"}, enabled=[1])}})
    invoice = invoice_of(qbo, books, 10, CustomField=po)
    assert invoice["CustomField"] == [
        {"DefinitionId": "1", "Name": "PO Number", "Type": "StringType", "StringValue": "PO-7781"}
    ]
    two = [{"DefinitionId": "2", "StringValue": "x"}]
    assert (
        fault_of(
            qbo.post("invoice", qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 10, CustomField=two))
        )["code"]
        == "6000"
    )


def test_invoice_delivery_and_presentation_fields_are_stored(qbo, books):
    term = qbo.create("Term", {"Name": "Net 30", "DueDays": 30})
    klass = qbo.create("Class", {"Name": "Managed"})
    ship = {"Line1": "1 Dock Rd", "City": "Dayton", "CountrySubDivisionCode": "OH", "PostalCode": "45402"}
    body = qbo.invoice_body(
        books["customer"]["Id"],
        books["item"]["Id"],
        120,
        TxnDate="2025-05-31",
        ShipAddr=ship,
        BillEmail={"Address": "billing@contoso.example"},
        EmailStatus="NeedToSend",
        AllowOnlineCreditCardPayment=True,
        AllowOnlineACHPayment=True,
        CustomerMemo={"value": "Thank you for your business."},
        ClassRef={"value": klass["Id"]},
        SalesTermRef={"value": term["Id"]},
        TxnTaxDetail={"TxnTaxCodeRef": {"value": "7"}, "TotalTax": 8.4},
    )
    invoice = qbo.create("Invoice", body)
    stored = qbo.get("Invoice", invoice["Id"])
    assert stored["ShipAddr"] == ship and stored["BillEmail"] == {"Address": "billing@contoso.example"}
    assert stored["EmailStatus"] == "NeedToSend"
    assert stored["AllowOnlineCreditCardPayment"] is True and stored["AllowOnlineACHPayment"] is True
    assert stored["CustomerMemo"] == {"value": "Thank you for your business."}
    assert stored["ClassRef"] == {"value": klass["Id"], "name": "Managed"}
    assert stored["SalesTermRef"] == {"value": term["Id"], "name": "Net 30"}
    assert stored["DueDate"] == "2025-06-30"
    assert stored["TxnTaxDetail"]["TxnTaxCodeRef"] == {"value": "7"} and stored["TotalAmt"] == 128.4


def test_need_to_send_requires_an_email_address(qbo, books):
    customer = qbo.customer("No Email Inc")
    body = qbo.invoice_body(customer["Id"], books["item"]["Id"], 10, EmailStatus="NeedToSend")
    error = fault_of(qbo.post("invoice", body))
    assert error["code"] == "6000" and "BillEmail" in error["Detail"]
    # the customer's own address is used when the invoice names none
    defaulted = qbo.create(
        "Invoice", qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 10, EmailStatus="NeedToSend")
    )
    assert defaulted["BillEmail"] == {"Address": "ap@contoso.example"}


def test_automated_sales_tax_adds_seven_percent_on_taxable_lines(qbo, books):
    set_preferences(qbo, {"TaxPrefs": {"PartnerTaxEnabled": True}})
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 100)  # service item: not taxable
    body["Line"].append(
        {
            "Amount": 480,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": books["product"]["Id"]}, "Qty": 2, "UnitPrice": 240},
        }
    )
    invoice = qbo.create("Invoice", body)
    assert invoice["TxnTaxDetail"]["TotalTax"] == 33.6
    assert invoice["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == 480
    assert invoice["TotalAmt"] == 613.6 and invoice["Balance"] == 613.6
    assert [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in invoice["Line"][:2]] == ["NON", "TAX"]
