"""The preflight's data checks (BEY-08, ``check_data``) against the sandbox over HTTP, with a real
state database: the invoice and PO syncs' own steps in dry run over the window, read into checks.

Every test also holds the preflight to its promise: it reads, and writes nothing. The sandbox's
request log may show only Autotask reads (GET, and POSTs to .../query, .../query/count,
.../query/next) and QBO reads (GET, POST .../query) and token refreshes, and both systems' states
are the same after it (QBO's OAuth part aside: a token refresh is the one change a reader makes).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pendulum
import pytest

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.tools.preflight.data_checks import check_data
from atqbo.tools.preflight.model import Check
from tests.dags.tenant_support import export_connections

pytestmark = pytest.mark.integration

API_RESOURCE = 29682885
WINDOW_DAYS = 45
NEW_CUSTOMER = "Consolidated Messenger"  # a demo company with invoices and no QBO customer
TODO = {"todo_action_type": 3, "todo_resource_id": API_RESOURCE}
AUTOTASK_READS = ("/query", "/query/count", "/query/next")


@pytest.fixture
def tenant(sandbox_connections, monkeypatch, tmp_path):
    """Seed the sandbox (``demo`` or a named real-tenant seed, plus ``extra``) and return the
    preflight's run over the last 45 days with that seed's settings and ``changes``; each seed gets
    a new state database (the last one's QBO tokens are the reset sandbox's no more)."""
    from sandbox.seeds import load_seed
    from sandbox.seeds.profiles import PROFILE_SETTINGS

    sb = sandbox_connections
    seeded = []

    def seed(name: str = "demo", extra: dict | None = None, **changes) -> RunInfo:
        sb.reset()
        sb.seed(load_seed(name))
        if extra:
            sb.seed(extra)
        export_connections(sb, monkeypatch)  # after the reset: the valid refresh token
        seeded.append(name)
        state_db = {"conn_type": "sqlite", "host": str(tmp_path / f"atqbo_state_{len(seeded)}.db")}
        monkeypatch.setenv("AIRFLOW_CONN_ATQBO_STATE", json.dumps(state_db))
        settings = {
            **PROFILE_SETTINGS.get(name, {}),
            "invoice_lookback_days": WINDOW_DAYS,
            "po_lookback_days": WINDOW_DAYS,
            **TODO,
            **changes,
            "dry_run": True,
        }
        monkeypatch.setenv(
            "AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({k: v for k, v in settings.items() if k != "dry_run"})
        )
        end = datetime.now(UTC)
        return RunInfo(
            "atqbo_preflight",
            "manual__bey08",
            "atqbo_preflight/manual__bey08",
            Settings.from_dict(settings).to_dict(),
            (end - timedelta(days=WINDOW_DAYS)).isoformat(),
            end.isoformat(),
        )

    return seed


def books(sb) -> dict:
    """Both systems' states, QBO's OAuth tokens left out (each company's too, BEY-07)."""
    state = sb.state()
    state["qbo"].pop("oauth", None)
    for company in state["qbo"].get("companies", []):
        company.pop("oauth", None)
    return state


def read_only_check(sb, run: RunInfo) -> dict[str, Check]:
    """``check_data(run)`` by topic, after making sure it wrote nothing to either system."""
    before = books(sb)
    sb.requests.clear()
    checks = check_data(run)
    writes = [
        (r["api"], r["method"], r["path"])
        for r in sb.requests.list()
        if not (
            r["method"] == "GET"
            or (r["api"] == "autotask" and r["method"] == "POST" and r["path"].endswith(AUTOTASK_READS))
            or (r["api"] == "qbo" and r["method"] == "POST" and r["path"].endswith(("/query", "/tokens/bearer")))
        )
    ]
    assert writes == []
    assert books(sb) == before
    from atqbo.ledger import Ledger

    ledger = Ledger.from_conn_id("atqbo_state")
    assert ledger.stage_get(f"{run.run_key}/invoices", "outcome") == {}  # its staging cleared
    assert ledger.stage_get(f"{run.run_key}/purchase_orders", "outcome") == {}
    assert all(c.part == "data" for c in checks)
    topics = [c.topic for c in checks]
    assert len(topics) == len(set(topics)), topics
    return {c.topic: c for c in checks}


def test_bey08_the_demo_tenant_says_what_the_invoice_preview_and_the_po_dry_run_say(
    airflow_db, tenant, sandbox_connections, monkeypatch
):
    from atqbo.ledger import Ledger
    from tests.dags.dag_support import load_dag, task_states

    sb = sandbox_connections
    run = tenant("demo")
    checks = read_only_check(sb, run)

    summary = checks["Invoices in the window"]
    assert summary.verdict == "ok"
    assert summary.finding.startswith(
        "34 invoices: 34 would be created in QBO, 0 already there, 0 skipped, 0 would fail"
    )
    assert (
        summary.detail.count("\n") == 33
        and "INV-1007 (Autotask id 29684007), VanArsdel Ltd: would create" in summary.detail
    )
    assert checks["Purchase orders in the window"].finding.startswith("4 purchase orders: 4 would be created in QBO")
    customers = checks["QBO customers"]
    assert customers.verdict == "warning" and "atqbo would create 8 QBO customer(s)" in customers.finding
    assert f"would create: {NEW_CUSTOMER}" in customers.detail and "in QBO: Contoso Dental (Id " in customers.detail
    assert checks["QBO vendors"].finding.startswith("atqbo would create 2 QBO vendor(s): Dell Technologies, Pax8")
    renamed = checks["Names changed to fit QBO"]
    assert renamed.verdict == "warning"
    assert renamed.detail == 'customer "O\'Brien & Sons: Plumbing" -> "O\'Brien & Sons- Plumbing"'
    assert checks["QBO name clashes (customers, vendors, employees)"].verdict == "ok"
    items = checks["QBO items for the invoices"]
    assert items.verdict == "warning" and "atqbo would create 8 QBO item(s)" in items.finding
    assert "'Onsite Support'" in items.finding  # matched by name (item_match_field), QBO has it by SKU only
    assert checks["Purchase orders with warnings"].detail.startswith("PO 29686004, Pax8: freight of 25.00")
    for topic in (
        "Companies billed in another currency (CUR-01)",
        "Contract-covered and non-billable lines (LINE-01)",
        "Invoices whose lines do not add up to their total (LINE-02)",
        "Purchase orders marked ERROR (PO-07)",
    ):
        assert checks[topic].verdict == "ok", checks[topic]
    cost = checks["API calls of the data checks"]
    assert cost.verdict == "ok" and cost.finding.endswith("calls for 34 invoices and 4 purchase orders")
    autotask_calls, qbo_calls = (int(w) for w in cost.finding.split()[:4:3])
    api = [r for r in sb.requests.list() if not r["path"].endswith("/tokens/bearer")]
    assert autotask_calls == len([r for r in api if r["api"] == "autotask"]) <= 25
    assert qbo_calls == len([r for r in api if r["api"] == "qbo"]) <= 25

    # the same tenant, through the tools' own DAGs: the invoice preview and a dry run of the PO sync
    for dag_id in ("atqbo_preview_invoices", "atqbo_purchase_orders"):
        if dag_id == "atqbo_purchase_orders":  # the PO sync itself, with the dry_run setting
            settings = {**TODO, "po_lookback_days": WINDOW_DAYS, "dry_run": True}
            monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(settings))
        dagrun = load_dag(dag_id).test(logical_date=pendulum.now("UTC"))
        assert dagrun.state == "success", task_states(dagrun)
    ledger = Ledger.from_conn_id("atqbo_state")
    preview = ledger.list_runs("atqbo_preview_invoices")[0]["counts"]
    po_dry_run = ledger.list_runs("atqbo_purchase_orders")[0]["counts"]
    assert (preview["planned"], preview["failed"], preview["matched"]) == (34, 0, 0)
    assert (po_dry_run["planned"], po_dry_run["failed"]) == (4, 0)


