"""atqbo_compare_items (TOOL-01) and atqbo_copy_missing_items (TOOL-02) run with dag.test() against the
sandbox's demo tenant plus a few edge cases, checked against the sandbox's own billing codes and QBO
items, its request log (bulk reads, batch creates, no other writes) and its mailbox."""

from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
from decimal import Decimal
from urllib.parse import parse_qs

import pendulum
import pytest

from tests.dags.dag_support import load_dag, task_states, work_state

pytestmark = pytest.mark.integration

COMPARE, COPY = "atqbo_compare_items", "atqbo_copy_missing_items"
REPORT_TO, EXTRA = "billing@msp.example", "ops@msp.example"
SETTINGS = {"report_to": [REPORT_TO]}
SERVICES_ACCOUNT = "1"  # the sandbox's "Services" income account (the default new_item_income_account)

LEGACY, PRINTER = 39800001, 39800002
# Beyond the demo: an inactive billing code (never compared, never copied); a code whose QBO item is
# named in other letters and priced differently; the demo's "Firewall Subscription" as an inactive item.
EDGE = {
    "autotask": {
        "BillingCodes": [
            {
                "id": LEGACY,
                "name": "Legacy Support",
                "externalNumber": "LEG-1",
                "description": "Old contract work",
                "billingCodeType": 1,
                "useType": 1,
                "unitPrice": 90.0,
                "isActive": False,
            },
            {
                "id": PRINTER,
                "name": "Printer Service",
                "externalNumber": "PRN-SVC",
                "description": "Printer Service",
                "billingCodeType": 1,
                "useType": 1,
                "unitPrice": 60.0,
                "isActive": True,
            },
        ],
    },
    "qbo": {
        "Item": [
            {
                "Id": "501",
                "Name": "printer service",
                "Type": "Service",
                "Description": "Printer Service",
                "UnitPrice": 55,
                "IncomeAccountRef": {"value": SERVICES_ACCOUNT},
            },
            {
                "Id": "502",
                "Name": "Firewall Subscription",
                "Type": "Service",
                "Active": False,
                "UnitPrice": 35,
                "Description": "Firewall Subscription (recurring service)",
                "IncomeAccountRef": {"value": SERVICES_ACCOUNT},
            },
        ],
    },
}


def bulk_codes(count: int) -> dict:
    """``count`` more active billing codes, none of them in QBO: more than one QBO batch to create."""
    return {
        "autotask": {
            "BillingCodes": [
                {
                    "id": 39810001 + n,
                    "name": f"Bulk Service {n:02d}",
                    "externalNumber": f"BULK-{n:02d}",
                    "description": f"Bulk service number {n}",
                    "billingCodeType": 1,
                    "useType": 1,
                    "unitPrice": 10.0 + n,
                    "isActive": True,
                }
                for n in range(count)
            ]
        }
    }


