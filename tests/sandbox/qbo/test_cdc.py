"""QBO change data capture over real HTTP: changes and deletions within 30 days, 1000 objects at most."""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.qbo.times import PACIFIC
from tests.sandbox.qbo_support import fault_of, invoice_of


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
