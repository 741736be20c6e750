"""Tests of ``atqbo.hooks.qbo``: query literals, fault parsing, and the hook against the sandbox over HTTP.

The first part needs no server (quoting, fault bodies from the API-shape fixtures, the XML
throttle body). The rest runs ``QuickBooksOnlineHook`` against the real sandbox on loopback,
with the OAuth tokens in a SQLite ledger under ``tmp_path``. Token-protocol tests are in
``test_qbo_tokens.py``.
"""

from __future__ import annotations

import json
import pickle
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from atqbo.hooks.qbo import (
    FAULT_CLASSES,
    Backoff,
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
    QboTokenRevoked,
    QuickBooksOnlineHook,
    build_fault,
    derive_requestid,
    fault_from_payload,
    parse_fault_body,
    quote,
    redact,
    where_eq,
    where_in,
)
from tests.hooks.qbo_support import REALM, SERVICE_ITEM, RecordingSleep, hook_factory, invoice_body, query_args

DATA = Path(__file__).parent / "data" / "qbo"


def fixture(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def fault_of(name: str, status: int = 400, **kwargs) -> QboFault:
    doc = fixture(name)
    return build_fault(parse_fault_body(json.dumps(doc)), status=status, **kwargs)


# ================================================================================================
# The query language
# ================================================================================================


def test_quote_escapes_backslashes_before_single_quotes():
    # the backslash must be doubled first, or the escape of the quote would be doubled too
    assert quote("O'Brien \\ Sons") == "'O\\'Brien \\\\ Sons'"
    assert quote("a\\'b") == "'a\\\\\\'b'"
    assert quote("plain") == "'plain'"


def test_quote_writes_each_type_as_qbo_reads_it():
    assert quote(None) == "' '"
    assert quote(True) == "true" and quote(False) == "false"
    assert quote(42) == "42" and quote(Decimal("10.50")) == "10.50" and quote(1.5) == "1.5"
    assert quote(date(2024, 6, 1)) == "'2024-06-01'"
    assert quote(datetime(2024, 6, 1, 7, tzinfo=UTC)) == "'2024-06-01T07:00:00+00:00'"
    with pytest.raises(ValueError, match="timezone"):
        quote(datetime(2024, 6, 1))


def test_where_helpers_build_conditions_with_quoted_values():
    assert where_eq("DisplayName", "Ann's") == "DisplayName = 'Ann\\'s'"
    assert where_in("DocNumber", ["1", "O'B"]) == "DocNumber IN ('1', 'O\\'B')"
    with pytest.raises(ValueError, match="at least one value"):
        where_in("Id", [])


# ================================================================================================
# Faults: one class per code, parsed from the real shapes
# ================================================================================================


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


def test_backoff_grows_is_jittered_and_capped():
    backoff = Backoff(base=1.0, cap=60.0)
    assert 0.5 <= backoff.delay(0) <= 1.0
    assert 4.0 <= backoff.delay(3) <= 8.0
    assert 30.0 <= backoff.delay(20) <= 60.0
    assert backoff.throttle_delay(0, retry_after=7) == 7
    assert backoff.throttle_delay(0, retry_after=600) == 60.0  # never past Intuit's 60 s guidance
    assert 2.0 <= backoff.throttle_delay(0, retry_after=None) <= 4.0


def test_derived_requestids_are_stable_and_distinct():
    assert derive_requestid("at-inv-1", "stale-retry") == derive_requestid("at-inv-1", "stale-retry")
    assert derive_requestid("at-inv-1", "stale-retry") != derive_requestid("at-inv-1", "batch-0")


# ================================================================================================
# Against the sandbox over HTTP
# ================================================================================================


@pytest.fixture
def state(tmp_path):
    from atqbo.ledger import Ledger

    led = Ledger.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    led.create_schema()
    yield led
    led.close()


@pytest.fixture
def make_hook(connect, state):
    return hook_factory(state)


@pytest.fixture
def hook(make_hook) -> QuickBooksOnlineHook:
    return make_hook()


@pytest.fixture
def books(qbo):
    """A customer and a service item to invoice."""
    qbo.seed({"Customer": [{"DisplayName": "Contoso Dental"}], "Item": [SERVICE_ITEM]})
    customers = {c["DisplayName"]: c["Id"] for c in qbo.state()["Customer"]}
    item_id = qbo.state()["Item"][0]["Id"]
    return {"customer": customers["Contoso Dental"], "item": item_id}


# -- connection and plumbing ---------------------------------------------------------------------


def test_hook_identifies_its_connection_type():
    assert QuickBooksOnlineHook.conn_type == "quickbooks_online"
    assert QuickBooksOnlineHook.default_conn_name == "qbo_default"
    assert QuickBooksOnlineHook.conn_name_attr == "qbo_conn_id"
    assert QuickBooksOnlineHook.hook_name == "QuickBooks Online"


def test_every_call_carries_minorversion_from_the_connection(connect, make_hook, qbo):
    make_hook().company_info()
    assert query_args(qbo.api_calls("companyinfo")[-1])["minorversion"] == ["75"]
    connect(minorversion=76)
    make_hook().preferences()
    assert query_args(qbo.api_calls("preferences")[-1])["minorversion"] == ["76"]


def test_missing_realm_names_the_connection_and_the_fix(connect, make_hook):
    from atqbo.exceptions import AtqboConfigError

    connect(realm_id="")
    with pytest.raises(AtqboConfigError, match="qbo_default.*realm_id"):
        make_hook().company_info()


def test_company_info_preferences_and_connection_test(hook, qbo):
    assert hook.company_info()["CompanyName"] == "Sandbox MSP Books"
    prefs = hook.preferences()
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    qbo.seed({"Preferences": {"SalesFormsPrefs": {"CustomTxnNumbers": False}}})
    assert hook.preferences()["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    ok, message = hook.test_connection()
    assert ok and "Sandbox MSP Books" in message


# -- queries ---------------------------------------------------------------------------------------


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


# -- single records --------------------------------------------------------------------------------


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


# -- idempotency -----------------------------------------------------------------------------------


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


def test_bey01_create_retried_after_commit_then_error_creates_exactly_one(hook, books, qbo):
    qbo.fault(method="POST", path="/invoice$", mode="commit_then_error", times=1)
    invoice = hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="ONCE-1"))
    posts = qbo.api_calls("invoice", "POST")
    assert [p["status"] for p in posts] == [502, 200]
    assert posts[0]["requestid"] == posts[1]["requestid"]
    assert [i["Id"] for i in qbo.state()["Invoice"]] == [invoice["Id"]]


