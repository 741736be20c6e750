"""BEY-08 preflight, the Autotask part (``atqbo.tools.preflight.autotask_checks``): against the
sandbox over HTTP (the demo tenant, a named real-tenant seed with its restricted API user), and
its pure rules (the entity and picklist verdicts on entityInformation's documented shapes, the
threshold estimate) with plain pytest."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from atqbo.hooks.autotask import AutotaskHook
from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.invoices.extract import BILLING_ITEM_FIELDS
from atqbo.sync.purchase_orders.extract import PO_FIELDS
from atqbo.tools.preflight import autotask_checks as at
from atqbo.tools.preflight.autotask_checks import (
    USES,
    EntityRead,
    check_autotask,
    entity_checks,
    estimate_run_calls,
    last_full_month,
    po_status_check,
    threshold_check,
)
from atqbo.transform.invoices.lines import before_tax_gap, billed_amount
from sandbox.seeds import load_seed
from sandbox.seeds.profiles import PROFILE_SETTINGS, RESTRICTED_DIVISION
from tests.dags.tenant_support import export_connections
from tests.hooks.autotask_support import autotask_requests, control

API_RESOURCE = 29682885
# what the demo tenant costs (measured: 39 requests, zone discovery and the hook's budget check included)
DEMO_CALL_BOUND = 40
# at most, whatever the tenant's size (the module doc's sum)
CALL_BOUND = 50
ALL_ON = {
    "void_sync_enabled": True,
    "payment_sync_enabled": True,
    "todo_action_type": 3,
    "todo_resource_id": API_RESOURCE,
}


@pytest.fixture
def tenant(sandbox_server, monkeypatch):
    """Reset the session's sandbox and load a seed; the connections exported (AIRFLOW_CONN_*)."""

    def load(seed: str = "demo", extra: dict | None = None) -> dict:
        sandbox_server.reset()
        doc = load_seed(seed)
        sandbox_server.seed(doc)
        if extra:
            sandbox_server.seed(extra)
        export_connections(sandbox_server, monkeypatch)
        AutotaskHook.clear_zone_cache()
        return doc

    yield load
    AutotaskHook.clear_zone_cache()


def restricted_connection(sandbox_server, monkeypatch, doc: dict) -> str:
    """An Airflow connection for the seed's extra API user (restricted to some lines of business)."""
    user = doc["autotask"]["api_users"][0]
    conn = {**sandbox_server.connections()["autotask_default"], "login": user["username"], "password": user["secret"]}
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_RESTRICTED", json.dumps(conn))
    return "autotask_restricted"


def run_info(doc: dict, **settings) -> RunInfo:
    """A preflight run whose window holds every invoice of the seed (dated up to today)."""
    first = min(datetime.fromisoformat(i["invoiceDateTime"]) for i in doc["autotask"]["Invoices"])
    end = datetime.now(UTC)
    return RunInfo(
        dag_id="atqbo_preflight",
        run_id="test",
        run_key="atqbo_preflight/test",
        settings=Settings.from_dict(settings).to_dict(),
        window_start=(first - timedelta(days=1)).isoformat(),
        window_end=end.isoformat(),
    )


def run_checks(sandbox_server, run: RunInfo) -> tuple[dict, list[dict]]:
    """check_autotask's checks by topic, and the Autotask requests it made."""
    control(sandbox_server, "DELETE", "requests")
    hook = AutotaskHook(run.parsed_settings.autotask_conn_id)
    checks = check_autotask(run, hook)
    assert len({c.topic for c in checks}) == len(checks)
    return {c.topic: c for c in checks}, autotask_requests(sandbox_server)


def assert_read_only(requests: list[dict]) -> None:
    writes = [
        f"{r['method']} {r['path']}"
        for r in requests
        if not (
            r["method"] == "GET" or (r["method"] == "POST" and re.search(r"/query(/count|/next)?$", r["path"], re.I))
        )
    ]
    assert writes == []


