"""The bad-input corpus through whole DAG runs (dag.test() against the sandbox): a representative
set of the cases the other files of this folder check step by step. Each run shows the exact
message where an operator reads it (the error log, the report, the failed task), that the good
invoices of the same run were sent, and, from the sandbox's state and request log, that nothing
was written for the bad ones."""

from __future__ import annotations

import html
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.dags.dag_support import load_dag, task_states

pytestmark = pytest.mark.integration

TODAY = date.today()
CONTOSO = 29683501  # a demo company QBO has as a customer
REMOTE_SUPPORT = 29682803  # a demo billing code QBO has as an item
GOOD, RATE_NULL, TOTAL_OFF, CONTROL, DATED_1900 = 39800001, 39800002, 39800003, 39800004, 39800005
REPORT_TO = "billing@msp.example"
SETTINGS = {"invoice_lookback_days": 30, "report_to": [REPORT_TO]}
RETRY = "then clear the marker (or retry from the error log)"


def _day(days_ago: int) -> str:
    return f"{TODAY - timedelta(days=days_ago)}T00:00:00Z"


def _invoice(iid: int, total: float, **extra) -> dict:
    return {
        "id": iid,
        "companyID": CONTOSO,
        "invoiceNumber": f"B-{iid}",
        "invoiceDateTime": _day(2),
        "dueDate": f"{TODAY + timedelta(days=28)}T00:00:00Z",
        "paymentTerm": 1,
        "invoiceTotal": total,
        "totalTaxValue": 0.0,
        "isVoided": False,
        **extra,
    }


def _item(iid: int, invoice: int, quantity: float | None, rate: float | None, total: float, **extra) -> dict:
    return {
        "id": iid,
        "invoiceID": invoice,
        "companyID": CONTOSO,
        "billingCodeID": REMOTE_SUPPORT,
        "billingItemType": 1,
        "organizationalLevelAssociationID": 1,
        "itemName": "Remote support",
        "description": "Remote support",
        "itemDate": _day(3),
        "quantity": quantity,
        "rate": rate,
        "extendedPrice": total,
        "totalAmount": total,
        "taxDollars": 0.0,
        **extra,
    }


def bad_invoices_seed() -> dict:
    return {
        "autotask": {
            "Invoices": [
                _invoice(GOOD, 125.0),
                _invoice(RATE_NULL, 50.0),
                _invoice(TOTAL_OFF, 130.0),
                _invoice(CONTROL, 125.0),
                _invoice(DATED_1900, 125.0, invoiceDateTime="1900-01-01T00:00:00Z"),
            ],
            "BillingItems": [
                _item(39810001, GOOD, 1, 125.0, 125.0),
                _item(39810002, RATE_NULL, 1, None, 50.0, extendedPrice=None),
                _item(39810003, TOTAL_OFF, 1, 125.0, 125.0),
                _item(39810004, CONTROL, 1, 125.0, 125.0, description="Remote\x0b support"),
                _item(39810005, DATED_1900, 1, 125.0, 125.0),
            ],
        }
    }


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch):
    from sandbox.seeds import load_seed

    sb = sandbox_connections
    sb.reset()
    sb.seed(load_seed("demo"))
    sb.seed(bad_invoices_seed())
    for conn_id, conn in sb.connections().items():  # after the reset: its refresh token is the valid one
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(SETTINGS))
    sb.requests.clear()
    return sb


def _atqbo_invoices(sb) -> dict[int, dict]:
    from atqbo.qbo_notes import INVOICE_NOTE

    out = {}
    for invoice in sb.state()["qbo"].get("Invoice", []):
        autotask_id = INVOICE_NOTE.autotask_id(invoice.get("PrivateNote"))
        if autotask_id:
            out[autotask_id] = invoice
    return out


def _errors() -> dict[int, tuple[str, str]]:
    from atqbo.ledger import Ledger

    return {e["autotask_id"]: (e["message"], e["fix"]) for e in Ledger.from_conn_id("atqbo_state").list_errors()}


def _writes(sb, api: str | None = None) -> list[dict]:
    """Requests that could change Autotask or QBO (not reads, queries or token refreshes)."""
    return [
        r
        for r in sb.requests.list(api)
        if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
        and not r["path"].endswith(("/query", "/query/count", "/query/next", "/tokens/bearer"))
        and "query" not in (r["query"] or "")
    ]


def _markers(sb) -> dict[int, str | None]:
    return {i["id"]: i.get("webServiceDate") for i in sb.state()["autotask"]["Invoices"]}