def test_bey08_a_non_us_seed_reports_its_foreign_currency_tax_exempt_and_covered_lines(tenant, sandbox_connections):
    from sandbox.seeds.profiles import FOREIGN_COMPANY

    checks = read_only_check(sandbox_connections, tenant("au-gst"))

    currency = checks["Companies billed in another currency (CUR-01)"]
    assert currency.verdict == "warning"  # QBO's multi-currency is off: the sync refuses the NZD invoices
    assert f"companies billed in another currency than AUD: {FOREIGN_COMPANY} (NZD)" in currency.finding
    assert currency.fix.startswith("turn on multi-currency in QBO")
    assert currency.detail.count(FOREIGN_COMPANY) == 4  # two invoices, each named with its company twice
    assert "2 would fail" in checks["Invoices in the window"].finding
    assert not any(t.startswith("Invoices that would fail") for t in checks)  # claimed by the currency check
    exempt = checks["Tax-exempt companies (TAX-02, TAX-05)"]
    assert exempt.verdict == "ok"
    assert exempt.finding.startswith("3 tax-exempt company(ies) with 4 invoice(s): Adventure Works Cycles")
    assert exempt.finding.endswith("their lines go out at exempt_sales_tax_code 'GST free'")
    covered = checks["Contract-covered and non-billable lines (LINE-01)"]
    assert covered.verdict == "ok" and covered.finding.startswith("2 line(s) on 2 invoice(s)")
    assert "covered by contract" in covered.detail and "non-billable" in covered.detail
    whole = checks["Purchase order sync as a whole"]  # several Autotask currencies, QBO's multi-currency off
    assert whole.verdict == "warning" and "no purchase orders are transferred (PO-06)" in whole.finding
    assert whole.detail.count("\n") == 3