def month_invoices(doc: dict, end: datetime) -> int:
    start, stop = last_full_month(end)
    return sum(
        1
        for inv in doc["autotask"]["Invoices"]
        if not inv.get("isVoided") and start <= datetime.fromisoformat(inv["invoiceDateTime"]) < stop
    )


# -- against the sandbox -----------------------------------------------------------------------------


def test_bey08_the_demo_tenant_passes_every_autotask_check_read_only_in_a_few_calls(tenant, sandbox_server):
    doc = tenant("demo")
    run = run_info(doc, **ALL_ON)

    checks, requests = run_checks(sandbox_server, run)

    assert list(checks) == [
        "Entities and fields",
        "PurchaseOrders.status picklist",
        "Invoices.paymentTerm picklist",
        "Lines of business and lob_class_map",
        "API user's lines of business",
        "Billing items the API user sees",
        "Hourly request threshold",
    ]
    assert {t: c.verdict for t, c in checks.items() if c.verdict != "ok"} == {}
    entities = checks["Entities and fields"].finding
    for entity in ("Invoices (query, update)", "PurchaseOrders (query, update)", "CompanyToDos (create)"):
        assert entity in entities
    assert "'Submitted' (value 2)" in checks["PurchaseOrders.status picklist"].finding
    assert "Managed Services:Helpdesk" in checks["Lines of business and lob_class_map"].finding
    assert f"resource {API_RESOURCE}" in checks["API user's lines of business"].finding
    assert "has no line of business" in checks["API user's lines of business"].finding
    unvoided = sum(1 for inv in doc["autotask"]["Invoices"] if not inv.get("isVoided"))
    assert f"each of the {unvoided} invoices measured" in checks["Billing items the API user sees"].finding
    threshold = checks["Hourly request threshold"].finding
    assert f"sending the {month_invoices(doc, run.end)} invoices dated {last_full_month(run.end)[0]:%B %Y}" in threshold
    assert "10,000 requests per 60 minutes" in threshold
    assert_read_only(requests)
    assert len(requests) <= DEMO_CALL_BOUND, [f"{r['method']} {r['path']}" for r in requests]


def test_bey08_a_restricted_api_user_is_warned_with_its_lines_and_the_invoices_it_sees_incomplete(
    tenant, sandbox_server, monkeypatch
):
    doc = tenant("uk-vat")
    conn_id = restricted_connection(sandbox_server, monkeypatch, doc)
    settings = {**PROFILE_SETTINGS["uk-vat"], **ALL_ON}
    part = doc["autotask"]
    division = next(d["id"] for d in part["OrganizationalLevel1s"] if d["name"] == RESTRICTED_DIVISION)
    lines = {a["id"] for a in part["OrganizationalLevelAssociations"] if a["organizationalLevel1ID"] == division}
    hidden = {
        item["invoiceID"]
        for item in part["BillingItems"]
        if item.get("organizationalLevelAssociationID") not in (None, *lines) and billed_amount(item) != 0
    }
    expected = sorted(inv["invoiceNumber"] for inv in part["Invoices"] if inv["id"] in hidden and not inv["isVoided"])
    assert expected  # the seed gives the restricted user invoices it cannot see whole

    checks, requests = run_checks(sandbox_server, run_info(doc, **settings, autotask_conn_id=conn_id))

    lob = checks["API user's lines of business"]
    assert lob.verdict == "warning"
    assert "helpdesk-api@northstar-it.example (resource 29682890" in lob.finding
    for name in ("Managed Services:Monitoring", "Managed Services:Helpdesk", "Managed Services:Security"):
        assert name in lob.finding
    assert "Professional Services" not in lob.finding
    assert "Admin > Resources/Users > the API user > Security" in lob.fix
    visible = checks["Billing items the API user sees"]
    assert visible.verdict == "warning"
    assert visible.finding.startswith(f"{len(expected)} of the ")
    assert visible.detail.startswith("visible vs all billing items of the window's invoices: ")
    assert sorted(re.findall(r"(INV-\d+) \(id \d+\): ", visible.detail)) == expected
    assert "its lines of business" in visible.finding
    assert checks["Entities and fields"].verdict == "ok"  # it may use every entity: only its lines are fewer
    assert_read_only(requests)
    assert len(requests) <= CALL_BOUND

    # the tenant's main API user sees every line: the same invoices add up
    main, _ = run_checks(sandbox_server, run_info(doc, **settings))
    assert main["API user's lines of business"].verdict == "ok"
    assert main["Billing items the API user sees"].verdict == "ok"


