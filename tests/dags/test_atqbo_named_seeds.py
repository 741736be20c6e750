"""atqbo_invoices and atqbo_purchase_orders, run with dag.test() on each named real-tenant seed of the
sandbox (``--seed us-ast | us-manual-tax | uk-vat | ca-gst | au-gst``: the demo tenant turned into an
MSP of that country, with its tax tables, a customer billed in a foreign currency, tax-exempt
customers, covered and non-billable lines) under the settings a user of that country would set
(``sandbox.seeds.profiles.PROFILE_SETTINGS``). Every document atqbo creates is checked in QBO's
books: its tax codes, currency, and its total with tax against Autotask's (TAX-01..05, CUR-01..03)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pendulum
import pytest

from tests.dags.dag_support import load_dag, task_states, work_state
from tests.dags.tenant_support import export_connections

pytestmark = pytest.mark.integration

API_RESOURCE = 29682885
NAMES = ("us-ast", "us-manual-tax", "uk-vat", "ca-gst", "au-gst")


@pytest.fixture
def seeded(airflow_db, sandbox_connections, monkeypatch):
    def seed(name: str):
        from sandbox.seeds import load_seed
        from sandbox.seeds.profiles import PROFILE_SETTINGS

        sb = sandbox_connections
        sb.reset()
        sb.seed(load_seed(name))
        export_connections(sb, monkeypatch)  # after the reset: the valid refresh token
        settings = {
            **PROFILE_SETTINGS[name],
            "invoice_lookback_days": 45,
            "po_lookback_days": 45,
            "report_to": ["billing@msp.example"],
            "todo_action_type": 3,
            "todo_resource_id": API_RESOURCE,
        }
        monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(settings))
        return sb

    return seed


def _run(dag_id: str) -> None:
    dagrun = load_dag(dag_id).test(logical_date=pendulum.now("UTC"))
    assert work_state(dagrun) == "success", task_states(dagrun)


def _atqbo_docs(books: list[dict], note: str) -> dict[int, dict]:
    out = {}
    for doc in books:
        found = re.search(rf"{note} (\d+)", doc.get("PrivateNote") or "")
        if found:
            out[int(found.group(1))] = doc
    return out


def _report(sb, subject: str) -> str:
    mails = [m for m in sb.mail.messages() if m["subject"].startswith(subject)]
    assert mails, [m["subject"] for m in sb.mail.messages()]
    return mails[-1]["html"].replace("&#x27;", "'").replace("&quot;", '"').replace("&amp;", "&")


@pytest.mark.parametrize("name", NAMES)
def test_tax01_cur01_every_named_seed_syncs_invoices_and_purchase_orders_with_its_countrys_tax(seeded, name):
    from sandbox.seeds.profiles import FOREIGN_COMPANY, PROFILE_SETTINGS, PROFILES

    sb = seeded(name)
    profile, settings = PROFILES[name], PROFILE_SETTINGS[name]
    before = {i["Id"] for i in sb.state()["qbo"].get("Invoice", [])}
    _run("atqbo_invoices")
    _run("atqbo_purchase_orders")

    state = sb.state()
    at = {i["id"]: i for i in state["autotask"]["Invoices"]}
    companies = {c["id"]: c for c in state["autotask"]["Companies"]}
    codes = {c["Name"]: c["Id"] for c in state["qbo"].get("TaxCode", [])}
    created = {
        k: v for k, v in _atqbo_docs(state["qbo"]["Invoice"], "Autotask invoice").items() if v["Id"] not in before
    }
    assert created, name
    report = _report(sb, "[atqbo] invoices")
    for autotask_id, inv in created.items():
        lines = [line for line in inv["Line"] if line.get("DetailType") == "SalesItemLineDetail"]
        assert all(line["SalesItemLineDetail"]["ItemRef"].get("name") != "Autotask Sales Tax" for line in lines)
        company = companies[at[autotask_id]["companyID"]]
        if company["companyName"] == FOREIGN_COMPANY:
            assert inv["CurrencyRef"]["value"] == profile.foreign.code  # CUR-01
        if profile.country != "US":
            assert inv["GlobalTaxCalculation"] == "TaxExcluded"
            assert all(line["SalesItemLineDetail"]["TaxCodeRef"]["value"] in codes.values() for line in lines)
            if company.get("isTaxExempt"):
                exempt = codes[settings["exempt_sales_tax_code"]]
                assert {line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in lines} == {exempt}
        qbo_total, at_total = Decimal(str(inv["TotalAmt"])), Decimal(str(at[autotask_id]["invoiceTotal"]))
        if name == "us-ast" and qbo_total != at_total:
            # QBO's automated sales tax (the sandbox's 7%) is not the state's rate: reported, with who computed it
            assert (
                f"QBO's total {qbo_total:.2f} (tax {Decimal(str(inv['TxnTaxDetail']['TotalTax'])):.2f}) differs "
                f"from Autotask's {at_total:.2f} (tax {Decimal(str(at[autotask_id]['totalTaxValue'])):.2f}) by "
                f"{qbo_total - at_total:+.2f}; QBO's automated sales tax computed the tax"
            ) in report, autotask_id
        else:
            assert qbo_total == at_total, (name, autotask_id, qbo_total, at_total)
    foreign_invoices = [i for i, inv in at.items() if companies[inv["companyID"]]["companyName"] == FOREIGN_COMPANY]
    if profile.qbo_multi_currency:
        assert set(foreign_invoices) & set(created)
    else:  # CUR-02: au-gst has multi-currency off and the company is billed in NZD
        assert not set(foreign_invoices) & set(created)
        assert f"Autotask bills the company in {profile.foreign.code}, but multi-currency is off" in report

    bills = _atqbo_docs(state["qbo"].get("Bill", []), "Autotask PO")
    if not profile.qbo_multi_currency:
        # PO-06: several active Autotask currencies and QBO's multi-currency off: no bill, the report says why
        assert bills == {}
        assert "multi-currency is on in Autotask and off in QBO" in _report(sb, "[atqbo] purchase orders")
        return
    assert bills, name
    for bill in bills.values():
        lines = [line for line in bill["Line"] if "ExpenseLineDetail" in line.get("DetailType", "")]
        refs = {(line.get(line["DetailType"]) or {}).get("TaxCodeRef", {}).get("value") for line in lines}
        if profile.country != "US":  # TAX-03
            assert refs == {codes[settings["purchase_tax_code"]]}, bill
            assert bill["GlobalTaxCalculation"] == "TaxExcluded"
        else:
            assert refs == {None}