def test_line02_a_scheduled_run_refuses_the_known_wrong_invoices_and_sends_the_rest(tenant):
    dagrun = load_dag("atqbo_invoices").test(run_conf={})
    assert task_states(dagrun)["load"] == "success", task_states(dagrun)
    sent = _atqbo_invoices(tenant)
    assert {GOOD, CONTROL} <= set(sent) and not {RATE_NULL, TOTAL_OFF, DATED_1900} & set(sent)
    assert Decimal(str(sent[GOOD]["TotalAmt"])) == 125
    description = next(line["Description"] for line in sent[CONTROL]["Line"] if "SalesItemLineDetail" in line)
    assert description == "Remote support"
    errors = _errors()
    assert errors[RATE_NULL] == (
        f"Autotask invoice {RATE_NULL} (B-{RATE_NULL}) of Contoso Dental: billing item 39810002 has no rate in "
        "Autotask (it is null), so what its line costs is not known; not sent",
        "correct the rate of billing item 39810002 in Autotask (void the invoice, unpost the item, fix it, post it "
        f"and invoice it again), {RETRY}",
    )
    assert errors[TOTAL_OFF][0] == (
        f"Autotask invoice {TOTAL_OFF} (B-{TOTAL_OFF}) of Contoso Dental: QBO's lines would add up to 125.00 before "
        "tax but Autotask's invoice is 130.00 before tax (total 130.00, tax 0.00; difference -5.00), so it was not "
        "sent: the 1 billing item(s) atqbo can read add up to 125.00"
    )
    markers = _markers(tenant)
    assert markers[GOOD] and markers[CONTROL]  # written back...
    assert markers[RATE_NULL] is None and markers[TOTAL_OFF] is None  # ...and nothing for the refused
    [mail] = [m for m in tenant.mail.messages() if m["subject"].startswith("[atqbo] invoices: ")]
    assert mail["envelope_to"] == [REPORT_TO] and ", 2 failed, " in mail["subject"]
    body = html.unescape(mail["html"])
    assert errors[RATE_NULL][0] in body and errors[TOTAL_OFF][0] in body
    assert (
        f"Autotask invoice {CONTROL} (B-{CONTROL}) of Contoso Dental: the description of billing item 39810004 "
        "holds control characters QBO cannot store (\\x0b); they were removed"
    ) in body


def test_bey12_the_copy_tool_refuses_an_invoice_dated_1900_and_writes_nothing(tenant):
    dagrun = load_dag("atqbo_copy_invoice").test(run_conf={"autotask_invoice_id": DATED_1900})
    assert set(task_states(dagrun).values()) == {"success"}, task_states(dagrun)
    assert DATED_1900 not in _atqbo_invoices(tenant)
    latest = TODAY + timedelta(days=366)
    assert _errors()[DATED_1900] == (
        f"Autotask invoice {DATED_1900} (B-{DATED_1900}) of Contoso Dental: dated 1900-01-01, which cannot be its "
        f"real date (atqbo sends invoices dated 1990-01-01 to {latest}); not sent",
        "correct the invoice date in Autotask (void the invoice and invoice its items again with the right date), "
        + RETRY,
    )
    assert _writes(tenant, "qbo") == [] and _markers(tenant)[DATED_1900] is None
    [mail] = [m for m in tenant.mail.messages() if m["subject"].startswith(f"[atqbo] copy invoice {DATED_1900}")]
    assert "dated 1900-01-01, which cannot be its real date" in html.unescape(mail["html"])


@pytest.mark.parametrize(
    ("conf", "state_host", "message"),
    [
        (
            {"dry_rn": True},
            None,
            "the trigger form has bad input, so nothing was done: dry_rn: not a field of this form (did you mean "
            "'dry_run'? its fields: invoice_lookback_days, dry_run, report_to). Fix: trigger the DAG again with the "
            "field corrected",
        ),
        (
            {},
            "atqbo_state.db",
            "the atqbo_state SQLite connection's host 'atqbo_state.db' is a relative path, so each Airflow worker "
            "would open a database of its own; set the host of connection 'atqbo_state' to an absolute file path "
            "(e.g. /opt/airflow/atqbo/atqbo_state.db)",
        ),
    ],
    ids=["unknown_form_key", "relative_state_database_path"],
)
def test_bey12_a_run_with_a_bad_input_of_its_own_stops_at_its_first_task_and_writes_nothing(
    tenant, monkeypatch, capfd, conf, state_host, message
):
    if state_host:
        monkeypatch.setenv("AIRFLOW_CONN_ATQBO_STATE", json.dumps({"conn_type": "sqlite", "host": state_host}))
    dagrun = load_dag("atqbo_invoices").test(run_conf=conf)
    states = task_states(dagrun)
    assert (dagrun.state, states["start"]) == ("failed", "failed")
    assert "success" not in states.values()
    assert _writes(tenant) == []  # neither Autotask nor QBO
    out, err = capfd.readouterr()
    assert message in out + err  # the failed task's log
