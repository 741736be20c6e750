"""QBO batch requests over real HTTP: per-item answers, independent items, the 30-item limit."""

from __future__ import annotations

from tests.sandbox.qbo_support import fault_of


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