def test_bey08_a_lob_class_map_key_autotask_does_not_have_is_blocking(tenant, sandbox_server):
    doc = tenant("demo")
    lob_map = {"Managed Services:Backup": "Backup", "managed services:helpdesk": "Helpdesk"}

    checks, _ = run_checks(sandbox_server, run_info(doc, lob_class_map=lob_map))

    check = checks["Lines of business and lob_class_map"]
    assert check.verdict == "blocking"
    assert "'Managed Services:Backup'" in check.finding
    assert "'managed services:helpdesk' (Autotask spells it 'Managed Services:Helpdesk'" in check.finding
    assert "lob_class_map" in check.fix and "Admin > Variables" in check.fix
    for name in ("Managed Services:Helpdesk", "Professional Services:Projects"):
        assert name in check.fix


def test_bey08_a_renamed_submitted_label_is_blocking_on_the_sandbox(tenant, sandbox_server):
    renamed = {
        "autotask": {
            "picklists": {
                "purchaseOrderStatus": [
                    {"value": 1, "label": "New"},
                    {"value": 2, "label": "Sent to vendor"},
                    {"value": 3, "label": "Received Partial"},
                    {"value": 4, "label": "Received Full"},
                    {"value": 5, "label": "Canceled"},
                ]
            }
        }
    }
    doc = tenant("demo", renamed)

    checks, _ = run_checks(sandbox_server, run_info(doc))

    check = checks["PurchaseOrders.status picklist"]
    assert check.verdict == "blocking"
    assert "has no label 'Submitted'" in check.finding and "Sent to vendor" in check.finding
    assert "no setting for another label" in check.fix


def test_bey08_an_api_user_without_query_access_to_purchase_orders_is_blocking_on_the_sandbox(
    tenant, sandbox_server, monkeypatch
):
    doc = load_seed("uk-vat")
    user = doc["autotask"]["api_users"][0]
    limited = {"autotask": {"api_users": [{**user, "entity_access": {"PurchaseOrders": {"query": False}}}]}}
    tenant("uk-vat", limited)
    conn_id = restricted_connection(sandbox_server, monkeypatch, doc)

    checks, requests = run_checks(
        sandbox_server, run_info(doc, **PROFILE_SETTINGS["uk-vat"], **ALL_ON, autotask_conn_id=conn_id)
    )

    check = checks["Entity PurchaseOrders"]
    assert check.verdict == "blocking"
    assert "may not query PurchaseOrders (userAccessForQuery: None)" in check.finding
    assert "purchase order sync" in check.finding and "po_lookback_days 0" in check.fix
    assert_read_only(requests)


# -- pure rules ----------------------------------------------------------------------------------------


def sandbox_like_reads() -> dict[str, EntityRead]:
    """Every entity of USES fully allowed, with exactly the fields atqbo uses (entityInformation's shapes)."""
    info = {
        "canQuery": True,
        "canCreate": True,
        "canUpdate": True,
        "userAccessForQuery": "All",
        "userAccessForCreate": "All",
        "userAccessForUpdate": "All",
    }
    fields: dict[str, dict[str, dict]] = {}
    for use in USES:
        for name in (*use.reads, *use.filters, *use.writes):
            fields.setdefault(use.entity, {})[name] = {"name": name, "isQueryable": True, "isReadOnly": False}
    return {entity: EntityRead(dict(info), list(named.values())) for entity, named in fields.items()}