# -- throttling, server errors, dropped connections ------------------------------------------------


def test_err03_xml_429_is_retried_with_backoff(make_hook, qbo):
    sleep = RecordingSleep()
    hook = make_hook(sleep=sleep, backoff_base=0.5, backoff_max=60.0)
    hook.company_info()
    qbo.fault(path="/query$", mode="throttle_429", times=2)
    assert hook.query("SELECT * FROM Customer") == []
    assert [c["status"] for c in qbo.api_calls("query")] == [429, 429, 200]
    # throttle waits start higher than plain backoff and climb: 1-2 s, then 2-4 s (jittered)
    assert len(sleep.calls) == 2 and 1.0 <= sleep.calls[0] <= 2.0 and 2.0 <= sleep.calls[1] <= 4.0


def test_err03_persistent_throttling_raises_qbo_throttled(make_hook, qbo):
    hook = make_hook(max_retries=2)
    hook.company_info()
    qbo.fault(path="/query$", mode="throttle_429")
    with pytest.raises(QboThrottled) as err:
        hook.query("SELECT * FROM Customer")
    assert err.value.status == 429 and err.value.code == "3001" and err.value.intuit_tid
    assert len(qbo.api_calls("query")) == 3


class _JsonThrottleProxy:
    """A real HTTP proxy in front of the sandbox that answers the first ``times`` API calls with
    a JSON 429 and a Retry-After header (the sandbox itself answers 429 in XML, like QBO mostly does)."""

    def __init__(self, upstream: str, times: int, retry_after: str):
        self.upstream = upstream
        self.remaining = times
        self.retry_after = retry_after
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy.lock:
                    throttle = proxy.remaining > 0
                    proxy.remaining -= 1 if throttle else 0
                if throttle:
                    payload = json.dumps(json.loads((DATA / "qbo_429.json").read_text())["json_equivalent"]).encode()
                    status, headers = 429, {"Content-Type": "application/json", "Retry-After": proxy.retry_after}
                else:
                    upstream = requests.request(
                        self.command,
                        proxy.upstream + self.path,
                        data=body,
                        headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                        timeout=10,
                    )
                    status, payload = upstream.status_code, upstream.content
                    headers = {"Content-Type": upstream.headers.get("Content-Type", "application/json")}
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_err03_json_429_honours_retry_after(monkeypatch, qbo, state):
    proxy = _JsonThrottleProxy(qbo.base_url, times=2, retry_after="3")
    try:
        conn = qbo.server.connections()["qbo_default"]
        conn["host"] = proxy.url  # the API through the proxy; the token endpoint stays direct
        monkeypatch.setenv("AIRFLOW_CONN_QBO_DEFAULT", json.dumps(conn))
        sleep = RecordingSleep()
        hook = hook_factory(state)(sleep=sleep, backoff_max=60.0)
        assert hook.company_info()["CompanyName"] == "Sandbox MSP Books"
        assert sleep.calls == [3.0, 3.0]  # exactly what the server asked for
        assert len(qbo.api_calls("companyinfo")) == 1  # the two refusals never reached QBO
    finally:
        proxy.close()


