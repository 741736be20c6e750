"""QBO writes over real HTTP: the entity envelope, minorversion, full and sparse updates with
SyncToken, unknown and over-long properties, void and delete, and Preferences and CompanyInfo."""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.qbo import DEFAULT_REALM_ID
from tests.sandbox.qbo_support import FIXTURE_5010, fault_of, invoice_of


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
