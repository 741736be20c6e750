"""TOOL-08 in the Airflow UI: the atqbo plugin's JSON API through a real ``airflow api-server``.

Seeds the server's state database with the ledger (error-log entries, sync records, run history),
calls the plugin's endpoints over HTTP with JWTs from the server's /auth/token, and checks the
answers, the ledger and, for retries that must clear an Autotask marker, the atqbo_retry_errors
DagRun through Airflow's own REST API.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.net_support import REPO, free_port
from tests.ui.ui_support import RETRY_DAG_ID

pytestmark = pytest.mark.integration


def _error(
    ledger,
    entity: str,
    autotask_id: int | None,
    message: str,
    *,
    fix: str | None = None,
    failed_status: bool = True,
    occurred: datetime | None = None,
) -> int:
    """An error-log entry as a sync logs it (with the record's ERROR status in the ledger)."""
    error_id = ledger.log_error(entity, autotask_id, message, fix=fix, dag_id=f"atqbo_{entity}s", run_id="scheduled__1")
    if autotask_id is not None and failed_status:
        ledger.set_sync_status(entity, autotask_id, "ERROR", last_error=message)
    if occurred is not None:
        with ledger.transaction() as tx:
            tx._conn.cursor().execute(
                "UPDATE atqbo_error_log SET occurred_at = ? WHERE id = ?",
                (occurred.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), error_id),
            )
    return error_id


def _status(ledger, entity: str, autotask_id: int) -> str:
    return ledger.get_sync_record(entity, autotask_id)["status"]


# -- the plugin is there, once, and its endpoints are Airflow-protected ---------------------------------------


