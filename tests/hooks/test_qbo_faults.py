"""Tests of ``atqbo.hooks.qbo_faults`` and ``qbo_fault_parsing``: one class per fault code, parsed from
the real shapes (the API-shape fixtures in ``data/qbo``, the XML throttle body), then the same
faults raised by the hook against the sandbox over HTTP.
"""

from __future__ import annotations

import json
import pickle

import pytest

from atqbo.hooks.qbo import (
    FAULT_CLASSES,
    QboAuthError,
    QboBusinessValidation,
    QboDuplicateDocNumber,
    QboDuplicateName,
    QboFault,
    QboInvalidReference,
    QboObjectNotFound,
    QboOneNameAtATime,
    QboPeriodClosed,
    QboServerError,
    QboStaleObject,
    QboThrottled,
    build_fault,
    fault_from_payload,
    parse_fault_body,
    redact,
)
from tests.hooks.qbo_support import SERVICE_ITEM, fault_of, fixture, invoice_body


@pytest.mark.parametrize(
    "name, cls, code",
    [
        ("qbo_fault_610", QboObjectNotFound, "610"),
        ("qbo_fault_2500", QboInvalidReference, "2500"),
        ("qbo_fault_5010", QboStaleObject, "5010"),
        ("qbo_fault_6000_business_validation", QboBusinessValidation, "6000"),
        ("qbo_fault_6140", QboDuplicateDocNumber, "6140"),
        ("qbo_fault_6210_period_closed", QboPeriodClosed, "6210"),
        ("qbo_fault_6240", QboDuplicateName, "6240"),
    ],
)
def test_fault_body_becomes_the_typed_exception_of_its_code(name, cls, code):
    fault = fault_of(name, intuit_tid="1-abc", requestid="rid-1", operation="create Invoice DocNumber=INV-1")
    assert type(fault) is cls
    assert fault.code == code and fault.status == 400
    error = fixture(name)["Fault"]["Error"][0]
    assert fault.message == error["Message"] and fault.detail == error["Detail"]
    assert fault.element == error["element"]
    text = str(fault)
    # the message names the code, the operation and the ids support asks for
    for part in (code, "create Invoice DocNumber=INV-1", "intuit_tid=1-abc", "requestid=rid-1"):
        assert part in text


def test_err01_period_closed_says_how_to_fix_it():
    fault = fault_of("qbo_fault_6210_period_closed")
    assert "earliest sync date" in str(fault) and "Close the books" in str(fault)


def test_fault_map_covers_every_code_the_sync_acts_on():
    for code in ("610", "2500", "3001", "5010", "6000", "6140", "6210", "6240", "3200", "120"):
        assert code in FAULT_CLASSES
    assert FAULT_CLASSES["3200"] is QboAuthError and FAULT_CLASSES["120"] is QboAuthError


def test_duplicate_doc_number_exposes_the_existing_transaction():
    fault = fault_of("qbo_fault_6140")
    assert isinstance(fault, QboDuplicateDocNumber)
    assert (fault.txn_id, fault.txn_type, fault.doc_number) == ("1047", "Invoice", "INV-10421")


def test_err02_one_name_at_a_time_is_its_own_business_validation_fault():
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": "A business validation error has occurred while processing your request",
                    "Detail": "Business Validation Error: You can only add or edit one name at a time. "
                    "Please try again.",
                    "code": "6000",
                    "element": "",
                }
            ],
            "type": "ValidationFault",
        }
    }
    fault = build_fault(parse_fault_body(json.dumps(body)), status=400)
    assert type(fault) is QboOneNameAtATime and isinstance(fault, QboBusinessValidation)
    assert fault.retryable


def test_err03_xml_throttle_body_parses_as_throttled():
    doc = fixture("qbo_429")
    info = parse_fault_body(doc["_body_xml"].encode(), "application/xml")
    assert info["code"] == "3001" and info["type"] == "SERVICE"
    assert info["detail"] == "The request limit was reached.  Try again later"
    fault = build_fault(info, status=429)
    assert type(fault) is QboThrottled and fault.retryable
    # older responses said 403 for the same fault: the code decides
    assert type(build_fault(info, status=403)) is QboThrottled
    # and its JSON twin parses the same way
    assert parse_fault_body(json.dumps(doc["json_equivalent"]))["code"] == "3001"


def test_xml_fault_without_code_attribute_takes_the_code_from_the_message():
    xml = "<Fault><Error><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message></Error></Fault>"
    assert parse_fault_body(xml)["code"] == "3001"


