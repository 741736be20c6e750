"""atqbo_preflight (BEY-08) run with dag.test() on the sandbox: the demo tenant is ready for a live
run; each misconfiguration a user can make is a blocking check naming its fix, in the part whose
task then ends failed; and no run writes anything to either system (``preflight_support.run_preflight``
checks the request log and both systems' state on every run)."""

from __future__ import annotations

import json

import pytest

from tests.dags.dag_support import load_dag, task_states
from tests.dags.preflight_support import REPORT_TO, run_preflight, seed

pytestmark = pytest.mark.integration

PARTS = ("check_settings", "check_autotask", "check_qbo", "check_data")


@pytest.fixture
def sb(airflow_db, sandbox_connections):
    return sandbox_connections


def test_bey08_the_demo_tenant_is_ready_and_the_report_says_what_the_runs_will_do(sb, monkeypatch):
    from sandbox.seeds import load_seed

    seed(sb, monkeypatch, load_seed("demo"))
    run = run_preflight(sb, {"window_days": 45, "email": ["cfo@msp.example"]})
    assert run.dagrun.state == "success", (run.states, run.describe())
    assert all(run.states[t] == "success" for t in (*PARTS, "report")), run.states
    assert run.verdicts("blocking") == {}, run.describe()
    assert sorted(run.mail["envelope_to"]) == sorted([REPORT_TO, "cfo@msp.example"])
    assert run.mail["subject"].startswith("[atqbo] preflight: ")
    assert "ready for a live run" in run.mail["subject"]
    assert {r["part"] for r in run.rows} == {"Settings", "Autotask", "QuickBooks Online", "The window's data"}
    assert run.row("Company and edition")["verdict"] == "ok"
    assert run.row("Account po_ap_account")["verdict"] == "ok"
    # bounded: the whole preflight of the demo tenant (a month and a half of invoices)
    assert run.api_calls < 120, run.api_calls


def test_bey08_a_non_us_companys_wrong_names_are_each_blocking_with_the_fix(sb, monkeypatch):
    from sandbox.seeds import load_seed
    from sandbox.seeds.profiles import PROFILE_SETTINGS

    seed(
        sb,
        monkeypatch,
        load_seed("uk-vat"),
        **{
            **PROFILE_SETTINGS["uk-vat"],
            "sales_tax_code": "VAT 20%",  # QBO's is "20.0% S"
            "purchase_tax_code": "Standard purchases",
            "po_ap_account": "Accounts Payable (A/P) - EUR",  # the EUR one, not the home GBP one
            "po_number_custom_field": "Customer PO",  # QBO's field is "PO Number"
            "new_item_income_account": "Sales of Services",
            "default_class": "Managed Services",  # QBO's class is "Managed"
            "lob_class_map": {"Managed Services:Help Desk": "Managed"},  # Autotask's line is "Helpdesk"
        },
    )
    run = run_preflight(sb)
    blocking = run.verdicts("blocking")
    assert run.dagrun.state == "failed"
    assert run.states["check_qbo"] == "failed" and run.states["report"] == "failed", run.states  # after sending
    assert "'VAT 20%' (sales_tax_code)" in blocking["Tax codes named in the settings"]["finding"]
    assert "20.0% S" in blocking["Tax codes named in the settings"]["finding"]  # QBO's codes are listed
    assert "Standard purchases" in blocking["Purchase tax code"]["finding"]
    assert "in EUR, not in the home currency GBP" in blocking["Account po_ap_account"]["finding"]
    assert "'Customer PO'" in blocking["PO number custom field"]["finding"]
    assert "'PO Number'" in blocking["PO number custom field"]["finding"]
    assert "'Sales of Services'" in blocking["Account new_item_income_account"]["finding"]
    assert "'Managed Services' (default_class)" in blocking["Classes"]["finding"]
    assert "'Managed Services:Help Desk'" in blocking["Lines of business and lob_class_map"]["finding"]
    assert run.states["check_autotask"] == "failed"
    assert all(row["fix"] for row in blocking.values())
    assert "fix the blocking checks" in run.mail["subject"]


def test_bey08_the_wrong_edition_and_missing_po_settings_block(sb, monkeypatch):
    from sandbox.seeds import load_seed

    seed(
        sb,
        monkeypatch,
        load_seed("us-ast"),
        qbo_edition="non-US",
        sales_tax_code="TAX",
        todo_action_type=None,
        todo_resource_id=None,
        missing_item_action="default_item",
        default_item_name="Managed IT Services",  # not an item of this QBO company
    )
    run = run_preflight(sb)
    blocking = run.verdicts("blocking")
    assert "qbo_edition is 'non-US' but the QBO company" in blocking["Company and edition"]["finding"]
    assert "set qbo_edition to 'US'" in blocking["Company and edition"]["fix"]
    assert "todo_action_type" in blocking["Purchase order settings"]["finding"]
    assert "no active item named 'Managed IT Services'" in blocking["Item default_item_name"]["finding"]
    assert run.states["check_settings"] == "failed" and run.states["check_qbo"] == "failed"


def test_bey08_settings_that_do_not_validate_stop_the_first_task_before_any_call(sb, monkeypatch):
    sb.requests.clear()
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"qbo_edition": "UK"}))
    dagrun = load_dag("atqbo_preflight").test()
    states = task_states(dagrun)
    assert dagrun.state == "failed" and states["start"] == "failed", states
    assert sb.requests.list() == []


def test_bey08_a_renamed_po_status_and_an_api_user_without_po_rights_block_the_autotask_part(sb, monkeypatch):
    from sandbox.seeds import load_seed

    doc = load_seed("demo")
    doc["autotask"]["picklists"] = {
        "purchaseOrderStatus": [
            {"value": 1, "label": "New"},
            {"value": 2, "label": "Sent to vendor"},  # the tenant's word for Submitted
            {"value": 3, "label": "Received Partial"},
            {"value": 4, "label": "Received Full"},
            {"value": 5, "label": "Canceled"},
        ]
    }
    doc["autotask"]["api_users"] = [
        {
            "username": "billing-api@msp.example",
            "secret": "billing-secret",
            "resourceID": 29682887,
            "entity_access": {"PurchaseOrders": {"query": False}},
        }
    ]
    seed(sb, monkeypatch, doc)
    conn = dict(sb.connections()["autotask_default"], login="billing-api@msp.example", password="billing-secret")
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps(conn))
    run = run_preflight(sb)
    blocking = run.verdicts("blocking")
    assert "Sent to vendor" in blocking["PurchaseOrders.status picklist"]["finding"]
    assert "may not query PurchaseOrders" in blocking["Entity PurchaseOrders"]["finding"]
    assert run.states["check_autotask"] == "failed" and run.states["check_qbo"] == "success", run.states