class Tenant:
    def __init__(self, sandbox, monkeypatch, tmp_path):
        self.sb = sandbox
        self.monkeypatch = monkeypatch
        self.state_db = tmp_path / "atqbo_state.db"  # the sandbox_connections fixture's state database

    def settings(self, **changes) -> None:
        self.monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({**SETTINGS, **changes}))

    def run(self, dag_id: str, conf: dict | None = None, expect: str = "success"):
        dagrun = load_dag(dag_id).test(logical_date=pendulum.now("UTC"), run_conf=conf)
        assert work_state(dagrun) == expect, {ti.task_id: ti.state for ti in dagrun.get_task_instances()}
        return dagrun

    # -- looking at the sandbox --

    def active_codes(self) -> list[dict]:
        return [c for c in self.sb.state()["autotask"]["BillingCodes"] if c.get("isActive")]

    def items(self) -> dict[str, dict]:
        return {i["Id"]: i for i in self.sb.state()["qbo"].get("Item", [])}

    def mails(self, subject_start: str) -> list[dict]:
        return [m for m in self.sb.mail.messages() if m["subject"].startswith(subject_start)]

    def writes(self, api: str | None = None) -> list[dict]:
        """Every request that could change Autotask or QBO (anything but reads, queries, token refreshes)."""
        out = []
        for r in self.sb.requests.list(api):
            path = r["path"].lower().rstrip("/")
            if r["method"] in ("GET", "HEAD") or path.endswith(("/query", "/query/count", "/tokens/bearer")):
                continue
            if "/query/next" in path:
                continue
            out.append(r)
        return out

    def qbo_queries(self) -> list[str]:
        """The statements of the QBO queries made (a long one goes in a POST body: "<POST>")."""
        out = []
        for r in self.sb.requests.list("qbo"):
            if r["path"].lower().endswith("/query"):
                out.append((parse_qs(r["query"] or "").get("query") or ["<POST>"])[0])
        return out

    def qbo_api_calls(self) -> list[dict]:
        return [r for r in self.sb.requests.list("qbo") if "/v3/company/" in r["path"]]

    def autotask_entity_calls(self) -> list[dict]:
        discovery = ("zoneinformation", "thresholdinformation")
        return [r for r in self.sb.requests.list("autotask") if not any(d in r["path"].lower() for d in discovery)]


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch, tmp_path):
    from sandbox.seeds import load_seed

    sb = sandbox_connections
    sb.reset()
    sb.seed(load_seed("demo"))
    sb.seed(EDGE)
    for conn_id, conn in sb.connections().items():  # after the reset: its refresh token is the valid one
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    tenant = Tenant(sb, monkeypatch, tmp_path)
    tenant.settings()
    sb.requests.clear()
    return tenant


def _key(code: dict, match_field: str) -> str:
    """The match key as the vendor describes it (the demo's names need no QBO clean-up)."""
    name, external = (code.get("name") or "").strip(), (code.get("externalNumber") or "").strip()
    return {"name": name, "external_number": external, "external_number_or_name": external or name}[match_field]


def _attachment(mail: dict, prefix: str) -> list[dict]:
    (found,) = [a for a in mail["attachments"] if a["filename"].startswith(prefix)]
    return list(csv.DictReader(io.StringIO(found["text"].lstrip("\ufeff"))))


