"""QBO's requestid over real HTTP: a retry gets the first answer and nothing runs twice."""

from __future__ import annotations

from tests.sandbox.qbo_support import fault_of


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
