"""Around every QBO request, over real HTTP: the one-name-at-a-time gate, and malformed bodies
answered as 2010 faults (never as server errors)."""

from __future__ import annotations

import threading
import time

import requests

from sandbox.qbo import DEFAULT_REALM_ID
from tests.sandbox.qbo_support import fault_of


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