# -- TOOL-01 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "form_field", "effective"),
    [
        ("name", "settings", "name"),
        ("name", "external_number", "external_number"),
        ("external_number_or_name", "settings", "external_number_or_name"),
    ],
)
def test_tool01_compare_emails_a_csv_whose_rows_are_the_sandboxs_codes_and_items(
    tenant, setting, form_field, effective
):
    tenant.settings(item_match_field=setting)
    codes, items = tenant.active_codes(), tenant.items()
    tenant.run(COMPARE, {"match_field": form_field, "email": [EXTRA]})

    (mail,) = tenant.mails("[atqbo] compare billing codes and items")
    assert mail["envelope_to"] == [REPORT_TO, EXTRA]
    rows = _attachment(mail, "atqbo-item-comparison-")
    by_code = {int(r["billing_code_id"]): r for r in rows if r["billing_code_id"]}
    assert set(by_code) == {c["id"] for c in codes}  # every active code once; LEGACY (inactive) is not there
    by_name = {i["Name"].lower(): i for i in items.values()}
    matched_items = set()
    for code in codes:
        row, key = by_code[code["id"]], _key(code, effective)
        assert row["match_key"] == key, code
        if not key:
            assert row["status"] == "no_match_key" and row["qbo_item_id"] == "", code
            continue
        item = by_name.get(key.lower())
        if item is None:
            assert (row["status"], row["qbo_item_id"]) == ("missing_in_qbo", ""), code
            continue
        matched_items.add(item["Id"])
        differ = {
            "description": (code.get("description") or code["name"]) != (item.get("Description") or ""),
            "unit price": Decimal(str(code["unitPrice"])) != Decimal(str(item.get("UnitPrice", 0))),
            "active": item.get("Active", True) is not True,
        }
        assert row["qbo_item_id"] == item["Id"] and row["qbo_item_name"] == item["Name"], code
        assert row["status"] == ("discrepancy" if any(differ.values()) else "matched"), code
        assert row["differences"] == "; ".join(f for f, d in differ.items() if d), code
        assert row["autotask_description"] == code["description"], code
        assert row["qbo_description"] == item.get("Description", ""), code
    only_in_qbo = {r["qbo_item_id"] for r in rows if r["status"] == "only_in_qbo"}
    assert only_in_qbo == set(items) - matched_items
    if effective == "name":  # the edge cases: QBO names are case-insensitive; inactive items still match
        printer, firewall = by_code[PRINTER], by_code[29682809]
        assert (printer["status"], printer["qbo_item_id"]) == ("discrepancy", "501")
        assert printer["differences"] == "unit price"
        assert (printer["autotask_unit_price"], printer["qbo_unit_price"]) == ("60.00", "55.00")
        assert (firewall["status"], firewall["differences"], firewall["qbo_active"]) == ("discrepancy", "active", "no")
    if effective == "external_number":
        assert by_code[29682812]["status"] == "no_match_key"  # Travel has no External Number
        assert by_code[29682804]["status"] == "discrepancy" and by_code[29682804]["qbo_item_name"] == "SUP-ONS"
    else:
        assert by_code[29682812]["status"] == "missing_in_qbo"
    assert "item_match_field " + repr(effective) in mail["html"].replace("&#x27;", "'")

    # read-only, in bulk: one billing code query, one item query, nothing written anywhere
    assert tenant.writes() == []
    assert [r["path"].split("/v1.0/")[-1] for r in tenant.autotask_entity_calls()] == ["BillingCodes/query"]
    assert len(tenant.qbo_api_calls()) == 1 and "FROM Item" in tenant.qbo_queries()[0]
    from atqbo.ledger import Ledger

    (history,) = Ledger.from_conn_id("atqbo_state").list_runs(COMPARE)
    assert history["counts"]["warning"] == len([r for r in by_code.values() if r["status"] != "matched"])


# -- TOOL-02 ---------------------------------------------------------------------------------------------


def test_tool02_copy_creates_exactly_the_missing_items_in_bulk_and_a_second_run_creates_nothing(tenant):
    tenant.sb.seed(bulk_codes(45))
    codes, before = tenant.active_codes(), tenant.items()
    names = {i["Name"].lower(): i for i in before.values()}
    missing = {c["name"]: c for c in codes if c["name"].lower() not in names}  # item_match_field "name" (default)
    inactive = [c for c in codes if not names.get(c["name"].lower(), {}).get("Active", True)]
    assert len(missing) == 45 + 6 and [c["id"] for c in inactive] == [29682809]

    tenant.run(COPY, {"email": [EXTRA]})

    after = tenant.items()
    assert {k: after[k] for k in before} == before  # existing items untouched
    new = {i["Name"]: i for k, i in after.items() if k not in before}
    assert set(new) == set(missing)  # exactly the missing ones, once each
    for name, item in new.items():
        code = missing[name]
        assert item["Type"] == "Service" and item["IncomeAccountRef"]["value"] == SERVICES_ACCOUNT, name
        assert item["Description"] == code["description"], name
        assert Decimal(str(item["UnitPrice"])) == Decimal(str(code["unitPrice"])), name
        assert item.get("Sku") == code.get("externalNumber"), name
    assert "Legacy Support" not in new  # inactive billing code
    # only item creates, by batch; read in bulk: 1 Autotask query; QBO: the account, the items, the names again
    batches = [r for r in tenant.writes() if r["path"].lower().endswith("/batch")]
    assert tenant.writes() == batches and len(batches) == math.ceil(len(missing) / 30) == 2
    assert [r["path"].split("/v1.0/")[-1] for r in tenant.autotask_entity_calls()] == ["BillingCodes/query"]
    assert len(tenant.qbo_api_calls()) == 3 + len(batches) < len(codes) / 10
    (mail,) = tenant.mails("[atqbo] copy missing items")
    assert mail["envelope_to"] == [REPORT_TO, EXTRA]
    matched = len(codes) - len(missing) - len(inactive)
    assert mail["subject"] == f"[atqbo] copy missing items: {len(missing)} transferred, {matched} matched, 1 warning"
    report = _attachment(mail, "atqbo-copy-missing-items-")
    created_rows = {r["reference"]: r for r in report if r["outcome"] == "transferred"}
    assert {n: r["qbo_id"] for n, r in created_rows.items()} == {n: i["Id"] for n, i in new.items()}
    (warning,) = [r for r in report if r["outcome"] == "warning"]
    assert warning["reference"] == "Firewall Subscription" and "inactive" in warning["reason"]

    tenant.sb.requests.clear()
    tenant.run(COPY)
    assert tenant.items() == after
    assert tenant.writes() == []
    second = tenant.mails("[atqbo] copy missing items")[-1]
    assert second["subject"] == f"[atqbo] copy missing items: {matched + len(missing)} matched, 1 warning"