def test_auth_fault_in_lower_case_keys_is_an_auth_error_without_the_token():
    doc = fixture("qbo_401_auth")
    fault = build_fault(parse_fault_body(json.dumps(doc)), status=401)
    assert type(fault) is QboAuthError and fault.code == "3200"
    assert "AB11" not in str(fault) and "***" in fault.detail


def test_unknown_codes_fall_back_on_the_http_status():
    body = {"Fault": {"Error": [{"Message": "odd", "code": "4321"}], "type": "ValidationFault"}}
    assert type(build_fault(fault_from_payload(body["Fault"]), status=400)) is QboFault
    assert type(build_fault(fault_from_payload(body["Fault"]), status=503)) is QboServerError
    assert type(build_fault(fault_from_payload(body["Fault"]), status=401)) is QboAuthError
    assert parse_fault_body("<html>502 Bad Gateway</html>") is None
    assert parse_fault_body("not json") is None


def test_batch_item_fault_payload_parses_like_a_response_fault():
    items = fixture("qbo_batch_response")["BatchItemResponse"]
    fault = build_fault(fault_from_payload(items[1]["Fault"]), status=None)
    assert type(fault) is QboStaleObject and fault.code == "5010"


def test_faults_survive_pickling_with_their_fields():
    fault = fault_of("qbo_fault_6140", intuit_tid="tid-9", requestid="rid-9")
    again = pickle.loads(pickle.dumps(fault))
    assert type(again) is QboDuplicateDocNumber
    assert (again.code, again.txn_id, again.intuit_tid, again.requestid) == ("6140", "1047", "tid-9", "rid-9")
    assert str(again) == str(fault)


def test_redact_removes_known_secrets_and_token_shaped_text():
    text = redact("bad token sekrit-value; Authorization: Bearer abc.def; refresh_token=xyz", ["sekrit-value"])
    assert "sekrit-value" not in text and "abc.def" not in text and "xyz" not in text


def test_fault_610_inactive_reference(hook, books, qbo):
    qbo.seed({"Item": [{**SERVICE_ITEM, "Name": "Retired", "Active": False}]})
    retired = next(i["Id"] for i in qbo.state()["Item"] if i["Name"] == "Retired")
    with pytest.raises(QboObjectNotFound) as err:
        hook.create("Invoice", invoice_body(books["customer"], retired))
    assert err.value.code == "610" and err.value.status == 400


def test_fault_2500_invalid_reference(hook, books):
    with pytest.raises(QboInvalidReference) as err:
        hook.create("Invoice", invoice_body(books["customer"], "9999", DocNumber="REF-1"))
    assert err.value.code == "2500" and "ItemRef" in err.value.element
    assert "create Invoice DocNumber=REF-1" in str(err.value)


def test_fault_6000_business_validation(hook, books):
    invoice = hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="V-1"))
    hook.void_invoice(invoice["Id"])
    with pytest.raises(QboBusinessValidation) as err:
        hook.void_invoice(invoice["Id"])
    assert type(err.value) is QboBusinessValidation and err.value.code == "6000"
    assert "already been voided" in err.value.detail


def test_fault_6140_duplicate_doc_number_names_the_existing_invoice(hook, books):
    first = hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="AT-1001"))
    with pytest.raises(QboDuplicateDocNumber) as err:
        hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="AT-1001"))
    assert err.value.code == "6140"
    assert (err.value.txn_id, err.value.doc_number) == (first["Id"], "AT-1001")


def test_err01_fault_6210_period_closed(hook, books, qbo):
    qbo.seed({"Preferences": {"AccountingInfoPrefs": {"BookCloseDate": "2024-03-31"}}})
    with pytest.raises(QboPeriodClosed) as err:
        hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="OLD-1", TxnDate="2024-03-15"))
    assert err.value.code == "6210" and "earliest sync date" in str(err.value)


def test_fault_6240_duplicate_name_across_customers_and_vendors(hook):
    hook.create("Customer", {"DisplayName": "Ingram Micro"})
    with pytest.raises(QboDuplicateName) as err:
        hook.create("Vendor", {"DisplayName": "Ingram Micro"})
    assert err.value.code == "6240" and "DisplayName=Ingram Micro" in str(err.value)


def test_fault_3100_wrong_company_is_an_auth_error(connect, make_hook):
    connect(realm_id="123")
    with pytest.raises(QboAuthError) as err:
        make_hook().company_info()
    assert err.value.code == "3100" and err.value.status == 403
