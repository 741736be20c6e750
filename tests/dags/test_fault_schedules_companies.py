"""Fault schedules with several QBO companies (BEY-07, BEY-01): atqbo_invoices on the sandbox's
``multi-company`` seed routed to three companies (the Australian customer to ``qbo_au`` by its
Autotask company id, the Professional Services division to ``qbo_manual`` with US manual sales
tax, the rest to ``qbo_default`` with automated sales tax), run with dag.test() while QBO loses
answers after committing, drops connections or refuses every write for a run, in every company at
once. The next runs come after the outage; then every eligible Autotask invoice is in exactly one
company's books, the one its route names, once, marked in Autotask, and no company has a customer
or an item twice."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import pendulum
import pytest

from tests.dags.companies_support import atqbo_docs, autotask_state, books, route_settings
from tests.dags.fault_support import run_until_done
from tests.dags.test_fault_schedules_qbo import INVOICE_SCHEDULES

pytestmark = pytest.mark.integration

# the invoice schedules of tests/dags/test_fault_schedules_qbo.py that write (the storms only slow a run)
SCHEDULES = {
    name: INVOICE_SCHEDULES[name]
    for name in (
        "qbo-invoice-batch-committed-answer-lost",
        "qbo-name-batch-committed-answer-lost",
        "qbo-invoice-batch-dropped",
        "qbo-every-write-fails-for-a-run",
    )
}


@pytest.fixture
def companies(multi_company, monkeypatch):
    from sandbox.seeds.multi_company import AU_CUSTOMER_NAME

    sb = multi_company
    au_id = next(c["id"] for c in sb.state()["autotask"]["Companies"] if c["companyName"] == AU_CUSTOMER_NAME)
    routes = [
        {"qbo_conn_id": "qbo_au", "company_ids": [au_id], "settings": route_settings("qbo_au")},
        {"qbo_conn_id": "qbo_manual", "divisions": ["Professional Services"], "settings": route_settings("qbo_manual")},
    ]
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"invoice_lookback_days": 45, "qbo_routes": routes}))
    return sb, au_id


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_bey07_bey01_every_company_gets_its_invoices_once_through_the_fault_schedule(companies, schedule):
    sb, au_id = companies
    invoices, divisions = autotask_state(sb)
    from sandbox.seeds.profiles import FOREIGN_COMPANY

    cad_id = next(c["id"] for c in sb.state()["autotask"]["Companies"] if c["companyName"] == FOREIGN_COMPANY)
    eligible = {
        i
        for i, inv in invoices.items()
        if not inv.get("webServiceDate") and not inv["isVoided"] and inv["invoiceTotal"] >= 0
    }

    def expected(autotask_id: int) -> str:
        if invoices[autotask_id]["companyID"] == au_id:
            return "qbo_au"
        return "qbo_manual" if "Professional Services" in divisions.get(autotask_id, set()) else "qbo_default"

    # the CAD customer's invoices that go to qbo_manual (multi-currency off) are refused, as in one company
    eligible -= {i for i in eligible if invoices[i]["companyID"] == cad_id and expected(i) == "qbo_manual"}
    sb.faults.add(SCHEDULES[schedule])
    states = run_until_done("atqbo_invoices", sb, pendulum.now("UTC").replace(second=0, microsecond=0))

    where: dict[int, list[str]] = {}
    for conn_id, book in books(sb).items():
        for autotask_id, docs in atqbo_docs(book, "Invoice", "Autotask invoice").items():
            where.setdefault(autotask_id, []).extend([conn_id] * len(docs))
            if conn_id != "qbo_default":  # (the default company's automated sales tax is QBO's own)
                total = Decimal(str(docs[0]["TotalAmt"]))
                assert total == Decimal(str(invoices[autotask_id]["invoiceTotal"])), (conn_id, autotask_id)
        for entity, field in (("Customer", "DisplayName"), ("Item", "Name")):
            twice = [n for n, c in Counter(r[field] for r in book.get(entity, [])).items() if c > 1]
            assert twice == [], (conn_id, entity, twice)
    assert {i: where.get(i) for i in eligible} == {i: [expected(i)] for i in eligible}, states
    assert set(where) <= eligible | {i for i, inv in invoices.items() if inv.get("webServiceDate")}
    after, _ = autotask_state(sb)
    assert [i for i in eligible if not after[i].get("webServiceDate")] == [], states