def test_tool02_copied_items_are_the_ones_the_invoice_sync_looks_for(tenant):
    """After a copy the invoice sync creates no item for a billing code: only its own generic and tax items."""
    from atqbo.transform.invoices import GENERIC_ITEM_NAME, TAX_ITEM_NAME

    tenant.settings(invoice_lookback_days=45)
    before = tenant.items()
    tenant.run(COPY)
    copied = tenant.items()
    copied_ids = set(copied) - set(before)
    assert copied_ids
    tenant.run("atqbo_invoices")
    created_by_sync = {i["Name"] for k, i in tenant.items().items() if k not in copied}
    assert created_by_sync <= {GENERIC_ITEM_NAME, TAX_ITEM_NAME}
    used = {
        line["SalesItemLineDetail"]["ItemRef"]["value"]
        for invoice in tenant.sb.state()["qbo"]["Invoice"]
        if "Autotask invoice" in (invoice.get("PrivateNote") or "")
        for line in invoice["Line"]
        if line.get("DetailType") == "SalesItemLineDetail"
    }
    assert used & copied_ids  # the sync's invoices really use items the copy made


def test_tool02_copy_by_external_number_names_items_by_it_and_reports_codes_without_one(tenant):
    codes, before = tenant.active_codes(), tenant.items()
    names = {i["Name"].lower() for i in before.values()}
    missing = {c["externalNumber"] for c in codes if (c.get("externalNumber") or "").lower() not in names | {""}}
    tenant.run(COPY, {"match_field": "external_number"})
    new = {i["Name"] for k, i in tenant.items().items() if k not in before}
    assert new == missing and "PRN-SVC" in new
    report = _attachment(tenant.mails("[atqbo] copy missing items")[-1], "atqbo-copy-missing-items-")
    (travel,) = [r for r in report if r["autotask_id"] == "29682812"]
    assert travel["outcome"] == "warning" and "External Number is blank" in travel["reason"]


def test_tool02_dry_run_reports_the_plan_and_creates_nothing(tenant):
    tenant.settings(dry_run=True)
    before = tenant.items()
    tenant.run(COPY)
    assert tenant.items() == before and tenant.writes() == []
    mail = tenant.mails("[atqbo] copy missing items")[-1]
    assert mail["subject"].endswith("(dry run)") and "6 planned" in mail["subject"]