def test_bey08_uses_is_built_from_the_syncs_own_field_lists():
    by_entity = {(u.entity, u.sync): u for u in USES}
    assert by_entity[("BillingItems", at.INVOICES)].reads == tuple(BILLING_ITEM_FIELDS)
    assert by_entity[("PurchaseOrders", at.PURCHASE_ORDERS)].reads == tuple(PO_FIELDS)
    assert by_entity[("PurchaseOrders", at.PURCHASE_ORDERS)].writes == ("externalPONumber",)
    assert by_entity[("Invoices", at.PAYMENTS)].writes == ("paidDate",)


def test_bey08_entity_verdicts_follow_entity_information():
    settings = Settings.from_dict(ALL_ON)
    reads = sandbox_like_reads()
    assert [c.verdict for c in entity_checks("api@x", settings, reads)] == ["ok"]

    po = reads["PurchaseOrders"]
    reads["PurchaseOrders"] = EntityRead({**po.info, "userAccessForQuery": "None"}, po.fields)
    invoices = reads["Invoices"]
    reads["Invoices"] = EntityRead(
        invoices.info,
        [
            {**f, "isQueryable": f["name"] != "voidedDate", "isReadOnly": f["name"] == "paidDate"}
            for f in invoices.fields
            if f["name"] != "totalTaxValue"
        ],
    )
    companies = reads["Companies"]
    reads["Companies"] = EntityRead(companies.info, [f for f in companies.fields if f["name"] != "taxRegionID"])

    checks = {c.topic: c for c in entity_checks("api@x", settings, reads)}

    assert checks["Entities and fields"].verdict == "ok"
    assert "Companies.taxRegionID" in checks["Entities and fields"].finding  # optional: atqbo does without
    assert checks["Entity PurchaseOrders"].verdict == "blocking"
    assert "may not query PurchaseOrders (userAccessForQuery: None)" in checks["Entity PurchaseOrders"].finding
    assert "Admin > Resources/Users > the API user > Security" in checks["Entity PurchaseOrders"].fix
    found = checks["Entity Invoices"].finding
    assert checks["Entity Invoices"].verdict == "blocking"
    assert "no field totalTaxValue (needed by the invoice sync)" in found
    assert "field voidedDate cannot be queried" in found and "(needed by the void sync)" in found
    assert "field paidDate is read-only" in found and "(needed by the payment sync)" in found

    # the same problems with only the invoice sync on: those of the syncs that are off are warnings
    only_invoices = Settings.from_dict({"po_lookback_days": 0})
    reads["Invoices"] = EntityRead(
        invoices.info, [{**f, "isQueryable": f["name"] != "voidedDate"} for f in invoices.fields]
    )
    checks = {c.topic: c for c in entity_checks("api@x", only_invoices, reads)}
    assert checks["Entity PurchaseOrders"].verdict == "warning"
    assert checks["Entity Invoices"].verdict == "warning"
    assert "before turning on the void sync" in checks["Entity Invoices"].fix


def test_bey08_the_submitted_label_is_looked_for_in_the_tenant_picklist():
    on, off = Settings.from_dict({}), Settings.from_dict({"po_lookback_days": 0})
    labels = ["New", "Sent to vendor", "Received Partial", "Received Full", "Canceled"]
    renamed = [{"value": str(i), "label": label, "isActive": True} for i, label in enumerate(labels, start=1)]

    blocked = po_status_check(renamed, on)
    assert blocked.verdict == "blocking"
    assert "has no label 'Submitted'" in blocked.finding and "Sent to vendor" in blocked.finding
    assert "rename the status back to 'Submitted'" in blocked.fix and "po_lookback_days to 0" in blocked.fix
    assert po_status_check(renamed, off).verdict == "warning"
    lower = [*renamed[:1], {"value": "2", "label": "submitted", "isActive": True}]
    assert po_status_check(lower, on).verdict == "ok"
    retired = [*renamed[:1], {"value": "2", "label": "Submitted", "isActive": False}]
    assert po_status_check(retired, on).verdict == "blocking"
    assert "inactive" in po_status_check(retired, on).finding


