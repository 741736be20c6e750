"""Tests of ``QuickBooksOnlineHook``'s vocabulary against the sandbox over HTTP: queries and paging,
records (create, read, sparse update, void, delete, ERR-05's stale SyncToken), idempotency keys
(BEY-01), batch and change data capture. The OAuth tokens live in a SQLite ledger under
``tmp_path``; token-protocol tests are in ``test_qbo_tokens.py``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from atqbo.hooks.qbo import (
    QboDuplicateName,
    QboObjectNotFound,
    QboStaleObject,
    QuickBooksOnlineHook,
    derive_requestid,
    where_eq,
    where_in,
)
from tests.hooks.qbo_support import invoice_body, query_args


def test_hook_identifies_its_connection_type():
    assert QuickBooksOnlineHook.conn_type == "quickbooks_online"
    assert QuickBooksOnlineHook.default_conn_name == "qbo_default"
    assert QuickBooksOnlineHook.conn_name_attr == "qbo_conn_id"
    assert QuickBooksOnlineHook.hook_name == "QuickBooks Online"


def test_company_info_preferences_and_connection_test(hook, qbo):
    assert hook.company_info()["CompanyName"] == "Sandbox MSP Books"
    prefs = hook.preferences()
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    qbo.seed({"Preferences": {"SalesFormsPrefs": {"CustomTxnNumbers": False}}})
    assert hook.preferences()["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    ok, message = hook.test_connection()
    assert ok and "Sandbox MSP Books" in message


def test_query_all_pages_past_1000_records(hook, qbo):
    qbo.seed({"Customer": [{"DisplayName": f"Customer {i:04d}"} for i in range(1250)]})
    qbo.clear_requests()
    names = [c["DisplayName"] for c in hook.query_all("Customer", order_by="Id")]
    assert len(names) == 1250 and len(set(names)) == 1250
    pages = [query_args(e)["query"][0] for e in qbo.api_calls("query")]
    assert pages == [
        "SELECT * FROM Customer ORDERBY Id STARTPOSITION 1 MAXRESULTS 1000",
        "SELECT * FROM Customer ORDERBY Id STARTPOSITION 1001 MAXRESULTS 1000",
    ]
    assert hook.count("Customer") == 1250


def test_query_all_pages_past_500_with_smaller_pages_and_a_filter(hook, qbo):
    qbo.seed({"Customer": [{"DisplayName": f"Customer {i:04d}", "Active": True} for i in range(1250)]})
    qbo.clear_requests()
    where = [where_eq("Active", True), "DisplayName LIKE 'Customer 0%'"]
    found = list(hook.query_all("Customer", where=where, order_by="DisplayName", page_size=400))
    assert [c["DisplayName"] for c in found] == [f"Customer {i:04d}" for i in range(1000)]
    assert len(qbo.api_calls("query")) == 3  # 400 + 400 + 200
    assert hook.count("Customer", where=where) == 1000


def test_query_in_and_get_many_ask_100_values_per_query(hook, qbo):
    qbo.seed({"Customer": [{"DisplayName": f"Customer {i:04d}", "Active": i % 2 == 0} for i in range(250)]})
    everyone = {c["DisplayName"]: c["Id"] for c in hook.query_all("Customer", where="Active IN (true, false)")}
    qbo.clear_requests()
    wanted = [f"Customer {i:04d}" for i in range(0, 250, 2)] + ["Customer 0000", "nobody"]
    found = list(hook.query_in("Customer", "DisplayName", wanted, order_by="Id"))
    assert sorted(c["DisplayName"] for c in found) == sorted(set(wanted) - {"nobody"})
    assert len(qbo.api_calls("query")) == 2  # 126 distinct names: 100 + 26
    qbo.clear_requests()
    ids = [everyone["Customer 0002"], everyone["Customer 0004"], "999999"]
    by_id = hook.get_many("Customer", ids)
    assert set(by_id) == set(ids[:2])  # a missing Id is absent
    assert len(qbo.api_calls("query")) == 1
    inactive = list(hook.query_in("Customer", "Id", [everyone["Customer 0001"]], where="Active IN (true, false)"))
    assert [c["DisplayName"] for c in inactive] == ["Customer 0001"]  # QBO leaves inactive names out unless asked
    qbo.clear_requests()
    assert list(hook.query_in("Customer", "Id", [])) == [] and hook.get_many("Customer", []) == {}
    assert qbo.api_calls("query") == []  # no values: no query


def test_bey05_several_in_lists_are_read_side_by_side_and_come_back_in_their_order(hook, qbo):
    qbo.seed({"Customer": [{"DisplayName": f"Customer {i:04d}"} for i in range(250)]})
    hook.company_info()  # the token refresh out of the way
    qbo.limits(latency_ms=150)
    qbo.clear_requests()
    wanted = [f"Customer {i:04d}" for i in reversed(range(250))]

    found = [c["DisplayName"] for c in hook.query_in("Customer", "DisplayName", wanted, order_by="DisplayName")]

    # three lists (100, 100, 50), each answered in name order, the lists in the order asked
    assert found == sorted(wanted[:100]) + sorted(wanted[100:200]) + sorted(wanted[200:])
    reads = qbo.api_calls("query")
    assert len(reads) == 3
    assert max(r["start"] for r in reads) < min(r["end"] for r in reads)  # all three in flight at once


def test_query_of_nothing_is_an_empty_list(hook):
    assert hook.query("SELECT * FROM Invoice WHERE DocNumber = 'none'") == []
    assert list(hook.query_all("Invoice")) == []


def test_quotes_and_backslashes_round_trip_through_a_query(hook):
    names = ["O'Brien \\ Sons", "O'Brien Sons", "O\\'Brien", "Plain Name"]
    ids = {name: hook.create("Customer", {"DisplayName": name})["Id"] for name in names}
    for name in names:
        found = hook.query(f"SELECT * FROM Customer WHERE {where_eq('DisplayName', name)}")
        assert [c["Id"] for c in found] == [ids[name]], name
    both = hook.query_all("Customer", where=where_in("DisplayName", names[:2]), order_by="Id")
    assert sorted(c["Id"] for c in both) == sorted([ids[names[0]], ids[names[1]]])


def test_long_statement_is_sent_in_the_body(hook, qbo):
    qbo.seed({"Customer": [{"DisplayName": f"Customer {i:04d}"} for i in range(300)]})
    wanted = [f"Customer {i:04d}" for i in range(0, 300, 2)]
    statement = f"SELECT * FROM Customer WHERE {where_in('DisplayName', wanted)} MAXRESULTS 1000"
    assert len(statement) > 2000
    assert sorted(c["DisplayName"] for c in hook.query(statement)) == wanted
    assert qbo.api_calls("query")[-1]["method"] == "POST"


def test_create_read_sparse_update_void_and_delete(hook, books, qbo):
    created = hook.create("Invoice", invoice_body(books["customer"], books["item"], 120.0, DocNumber="INV-1"))
    assert created["TotalAmt"] == 120.0 and created["SyncToken"] == "0"
    assert hook.read("Invoice", created["Id"])["DocNumber"] == "INV-1"

    updated = hook.update("Invoice", {"Id": created["Id"], "SyncToken": "0", "PrivateNote": "Autotask 29684001"})
    assert updated["PrivateNote"] == "Autotask 29684001"
    assert updated["Line"][0]["Amount"] == 120.0  # sparse: what was not sent stayed
    assert updated["SyncToken"] == "1"

    voided = hook.void_invoice(created["Id"])  # reads the SyncToken itself
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"].startswith("Voided")
    void_call = qbo.api_calls("invoice", "POST")[-1]
    assert query_args(void_call)["operation"] == ["void"]

    other = hook.create("Invoice", invoice_body(books["customer"], books["item"], 50.0, DocNumber="INV-2"))
    deleted = hook.delete("Invoice", other["Id"], sync_token=other["SyncToken"])
    assert deleted["status"] == "Deleted"
    with pytest.raises(QboObjectNotFound) as err:
        hook.read("Invoice", other["Id"])
    assert err.value.intuit_tid and err.value.code == "610"


def test_void_payment_uses_update_include_void(hook, books, qbo):
    invoice = hook.create("Invoice", invoice_body(books["customer"], books["item"], 80.0, DocNumber="INV-P"))
    payment = hook.create(
        "Payment",
        {
            "CustomerRef": {"value": books["customer"]},
            "TotalAmt": 80.0,
            "Line": [{"Amount": 80.0, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert hook.read("Invoice", invoice["Id"])["Balance"] == 0
    voided = hook.void_payment(payment["Id"])
    assert voided["TotalAmt"] == 0
    assert hook.read("Invoice", invoice["Id"])["Balance"] == 80.0
    args = query_args(qbo.api_calls("payment", "POST")[-1])
    assert args["operation"] == ["update"] and args["include"] == ["void"]


def test_err05_stale_sync_token_is_reread_and_retried_once(hook, qbo):
    customer = hook.create("Customer", {"DisplayName": "Stale Co"})
    hook.update("Customer", {"Id": customer["Id"], "SyncToken": "0", "Notes": "first"})
    qbo.clear_requests()
    result = hook.update("Customer", {"Id": customer["Id"], "SyncToken": "0", "CompanyName": "Stale Company"})
    assert result["CompanyName"] == "Stale Company" and result["Notes"] == "first"
    calls = qbo.api_calls("customer")
    assert [(c["method"], c["status"]) for c in calls] == [("POST", 400), ("GET", 200), ("POST", 200)]
    # the retry is a new write (the refused one changed nothing), so it has its own requestid
    assert calls[0]["requestid"] and calls[2]["requestid"] and calls[0]["requestid"] != calls[2]["requestid"]


def test_err05_second_stale_fault_raises(make_hook, qbo):
    hook, rival = make_hook(), make_hook()
    customer = hook.create("Customer", {"DisplayName": "Busy Co"})
    hook.update("Customer", {"Id": customer["Id"], "SyncToken": "0", "Notes": "moved on"})
    real_read = hook.read

    def read_then_someone_edits(entity, id):
        record = real_read(entity, id)
        rival.update(entity, {"Id": id, "SyncToken": record["SyncToken"], "Notes": f"rival {record['SyncToken']}"})
        return record

    hook.read = read_then_someone_edits
    qbo.clear_requests()
    with pytest.raises(QboStaleObject) as err:
        hook.update("Customer", {"Id": customer["Id"], "SyncToken": "0", "CompanyName": "Never"})
    assert err.value.code == "5010" and err.value.requestid
    own_posts = [c for c in qbo.api_calls("customer", "POST") if c["status"] == 400]
    assert len(own_posts) == 2  # the first try and exactly one retry


def test_bey01_every_write_carries_a_requestid_and_reads_none(hook, books, qbo):
    invoice = hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="RID-1"))
    hook.update("Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "PrivateNote": "x"})
    hook.void_invoice(invoice["Id"])
    second = hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="RID-2"))
    hook.delete("Invoice", second["Id"])
    hook.batch([{"operation": "create", "Customer": {"DisplayName": "Batch Co"}}])
    hook.query("SELECT * FROM Customer")
    calls = qbo.api_calls()
    writes = [c for c in calls if c["method"] == "POST" and not c["path"].endswith("/query")]
    reads = [c for c in calls if c["method"] == "GET"]
    assert len(writes) == 6 and reads
    assert all(c["requestid"] for c in writes)
    assert len({c["requestid"] for c in writes}) == 6
    assert not any(c["requestid"] for c in reads)


def test_bey01_callers_requestid_makes_a_repeated_create_return_the_first(hook, qbo):
    first = hook.create("Customer", {"DisplayName": "Idem Co"}, requestid="autotask-invoice-29684001")
    again = hook.create("Customer", {"DisplayName": "Idem Co"}, requestid="autotask-invoice-29684001")
    assert again["Id"] == first["Id"]
    assert len(qbo.state()["Customer"]) == 1
    assert {c["requestid"] for c in qbo.api_calls("customer", "POST")} == {"autotask-invoice-29684001"}


def test_derived_requestids_are_stable_and_distinct():
    assert derive_requestid("at-inv-1", "stale-retry") == derive_requestid("at-inv-1", "stale-retry")
    assert derive_requestid("at-inv-1", "stale-retry") != derive_requestid("at-inv-1", "batch-0")


def test_batch_of_65_items_is_three_requests_with_per_item_results(hook, qbo):
    qbo.seed({"Customer": [{"DisplayName": "Taken 10"}, {"DisplayName": "Taken 40"}]})
    items = [{"bId": f"c{i}", "operation": "create", "Customer": {"DisplayName": f"Batch {i}"}} for i in range(65)]
    items[10]["Customer"]["DisplayName"] = "Taken 10"  # 6240 in the first request
    items[40]["Customer"]["DisplayName"] = "Taken 40"  # 6240 in the second
    items[64] = {"bId": "q", "Query": "SELECT * FROM Customer WHERE DisplayName = 'Taken 40'"}
    qbo.clear_requests()
    results = hook.batch(items, requestid="po-sync-7")
    calls = qbo.api_calls("batch")
    assert len(calls) == 3 and all(c["status"] == 200 for c in calls)
    assert len({c["requestid"] for c in calls}) == 3
    assert len(results) == 65
    assert isinstance(results[10], QboDuplicateName) and isinstance(results[40], QboDuplicateName)
    assert "batch item c10" in str(results[10])
    for i in set(range(64)) - {10, 40}:
        assert results[i]["bId"] == f"c{i}" and results[i]["Customer"]["DisplayName"] == f"Batch {i}"
    assert results[64]["QueryResponse"]["Customer"][0]["DisplayName"] == "Taken 40"
    assert len(qbo.state()["Customer"]) == 2 + 62


def test_batch_replayed_with_the_same_requestid_creates_nothing_twice(hook, qbo):
    items = [{"operation": "create", "Customer": {"DisplayName": f"Replay {i}"}} for i in range(35)]
    first = hook.batch(items, requestid="batch-key")
    again = hook.batch(items, requestid="batch-key")
    assert [r["Customer"]["Id"] for r in again] == [r["Customer"]["Id"] for r in first]
    assert len(qbo.state()["Customer"]) == 35


def test_batch_needs_distinct_bids(hook):
    with pytest.raises(ValueError, match="distinct bId"):
        hook.batch([{"bId": "1", "Query": "SELECT * FROM Item"}, {"bId": "1", "Query": "SELECT * FROM Item"}])


def test_cdc_returns_changes_per_entity_including_deletions(hook, books):
    since = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.1)  # QBO times have whole seconds
    kept = hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="CDC-1"))
    gone = hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="CDC-2"))
    hook.delete("Invoice", gone["Id"])
    changes = hook.cdc(["Invoice", "Payment"], since)
    assert set(changes) == {"Invoice", "Payment"} and changes["Payment"] == []
    by_id = {r["Id"]: r for r in changes["Invoice"]}
    assert by_id[kept["Id"]]["DocNumber"] == "CDC-1"
    assert by_id[gone["Id"]]["status"] == "Deleted"


def test_cdc_needs_an_aware_datetime(hook):
    with pytest.raises(ValueError, match="timezone"):
        hook.cdc(["Invoice"], datetime(2024, 6, 1))
