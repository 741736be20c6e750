"""Tests of ``atqbo.hooks.qbo_client``, the one HTTP path of the QBO hook, against the sandbox over
HTTP: the connection, retries of throttling, 5xx and lost answers (with the same requestid), "one
name at a time" (ERR-02), QBO's concurrency limit, and secrets kept out of faults and logs.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from atqbo.hooks.qbo import (
    QboBusinessValidation,
    QboFault,
    QboOneNameAtATime,
    QboServerError,
    QboThrottled,
    QboTokenRevoked,
)
from tests.hooks.qbo_support import DATA, REALM, RecordingSleep, hook_factory, invoice_body, query_args


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


def test_bey01_create_retried_after_commit_then_error_creates_exactly_one(hook, books, qbo):
    qbo.fault(method="POST", path="/invoice$", mode="commit_then_error", times=1)
    invoice = hook.create("Invoice", invoice_body(books["customer"], books["item"], DocNumber="ONCE-1"))
    posts = qbo.api_calls("invoice", "POST")
    assert [p["status"] for p in posts] == [502, 200]
    assert posts[0]["requestid"] == posts[1]["requestid"]
    assert [i["Id"] for i in qbo.state()["Invoice"]] == [invoice["Id"]]


def test_bey01_every_attempt_of_a_write_is_dated_as_it_goes_out(hook, books, qbo):
    """``before_send`` runs before each attempt (a retry too), so the caller can date the last one:
    QBO may commit a write for a while after it went out, and no run may send it again until then."""
    qbo.fault(method="POST", path="/batch$", mode="error_503", times=1)
    sent: list[int] = []

    def before_send() -> None:
        sent.append(len(qbo.api_calls("batch", "POST")))  # how many had reached QBO before this one

    item = {"bId": "1", "operation": "create", "Invoice": invoice_body(books["customer"], books["item"])}
    (result,) = hook.batch([item], requestid="rid-dated", before_send=before_send)
    assert "Invoice" in result
    assert [c["status"] for c in qbo.api_calls("batch", "POST")] == [503, 200]
    assert sent == [0, 1]  # once before each attempt, each time before it reached QBO
    hook.create("Customer", {"DisplayName": "Dated Co"}, before_send=before_send)
    assert len(sent) == 3
    hook.company_info()  # reads are not dated
    assert len(sent) == 3


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


def test_bey07_bey08_counting_calls_sums_every_hooks_calls_from_every_thread_while_open(make_hook, qbo):
    """``counting_calls``: a step that makes hooks of its own (one per QBO company) is counted whole."""
    from concurrent.futures import ThreadPoolExecutor

    from atqbo.hooks.qbo import counting_calls

    first, second = make_hook(), make_hook()
    first.company_info()  # before: not counted
    with counting_calls() as tally, counting_calls() as inner:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda h: h.company_info(), (first, second, second)))
        assert inner.calls == 3
    first.company_info()  # after: not counted
    assert tally.calls == 3
    assert (first.api_calls, second.api_calls) == (3, 2)  # each hook's own count goes on as before