def test_bey08_the_last_full_month_is_the_calendar_month_before_the_window_end():
    assert last_full_month(datetime(2026, 3, 15, 9, 30, tzinfo=UTC)) == (
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert last_full_month(datetime(2026, 1, 1, tzinfo=UTC)) == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_bey08_the_run_estimate_matches_the_benchmark():
    # README "Benchmarks": 1,017 invoices, 8,089 billing items, 1,051 Autotask calls for the whole run
    parts = estimate_run_calls(1017, 8089 / 1017)
    assert parts["write_backs"] == 1017
    assert parts["invoice_pages"] == 3 and parts["item_pages"] == 17
    assert abs(parts["total"] - 1051) <= 5
    assert estimate_run_calls(0)["total"] == 0


def test_bey08_a_run_past_atqbos_hourly_share_is_a_warning_never_blocking():
    info = {"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 120}
    fits = threshold_check(info, 0.5, "November 2026", 1000, 8.0)
    assert fits.verdict == "ok"
    assert "about 1,034 calls = 1,000 write-back PATCHes" in fits.finding and "5,000" in fits.finding

    too_many = threshold_check(info, 0.5, "November 2026", 6000, 8.0)
    assert too_many.verdict == "warning"
    assert "more than atqbo's share" in too_many.finding and "about 2 hours" in too_many.finding
    assert "autotask_budget_share" in too_many.fix
    assert threshold_check(info, 0.05, "November 2026", 100_000, 8.0).verdict == "warning"


def test_bey08_the_visible_items_rule_is_the_invoice_syncs_line_02_rule():
    from decimal import Decimal

    assert before_tax_gap([Decimal("90.00")], Decimal("110.00"), Decimal("20.00"), Decimal("0.01")) is None
    assert before_tax_gap([Decimal("60.00")], Decimal("110.00"), Decimal("20.00"), Decimal("0.01")) == Decimal("-30.00")


def test_bey08_the_billing_items_read_for_the_measure_stop_at_the_cap(tenant, sandbox_server, monkeypatch):
    doc = tenant("demo")
    monkeypatch.setattr(at, "MEASURE_CHUNK", 5)  # 40 invoices: 8 chunks of one page each
    monkeypatch.setattr(at, "MEASURE_MAX_CALLS", 3)

    checks, requests = run_checks(sandbox_server, run_info(doc))

    items = [r for r in requests if r["path"].lower().endswith("/billingitems/query")]
    assert len(items) == 3
    check = checks["Billing items the API user sees"]
    assert check.verdict == "ok"
    unvoided = sum(1 for inv in doc["autotask"]["Invoices"] if not inv.get("isVoided"))
    assert f"{unvoided - 15} not measured (at most 3 pages of billing items are read)" in check.finding


def test_bey08_the_calls_stay_bounded_on_a_tenant_with_a_big_month(tenant, sandbox_server):
    from bench.invoices import synthetic_tenant

    doc = tenant("demo")
    sandbox_server.seed(synthetic_tenant(datetime.now(UTC).date(), invoices=600, lines=8, companies_count=300))

    checks, requests = run_checks(sandbox_server, run_info(doc, **ALL_ON))

    assert {t: c.verdict for t, c in checks.items() if c.verdict != "ok"} == {}
    assert "(the first 500 by id)" in checks["Billing items the API user sees"].finding
    assert_read_only(requests)
    assert len(requests) <= CALL_BOUND, [f"{r['method']} {r['path']}" for r in requests]
    assert sum(1 for r in requests if r["path"].lower().endswith("/billingitems/query")) <= at.MEASURE_MAX_CALLS + 1
