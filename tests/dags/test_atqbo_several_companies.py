"""BEY-07: one Autotask database, several QBO companies. ``atqbo_invoices`` runs with ``dag.test()``
on the sandbox's ``multi-company`` seed: the demo Autotask tenant as a US MSP, its QBO company with
automated sales tax (``qbo_default``), an Australian GST company (``qbo_au``, its own app) and a US
company with manual sales tax (``qbo_manual``, the default's app). Each company's books are checked
record by record: every Autotask invoice is in the company its route names, once, made with that
company's settings, and the ledger says which realm has it."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from datetime import datetime

import pytest
import requests

from tests.dags.companies_support import (
    atqbo_docs,
    au_customer,
    autotask_state,
    books,
    ledger_realms,
    realms,
    report_html,
    route_settings,
    run,
    use_settings,
    where_invoices_are,
)
from tests.dags.dag_support import outcome_state
from tests.dags.tenant_support import export_connections

pytestmark = pytest.mark.integration


def test_bey07_two_companies_each_invoice_goes_to_its_companys_books_once(multi_company, monkeypatch):
    sb = multi_company
    au_id = au_customer(sb)
    use_settings(monkeypatch, [{"qbo_conn_id": "qbo_au", "company_ids": [au_id], "settings": route_settings("qbo_au")}])
    invoices, _ = autotask_state(sb)
    unsynced = {i for i, inv in invoices.items() if not inv.get("webServiceDate") and not inv.get("isVoided")}
    run("atqbo_invoices")

    found = where_invoices_are(sb)
    invoices, _ = autotask_state(sb)
    sent = {i for i in unsynced if invoices[i].get("webServiceDate")}
    assert sent and {i for i in sent if invoices[i]["companyID"] == au_id}, re.sub(
        r"<[^>]+>", " ", report_html(sb, "[atqbo] invoices")
    )[:6000]
    for autotask_id in sent:
        expected = "qbo_au" if invoices[autotask_id]["companyID"] == au_id else "qbo_default"
        assert found.get(autotask_id) == [expected], (autotask_id, found.get(autotask_id))
    assert set(found) - set(sent) <= {i for i in found if i not in unsynced}  # nothing else was created
    # the ledger names the realm of each: two companies never share a row
    assert {i: r for i, r in ledger_realms("invoice").items() if i in sent} == {
        i: realms(sb)[found[i][0]] for i in sent
    }
    # the AU company's invoices were made with its settings: GST codes on every line, tax excluded
    au_book = books(sb)["qbo_au"]
    au_codes = {c["Id"] for c in au_book.get("TaxCode", [])}
    au_sent = atqbo_docs(au_book, "Invoice", "Autotask invoice")
    assert set(au_sent) == {i for i in unsynced if invoices[i]["companyID"] == au_id}  # every one, with GST
    for autotask_id, docs in au_sent.items():
        assert docs[0]["TotalAmt"] == invoices[autotask_id]["invoiceTotal"]  # QBO's GST is Autotask's
        assert docs[0]["CurrencyRef"]["value"] == "AUD"
        lines = [line for line in docs[0]["Line"] if line.get("DetailType") == "SalesItemLineDetail"]
        assert docs[0]["GlobalTaxCalculation"] == "TaxExcluded"
        assert all(line["SalesItemLineDetail"]["TaxCodeRef"]["value"] in au_codes for line in lines)

    sb.requests.clear()
    run("atqbo_invoices")  # again: nothing is sent twice, in either company
    assert where_invoices_are(sb) == found
    assert not [
        r
        for r in sb.requests.list()
        if r["api"] == "qbo"
        and r["method"] == "POST"
        and "query" not in (r["query"] or "")
        and not r["path"].lower().endswith("/query")
    ]


def test_bey07_three_companies_by_division_and_a_split_invoice_is_refused_naming_both(multi_company, monkeypatch):
    sb = multi_company
    au_id = au_customer(sb)
    routes = [
        {"qbo_conn_id": "qbo_au", "company_ids": [au_id], "settings": route_settings("qbo_au")},
        {"qbo_conn_id": "qbo_manual", "divisions": ["Professional Services"], "settings": route_settings("qbo_manual")},
    ]
    use_settings(monkeypatch, routes)
    invoices, divisions = autotask_state(sb)
    unsynced = {i for i, inv in invoices.items() if not inv.get("webServiceDate") and not inv.get("isVoided")}

    def expected(autotask_id: int) -> str:  # the first route matching its company or its divisions
        if invoices[autotask_id]["companyID"] == au_id:
            return "qbo_au"
        return "qbo_manual" if "Professional Services" in divisions.get(autotask_id, set()) else "qbo_default"

    run("atqbo_invoices")
    found = where_invoices_are(sb)
    invoices, _ = autotask_state(sb)
    sent = {i for i in unsynced if invoices[i].get("webServiceDate")}
    assert {expected(i) for i in sent} == {"qbo_au", "qbo_manual", "qbo_default"}
    for autotask_id in sent:
        assert found.get(autotask_id) == [expected(autotask_id)], autotask_id
    led = ledger_realms("invoice")
    assert all(led[i] == realms(sb)[expected(i)] for i in sent)


def test_bey07_an_invoice_whose_lines_span_two_routes_divisions_is_refused_naming_both(multi_company, monkeypatch):
    sb = multi_company
    routes = [
        {"qbo_conn_id": "qbo_au", "divisions": ["Managed Services"], "settings": route_settings("qbo_au")},
        {"qbo_conn_id": "qbo_manual", "divisions": ["Professional Services"], "settings": route_settings("qbo_manual")},
    ]
    use_settings(monkeypatch, routes)
    invoices, divisions = autotask_state(sb)
    unsynced = {i for i, inv in invoices.items() if not inv.get("webServiceDate") and not inv.get("isVoided")}
    both = {i for i in unsynced if {"Managed Services", "Professional Services"} <= divisions.get(i, set())}
    assert both, "the demo has invoices with lines in both divisions"
    run("atqbo_invoices")
    found = where_invoices_are(sb)
    assert not both & set(found), "an invoice split across companies is never sent"
    invoices, _ = autotask_state(sb)
    assert not any(invoices[i].get("webServiceDate") for i in both)
    report = re.sub(r"<[^>]+>", " ", report_html(sb, "[atqbo] invoices"))
    for autotask_id in both:
        assert f"Autotask invoice {autotask_id}" in report
    assert "'Managed Services' -> qbo_au" in report and "'Professional Services' -> qbo_manual" in report
    assert "one invoice per division" in report
    # the others went to the company of their one division
    for autotask_id in unsynced - both:
        if invoices[autotask_id].get("webServiceDate"):
            (division,) = divisions[autotask_id]
            assert found[autotask_id] == ["qbo_au" if division == "Managed Services" else "qbo_manual"]


def revoke(sb, conn_id: str) -> None:
    """The user disconnects the app from one company in Intuit: its refresh token is revoked."""
    conn = sb.connections()[conn_id]
    auth = base64.b64encode(f"{conn['login']}:{conn['password']}".encode()).decode()
    answer = requests.post(
        sb.base_url + "/v2/oauth2/tokens/revoke",
        json={"token": conn["extra"]["refresh_token"]},
        headers={"Authorization": f"Basic {auth}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_bey07_a_token_revoked_in_one_company_fails_its_invoices_only_and_the_next_run_sends_them_once(
    multi_company, monkeypatch
):
    sb = multi_company
    au_id = au_customer(sb)
    use_settings(monkeypatch, [{"qbo_conn_id": "qbo_au", "company_ids": [au_id], "settings": route_settings("qbo_au")}])
    invoices, _ = autotask_state(sb)
    unsynced = {i for i, inv in invoices.items() if not inv.get("webServiceDate") and not inv.get("isVoided")}
    au_invoices = {i for i in unsynced if invoices[i]["companyID"] == au_id}
    connections = sb.connections()
    revoke(sb, "qbo_au")

    dagrun = run("atqbo_invoices")  # the work tasks succeed; the outcome shows the failed records
    assert outcome_state(dagrun) == "failed"
    found = where_invoices_are(sb)
    invoices, _ = autotask_state(sb)
    assert not au_invoices & set(found) and not any(invoices[i].get("webServiceDate") for i in au_invoices)
    sent_default = {i for i in unsynced - au_invoices if invoices[i].get("webServiceDate")}
    assert sent_default and all(found[i] == ["qbo_default"] for i in sent_default)
    report = report_html(sb, "[atqbo] invoices")
    assert "QBO company qbo_au could not be reached or used" in report
    # no ERROR anywhere for them: nothing is wrong with the invoices
    from atqbo.ledger import Ledger

    led = Ledger.from_conn_id("atqbo_state")
    try:
        assert not [e for e in led.list_errors() if e["autotask_id"] in au_invoices]
    finally:
        led.close()

    # the user reconnects the AU company (a new refresh token in its connection): the next run sends them, once
    from sandbox.seeds.multi_company import AU_REALM_ID

    sb.seed({"qbo": {"companies": [{"realm_id": AU_REALM_ID, "oauth": {"refresh_token": "reconnected-au"}}]}})
    new_token = "reconnected-au"
    conn = dict(connections["qbo_au"], extra={**connections["qbo_au"]["extra"], "refresh_token": new_token})
    monkeypatch.setenv("AIRFLOW_CONN_QBO_AU", json.dumps(conn))
    run("atqbo_invoices")
    found = where_invoices_are(sb)
    invoices, _ = autotask_state(sb)
    sent_au = {i for i in au_invoices if invoices[i].get("webServiceDate")}
    assert sent_au == au_invoices and all(found[i] == ["qbo_au"] for i in sent_au), {
        i: found.get(i) for i in au_invoices
    }
    assert "could not be reached" not in report_html(sb, "[atqbo] invoices")
    assert all(found[i] == ["qbo_default"] for i in sent_default)


def test_bey07_an_invoice_sent_to_one_company_is_never_sent_to_another_when_the_routes_change(
    multi_company, monkeypatch
):
    sb = multi_company
    au_id = au_customer(sb)
    au_route = {"qbo_conn_id": "qbo_au", "company_ids": [au_id], "settings": route_settings("qbo_au")}
    use_settings(monkeypatch, [au_route])
    run("atqbo_invoices")
    found = where_invoices_are(sb)
    invoices, _ = autotask_state(sb)
    (moved, *_) = sorted(i for i, where in found.items() if where == ["qbo_au"])

    # the routes change (the AU customer now goes to the default company) and a user clears the
    # invoice's marker in Autotask to send it again: it is in the AU company's books already
    use_settings(monkeypatch, [{"qbo_conn_id": "qbo_manual", "company_ids": [1], **{}}])
    sb.seed({"autotask": {"Invoices": [{**invoices[moved], "webServiceDate": None}]}})
    run("atqbo_invoices")
    assert where_invoices_are(sb)[moved] == ["qbo_au"], "never in two companies' books"
    report = re.sub(r"<[^>]+>", " ", report_html(sb, "[atqbo] invoices"))
    assert f"Autotask invoice {moved}" in report and "this run would send it to qbo_default (realm" in report
    assert "void or delete it in that company, then retry this invoice from the error log" in report
    assert ledger_realms("invoice").get(moved) is None  # ERROR now, its realm and QBO id kept:
    from atqbo.ledger import Ledger
    from sandbox.seeds.multi_company import AU_REALM_ID

    led = Ledger.from_conn_id("atqbo_state")
    try:
        record = led.get_sync_record("invoice", moved)
        assert (record["status"], record["realm_id"], record["qbo_id"]) == (
            "ERROR",
            AU_REALM_ID,
            found and record["qbo_id"],
        )
        assert record["qbo_id"]
    finally:
        led.close()
    sb.requests.clear()
    run("atqbo_invoices")  # the next run says nothing new and sends nothing
    assert where_invoices_are(sb)[moved] == ["qbo_au"]
    assert not [
        r
        for r in sb.requests.list()
        if r["api"] == "qbo" and r["method"] == "POST" and "/query" not in r["path"].lower()
    ]


def autotask_reads(sb) -> Counter:
    """The run's Autotask reads, by entity (GET items and queries)."""
    reads = Counter()
    for r in sb.requests.list():
        if "zoneinformation" in r["path"].lower():
            continue  # the zone lookup (once per process, cached): not a read of the database
        if r["api"] == "autotask" and (r["method"] == "GET" or r["path"].lower().endswith(("/query", "/query/count"))):
            parts = [p for p in r["path"].split("/") if p]
            entity = next((p for p in parts if p[:1].isupper()), r["path"])
            reads[entity] += 1
    return reads