@pytest.mark.parametrize("mode, status", [("error_503", 503), ("error_500", 500)])
def test_5xx_is_retried_then_succeeds(hook, qbo, mode, status):
    qbo.fault(path="/companyinfo", mode=mode, times=2)
    assert hook.company_info()["CompanyName"] == "Sandbox MSP Books"
    assert [c["status"] for c in qbo.api_calls("companyinfo")] == [status, status, 200]


def test_5xx_that_never_ends_raises_server_error(make_hook, qbo):
    hook = make_hook(max_retries=3)
    qbo.fault(path="/companyinfo", mode="error_503")
    with pytest.raises(QboServerError) as err:
        hook.company_info()
    assert err.value.status == 503 and "503" in str(err.value)
    assert len(qbo.api_calls("companyinfo")) == 4


def test_timeouts_and_dropped_connections_are_retried_with_the_same_requestid(connect, make_hook, qbo):
    connect(timeout=0.5)
    hook = make_hook()
    hook.company_info()
    qbo.fault(method="POST", path="/customer$", mode="timeout", latency_ms=1200, times=1)
    qbo.fault(method="POST", path="/customer$", mode="drop_connection", times=1)
    customer = hook.create("Customer", {"DisplayName": "Patient Co"})
    time.sleep(1.0)  # the sandbox logs the held request when its hold ends, after our retries
    posts = sorted(qbo.api_calls("customer", "POST"), key=lambda p: p["start"])
    assert [p["fault"] for p in posts] == ["timeout", "drop_connection", None]
    assert len({p["requestid"] for p in posts}) == 1
    assert [c["Id"] for c in qbo.state()["Customer"]] == [customer["Id"]]


def test_calls_in_flight_stay_within_qbos_concurrency_limit(make_hook, qbo):
    # 16 tasks of one worker process at once; QBO refuses the 11th concurrent call with a 429
    hooks = [make_hook(max_retries=0) for _ in range(16)]
    hooks[0].company_info()
    qbo.limits(latency_ms=150)
    qbo.clear_requests()
    errors: list[Exception] = []

    def read(h):
        try:
            h.company_info()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(h,)) for h in hooks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert [c["status"] for c in qbo.api_calls("companyinfo")] == [200] * 16


