"""The sandbox server over real HTTP: control endpoints, fault modes, SMTP part and the CLI."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest
import requests

from sandbox import Sandbox


@pytest.fixture
def sb():
    server = Sandbox(port=0, smtp_port=0).start()
    yield server
    server.stop()


def test_health_and_unknown_paths(sb):
    assert requests.get(f"{sb.base_url}/_sandbox/health", timeout=5).json()["status"] == "ok"
    assert requests.get(f"{sb.base_url}/_sandbox/nope", timeout=5).status_code == 404
    assert requests.get(f"{sb.base_url}/somewhere/else", timeout=5).status_code == 404


def test_an_answer_adds_no_delay_of_its_own(sb):
    """No answer waits for a delayed ACK (Nagle's algorithm between its headers and its body): without
    a latency set, the quickest of 20 calls on one kept-alive connection takes well under 40 ms (the
    connection's first call is left out: a new connection ACKs at once, so it is quick either way)."""
    with requests.Session() as session:
        times = []
        for _ in range(20):
            started = time.perf_counter()
            assert session.get(f"{sb.base_url}/_sandbox/health", timeout=5).status_code == 200
            times.append(time.perf_counter() - started)
    assert min(times[1:]) < 0.03, sorted(times)[:3]


def test_seed_is_all_or_nothing_across_both_apis(sb):
    before = requests.get(f"{sb.base_url}/_sandbox/state", timeout=5).json()
    bad = {
        "autotask": {"Companies": [{"id": 501, "companyName": "Fine Company", "companyType": 1}]},
        "qbo": {"Invoice": [{"CustomerRef": {"value": "does-not-exist"}, "Line": []}]},
    }
    r = requests.post(f"{sb.base_url}/_sandbox/seed", json=bad, timeout=5)
    assert r.status_code == 400 and r.json()["error"]
    assert requests.get(f"{sb.base_url}/_sandbox/state", timeout=5).json() == before
    r = requests.post(f"{sb.base_url}/_sandbox/seed", json={"payroll": {}}, timeout=5)
    assert r.status_code == 400 and "unknown top-level keys" in r.json()["error"]


def test_seed_by_name_and_state_round_trip(sb):
    assert requests.post(f"{sb.base_url}/_sandbox/seed?name=demo", timeout=30).status_code == 200
    state = requests.get(f"{sb.base_url}/_sandbox/state", timeout=10).json()
    assert len(state["autotask"]["Invoices"]) >= 20 and len(state["qbo"]["Customer"]) >= 10
    # Loading the dumped state into an empty sandbox gives the same state back.
    other = Sandbox(port=0).start()
    try:
        other.seed(state)
        assert other.state()["autotask"]["Invoices"] == state["autotask"]["Invoices"]
        assert other.state()["qbo"]["Invoice"] == state["qbo"]["Invoice"]
    finally:
        other.stop()


def test_reset_empties_and_clears_logs_and_faults(sb):
    sb.seed({"autotask": {"Companies": [{"companyName": "Gone Soon", "companyType": 1}]}})
    requests.post(f"{sb.base_url}/_sandbox/faults", json={"api": "qbo", "mode": "error_500"}, timeout=5)
    requests.get(f"{sb.base_url}/atservicesrest/v1.0/zoneInformation?user=x", timeout=5)
    assert requests.post(f"{sb.base_url}/_sandbox/reset", timeout=5).json() == {"status": "reset"}
    assert requests.get(f"{sb.base_url}/_sandbox/faults", timeout=5).json() == []
    assert requests.get(f"{sb.base_url}/_sandbox/requests", timeout=5).json() == []
    names = [c["companyName"] for c in sb.state()["autotask"]["Companies"]]
    assert "Gone Soon" not in names


def test_request_log_records_and_clears(sb):
    requests.get(f"{sb.base_url}/atservicesrest/v1.0/zoneInformation?user=nobody@x", timeout=5)
    log = requests.get(f"{sb.base_url}/_sandbox/requests?api=autotask", timeout=5).json()
    assert log[-1]["method"] == "GET" and log[-1]["path"].lower().endswith("/zoneinformation")
    assert {"api", "method", "path", "status", "start", "end", "requestid"} <= set(log[-1])
    assert requests.delete(f"{sb.base_url}/_sandbox/requests", timeout=5).status_code == 200
    assert requests.get(f"{sb.base_url}/_sandbox/requests", timeout=5).json() == []


def test_bad_limits_and_faults_are_refused_with_reasons(sb):
    r = requests.post(f"{sb.base_url}/_sandbox/limits", json={"stripe": {}}, timeout=5)
    assert r.status_code == 400 and "unknown api" in r.json()["error"]
    r = requests.post(f"{sb.base_url}/_sandbox/faults", json={"api": "qbo", "mode": "boom"}, timeout=5)
    assert r.status_code == 400 and "mode" in r.json()["error"]
    assert set(requests.get(f"{sb.base_url}/_sandbox/limits", timeout=5).json()) == {"autotask", "qbo"}


def test_drop_connection_and_timeout_faults_answer_nothing(sb):
    zone = f"{sb.base_url}/atservicesrest/v1.0/zoneInformation?user=x"
    sb.faults.add({"api": "autotask", "mode": "drop_connection", "times": 1})
    with pytest.raises(requests.ConnectionError):
        requests.get(zone, timeout=5)
    sb.faults.add({"api": "autotask", "mode": "timeout", "latency_ms": 1500, "times": 1})
    started = time.monotonic()
    with pytest.raises((requests.ReadTimeout, requests.ConnectionError)):
        requests.get(zone, timeout=0.5)
    assert time.monotonic() - started < 1.4


def test_smtp_part_keeps_messages_with_attachments(sb):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "atqbo@sandbox.local", "billing@msp.example", "atqbo report"
    msg.set_content("plain body")
    msg.add_alternative("<p>html body</p>", subtype="html")
    msg.add_attachment(b"id,qbo\n1,2\n", maintype="text", subtype="csv", filename="report.csv")
    with smtplib.SMTP(sb.host, sb.mail.port, timeout=5) as smtp:
        smtp.send_message(msg)
    mail = requests.get(f"{sb.base_url}/_sandbox/mail", timeout=5).json()
    assert len(mail) == 1
    m = mail[0]
    assert m["subject"] == "atqbo report" and m["envelope_to"] == ["billing@msp.example"]
    assert m["text"].strip() == "plain body" and "html body" in m["html"]
    assert m["attachments"] == [
        {"filename": "report.csv", "content_type": "text/csv", "size": 11, "text": "id,qbo\n1,2\n"}
    ]
    requests.delete(f"{sb.base_url}/_sandbox/mail", timeout=5)
    assert requests.get(f"{sb.base_url}/_sandbox/mail", timeout=5).json() == []


def test_mail_endpoint_says_when_smtp_is_off():
    server = Sandbox(port=0).start()
    try:
        r = requests.get(f"{server.base_url}/_sandbox/mail", timeout=5)
        assert r.status_code == 404 and "--smtp-port" in r.json()["error"]
    finally:
        server.stop()


def test_cli_prints_base_url_and_airflow_connections(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--seed", "empty", "--smtp-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline().strip() for _ in range(5)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert lines[0].startswith("sandbox listening on http://127.0.0.1:")
    assert lines[1].startswith("sandbox SMTP on 127.0.0.1:")
    conn_lines = [line for line in lines if line.startswith("AIRFLOW_CONN_")]
    assert {line.split("=", 1)[0] for line in conn_lines} == {
        "AIRFLOW_CONN_AUTOTASK_DEFAULT",
        "AIRFLOW_CONN_QBO_DEFAULT",
        "AIRFLOW_CONN_SMTP_DEFAULT",
    }
    assert proc.returncode in (0, -15)


def test_cli_refuses_a_bad_seed_with_the_reason(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"autotask": {"Invoices": [{"id": 1, "companyID": 424242}]}}')
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", "0", "--seed", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "refused" in result.stderr


def test_control_endpoints_refuse_non_loopback_clients(sb):
    from sandbox.core import Request

    outsider = Request.build("POST", "/_sandbox/reset", {}, b"", "192.0.2.10")
    response, _ = sb.dispatch(outsider)
    assert response.status == 403
    insider = Request.build("GET", "/_sandbox/health", {}, b"", "::1")
    assert sb.dispatch(insider)[0].status == 200