def test_bey07_three_companies_read_autotask_once_as_one_company_does(multi_company, monkeypatch):
    """A run for N companies uses the Autotask budget once (one extract, routed): the same reads as a
    run that sends everything to one company, but the tax tables a non-US company needs."""
    from sandbox.seeds import load_seed

    sb = multi_company
    use_settings(monkeypatch, [])
    sb.requests.clear()
    run("atqbo_invoices")
    one = autotask_reads(sb)

    sb.reset()
    sb.seed(load_seed("multi-company"))
    export_connections(sb, monkeypatch)
    from atqbo.ledger import Ledger

    led = Ledger.from_conn_id("atqbo_state")
    with led.transaction() as tx:  # a fresh state database: nothing is adopted from the first run
        for table in ("atqbo_sync_records", "atqbo_error_log", "atqbo_oauth_tokens", "atqbo_staging"):
            tx._conn.cursor().execute(f"DELETE FROM {table}")
    led.close()
    routes = [
        {"qbo_conn_id": "qbo_au", "company_ids": [au_customer(sb)], "settings": route_settings("qbo_au")},
        {"qbo_conn_id": "qbo_manual", "divisions": ["Professional Services"], "settings": route_settings("qbo_manual")},
    ]
    use_settings(monkeypatch, routes)
    sb.requests.clear()
    run("atqbo_invoices")
    three = autotask_reads(sb)
    assert three - one == Counter({"TaxCategories": 1, "TaxRegions": 1}), (three, one)  # the AU company's
    assert one - three == Counter(), (three, one)