# -- batch ------------------------------------------------------------------------------------------


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


# -- change data capture ---------------------------------------------------------------------------


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


# -- typed faults over HTTP ------------------------------------------------------------------------


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


def _hold_name_list(qbo, hold_ms: int) -> threading.Thread:
    """Start a customer write that keeps QBO's name list busy for ``hold_ms``."""
    qbo.limits(name_write_ms=hold_ms)
    token = requests.post(
        f"{qbo.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": qbo.refresh_token()},
        auth=("atqbo-sandbox-client", "sandbox-client-secret"),
        timeout=10,
    ).json()["access_token"]
    thread = threading.Thread(
        target=requests.post,
        args=(f"{qbo.base_url}/v3/company/{REALM}/customer",),
        kwargs={
            "json": {"DisplayName": "Someone Else"},
            "headers": {"Authorization": f"Bearer {token}"},
            "timeout": 30,
        },
    )
    thread.start()
    deadline = time.monotonic() + 5
    while qbo.server.qbo._name_gate.current(REALM) == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    return thread


def test_err02_one_name_at_a_time_is_retried_after_a_pause(make_hook, qbo):
    hook = make_hook(one_name_pause=0.3, one_name_retries=5, sleep=time.sleep)  # a real pause
    hook.company_info()  # the hook's own token first: the other writer's refresh rotates it
    busy = _hold_name_list(qbo, 700)
    customer = hook.create("Vendor", {"DisplayName": "Patient Vendor"})
    busy.join()
    posts = qbo.api_calls("vendor", "POST")
    assert posts[0]["status"] == 400 and posts[-1]["status"] == 200
    assert customer["DisplayName"] == "Patient Vendor"
    assert len(qbo.state()["Vendor"]) == 1


def test_err02_one_name_at_a_time_raises_when_it_persists(make_hook, qbo):
    hook = make_hook(one_name_pause=0.05, one_name_retries=2)
    hook.company_info()
    busy = _hold_name_list(qbo, 1500)
    with pytest.raises(QboOneNameAtATime) as err:
        hook.create("Customer", {"DisplayName": "Impatient Co"})
    busy.join()
    assert err.value.code == "6000" and isinstance(err.value, QboBusinessValidation)
    assert [p["status"] for p in qbo.api_calls("customer", "POST") if p["requestid"]] == [400, 400, 400]


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


def test_secrets_never_reach_exceptions_or_logs(make_hook, qbo, state, caplog):
    caplog.set_level("DEBUG")
    hook = make_hook()
    hook.company_info()
    row = state.get_oauth_token(REALM)
    qbo.revoke_access_tokens(keep_refresh_token=row["refresh_token"])  # forces a 401 and a refresh
    qbo.fault(path="/query$", mode="throttle_429", times=1)
    hook.query("SELECT * FROM Customer")
    texts = [caplog.text]
    for failing in (lambda: hook.read("Customer", "404"), lambda: hook.create("Customer", {"DisplayName": "a:b"})):
        with pytest.raises(QboFault) as err:
            failing()
        texts += [str(err.value), repr(err.value), repr(hook), repr(hook.config), repr(hook.tokens)]
    qbo.seed({"oauth": {"revoke": True}})
    hook.tokens._access_token = None  # make it go to the token endpoint
    state.save_oauth_token(
        REALM,
        refresh_token=state.get_oauth_token(REALM)["refresh_token"],
        access_token=None,
        access_expires_at=None,
        refresh_expires_at=None,
        source_fingerprint=state.get_oauth_token(REALM)["source_fingerprint"],
        owner="test",
    )
    with pytest.raises(QboTokenRevoked) as err:
        hook.company_info()
    texts += [str(err.value), caplog.text]
    final = state.get_oauth_token(REALM)
    secrets = [
        row["refresh_token"],
        row["access_token"],
        final["refresh_token"],
        "sandbox-client-secret",
        "sandbox-refresh-token-0",
    ]
    for text in texts:
        for secret in secrets:
            assert secret not in text