def test_tool08_exactly_one_atqbo_plugin_loads_and_no_package_module_is_loaded_as_a_plugin_file():
    """The plugins folder holds the atqbo package; .airflowignore keeps the loader to atqbo_ui.py."""
    probe = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from airflow import plugins_manager\n"
        "info = plugins_manager.get_plugin_info()\n"
        "pkg = Path(sys.argv[1]).resolve()\n"
        "loose = sorted(n for n, m in list(sys.modules.items()) if getattr(m, '__file__', None)\n"
        "               and Path(m.__file__).resolve().is_relative_to(pkg) and not n.startswith('atqbo'))\n"
        "print(json.dumps({'plugins': [[p['name'], str(p['source'])] for p in info],\n"
        "                  'errors': plugins_manager.get_import_errors(), 'loose': loose}))\n"
    )
    env = {**os.environ, "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins")}
    result = subprocess.run(
        [sys.executable, "-c", probe, str(REPO / "plugins" / "atqbo")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["errors"] == {}
    assert [name for name, _ in out["plugins"] if "atqbo" in name] == ["atqbo_ui"]
    assert [source for name, source in out["plugins"] if name == "atqbo_ui"] == ["$PLUGINS_FOLDER/atqbo_ui.py"]
    assert out["loose"] == []  # e.g. no "ledger" or "app" module loaded from plugins/atqbo/ as a plugin file


def test_tool08_the_api_server_mounts_the_app_and_lists_the_view_under_browse(ui_server):
    plugins = ui_server.get("/api/v2/plugins").json()["plugins"]
    ours = [p for p in plugins if p["name"] == "atqbo_ui"]
    assert len(ours) == 1
    assert [a["url_prefix"] for a in ours[0]["fastapi_apps"]] == ["/atqbo"]
    [view] = ours[0]["external_views"]
    assert (view["href"], view["destination"], view["category"], view["url_route"]) == (
        "/atqbo/errors",
        "nav",
        "browse",
        "atqbo-error-log",
    )
    assert ui_server.get("/api/v2/plugins/importErrors").json()["import_errors"] == []


def test_tool08_anonymous_and_forged_requests_are_refused(ui_server, state, settings):
    error_id = _error(state, "payment", 501, "Customer not found")
    reads = [
        "/atqbo/errors",
        "/atqbo/api/errors",
        "/atqbo/api/runs",
        "/atqbo/static/error_log.js",
        "/atqbo/static/error_log.css",
    ]
    for path in reads:
        assert ui_server.get(path, user=None).status_code == 401, path
        forged = ui_server.get(path, user=None, headers={"Authorization": "Bearer not-a-jwt"})
        assert forged.status_code == 403, path
        assert ui_server.get(path, user=None, cookies={"_token": "not-a-jwt"}).status_code == 403, path
        assert ui_server.get(path, user="viewer").status_code == 200, path
    # The page says what to do, as a page.
    page = ui_server.get("/atqbo/errors", user=None)
    assert "text/html" in page.headers["content-type"] and "not signed in to Airflow" in page.text
    # Retrying needs the right to trigger atqbo_retry_errors: not anonymous, not a viewer.
    retry = f"/atqbo/api/errors/{error_id}/retry"
    assert ui_server.post(retry, user=None).status_code == 401
    assert ui_server.post(retry, user="viewer").status_code == 403
    assert state.get_error(error_id)["retry_requested_at"] is None
    # A viewer's page offers no Retry button.
    assert 'class="retry"' not in ui_server.get("/atqbo/errors", user="viewer").text
    # Nothing unprotected: no docs or schema (Swagger would also load from a CDN).
    for path in ("/atqbo/docs", "/atqbo/redoc", "/atqbo/openapi.json"):
        assert ui_server.get(path).status_code == 404, path


# -- reading the log and the run history -----------------------------------------------------------------------


def test_tool08_errors_api_lists_open_entries_newest_first_with_the_retry_dags_filters(ui_server, state, settings):
    now = datetime.now(UTC)
    old = _error(state, "invoice", 29684001, "Closed period", fix="Reopen the period", occurred=now - timedelta(days=9))
    payment = _error(state, "payment", 501, "Customer not found", occurred=now - timedelta(days=2))
    po = _error(
        state,
        "purchase_order",
        7001,
        "Vendor currency differs",
        fix="Match currencies",
        occurred=now - timedelta(hours=1),
    )
    run_level = _error(state, "invoice", None, "QBO refresh token revoked", fix="Reconnect QBO", occurred=now)
    resolved = _error(state, "invoice", 29684002, "Item missing", occurred=now - timedelta(days=1))
    state.resolve_errors("invoice", 29684002)

    body = ui_server.get("/atqbo/api/errors").json()
    assert [e["id"] for e in body["errors"]] == [run_level, po, payment, old]
    assert body["total"] == 4 and body["filters"] == {
        "entity": None,
        "since": None,
        "include_resolved": False,
        "qbo_company": None,
    }
    by_id = {e["id"]: e for e in body["errors"]}
    assert by_id[po]["entity"] == "purchase_order" and by_id[po]["autotask_id"] == 7001
    assert by_id[po]["message"] == "Vendor currency differs" and by_id[po]["fix"] == "Match currencies"
    assert by_id[po]["attempts"] == 1 and by_id[po]["retry_requested_at"] is None
    assert by_id[po]["retryable"] and by_id[po]["clears_marker"]  # a PO's ERROR is in its External PO Number
    assert by_id[old]["clears_marker"]  # invoiceNumber marker mode
    assert by_id[payment]["retryable"] and not by_id[payment]["clears_marker"]
    assert not by_id[run_level]["retryable"]

    invoices = ui_server.get("/atqbo/api/errors", params={"entity": "invoice"}).json()["errors"]
    assert [e["id"] for e in invoices] == [run_level, old]
    assert ui_server.get("/atqbo/api/errors", params={"entity": "all"}).json()["errors"] == body["errors"]
    since = (now - timedelta(days=3)).date().isoformat()
    recent = ui_server.get("/atqbo/api/errors", params={"since": since}).json()["errors"]
    assert [e["id"] for e in recent] == [run_level, po, payment]
    everything = ui_server.get("/atqbo/api/errors", params={"entity": "invoice", "include_resolved": "true"}).json()
    assert [e["id"] for e in everything["errors"]] == [run_level, resolved, old]
    assert everything["errors"][1]["resolved_at"] and not everything["errors"][1]["retryable"]

    # The same entry logged again is counted, not repeated.
    _error(state, "payment", 501, "Customer not found")
    again = ui_server.get("/atqbo/api/errors", params={"entity": "payment"}).json()["errors"]
    assert [(e["id"], e["attempts"]) for e in again] == [(payment, 2)]

    bad = ui_server.get("/atqbo/api/errors", params={"entity": "invoices"})
    assert bad.status_code == 422
    assert bad.json()["error"].startswith("entity: 'invoices' is not one of invoice, invoice_void, payment")
    bad = ui_server.get("/atqbo/api/errors", params={"since": "last week"})
    assert bad.status_code == 422 and bad.json()["error"] == "since: 'last week' is not a date"
    assert "YYYY-MM-DD" in bad.json()["fix"]


def test_tool08_runs_api_gives_the_last_runs_counts(ui_server, state, settings):
    state.record_run("atqbo_invoices", "scheduled__a", {"created": 3, "error": 1}, window="2026-01-01..2026-01-15")
    state.record_run("atqbo_payments", "scheduled__b", {"applied": 2})
    state.record_run("atqbo_invoices", "manual__c", {"created": 0}, dry_run=True)

    runs = ui_server.get("/atqbo/api/runs").json()["runs"]
    assert [(r["dag_id"], r["run_id"]) for r in runs][0] == ("atqbo_invoices", "manual__c")
    assert {(r["dag_id"], r["run_id"]) for r in runs} == {
        ("atqbo_invoices", "scheduled__a"),
        ("atqbo_payments", "scheduled__b"),
        ("atqbo_invoices", "manual__c"),
    }
    first = next(r for r in runs if r["run_id"] == "scheduled__a")
    assert first["counts"] == {"created": 3, "error": 1} and first["run_window"] == "2026-01-01..2026-01-15"
    assert runs[0]["dry_run"] is True and runs[0]["counts"] == {"created": 0}
    invoices = ui_server.get("/atqbo/api/runs", params={"dag_id": "atqbo_invoices", "limit": 1}).json()["runs"]
    assert [r["run_id"] for r in invoices] == ["manual__c"]
    assert ui_server.get("/atqbo/api/runs", params={"limit": 0}).status_code == 422


# -- Retry ---------------------------------------------------------------------------------------------------------


def test_tool08_retry_of_a_void_requeues_it_at_once_without_a_dag_run(ui_server, state, settings):
    """No Autotask marker to clear: the ledger's part is all there is, done by the API server."""
    error_id = _error(state, "invoice_void", 8001, "Invoice has payments applied", fix="Remove the payment in QBO")
    runs_before = ui_server.dag_runs() if ui_server.retry_dag_known() else []

    r = ui_server.post(f"/atqbo/api/errors/{error_id}/retry")
    assert r.status_code == 200, r.text
    body = r.json()
    entry = state.get_error(error_id)
    assert entry["retry_requested_at"] and body["retry_requested_at"] == entry["retry_requested_at"]
    assert _status(state, "invoice_void", 8001) == "PENDING"
    assert (body["requeued"], body["clears_marker"], body["dag_run_id"]) == (True, False, None)
    assert body["message"] == "invoice_void 8001: re-queued; the next atqbo_invoice_voids run sends it again"
    if ui_server.retry_dag_known():
        assert ui_server.dag_runs() == runs_before
    # Still open until the next run sends it; retrying again asks again.
    assert [e["id"] for e in ui_server.get("/atqbo/api/errors").json()["errors"]] == [error_id]
    assert ui_server.post(f"/atqbo/api/errors/{error_id}/retry").status_code == 200


def test_tool08_retry_of_a_payment_asks_for_the_retry_and_leaves_it_to_the_payment_sync(ui_server, state, settings):
    """The payment sync tries every ERROR payment again at each run: the retry only records the request."""
    error_id = _error(state, "payment", 501, "Customer not found")
    body = ui_server.post(f"/atqbo/api/errors/{error_id}/retry").json()
    assert (body["requeued"], body["clears_marker"], body["dag_run_id"]) == (True, False, None)
    assert state.get_error(error_id)["retry_requested_at"] == body["retry_requested_at"] is not None
    assert body["message"] == "payment 501: re-queued; the next atqbo_payments run sends it again"


def test_tool08_retry_of_an_invoice_in_webservicedate_mode_needs_no_marker_cleared(ui_server, state, settings):
    settings(invoice_marker_field="webServiceDate")
    error_id = _error(state, "invoice", 29684001, "Closed period")
    body = ui_server.post(f"/atqbo/api/errors/{error_id}/retry").json()
    assert (body["requeued"], body["clears_marker"], body["dag_run_id"]) == (True, False, None)
    assert state.get_error(error_id)["retry_requested_at"] and _status(state, "invoice", 29684001) == "PENDING"


def test_tool08_retry_needing_a_marker_cleared_is_refused_cleanly_while_the_retry_dag_is_not_in_airflow(
    ui_server, state, settings
):
    if ui_server.retry_dag_known():  # as on a fresh deployment before the DAG processor has parsed the file
        assert ui_server.get(f"/api/v2/dags/{RETRY_DAG_ID}", user="admin").status_code == 200
        r = requests.delete(f"{ui_server.base}/api/v2/dags/{RETRY_DAG_ID}", headers=ui_server.headers(), timeout=30)
        assert r.status_code == 204, r.text
    error_id = _error(state, "purchase_order", 7001, "Vendor currency differs")

    r = ui_server.post(f"/atqbo/api/errors/{error_id}/retry")
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["error"] == (
        "the atqbo_retry_errors DAG that clears ERROR markers in Autotask is not in Airflow "
        "(not parsed yet, or its file is missing)"
    )
    assert "dags/atqbo_retry_errors.py" in body["fix"] and "nothing was changed" in body["fix"]
    assert "Traceback" not in r.text
    # Nothing written.
    assert state.get_error(error_id)["retry_requested_at"] is None
    assert _status(state, "purchase_order", 7001) == "ERROR"


@pytest.mark.parametrize("entity, autotask_id", [("invoice", 29684001), ("purchase_order", 7001)])
def test_tool08_retry_with_an_autotask_error_marker_triggers_atqbo_retry_errors_for_that_record(
    ui_server, state, settings, retry_dag, entity, autotask_id
):
    """invoiceNumber-mode invoice / PO: re-queued now, and a DagRun of atqbo_retry_errors clears the marker."""
    error_id = _error(state, entity, autotask_id, "Rejected by QBO")
    before = {run["dag_run_id"] for run in ui_server.dag_runs()}

    r = ui_server.post(f"/atqbo/api/errors/{error_id}/retry")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["requeued"], body["clears_marker"], body["dag_id"]) == (True, True, RETRY_DAG_ID)
    assert state.get_error(error_id)["retry_requested_at"] == body["retry_requested_at"] is not None
    assert _status(state, entity, autotask_id) == "PENDING"
    assert f"{RETRY_DAG_ID} run {body['dag_run_id']} clears its ERROR marker in Autotask" in body["message"]

    new = [run for run in ui_server.dag_runs() if run["dag_run_id"] not in before]
    assert [run["dag_run_id"] for run in new] == [body["dag_run_id"]]
    run = new[0]
    assert run["conf"] == {"entity": entity, "autotask_ids": [autotask_id]}
    assert run["run_type"] == "manual" and run["state"] == "queued"
    assert run["triggering_user_name"] == "admin"
    assert body["dag_paused"] == ui_server.get(f"/api/v2/dags/{RETRY_DAG_ID}").json()["is_paused"]


def test_tool08_retry_refuses_resolved_run_level_and_unknown_entries_and_writes_nothing(ui_server, state, settings):
    resolved = _error(state, "invoice", 29684002, "Item missing")
    state.resolve_errors("invoice", 29684002)
    run_level = _error(state, "invoice", None, "QBO refresh token revoked")

    r = ui_server.post(f"/atqbo/api/errors/{resolved}/retry")
    assert r.status_code == 409 and "already resolved: nothing to retry" in r.json()["error"]
    r = ui_server.post(f"/atqbo/api/errors/{run_level}/retry")
    assert r.status_code == 409 and "run-level error and names no record" in r.json()["error"]
    assert r.json()["fix"] == "fix what it says; the next run tries again"
    r = ui_server.post("/atqbo/api/errors/999999/retry")
    assert r.status_code == 404 and r.json()["error"] == "error-log entry 999999 does not exist"
    assert ui_server.post("/atqbo/api/errors/abc/retry").status_code == 422
    assert state.get_error(resolved)["retry_requested_at"] is None
    assert state.get_error(run_level)["retry_requested_at"] is None


# -- settings and state-database problems: 503 with the fix, on the API and the page ---------------------------


def _unavailable(ui_server, expect_error: str, expect_fix: str) -> None:
    r = ui_server.get("/atqbo/api/errors")
    assert r.status_code == 503, r.text
    assert expect_error in r.json()["error"], r.json()
    assert expect_fix in r.json()["fix"], r.json()
    assert ui_server.get("/atqbo/api/runs").status_code == 503
    assert ui_server.post("/atqbo/api/errors/1/retry").status_code == 503
    page = ui_server.get("/atqbo/errors")
    assert page.status_code == 503 and "The error log cannot be shown" in page.text
    assert expect_error.replace("'", "&#39;") in page.text
    for text in (r.text, page.text):
        assert "Traceback" not in text and 'File "' not in text


def test_tool08_bad_settings_or_an_unreachable_state_database_give_503_with_the_fix(ui_server, state, settings):
    settings()
    assert ui_server.get("/atqbo/api/errors").status_code == 200

    ui_server.set_settings("{not json")
    _unavailable(ui_server, "the atqbo_settings Variable is not valid JSON", "Admin > Variables")
    settings(invoice_lookback_days=-1, bogus=1)
    _unavailable(
        ui_server, "invoice_lookback_days: got -1, expected a whole number from 0 to 3650", "Admin > Variables"
    )
    settings(state_conn_id="atqbo_nowhere")
    _unavailable(
        ui_server,
        "the Airflow connection 'atqbo_nowhere' for the atqbo state database is missing",
        "Admin > Connections",
    )

    # Connections made in Admin > Connections (the metadata DB) are read too.
    def connection(conn_id: str, **fields) -> None:
        r = ui_server.post("/api/v2/connections", json={"connection_id": conn_id, **fields})
        assert r.status_code == 201, r.text

    connection("atqbo_state_gone", conn_type="sqlite", host=str(ui_server.home / "no-such-dir" / "state.db"))
    settings(state_conn_id="atqbo_state_gone")
    _unavailable(
        ui_server,
        f"the state database file {ui_server.home / 'no-such-dir' / 'state.db'} "
        "(connection 'atqbo_state_gone') does not exist",
        "the file the atqbo DAGs use",
    )
    assert not (ui_server.home / "no-such-dir").exists()  # the view creates nothing

    empty = ui_server.home / "empty.db"
    sqlite3.connect(empty).close()
    connection("atqbo_state_empty", conn_type="sqlite", host=str(empty))
    settings(state_conn_id="atqbo_state_empty")
    _unavailable(ui_server, "has no atqbo tables", "no atqbo DAG has run against it yet")

    password = "pw-Do-Not-Show-7c1f"
    port = free_port()  # nothing listens there
    connection(
        "atqbo_state_down",
        conn_type="postgres",
        host="127.0.0.1",
        port=port,
        login="atqbo",
        password=password,
        schema="atqbo",
    )
    settings(state_conn_id="atqbo_state_down")
    _unavailable(
        ui_server,
        f"the state database postgresql://atqbo@127.0.0.1:{port}/atqbo (connection "
        "'atqbo_state_down') cannot be reached (OperationalError",
        "that the database server is running",
    )
    for response in (ui_server.get("/atqbo/api/errors"), ui_server.get("/atqbo/errors")):
        assert password not in response.text

    settings()
    assert ui_server.get("/atqbo/api/errors").status_code == 200


def test_tool08_page_escapes_every_value(ui_server, state, settings):
    _error(state, "invoice", 29684001, '<script>alert("x")</script> & <b>Acme</b>', fix="<img src=x onerror=alert(1)>")
    state.record_run("atqbo_invoices", "manual__<i>x</i>", {"<b>created</b>": 1})
    page = ui_server.get("/atqbo/errors")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Acme&lt;/b&gt;" in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "manual__&lt;i&gt;x&lt;/i&gt;" in page.text and "&lt;b&gt;created&lt;/b&gt; 1" in page.text
    assert "<script>alert" not in page.text and "<img" not in page.text and "<i>x" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


# -- BEY-07: which QBO company --------------------------------------------------------------------------------


def _logged(state, autotask_id: int, company: str | None) -> int:
    return state.log_error(
        "invoice", autotask_id, "no QBO item for 'Travel'", dag_id="atqbo_invoices", qbo_company=company
    )


def test_bey07_errors_api_and_page_name_each_entrys_qbo_company_when_there_are_several(ui_server, state, settings):
    au, us = _logged(state, 29684001, "qbo_au"), _logged(state, 29684002, "qbo_default")
    payment = state.log_error("payment", 501, "Customer not found")  # the payment sync names no company
    body = ui_server.get("/atqbo/api/errors").json()
    assert {e["id"]: e["qbo_company"] for e in body["errors"]} == {au: "qbo_au", us: "qbo_default", payment: None}
    page = ui_server.get("/atqbo/errors").text
    assert '<th scope="col">QBO company</th>' in page
    assert '<td class="qbo-company">qbo_au</td>' in page and '<td class="qbo-company"></td>' in page

    # one company, no routes: the page as it was; the API still says which
    state.resolve_errors("invoice", 29684001)
    assert '<th scope="col">QBO company</th>' not in ui_server.get("/atqbo/errors").text
    # a routed install whose open errors are all of one company: the column says which
    settings(qbo_routes=[{"qbo_conn_id": "qbo_au", "company_ids": [29683501]}])
    state.resolve_errors("invoice", 29684002)
    _logged(state, 29684003, "qbo_au")
    page = ui_server.get("/atqbo/errors", params={"entity": "invoice"}).text
    assert '<th scope="col">QBO company</th>' in page and '<td class="qbo-company">qbo_au</td>' in page


def test_bey07_errors_api_and_page_filter_by_qbo_company(ui_server, state, settings):
    settings(qbo_routes=[{"qbo_conn_id": "qbo_au", "company_ids": [29683501]}])
    au, us = _logged(state, 29684011, "qbo_au"), _logged(state, 29684012, "qbo_default")
    payment = state.log_error("payment", 502, "Customer not found")
    body = ui_server.get("/atqbo/api/errors", params={"qbo_company": "qbo_au"}).json()
    assert [e["id"] for e in body["errors"]] == [au] and body["filters"]["qbo_company"] == "qbo_au"
    body = ui_server.get("/atqbo/api/errors", params={"qbo_company": "all"}).json()
    assert {e["id"] for e in body["errors"]} >= {au, us, payment} and body["filters"]["qbo_company"] is None

    # a company neither the settings nor the log know: refused, naming those it knows
    r = ui_server.get("/atqbo/api/errors", params={"qbo_company": "qbo_aus"})
    assert r.status_code == 422
    assert r.json()["error"] == "qbo_company: 'qbo_aus' is not one of qbo_default, qbo_au"
    assert "pick one of them" in r.json()["fix"]

    page = ui_server.get("/atqbo/errors", params={"qbo_company": "qbo_default"}).text
    assert '<select name="qbo_company">' in page
    assert '<option value="qbo_default" selected>qbo_default</option>' in page
    assert '<option value="qbo_au">qbo_au</option>' in page
    assert f'data-error-id="{us}"' in page and f'data-error-id="{au}"' not in page
    assert f'data-error-id="{payment}"' not in page
    page = ui_server.get("/atqbo/errors", params={"qbo_company": "qbo_aus"})
    assert page.status_code == 422 and "qbo_company: &#39;qbo_aus&#39; is not one of" in page.text

    # one company again (no routes): the log still names qbo_au, a route since removed, so the filter stays
    for autotask_id in (29684011, 29684012):
        state.resolve_errors("invoice", autotask_id)
    settings(qbo_routes=[])
    state.log_error("invoice", 29684013, "no QBO item for 'Travel'", qbo_company="qbo_default")
    page = ui_server.get("/atqbo/errors").text
    assert '<select name="qbo_company">' in page
    assert '<option value="qbo_au">qbo_au</option>' in page


def test_bey07_a_state_database_of_an_older_atqbo_gives_503_until_a_task_upgrades_it(ui_server, state, settings):
    from atqbo.ledger import Ledger

    old = ui_server.home / "state-v2.db"
    old.unlink(missing_ok=True)
    with sqlite3.connect(old) as db:  # the tables as schema version 2 made them
        ddl = (REPO / "tests" / "ledger" / "schema_v2.sql").read_text(encoding="utf-8")
        db.executescript(ddl.replace("__SERIAL_PK__", "INTEGER PRIMARY KEY AUTOINCREMENT"))
        db.execute("INSERT INTO atqbo_meta (key, value) VALUES ('schema_version', '2')")
        db.execute(
            "INSERT INTO atqbo_error_log (entity, autotask_id, message, attempts, occurred_at) "
            "VALUES ('invoice', 5, 'negative total', 1, '2026-11-01T00:00:00.000000Z')"
        )
    r = ui_server.post(
        "/api/v2/connections", json={"connection_id": "atqbo_state_v2", "conn_type": "sqlite", "host": str(old)}
    )
    assert r.status_code in (201, 409), r.text
    settings(state_conn_id="atqbo_state_v2")
    r = ui_server.get("/atqbo/api/errors")
    assert r.status_code == 503 and "has the tables of an older atqbo version" in r.json()["error"], r.text
    assert "the first task of any atqbo DAG upgrades the tables" in r.json()["fix"]
    page = ui_server.get("/atqbo/errors")
    assert page.status_code == 503 and "has the tables of an older atqbo version" in page.text
    assert ui_server.get("/atqbo/api/runs").status_code == 200  # the run history has not changed
    assert ui_server.post("/atqbo/api/errors/1/retry").status_code == 503
    with sqlite3.connect(old) as db:  # the view changed nothing
        assert "qbo_company" not in [c[1] for c in db.execute("PRAGMA table_info(atqbo_error_log)")]

    ledger = Ledger.from_url(f"sqlite:///{old}")  # what a DAG's first task does
    assert ledger.create_schema() == ["atqbo_error_log.qbo_company"]
    ledger.close()
    (entry,) = ui_server.get("/atqbo/api/errors").json()["errors"]
    assert (entry["message"], entry["qbo_company"]) == ("negative total", None)
    settings()