def test_bey07_the_make_run_settings_of_the_multi_company_seed_send_every_invoice_to_its_company(
    multi_company, monkeypatch
):
    """What `make run SEED=multi-company` stores (scripts/configure_local_airflow.py: the demo's
    settings, classes and PO number field included, and the seed's example routes) sends every
    eligible invoice, each to its company."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "configure_local_airflow", Path(__file__).parents[2] / "scripts" / "configure_local_airflow.py"
    )
    configure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(configure)
    sb = multi_company
    settings = configure.seed_settings(sb.state(), "multi-company")
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({**settings, "invoice_lookback_days": 45}))
    invoices, divisions = autotask_state(sb)
    eligible = {
        i
        for i, inv in invoices.items()
        if not inv.get("webServiceDate") and not inv["isVoided"] and inv["invoiceTotal"] >= 0
    }
    au_id = au_customer(sb)
    from sandbox.seeds.profiles import FOREIGN_COMPANY

    cad_id = next(c["id"] for c in sb.state()["autotask"]["Companies"] if c["companyName"] == FOREIGN_COMPANY)
    run("atqbo_invoices")
    found = where_invoices_are(sb)
    report = re.sub(r"<[^>]+>", " ", report_html(sb, "[atqbo] invoices"))
    for autotask_id in eligible:
        company = (
            "qbo_au"
            if invoices[autotask_id]["companyID"] == au_id
            else "qbo_manual"
            if "Professional Services" in divisions.get(autotask_id, set())
            else "qbo_default"
        )
        if invoices[autotask_id]["companyID"] == cad_id and company == "qbo_manual":
            # billed in CAD, and the manual-tax company has multi-currency off: refused, as in one company
            assert autotask_id not in found and "Autotask bills the company in CAD" in report
            continue
        assert found.get(autotask_id) == [company], (autotask_id, found.get(autotask_id))


def test_bey07_bey05_the_companies_are_sent_side_by_side(multi_company, monkeypatch):
    """Each company's invoices go out from a thread of their own: with 150 ms per QBO request, requests
    to two companies' realms are in flight at the same moment, and the run's QBO time is less than
    the sum of each company's."""
    sb = multi_company
    routes = [
        {"qbo_conn_id": "qbo_au", "company_ids": [au_customer(sb)], "settings": route_settings("qbo_au")},
        {"qbo_conn_id": "qbo_manual", "divisions": ["Professional Services"], "settings": route_settings("qbo_manual")},
    ]
    use_settings(monkeypatch, routes)
    sb.set_limits({"qbo": {"latency_ms": 150}})
    sb.requests.clear()
    run("atqbo_invoices")
    realm_of = {realm: conn_id for conn_id, realm in realms(sb).items()}
    spans: dict[str, list[tuple[float, float]]] = {}
    for r in sb.requests.list():
        parts = r["path"].split("/")
        if r["api"] == "qbo" and len(parts) > 3 and parts[1] == "v3" and parts[3] in realm_of:
            start, end = (datetime.fromisoformat(r[k].replace("Z", "+00:00")).timestamp() for k in ("start", "end"))
            spans.setdefault(realm_of[parts[3]], []).append((start, end))
    assert set(spans) == {"qbo_default", "qbo_au", "qbo_manual"}

    def overlap(a: str, b: str) -> bool:
        return any(s1 < e2 and s2 < e1 for s1, e1 in spans[a] for s2, e2 in spans[b])

    assert overlap("qbo_manual", "qbo_default") or overlap("qbo_manual", "qbo_au") or overlap("qbo_au", "qbo_default")
    busy = {conn_id: max(e for _, e in s) - min(s for s, _ in s) for conn_id, s in spans.items()}
    whole = max(e for s in spans.values() for _, e in s) - min(s for sp in spans.values() for s, _ in sp)
    assert whole < sum(busy.values()), (whole, busy)