def test_tool02_an_item_created_in_qbo_meanwhile_is_adopted_not_duplicated(tenant):
    """A real race, through the functions the copy DAG's tasks call: QBO (the sandbox) holds each request
    300 ms; a bookkeeper creates one of the missing items right after the copy has looked the names up
    again, before its batch is served. QBO answers that name with 6240 and the copy adopts the item."""
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings
    from atqbo.tools.items.copy_missing import STAGE_COPY, copy_missing_items, income_account_id
    from atqbo.tools.items.read import extract_codes_and_items, staged_comparison

    now = pendulum.now("UTC").isoformat()
    run = RunInfo(
        dag_id=COPY,
        run_id="race",
        run_key=f"{COPY}/race",
        settings=Settings.from_dict(SETTINGS).to_dict(),
        window_start=now,
        window_end=now,
    )
    ledger = Ledger.from_conn_id("atqbo_state")
    ledger.create_schema()
    qbo = run.qbo(ledger)
    extract_codes_and_items(run, run.autotask(), qbo, ledger)
    income = income_account_id(qbo, run.parsed_settings)
    target, target_code = "Microsoft 365 Business Premium", 29682808
    assert target in staged_comparison(run, ledger).to_create()

    tenant.sb.set_limits({"qbo": {"latency_ms": 300}})
    tenant.sb.requests.clear()
    outcome: dict = {}

    def copy() -> None:
        own = Ledger.from_conn_id("atqbo_state")
        outcome["counts"] = copy_missing_items(run, run.qbo(own), own, income)

    worker = threading.Thread(target=copy)
    worker.start()
    deadline = time.monotonic() + 30
    while not tenant.qbo_queries() and time.monotonic() < deadline:  # the copy's second look-up has been answered
        time.sleep(0.005)
    tenant.sb.seed(
        {
            "qbo": {
                "Item": [
                    {
                        "Name": target,
                        "Type": "Service",
                        "Description": "Added by the bookkeeper",
                        "IncomeAccountRef": {"value": "2"},
                    }
                ]
            }
        }
    )
    worker.join(60)
    assert not worker.is_alive()

    named = [i for i in tenant.items().values() if i["Name"].lower() == target.lower()]
    assert len(named) == 1 and named[0]["Description"] == "Added by the bookkeeper"  # the bookkeeper's, not a copy
    row = ledger.stage_get(run.run_key, STAGE_COPY)[str(target_code)]
    assert row["outcome"] == "matched" and row["qbo_id"] == named[0]["Id"]
    assert "created in QBO meanwhile" in row["reason"]  # adopted from QBO's duplicate-name answer
    assert outcome["counts"]["transferred"] == 5  # the other missing items were created


# -- bad input and a missing account ---------------------------------------------------------------------


@pytest.mark.parametrize("dag_id", [COMPARE, COPY])
@pytest.mark.parametrize("conf", [{"match_field": "sku"}, {"email": ["not-an-address"]}], ids=["match_field", "email"])
def test_tool01_tool02_bad_form_input_is_rejected_and_nothing_is_written(tenant, dag_id, conf):
    from airflow.sdk.exceptions import ParamValidationError

    before = tenant.sb.state()
    with pytest.raises(ParamValidationError, match="Invalid input for param"):
        load_dag(dag_id).test(logical_date=pendulum.now("UTC"), run_conf=conf)
    assert tenant.sb.requests.list() == []  # neither API was called
    assert tenant.sb.state()["qbo"]["Item"] == before["qbo"]["Item"]
    assert tenant.sb.mail.messages() == []
    assert not tenant.state_db.exists()  # not even the state database was touched


def test_tool02_missing_income_account_fails_at_start_naming_the_setting_and_creates_nothing(tenant, capfd):
    tenant.settings(new_item_income_account="Consulting Income")
    before = tenant.items()
    dagrun = tenant.run(COPY, expect="failed")
    states = task_states(dagrun)
    assert states == {
        "start": "failed",
        "compare": "upstream_failed",
        "copy": "upstream_failed",
        "report": "upstream_failed",
    }
    assert tenant.items() == before and tenant.writes() == []
    assert not list(tenant.sb.requests.list("autotask"))  # it stopped before reading billing codes
    log = capfd.readouterr()
    text = log.out + log.err
    assert "QBO has no account named 'Consulting Income'" in text
    assert "new_item_income_account" in text and "nothing was created" in text