def test_bey08_a_customer_atqbo_would_create_whose_name_a_qbo_vendor_has_is_a_clash(tenant, sandbox_connections):
    run = tenant("demo", {"qbo": {"Vendor": [{"DisplayName": NEW_CUSTOMER}]}})
    checks = read_only_check(sandbox_connections, run)

    clash = checks["QBO name clashes (customers, vendors, employees)"]
    assert clash.verdict == "warning"
    assert clash.finding.startswith("3 record(s) would fail: INV-1026, INV-1034, INV-1039")
    assert clash.fix == "rename the vendor in QBO or the company in Autotask, then clear the marker"
    assert clash.detail.count(f"QBO already has a vendor named {NEW_CUSTOMER!r}") == 3
    assert NEW_CUSTOMER not in checks["QBO customers"].finding  # the sync creates no customer of that name
    assert (
        "31 would be created in QBO, 0 already there, 0 skipped, 3 would fail"
        in checks["Invoices in the window"].finding
    )


def test_bey08_missing_items_with_missing_item_action_error_fail_their_invoices(tenant, sandbox_connections):
    checks = read_only_check(sandbox_connections, tenant("demo", missing_item_action="error"))

    items = checks["QBO items for the invoices"]
    assert items.verdict == "warning"
    assert "would fail for items QBO does not have (missing_item_action is 'error')" in items.finding
    assert "'Onsite Support'" in items.finding
    assert items.fix.startswith("create the item in QBO (or use atqbo_copy_missing_items)")
    failing = int(items.finding.split()[0])
    assert f"{failing} would fail" in checks["Invoices in the window"].finding
    assert not any(t.startswith("Invoices that would fail") for t in checks)


def test_bey08_po_todo_settings_missing_is_blocking_with_the_syncs_message(tenant, sandbox_connections):
    checks = read_only_check(sandbox_connections, tenant("demo", todo_action_type=None, todo_resource_id=None))

    po = checks["Purchase orders in the window"]
    assert po.verdict == "blocking"
    assert "the purchase order sync needs todo_action_type and todo_resource_id" in po.finding
    assert po.fix.strip()
    assert checks["Invoices in the window"].verdict == "ok"  # the invoice checks go on
    assert "QBO vendors" not in checks


def test_bey08_a_paused_po_sync_and_error_markers(tenant, sandbox_connections):
    sb = sandbox_connections
    run = tenant("demo", po_lookback_days=0, invoice_marker_field="invoiceNumber", invoice_numbering="qbo")
    invoice = next(i for i in sb.state()["autotask"]["Invoices"] if i["invoiceNumber"] == "INV-1040")
    sb.seed({"autotask": {"Invoices": [{**invoice, "invoiceNumber": "ERROR"}]}})
    checks = read_only_check(sb, run)

    assert checks["Purchase orders in the window"].verdict == "ok"
    assert "paused (po_lookback_days is 0)" in checks["Purchase orders in the window"].finding
    marked = checks["Invoices marked ERROR (INV-20)"]
    assert marked.verdict == "warning" and marked.finding.startswith("1 invoice(s) in the window hold ERROR")
    assert marked.detail == f"Autotask invoice {invoice['id']} (company {invoice['companyID']})"


def test_bey08_the_calls_do_not_grow_with_the_tenant_only_with_the_windows_records(tenant, sandbox_connections):
    """5,000 more companies without invoices in the window: not one more call (only the window's
    invoices' companies are read, in bulk)."""
    sb = sandbox_connections
    small = read_only_check(sb, tenant("demo"))["API calls of the data checks"].finding
    companies = [{"id": 50_000_000 + i, "companyName": f"Prospect {i:04d}", "companyType": 3} for i in range(5000)]
    large = read_only_check(sb, tenant("demo", {"autotask": {"Companies": companies}}))
    assert large["API calls of the data checks"].finding == small


def test_bey07_bey08_the_data_checks_count_the_qbo_calls_of_every_company(
    airflow_db, tenant, sandbox_connections, monkeypatch
):
    """With qbo_routes the syncs make a hook of their own for each routed company: the data part's
    call count includes those companies' calls, as the sandbox saw them (every realm)."""
    from sandbox.seeds import load_seed
    from sandbox.seeds.multi_company import AU_CUSTOMER_NAME, AU_REALM_ID
    from tests.dags.companies_support import route_settings

    sb = sandbox_connections
    companies = load_seed("multi-company")["autotask"]["Companies"]
    au_customer = next(c["id"] for c in companies if c["companyName"] == AU_CUSTOMER_NAME)
    route = {"qbo_conn_id": "qbo_au", "company_ids": [au_customer], "settings": route_settings("qbo_au")}
    run = tenant("multi-company", qbo_routes=[route])
    checks = read_only_check(sb, run)
    assert "would be created in QBO" in checks["Invoices in the window"].finding
    finding = checks["API calls of the data checks"].finding
    autotask_calls, qbo_calls = (int(w) for w in finding.split()[:4:3])
    api = [r for r in sb.requests.list() if not r["path"].endswith("/tokens/bearer")]
    qbo = [r for r in api if r["api"] == "qbo"]
    au = [r for r in qbo if f"/v3/company/{AU_REALM_ID}/" in r["path"]]
    assert au and len(au) < len(qbo)  # both companies were read
    assert qbo_calls == len(qbo)  # the AU company's calls counted too
    assert autotask_calls == len([r for r in api if r["api"] == "autotask"])
