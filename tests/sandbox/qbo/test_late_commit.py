"""The ``commit_later`` fault over real HTTP: a write QBO is still processing after its client gave
up (or was killed) is applied seconds later, its answer going nowhere; a second write sent inside
that window is a second record, which is what atqbo must never send (BEY-01)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.sandbox.qbo_support import QboClient

HOLD_MS = 3000  # room for the steps inside the hold on a loaded machine


def wait_until_applied(sandbox, path: str, timeout: float = 10.0) -> dict[str, Any]:
    """The request log's entry of the held request: the server logs it once it is applied."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = [e for e in sandbox.requests.list("qbo") if e["fault"] == "commit_later" and e["path"].endswith(path)]
        if held:
            return held[-1]
        time.sleep(0.05)
    raise AssertionError(f"the held request to {path} was never applied")


def send_and_give_up(qbo, path: str, body: dict[str, Any], requestid: str) -> None:
    """The client's side: it sends, waits 0.3 s and goes; the request stays with QBO."""
    with pytest.raises((requests.ReadTimeout, requests.ConnectionError)):
        qbo.call("POST", path, json=body, params={"requestid": requestid}, timeout=0.3)


def invoice_count(qbo) -> int:
    return qbo.query("select count(*) from Invoice")["totalCount"]


def test_bey01_commit_later_applies_a_single_create_after_the_client_has_gone(fresh_sandbox, qbo, books):
    fresh_sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": "/invoice$", "mode": "commit_later", "latency_ms": HOLD_MS}
    )
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 75, PrivateNote="Autotask invoice 7")
    started = time.monotonic()
    send_and_give_up(qbo, "invoice", body, "rid-late-1")
    assert invoice_count(qbo) == 0  # not yet: QBO is still on it
    entry = wait_until_applied(fresh_sandbox, "/invoice")
    assert time.monotonic() - started >= HOLD_MS / 1000
    assert entry["status"] is None and entry["requestid"] == "rid-late-1"  # nobody got the answer
    assert invoice_count(qbo) == 1


def test_bey01_commit_later_applies_a_batch_and_a_second_key_inside_the_window_duplicates(fresh_sandbox, qbo, books):
    fresh_sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": "/batch$", "mode": "commit_later", "latency_ms": HOLD_MS, "times": 1}
    )
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 40, PrivateNote="Autotask invoice 8")
    batch = {"BatchItemRequest": [{"bId": "8", "operation": "create", "Invoice": body}]}
    send_and_give_up(qbo, "batch", batch, "rid-killed-run")
    # a later run sends the same invoice under its own key while the first batch is still held
    again = qbo.post("batch", batch, requestid="rid-next-run")
    assert again.status_code == 200 and "Invoice" in again.json()["BatchItemResponse"][0]
    assert invoice_count(qbo) == 1
    wait_until_applied(fresh_sandbox, "/batch")
    assert invoice_count(qbo) == 2  # the duplicate the real QBO would make too


def test_bey01_commit_later_with_the_same_requestid_is_answered_from_the_first_applied(fresh_sandbox, qbo, books):
    fresh_sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": "/invoice$", "mode": "commit_later", "latency_ms": HOLD_MS, "times": 1}
    )
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 30)
    send_and_give_up(qbo, "invoice", body, "rid-same")
    retry = qbo.post("invoice", body, requestid="rid-same")
    assert retry.status_code == 200
    wait_until_applied(fresh_sandbox, "/invoice")
    assert invoice_count(qbo) == 1  # the held request reaches the requestid check after the retry


def test_bey01_commit_later_name_create_is_refused_when_the_name_was_taken_meanwhile(fresh_sandbox, qbo):
    fresh_sandbox.faults.add(
        {
            "api": "qbo",
            "method": "POST",
            "path": "/customer$",
            "mode": "commit_later",
            "latency_ms": HOLD_MS,
            "times": 1,
        }
    )
    send_and_give_up(qbo, "customer", {"DisplayName": "Fabrikam"}, "rid-name-1")
    qbo.customer("Fabrikam")
    wait_until_applied(fresh_sandbox, "/customer")
    assert qbo.query("select count(*) from Customer where DisplayName = 'Fabrikam'")["totalCount"] == 1


def test_bey01_commit_later_ends_when_the_test_releases_the_hold(fresh_sandbox, qbo, books):
    """``POST /_sandbox/faults/release``: a test that must see its run finish inside the hold holds
    the request long and releases it then, instead of guessing how long a run takes."""
    fresh_sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": "/invoice$", "mode": "commit_later", "latency_ms": 120_000}
    )
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 20, PrivateNote="Autotask invoice 9")
    send_and_give_up(qbo, "invoice", body, "rid-released")
    time.sleep(0.5)
    assert invoice_count(qbo) == 0  # still held: 120 s
    released = requests.post(f"{fresh_sandbox.base_url}/_sandbox/faults/release", timeout=10)
    assert released.status_code == 200 and released.json()["status"] == "released"
    started = time.monotonic()
    entry = wait_until_applied(fresh_sandbox, "/invoice")
    assert time.monotonic() - started < 5 and entry["requestid"] == "rid-released"
    assert invoice_count(qbo) == 1


def test_bey01_a_reset_drops_a_held_request_instead_of_applying_it_to_the_next_books(fresh_sandbox, qbo, books):
    """A test that ends (or fails) while a request is held must not leave it to land in the next
    test's books: the sandbox's reset drops it, unlogged."""
    fresh_sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": "/invoice$", "mode": "commit_later", "latency_ms": 120_000}
    )
    body = qbo.invoice_body(books["customer"]["Id"], books["item"]["Id"], 20, PrivateNote="Autotask invoice 10")
    send_and_give_up(qbo, "invoice", body, "rid-dropped")
    assert fresh_sandbox.faults.holding() == 1
    fresh_sandbox.reset()
    # the next test's books: the same customer and item again, under the same ids
    nxt = QboClient(fresh_sandbox.base_url)
    assert nxt.customer("Contoso Dental")["Id"] == books["customer"]["Id"]
    assert nxt.service_item("Managed Services", 120)["Id"] == books["item"]["Id"]
    time.sleep(0.5)  # the held thread has woken and gone
    assert fresh_sandbox.faults.holding() == 0
    assert not [e for e in fresh_sandbox.requests.list("qbo") if e["requestid"] == "rid-dropped"]
    assert invoice_count(nxt) == 0
