"""The several-QBO-companies DAG tests' shared part (BEY-07): the sandbox's ``multi-company`` seed
(the ``multi_company`` fixture of ``tests/dags/conftest.py``), the settings with ``qbo_routes``,
running a DAG, and each company's books as the sandbox holds them."""

from __future__ import annotations

import json
import re

import pendulum

from tests.dags.dag_support import load_dag, task_states, work_state

API_RESOURCE = 29682885
BASE_SETTINGS = {
    "invoice_lookback_days": 45,
    "po_lookback_days": 45,
    "report_to": ["billing@msp.example"],
    "todo_action_type": 3,
    "todo_resource_id": API_RESOURCE,
}


def route_settings(conn_id: str) -> dict:
    """The multi-company seed's settings of one company, as a route's ``settings``."""
    from atqbo.routes import ROUTE_SETTING_KEYS
    from sandbox.seeds.multi_company import COMPANY_SETTINGS

    return {k: v for k, v in COMPANY_SETTINGS[conn_id].items() if k in ROUTE_SETTING_KEYS}


def use_settings(monkeypatch, routes: list[dict], **more) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({**BASE_SETTINGS, "qbo_routes": routes, **more}))


def run(dag_id: str, expect: str = "success"):
    dagrun = load_dag(dag_id).test(logical_date=pendulum.now("UTC"))
    assert work_state(dagrun) == expect, task_states(dagrun)
    return dagrun


def books(sb) -> dict[str, dict]:
    """Each company's QBO books by its connection id."""
    state = sb.state()["qbo"]
    out = {"qbo_default": state}
    for company in state.get("companies", []):
        out[company["conn_id"]] = company
    return out


def realms(sb) -> dict[str, str]:
    return {conn_id: book["realm_id"] for conn_id, book in books(sb).items()}


def atqbo_docs(book: dict, entity: str, note: str) -> dict[int, list[dict]]:
    """atqbo's documents (live ones) of one company by Autotask id; a list, so a duplicate shows."""
    out: dict[int, list[dict]] = {}
    for doc in book.get(entity, []):
        found = re.search(rf"{note} (\d+)", doc.get("PrivateNote") or "")
        if found and doc.get("status") != "Deleted":
            out.setdefault(int(found.group(1)), []).append(doc)
    return out


def autotask_state(sb) -> tuple[dict[int, dict], dict[int, set[str]]]:
    """The Autotask invoices by id, and each invoice's divisions (from its lines' lines of business)."""
    at = sb.state()["autotask"]
    level1 = {r["id"]: r["name"] for r in at["OrganizationalLevel1s"]}
    division_of = {a["id"]: level1[a["organizationalLevel1ID"]] for a in at["OrganizationalLevelAssociations"]}
    divisions: dict[int, set[str]] = {}
    for item in at["BillingItems"]:
        if item.get("invoiceID") and item.get("organizationalLevelAssociationID"):
            divisions.setdefault(item["invoiceID"], set()).add(division_of[item["organizationalLevelAssociationID"]])
    return {i["id"]: i for i in at["Invoices"]}, divisions


def where_invoices_are(sb) -> dict[int, list[str]]:
    """Autotask invoice id -> the companies that have an atqbo invoice for it."""
    out: dict[int, list[str]] = {}
    for conn_id, book in books(sb).items():
        for autotask_id, docs in atqbo_docs(book, "Invoice", "Autotask invoice").items():
            out.setdefault(autotask_id, []).extend([conn_id] * len(docs))
    return out


def ledger_realms(entity: str) -> dict[int, str]:
    from atqbo.ledger import Ledger

    led = Ledger.from_conn_id("atqbo_state")
    try:
        return {
            r["autotask_id"]: r["realm_id"] for r in led.list_sync_records(entity=entity) if r["status"] == "SYNCED"
        }
    finally:
        led.close()


def report_html(sb, subject: str) -> str:
    mails = [m for m in sb.mail.messages() if m["subject"].startswith(subject)]
    assert mails, [m["subject"] for m in sb.mail.messages()]
    return mails[-1]["html"].replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&").replace("&gt;", ">")


def au_customer(sb) -> int:
    """The seed's Australian customer (billed in AUD in Autotask): the route to qbo_au names it."""
    from sandbox.seeds.multi_company import AU_CUSTOMER_NAME

    return next(c["id"] for c in sb.state()["autotask"]["Companies"] if c["companyName"] == AU_CUSTOMER_NAME)
