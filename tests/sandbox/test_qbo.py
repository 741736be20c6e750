"""The QuickBooks Online emulator over real HTTP: OAuth, entities, business rules, batch, CDC,
idempotency, limits, faults and seeds. Query-language tests are in test_qbo_query.py, the
python-quickbooks client in test_qbo_thirdparty.py.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox.core import SeedError
from sandbox.qbo import DEFAULT_CLIENT_ID, DEFAULT_REALM_ID, DEFAULT_REFRESH_TOKEN, custom_field_prefs
from sandbox.qbo.times import PACIFIC
from sandbox.seeds import demo_qbo
from sandbox.server import Sandbox
from tests.sandbox.qbo_support import QboClient, fault_of

FIXTURE_5010 = (
    "Stale Object Error : You and Jane Admin were working on this at the same time. "
    "Jane Admin finished before you did, so your work was not saved."
)


@pytest.fixture
def qbo(fresh_sandbox) -> QboClient:
    return QboClient(fresh_sandbox.base_url)


@pytest.fixture
def books(qbo) -> dict[str, Any]:
    """A customer, a vendor and a sellable + purchasable item to build transactions on."""
    return {
        "customer": qbo.customer("Contoso Dental", PrimaryEmailAddr={"Address": "ap@contoso.example"}),
        "vendor": qbo.create("Vendor", {"DisplayName": "Ingram Micro"}),
        "item": qbo.service_item("Managed Services", 120),
        "product": qbo.create(
            "Item",
            {
                "Name": "APC Back-UPS 1500",
                "Type": "NonInventory",
                "UnitPrice": 240,
                "PurchaseCost": 189,
                "Taxable": True,
                "IncomeAccountRef": {"value": "2"},
                "ExpenseAccountRef": {"value": "3"},
            },
        ),
    }


def set_preferences(qbo: QboClient, sections: dict[str, Any]) -> dict[str, Any]:
    current = qbo.call("GET", "preferences").json()["Preferences"]
    response = qbo.post("preferences", {"SyncToken": current["SyncToken"], "sparse": True, **sections})
    assert response.status_code == 200, response.text
    return response.json()["Preferences"]


def invoice_of(qbo: QboClient, books: dict[str, Any], *amounts: float, **extra: Any) -> dict[str, Any]:
    return qbo.create("Invoice", qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], *amounts, **extra))


# -- OAuth ----------------------------------------------------------------------------------------


def test_refresh_returns_the_real_token_fields_and_rotates(qbo):
    first = qbo.refresh()
    assert set(first) == {"token_type", "access_token", "expires_in", "refresh_token", "x_refresh_token_expires_in"}
    assert first["token_type"] == "bearer" and first["expires_in"] == 3600
    assert first["refresh_token"] != DEFAULT_REFRESH_TOKEN

    stale = qbo.token_request(grant_type="refresh_token", refresh_token=DEFAULT_REFRESH_TOKEN)
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"

    second = qbo.refresh()
    assert second["refresh_token"] != first["refresh_token"]
    # the access token from the first refresh lives on until it expires
    qbo.access_token = first["access_token"]
    assert qbo.call("GET", "companyinfo/" + DEFAULT_REALM_ID).status_code == 200


def test_a_bad_client_is_invalid_client_and_a_bad_grant_type_is_refused(qbo):
    qbo.client_secret = "wrong"
    response = qbo.token_request(grant_type="refresh_token", refresh_token=DEFAULT_REFRESH_TOKEN)
    assert response.status_code == 401 and response.json() == {"error": "invalid_client"}
    no_auth = requests.post(qbo.base_url + "/oauth2/v1/tokens/bearer", data={"grant_type": "refresh_token"}, timeout=5)
    assert no_auth.status_code == 401

    qbo.client_secret = "sandbox-client-secret"
    assert qbo.token_request(grant_type="password").json() == {"error": "unsupported_grant_type"}


def test_authorization_code_from_the_seed_works_once(fresh_sandbox, qbo):
    fresh_sandbox.seed({"qbo": {"oauth": {"authorization_code": "consent-code-1"}}})
    granted = qbo.token_request(
        grant_type="authorization_code", code="consent-code-1", redirect_uri="http://localhost/cb"
    )
    assert granted.status_code == 200 and granted.json()["refresh_token"]
    again = qbo.token_request(
        grant_type="authorization_code", code="consent-code-1", redirect_uri="http://localhost/cb"
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_api_calls_need_a_valid_bearer_token(qbo):
    url = f"{qbo.company_url}/customer/1"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["intuit_tid"]
        error = response.json()["fault"]["error"][0]
        assert error["code"] == "3200" and "AuthenticationFailed" in error["message"]
        assert response.json()["fault"]["type"] == "AUTHENTICATION"


def test_another_realm_is_forbidden(qbo):
    response = qbo.call("GET", f"{qbo.base_url}/v3/company/123/companyinfo/123")
    assert response.status_code == 403
    assert response.json()["Fault"]["type"] == "AuthorizationFault"


def test_seed_control_revokes_every_token(fresh_sandbox, qbo):
    qbo.refresh()
    assert qbo.call("GET", "preferences").status_code == 200
    fresh_sandbox.seed({"qbo": {"oauth": {"revoke": True}}})
    assert qbo.call("GET", "preferences").status_code == 401
    dead = qbo.token_request(grant_type="refresh_token", refresh_token=qbo.refresh_token)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"

    fresh_sandbox.seed({"qbo": {"oauth": {"refresh_token": "reconnected-token"}}})
    qbo.refresh_token = "reconnected-token"
    qbo.refresh()
    assert qbo.call("GET", "preferences").status_code == 200


def test_access_tokens_expire_in_sandbox_time_and_expires_in_is_real_seconds():
    fast = Sandbox(port=0, time_scale=1800).start()  # two real seconds are a sandbox hour
    try:
        client = QboClient(fast.base_url)
        token = client.refresh()
        assert token["expires_in"] == 2
        assert client.call("GET", "preferences").status_code == 200
        time.sleep(2.2)
        expired = client.call("GET", "preferences")
        assert expired.status_code == 401 and expired.json()["fault"]["error"][0]["detail"] == "Token expired"
        client.refresh()
        assert client.call("GET", "preferences").status_code == 200
    finally:
        fast.stop()


def test_access_token_lifetime_is_a_limit(fresh_sandbox, qbo):
    fresh_sandbox.set_limits({"qbo": {"access_token_ttl_s": 1}})
    assert qbo.refresh()["expires_in"] == 1
    time.sleep(1.1)
    assert qbo.call("GET", "preferences").status_code == 401


def test_airflow_connection_carries_the_current_refresh_token(fresh_sandbox, qbo):
    conn = requests.get(fresh_sandbox.base_url + "/_sandbox/connections", timeout=5).json()["qbo_default"]
    assert conn == {
        "conn_type": "quickbooks_online",
        "host": fresh_sandbox.base_url,
        "login": DEFAULT_CLIENT_ID,
        "password": "sandbox-client-secret",
        "extra": {
            "realm_id": DEFAULT_REALM_ID,
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "token_url": fresh_sandbox.base_url + "/oauth2/v1/tokens/bearer",
        },
    }
    rotated = qbo.refresh()["refresh_token"]
    assert fresh_sandbox.connections()["qbo_default"]["extra"]["refresh_token"] == rotated


# -- envelopes, reads and updates -------------------------------------------------------------


def test_create_and_read_use_the_entity_envelope_with_pacific_time(qbo):
    response = qbo.post("customer", {"DisplayName": "Fabrikam Legal LLP", "CompanyName": "Fabrikam"})
    assert response.status_code == 200 and response.headers["intuit_tid"]
    body = response.json()
    customer = body["Customer"]
    assert customer["SyncToken"] == "0" and customer["Active"] is True
    assert customer["FullyQualifiedName"] == "Fabrikam Legal LLP"
    for stamp in (body["time"], customer["MetaData"]["CreateTime"]):
        offset = datetime.fromisoformat(stamp).utcoffset()
        assert offset in (timedelta(hours=-7), timedelta(hours=-8)), stamp
    assert qbo.get("Customer", customer["Id"]) == customer
    missing = qbo.call("GET", "customer/99999")
    assert fault_of(missing)["code"] == "610"


def test_minorversion_is_accepted_and_checked(qbo):
    for version in ("75", "4", "999"):
        assert qbo.call("GET", "preferences", params={"minorversion": version}).status_code == 200
    assert fault_of(qbo.call("GET", "preferences", params={"minorversion": "abc"}))["code"] == "2010"


def test_full_update_clears_omitted_fields_sparse_keeps_them_and_sync_token_counts(qbo):
    customer = qbo.customer("Northwind Traders", Notes="VIP", CompanyName="Northwind")
    sparse = qbo.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "Key account"})
    assert sparse["SyncToken"] == "1" and sparse["CompanyName"] == "Northwind" and sparse["Notes"] == "Key account"
    full = qbo.create("Customer", {"Id": customer["Id"], "SyncToken": "1", "DisplayName": "Northwind Traders"})
    assert full["SyncToken"] == "2" and "Notes" not in full and "CompanyName" not in full
    assert full["MetaData"]["CreateTime"] == customer["MetaData"]["CreateTime"]


def test_a_stale_sync_token_is_5010_and_changes_nothing(qbo):
    customer = qbo.customer("Adventure Works Cycles")
    qbo.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "first"})
    error = fault_of(qbo.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "second"}))
    assert error == {"Message": "Stale Object Error", "Detail": FIXTURE_5010, "code": "5010", "element": ""}
    assert qbo.get("Customer", customer["Id"])["Notes"] == "first"
    assert fault_of(qbo.post("customer", {"Id": customer["Id"], "sparse": True, "Notes": "x"}))["code"] == "2020"


def test_unknown_properties_are_refused(qbo):
    error = fault_of(qbo.post("customer", {"DisplayName": "Litware", "Colour": "blue"}))
    assert error["code"] == "2010" and "Colour" in error["Detail"]


# -- names ---------------------------------------------------------------------------------------


def test_display_name_is_unique_across_customers_vendors_and_employees(qbo):
    qbo.customer("Tailspin Toys")
    for entity, body in (
        ("customer", {"DisplayName": "tailspin toys"}),
        ("vendor", {"DisplayName": "Tailspin Toys"}),
        ("employee", {"GivenName": "Tailspin", "FamilyName": "Toys"}),
    ):
        error = fault_of(qbo.post(entity, body))
        assert error["code"] == "6240" and error["Message"] == "Duplicate Name Exists Error"
        assert error["Detail"].startswith("The name supplied already exists.")
    employee = qbo.create("Employee", {"GivenName": "Jane", "FamilyName": "Admin"})
    assert employee["DisplayName"] == "Jane Admin"
    assert fault_of(qbo.post("vendor", {"DisplayName": "Jane Admin"}))["code"] == "6240"
    # renaming frees the old name
    qbo.create("Employee", {"Id": employee["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Jane A. Admin"})
    assert qbo.create("Vendor", {"DisplayName": "Jane Admin"})["DisplayName"] == "Jane Admin"


@pytest.mark.parametrize("name", ["O'Brien & Sons: Plumbing", "Tab\tName", "New\nLine"])
def test_display_name_cannot_hold_colon_tab_or_newline(qbo, name):
    error = fault_of(qbo.post("customer", {"DisplayName": name}))
    assert error["code"] == "2040" and error["element"] == "DisplayName"


@pytest.mark.parametrize(
    ("entity", "body", "element", "maximum"),
    [
        ("customer", {"DisplayName": "x" * 501}, "DisplayName", 500),
        ("item", {"Name": "x" * 101, "IncomeAccountRef": {"value": "1"}}, "Name", 100),
    ],
)
def test_name_lengths_are_limited(qbo, entity, body, element, maximum):
    error = fault_of(qbo.post(entity, body))
    assert error["code"] == "2050" and error["element"] == element
    assert f"Max:{maximum} supported. Supplied length:{maximum + 1}" in error["Detail"]


def test_transaction_string_lengths_are_limited(qbo, books):
    base = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 10)
    cases = [
        ({"DocNumber": "1" * 22}, "DocNumber", 21),
        ({"PrivateNote": "n" * 4001}, "PrivateNote", 4000),
        ({"Line": [{**base["Line"][0], "Description": "d" * 4001}]}, "Line.Description", 4000),
    ]
    for extra, element, maximum in cases:
        error = fault_of(qbo.post("invoice", {**base, **extra}))
        assert (error["code"], error["element"]) == ("2050", element)
        assert f"Max:{maximum} supported" in error["Detail"]
    assert qbo.create("Invoice", {**base, "DocNumber": "1" * 21, "PrivateNote": "n" * 4000})["DocNumber"] == "1" * 21


# -- invoices ------------------------------------------------------------------------------------


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


# -- void, delete, payments ------------------------------------------------------------------------


def test_void_zeroes_the_invoice_and_a_second_void_is_refused(qbo, books):
    invoice = invoice_of(qbo, books, 100, 50, PrivateNote="Autotask invoice 29684001")
    voided = qbo.create("Invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0 and voided["SyncToken"] == "1"
    assert voided["PrivateNote"] == "Voided - Autotask invoice 29684001"
    assert all(line["Amount"] == 0 for line in voided["Line"])
    assert qbo.get("Customer", books["customer"]["Id"])["Balance"] == 0
    again = fault_of(qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "1"}, operation="void"))
    assert again["code"] == "6000" and "already been voided" in again["Detail"]
    assert fault_of(qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void"))["code"] == "5010"


def test_delete_removes_the_transaction(qbo, books):
    invoice = invoice_of(qbo, books, 10)
    response = qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    assert response.status_code == 200
    body = response.json()
    assert body["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": invoice["Id"]} and "time" in body
    assert fault_of(qbo.call("GET", f"invoice/{invoice['Id']}"))["code"] == "610"
    gone = fault_of(qbo.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete"))
    assert gone["code"] == "610" and "deleted" in gone["Detail"]
    assert qbo.get("Customer", books["customer"]["Id"])["Balance"] == 0
    assert (
        fault_of(qbo.post("customer", {"Id": books["customer"]["Id"], "SyncToken": "0"}, operation="delete"))["code"]
        == "500"
    )


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


# -- bills and currencies -----------------------------------------------------------------------------


def test_bill_lines_need_a_purchasable_item(qbo, books):
    bill = {
        "VendorRef": {"value": books["vendor"]["Id"]},
        "Line": [
            {
                "Amount": 378,
                "DetailType": "ItemBasedExpenseLineDetail",
                "ItemBasedExpenseLineDetail": {
                    "ItemRef": {"value": books["product"]["Id"]},
                    "Qty": 2,
                    "UnitPrice": 189,
                },
            },
            {
                "Amount": 25,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "3"}},
            },
        ],
    }
    created = qbo.create("Bill", bill)
    assert created["TotalAmt"] == 403 and created["Balance"] == 403
    assert created["APAccountRef"] == {"value": "4", "name": "Accounts Payable (A/P)"}
    assert qbo.get("Vendor", books["vendor"]["Id"])["Balance"] == 403

    bill["Line"][0]["ItemBasedExpenseLineDetail"]["ItemRef"] = {"value": books["item"]["Id"]}  # sale-only service
    error = fault_of(qbo.post("bill", bill))
    assert error["code"] == "6000" and "expense account" in error["Detail"]
    assert error["element"] == "Line.ItemBasedExpenseLineDetail.ItemRef"


def test_vendor_currency_must_match_the_bill_with_multicurrency_on(qbo, books):
    line = [
        {
            "Amount": 10,
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "3"}},
        }
    ]
    eur_bill = {"VendorRef": {"value": books["vendor"]["Id"]}, "CurrencyRef": {"value": "EUR"}, "Line": line}
    assert fault_of(qbo.post("bill", eur_bill))["code"] == "6000"  # multi-currency off: home currency only
    set_preferences(qbo, {"CurrencyPrefs": {"MultiCurrencyEnabled": True}})
    error = fault_of(qbo.post("bill", eur_bill))
    assert error["code"] == "6000" and "EUR" in error["Detail"] and "USD" in error["Detail"]
    euro_vendor = qbo.create("Vendor", {"DisplayName": "Pax8 Europe", "CurrencyRef": {"value": "EUR"}})
    bill = qbo.create("Bill", {**eur_bill, "VendorRef": {"value": euro_vendor["Id"]}, "ExchangeRate": 1.1})
    assert bill["CurrencyRef"] == {"value": "EUR", "name": "Euro"} and bill["HomeTotalAmt"] == 11.0


def test_items_accounts_terms_and_classes(qbo):
    assert fault_of(qbo.post("item", {"Name": "No Accounts", "Type": "Service"}))["code"] == "2020"
    inventory = {
        "Name": "Dell OptiPlex 7020",
        "Type": "Inventory",
        "IncomeAccountRef": {"value": "2"},
        "ExpenseAccountRef": {"value": "3"},
        "AssetAccountRef": {"value": "8"},
        "TrackQtyOnHand": True,
        "QtyOnHand": 4,
        "InvStartDate": "2025-01-01",
    }
    assert qbo.create("Item", inventory)["Type"] == "Inventory"
    assert fault_of(qbo.post("item", {**inventory, "Name": "Dell 2"} | {"AssetAccountRef": None}))["code"] == "2020"
    assert fault_of(qbo.post("item", {**inventory, "Name": "dell optiplex 7020"}))["code"] == "6240"
    account = qbo.create("Account", {"Name": "Hardware Sales", "AccountType": "Income"})
    assert account["Classification"] == "Revenue"
    assert fault_of(qbo.post("account", {"Name": "Bad", "AccountType": "Shoebox"}))["code"] == "2170"
    term = qbo.create("Term", {"Name": "Net 45", "DueDays": 45})
    assert term["Type"] == "STANDARD" and term["Active"] is True
    parent = qbo.create("Class", {"Name": "Managed"})
    child = qbo.create("Class", {"Name": "Security", "ParentRef": {"value": parent["Id"]}})
    assert child["FullyQualifiedName"] == "Managed:Security" and child["SubClass"] is True


# -- one name at a time --------------------------------------------------------------------------------


def test_overlapping_name_writes_get_the_one_name_at_a_time_fault(fresh_sandbox, qbo):
    qbo.refresh()
    fresh_sandbox.set_limits({"qbo": {"name_write_ms": 800}})
    results: dict[str, requests.Response] = {}
    slow = threading.Thread(
        target=lambda: results.setdefault("first", qbo.post("customer", {"DisplayName": "First Co"}))
    )
    slow.start()
    deadline = time.monotonic() + 5
    while fresh_sandbox.qbo._name_gate.current(DEFAULT_REALM_ID) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the first write holds the gate
    second = qbo.post("vendor", {"DisplayName": "Second Co"}, requestid="name-race-1")
    batch = qbo.post(
        "batch", {"BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Third Co"}}]}
    )
    slow.join()
    assert results["first"].status_code == 200
    error = fault_of(second)
    assert error == {
        "Message": "A business validation error has occurred while processing your request",
        "Detail": "Business Validation Error: You can only add or edit one name at a time. Please try again.",
        "code": "6000",
        "element": "",
    }
    assert batch.status_code == 200  # a batch answers per item: its name item carries the fault
    assert batch.json()["BatchItemResponse"][0]["Fault"]["Error"][0]["Detail"] == error["Detail"]
    # reads and non-name writes are not held up; the retry with the same requestid really runs
    assert qbo.post("vendor", {"DisplayName": "Second Co"}, requestid="name-race-1").status_code == 200


# -- batch ---------------------------------------------------------------------------------------------


def test_batch_answers_each_item_and_http_200(qbo, books):
    customer = books["customer"]
    response = qbo.post(
        "batch",
        {
            "BatchItemRequest": [
                {
                    "bId": "bid1",
                    "operation": "create",
                    "Invoice": qbo.invoice_body(customer["Id"], books["item"]["Id"], 50, DocNumber="B-1"),
                },
                {
                    "bId": "bid2",
                    "operation": "update",
                    "Customer": {"Id": customer["Id"], "SyncToken": "3", "sparse": True, "Notes": "x"},
                },
                {"bId": "bid3", "Query": "select * from Item where Name = 'Managed Services'"},
                {
                    "bId": "bid4",
                    "operation": "create",
                    "optionsData": "allowduplicatedocnum",
                    "Invoice": qbo.invoice_body(customer["Id"], books["item"]["Id"], 60, DocNumber="B-1"),
                },
                {
                    "bId": "bid5",
                    "operation": "create",
                    "Invoice": qbo.invoice_body(customer["Id"], books["item"]["Id"], 70, DocNumber="B-1"),
                },
            ]
        },
    )
    assert response.status_code == 200
    items = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert items["bid1"]["Invoice"]["TotalAmt"] == 50
    assert items["bid2"]["Fault"]["Error"][0]["code"] == "5010"
    assert items["bid2"]["Fault"]["type"] == "ValidationFault"
    assert items["bid3"]["QueryResponse"]["Item"][0]["Id"] == books["item"]["Id"]
    assert items["bid4"]["Invoice"]["DocNumber"] == "B-1"
    assert items["bid5"]["Fault"]["Error"][0]["code"] == "6140"
    assert qbo.query("select count(*) from Invoice")["totalCount"] == 2


def test_batch_items_do_not_see_each_others_objects(qbo, books):
    next_id = str(int(books["vendor"]["Id"]) + 1)  # names share one Id sequence
    response = qbo.post(
        "batch",
        {
            "BatchItemRequest": [
                {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Born In Batch"}},
                {"bId": "q", "Query": "select * from Customer where DisplayName = 'Born In Batch'"},
                {"bId": "i", "operation": "create", "Invoice": qbo.invoice_body(next_id, books["item"]["Id"], 10)},
            ]
        },
    )
    items = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert items["c"]["Customer"]["Id"] == next_id
    assert items["q"]["QueryResponse"] == {}
    assert items["i"]["Fault"]["Error"][0]["code"] == "2500"
    assert qbo.get("Customer", next_id)["DisplayName"] == "Born In Batch"  # visible once the batch is done


def test_batch_is_limited_to_30_items(qbo):
    items = [{"bId": str(n), "Query": "select * from Customer"} for n in range(31)]
    error = fault_of(qbo.post("batch", {"BatchItemRequest": items}))
    assert error["code"] == "1040"
    ok = qbo.post("batch", {"BatchItemRequest": items[:30]})
    assert ok.status_code == 200 and len(ok.json()["BatchItemResponse"]) == 30


# -- CDC -----------------------------------------------------------------------------------------------


def test_cdc_reports_changes_and_deletions_within_30_days(fresh_sandbox, qbo, books):
    fresh_sandbox.seed(
        {
            "qbo": {
                "Customer": [
                    {
                        "DisplayName": "Dormant Customer",
                        "MetaData": {
                            "CreateTime": "2020-01-01T09:00:00-08:00",
                            "LastUpdatedTime": "2020-01-01T09:00:00-08:00",
                        },
                    }
                ]
            }
        }
    )
    since = (datetime.now(PACIFIC) - timedelta(minutes=10)).isoformat(timespec="seconds")
    keep = invoice_of(qbo, books, 10)
    drop = invoice_of(qbo, books, 20)
    qbo.post("invoice", {"Id": drop["Id"], "SyncToken": "0"}, operation="delete")
    response = qbo.call("GET", "cdc", params={"entities": "Invoice,Customer,Payment", "changedSince": since})
    assert response.status_code == 200
    invoices, customers, payments = response.json()["CDCResponse"][0]["QueryResponse"]
    assert [i["Id"] for i in invoices["Invoice"] if "status" not in i] == [keep["Id"]]
    deleted = [i for i in invoices["Invoice"] if i.get("status") == "Deleted"]
    assert deleted == [{"Id": drop["Id"], "status": "Deleted", "domain": "QBO", "MetaData": deleted[0]["MetaData"]}]
    assert [c["DisplayName"] for c in customers["Customer"]] == ["Contoso Dental"]
    assert payments == {}

    too_old = (datetime.now(PACIFIC) - timedelta(days=31)).isoformat(timespec="seconds")
    error = fault_of(qbo.call("GET", "cdc", params={"entities": "Invoice", "changedSince": too_old}))
    assert "older than fixed days" in error["Detail"]
    assert fault_of(qbo.call("GET", "cdc", params={"entities": "Invoice"}))["code"] == "2020"


def test_cdc_returns_at_most_1000_objects(fresh_sandbox, qbo):
    fresh_sandbox.seed({"qbo": {"Customer": [{"DisplayName": f"Bulk {n:04d}"} for n in range(1005)]}})
    since = (datetime.now(PACIFIC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    body = qbo.call("GET", "cdc", params={"entities": "Customer", "changedSince": since}).json()
    assert len(body["CDCResponse"][0]["QueryResponse"][0]["Customer"]) == 1000


# -- idempotency ---------------------------------------------------------------------------------------


def test_requestid_replays_the_first_response_and_writes_once(qbo):
    first = qbo.post("customer", {"DisplayName": "Margie's Travel"}, requestid="rid-1")
    second = qbo.post("customer", {"DisplayName": "Margie's Travel"}, requestid="rid-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert qbo.query("select count(*) from Customer")["totalCount"] == 1
    batch = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Coho Winery"}}]}
    assert qbo.post("batch", batch, requestid="rid-2").json() == qbo.post("batch", batch, requestid="rid-2").json()
    assert qbo.query("select count(*) from Customer")["totalCount"] == 2


def test_requestid_retry_after_commit_then_error_returns_the_stored_result(fresh_sandbox, qbo, books):
    fresh_sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": "/invoice$", "mode": "commit_then_error", "times": 1}
    )
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 75, DocNumber="INV-502")
    lost = qbo.post("invoice", body, requestid="rid-502")
    assert lost.status_code == 502
    retry = qbo.post("invoice", body, requestid="rid-502")
    assert retry.status_code == 200 and retry.json()["Invoice"]["DocNumber"] == "INV-502"
    assert qbo.query("select count(*) from Invoice")["totalCount"] == 1
    log = [e for e in fresh_sandbox.requests.list("qbo") if e["requestid"] == "rid-502"]
    assert [e["status"] for e in log] == [502, 200]
    # without the requestid the same retry is a duplicate
    assert fault_of(qbo.post("invoice", body))["code"] == "6140"


# -- limits and injected faults -------------------------------------------------------------------------


def test_requests_per_minute_over_the_limit_get_the_xml_throttle_fault(fresh_sandbox, qbo):
    qbo.refresh()
    fresh_sandbox.set_limits({"qbo": {"requests_per_minute": 3}})
    statuses = [qbo.call("GET", "preferences").status_code for _ in range(3)]
    throttled = qbo.call("GET", "preferences")
    assert statuses == [200, 200, 200] and throttled.status_code == 429
    assert throttled.headers["Content-Type"].startswith("application/xml")
    assert '<Error code="3001">' in throttled.text and "ThrottleExceeded" in throttled.text
    assert "The request limit was reached.  Try again later" in throttled.text


def test_the_per_minute_window_runs_on_sandbox_time():
    fast = Sandbox(port=0, time_scale=60).start()  # a sandbox minute is a real second
    try:
        fast.set_limits({"qbo": {"requests_per_minute": 2}})
        client = QboClient(fast.base_url)
        client.refresh()
        assert [client.call("GET", "preferences").status_code for _ in range(3)] == [200, 200, 429]
        time.sleep(1.1)
        assert client.call("GET", "preferences").status_code == 200
    finally:
        fast.stop()


def test_concurrent_requests_over_the_limit_are_throttled(fresh_sandbox, qbo):
    qbo.refresh()
    fresh_sandbox.set_limits({"qbo": {"concurrent": 2, "latency_ms": 800}})
    statuses: list[int] = []
    start = threading.Barrier(5)

    def call() -> None:
        start.wait()
        statuses.append(qbo.call("GET", "preferences").status_code)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 429, 429, 429]


def test_batch_requests_have_their_own_per_minute_limit(fresh_sandbox, qbo):
    fresh_sandbox.set_limits({"qbo": {"batch_per_minute": 2}})
    batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    assert [qbo.post("batch", batch).status_code for _ in range(3)] == [200, 200, 429]
    assert qbo.call("GET", "preferences").status_code == 200


def test_limits_are_adjustable_and_checked(fresh_sandbox):
    base = fresh_sandbox.base_url
    limits = requests.post(base + "/_sandbox/limits", json={"qbo": {"latency_ms": 5}}, timeout=5).json()["qbo"]
    assert limits["latency_ms"] == 5 and limits["requests_per_minute"] == 500 and limits["concurrent"] == 10
    assert limits["batch_per_minute"] == 40 and limits["name_write_ms"] == 0
    bad = requests.post(base + "/_sandbox/limits", json={"qbo": {"speed": 1}}, timeout=5)
    assert bad.status_code == 400 and "speed" in bad.json()["error"]


@pytest.mark.parametrize(("mode", "status"), [("error_500", 500), ("error_503", 503), ("throttle_429", 429)])
def test_injected_faults_look_like_the_real_service(fresh_sandbox, qbo, mode, status):
    qbo.refresh()
    fresh_sandbox.faults.add({"api": "qbo", "mode": mode, "times": 1})
    response = qbo.call("GET", "preferences")
    assert response.status_code == status and response.headers["intuit_tid"]
    if mode == "error_500":
        assert response.json()["Fault"]["type"] == "SystemFault"
        assert response.json()["Fault"]["Error"][0]["code"] == "10000"
    if mode == "throttle_429":
        assert response.headers["Content-Type"].startswith("application/xml") and 'code="3001"' in response.text
    assert qbo.call("GET", "preferences").status_code == 200


# -- preferences, company info, invoice extras ---------------------------------------------------------


def test_preferences_and_company_info(qbo):
    prefs = qbo.call("GET", "preferences").json()["Preferences"]
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}
    assert prefs["TaxPrefs"]["PartnerTaxEnabled"] is False
    assert "BookCloseDate" not in prefs["AccountingInfoPrefs"]
    stale = qbo.post("preferences", {"SyncToken": "99", "sparse": True, "TaxPrefs": {"PartnerTaxEnabled": True}})
    assert fault_of(stale)["code"] == "5010"
    info = qbo.call("GET", f"companyinfo/{DEFAULT_REALM_ID}").json()["CompanyInfo"]
    assert info["Country"] == "US" and info["CompanyName"]
    assert qbo.query("select * from CompanyInfo")["CompanyInfo"][0]["Id"] == info["Id"]


def test_invoice_pdf_and_send(fresh_sandbox, qbo, books):
    invoice = invoice_of(qbo, books, 10, DocNumber="INV-PDF")
    pdf = qbo.call("GET", f"invoice/{invoice['Id']}/pdf", headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and b"INV-PDF" in pdf.content
    fresh_sandbox.mail.clear()
    sent = qbo.call("POST", f"invoice/{invoice['Id']}/send", params={"sendTo": "billing@contoso.example"})
    assert sent.json()["Invoice"]["EmailStatus"] == "EmailSent"
    assert sent.json()["Invoice"]["BillEmail"] == {"Address": "billing@contoso.example"}
    (mail,) = fresh_sandbox.mail.messages()
    assert mail["to"] == "billing@contoso.example" and "INV-PDF" in mail["subject"]
    assert mail["attachments"][0]["filename"] == "Invoice_INV-PDF.pdf"


# -- seeds ---------------------------------------------------------------------------------------------


def test_seeded_records_obey_the_rules(fresh_sandbox, qbo):
    fresh_sandbox.seed(
        {
            "qbo": {
                "Customer": [{"Id": "58", "DisplayName": "Contoso Dental", "Balance": 999}],
                "Item": [{"Id": "21", "Name": "Managed Services", "IncomeAccountRef": {"value": "1"}}],
                "Invoice": [
                    {
                        "Id": "1047",
                        "DocNumber": "INV-10421",
                        "CustomerRef": {"value": "58"},
                        "TotalAmt": 1,
                        "Line": [
                            {
                                "Amount": 1200,
                                "DetailType": "SalesItemLineDetail",
                                "SalesItemLineDetail": {"ItemRef": {"value": "21"}, "Qty": 10, "UnitPrice": 120},
                            },
                        ],
                    }
                ],
                "Payment": [
                    {
                        "CustomerRef": {"value": "58"},
                        "TotalAmt": 200,
                        "Line": [{"Amount": 200, "LinkedTxn": [{"TxnId": "1047", "TxnType": "Invoice"}]}],
                    }
                ],
            }
        }
    )
    invoice = qbo.get("Invoice", "1047")
    assert (invoice["TotalAmt"], invoice["Balance"], invoice["SyncToken"]) == (1200, 1000, "0")
    assert invoice["CustomerRef"] == {"value": "58", "name": "Contoso Dental"}
    assert qbo.get("Customer", "58")["Balance"] == 1000
    assert qbo.create("Customer", {"DisplayName": "Next Customer"})["Id"] == "59"  # ids continue past seeded ones
    state = fresh_sandbox.state()["qbo"]
    assert state["realm_id"] == DEFAULT_REALM_ID and state["Payment"][0]["Id"] == "1048"
    assert {a["Name"] for a in state["Account"]} >= {"Services", "Accounts Payable (A/P)", "Undeposited Funds"}


def test_a_seed_that_breaks_a_rule_names_it_and_loads_nothing(fresh_sandbox):
    with pytest.raises(SeedError) as refused:
        fresh_sandbox.seed(
            {
                "qbo": {
                    "Customer": [{"DisplayName": "Fine Co"}, {"DisplayName": "Bad: Name"}],
                }
            }
        )
    assert "Customer[1]" in str(refused.value) and "Bad: Name" in str(refused.value) and "2040" in str(refused.value)
    assert fresh_sandbox.state()["qbo"]["Customer"] == []
    with pytest.raises(SeedError, match="2500"):
        fresh_sandbox.seed({"qbo": {"Invoice": [{"CustomerRef": {"value": "77"}, "Line": []}]}})
    with pytest.raises(SeedError, match="unknown keys"):
        fresh_sandbox.seed({"qbo": {"Customers": []}})


def test_seed_changes_realm_and_credentials(fresh_sandbox):
    fresh_sandbox.seed(
        {
            "qbo": {
                "realm_id": "4620816365212676460",
                "oauth": {
                    "client_id": "other-client",
                    "client_secret": "other-secret",
                    "refresh_token": "other-refresh",
                },
            }
        }
    )
    client = QboClient(fresh_sandbox.base_url, "4620816365212676460", "other-client", "other-secret", "other-refresh")
    client.refresh()
    assert client.call("GET", "companyinfo/4620816365212676460").status_code == 200
    assert fresh_sandbox.connections()["qbo_default"]["login"] == "other-client"


def test_the_demo_seed_loads_and_is_deterministic(fresh_sandbox, qbo):
    today = date(2026, 3, 5)
    part = demo_qbo.build(today)
    assert part == demo_qbo.build(today)
    fresh_sandbox.seed({"qbo": part})
    synced = demo_qbo.synced_invoices(today)
    customers = {c["DisplayName"] for c in qbo.query("select * from Customer")["Customer"]}
    assert customers == {name for name, in_qbo in demo_qbo.COMPANIES if in_qbo} | {s["companyName"] for s in synced}
    assert [v["DisplayName"] for v in qbo.query("select * from Vendor")["Vendor"]] == ["Ingram Micro", "TD Synnex"]
    names = {i["Name"] for i in qbo.query("select * from Item")["Item"]}
    assert {"Managed Services - Per Device", "SUP-ONS", "Dell OptiPlex 7020"} <= names
    assert not {"Travel", "FW-SUB", "Logitech MX Keys"} & names
    for done in synced:  # what atqbo pushed earlier is there, under Autotask's number and total
        pushed = qbo.query(f"select * from Invoice where DocNumber = '{done['invoiceNumber']}'")["Invoice"]
        assert [(p["TotalAmt"], p["CustomerRef"]["name"]) for p in pushed] == [
            (done["invoiceTotal"], done["companyName"])
        ]
    invoices = qbo.query("select * from Invoice where DocNumber < 'A'")["Invoice"]
    assert len(invoices) == 9 and all(i["TxnDate"].startswith("2026-02") for i in invoices)
    balances = sorted(i["Balance"] < i["TotalAmt"] for i in invoices)
    assert balances.count(True) == 4  # two invoices paid by one payment, one partly paid, one paid
    assert qbo.query("select count(*) from Payment")["totalCount"] == 3
    prefs = qbo.call("GET", "preferences").json()["Preferences"]
    assert prefs["SalesFormsPrefs"]["CustomField"][0]["CustomField"][0]["BooleanValue"] is True


def test_a_dumped_state_loads_back_identically(fresh_sandbox, qbo, books):
    paid = invoice_of(qbo, books, 300, DocNumber="RT-1")
    voided = invoice_of(qbo, books, 40, DocNumber="RT-2")
    qbo.create("Invoice", {"Id": voided["Id"], "SyncToken": "0"}, operation="void")
    qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": books["customer"]["Id"]},
            "TotalAmt": 100,
            "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": paid["Id"], "TxnType": "Invoice"}]}],
        },
    )
    qbo.create("Customer", {"Id": books["customer"]["Id"], "SyncToken": "0", "sparse": True, "Notes": "edited"})
    dumped = fresh_sandbox.state()["qbo"]
    other = Sandbox(port=0).start()
    try:
        other.seed({"qbo": dumped})
        again = other.state()["qbo"]
        for entity in ("Customer", "Vendor", "Item", "Account", "Invoice", "Payment"):
            assert again[entity] == dumped[entity], entity
        client = QboClient(other.base_url, refresh_token=dumped["oauth"]["refresh_token"])
        refused = client.post("invoice", {"Id": voided["Id"], "SyncToken": "1"}, operation="void")
        assert "already been voided" in fault_of(refused)["Detail"]
        assert (
            fault_of(client.post("invoice", {"Id": paid["Id"], "SyncToken": "1"}, operation="delete"))["code"] == "6000"
        )
    finally:
        other.stop()


def test_malformed_bodies_are_2010_faults_not_server_errors(qbo, books):
    customer, item = books["customer"]["Id"], books["item"]["Id"]
    for body in (
        {
            "CustomerRef": {"value": customer},
            "Line": [{"Amount": 5, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": "x"}],
        },
        {"CustomerRef": "58", "Line": []},
        {"CustomerRef": {"value": customer}, "Line": "one line"},
        {"CustomerRef": {"value": customer}, "Line": [{"Amount": "ten", "DetailType": "SalesItemLineDetail"}]},
        {**qbo.invoice_body(customer, item, 5), "CustomField": ["PO-1"]},
    ):
        assert fault_of(qbo.post("invoice", body))["code"] in ("2010", "2020"), body
    assert (
        fault_of(qbo.call("POST", "customer", data=b"{not json", headers={"Content-Type": "application/json"}))["code"]
        == "2010"
    )
    batch = qbo.post(
        "batch",
        {
            "BatchItemRequest": [
                {
                    "bId": "1",
                    "operation": "create",
                    "Invoice": {
                        "CustomerRef": {"value": customer},
                        "Line": [{"Amount": 1, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": 7}],
                    },
                }
            ]
        },
    )
    assert batch.json()["BatchItemResponse"][0]["Fault"]["Error"][0]["code"] == "2010"
