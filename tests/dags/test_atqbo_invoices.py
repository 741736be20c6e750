"""atqbo_invoices run with dag.test() against the sandbox (demo tenant + edge cases), checked
record by record in the sandbox's QBO state, Autotask state, request log and mailbox."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pendulum
import pytest

from tests.dags.dag_support import load_dag, task_states, work_state

pytestmark = pytest.mark.integration

TODAY = date.today()
CONTOSO = 29683501  # demo company that is already a QBO customer
REMOTE_SUPPORT, TRAVEL, M365 = 29682803, 29682812, 29682808  # billing codes (Travel has no external number)
MONITORING, PROJECTS = (
    1,
    4,
)  # organizational level associations: Managed Services:Monitoring, Professional Services:Projects
# Autotask allows 200 characters in a billing code name, QBO 100 in an item name (Autotask company
# names stop at 100, QBO's old DisplayName limit, so the long name that really happens is an item's).
LONG_NAME = ("Extraordinarily Long Billing Code Name For Managed Backup " + "Services " * 12)[:150]
LONG_CODE = 39300001
assert len(LONG_NAME) == 150

SETTINGS = {
    "invoice_lookback_days": 45,
    "report_to": ["billing@msp.example"],
    "lob_class_map": {
        "Managed Services:Monitoring": "Managed",
        "Managed Services:Helpdesk": "Managed",
        "Professional Services:Projects": "Projects",
        "Professional Services:Hardware": "Hardware Resale",
    },
    "po_number_custom_field": "PO Number",
}


def _dt(days_ago: int) -> str:
    return f"{TODAY - timedelta(days=days_ago)}T00:00:00Z"


def _item(iid: int, invoice: int, company: int, code: int | None, qty: str, rate: str, total: str, **extra) -> dict:
    return {
        "id": iid,
        "invoiceID": invoice,
        "companyID": company,
        "billingCodeID": code,
        "billingItemType": 1,
        "organizationalLevelAssociationID": extra.pop("lob", MONITORING),
        "itemName": extra.pop("name", "Work"),
        "description": extra.pop("description", "Work done"),
        "itemDate": _dt(3),
        "quantity": float(qty),
        "rate": float(rate),
        "extendedPrice": float(total),
        "totalAmount": float(total),
        "taxDollars": 0.0,
        **extra,
    }


def _invoice(iid: int, company: int, total: str, **extra) -> dict:
    return {
        "id": iid,
        "companyID": company,
        "invoiceNumber": f"E-{iid}",
        "invoiceDateTime": _dt(2),
        "fromDate": _dt(32),
        "toDate": _dt(2),
        "dueDate": f"{TODAY + timedelta(days=28)}T00:00:00Z",
        "paymentTerm": 1,
        "invoiceTotal": float(total),
        "totalTaxValue": 0.0,
        "comments": "Thanks!",
        "isVoided": False,
        **extra,
    }


EDGE = {
    "negative": 39100001,
    "zero": 39100002,
    "rounding": 39100003,
    "unknown_term": 39100004,
    "apostrophe_colon": 39100005,
    "long_name": 39100006,
    "long_description": 39100007,
    "po_number": 39100008,
    "several_lobs": 39100009,
    "missing_item": 39100010,
}


def edge_case_seed() -> dict:
    e = EDGE
    return {
        "autotask": {
            "Companies": [
                {
                    "id": 39000001,
                    "companyName": "D'Angelo: Consulting Group",
                    "companyType": 1,
                    "phone": "1",
                    "address1": "1 Quote St",
                    "city": "Dayton",
                    "state": "OH",
                    "postalCode": "45402",
                },
            ],
            "BillingCodes": [
                {
                    "id": LONG_CODE,
                    "name": LONG_NAME,
                    "externalNumber": "LONG-1",
                    "description": "A long one",
                    "billingCodeType": 4,
                    "useType": 1,
                    "unitPrice": 125.0,
                    "isActive": True,
                },
            ],
            "Invoices": [
                _invoice(e["negative"], CONTOSO, "-50.00"),
                _invoice(e["zero"], CONTOSO, "0.00"),
                _invoice(e["rounding"], CONTOSO, "99.99"),
                # "Net 45" is not in QBO; a new customer, so QBO has no default term to fill in either
                _invoice(e["unknown_term"], 39000001, "125.00", paymentTerm=4),
                _invoice(e["apostrophe_colon"], 39000001, "250.00"),
                _invoice(e["long_name"], CONTOSO, "125.00"),
                _invoice(e["long_description"], CONTOSO, "125.00"),
                _invoice(e["po_number"], CONTOSO, "125.00", orderNumber="PO-7781"),
                _invoice(e["several_lobs"], CONTOSO, "265.00"),
                _invoice(e["missing_item"], CONTOSO, "75.00"),
            ],
            "BillingItems": [
                _item(39200001, e["negative"], CONTOSO, REMOTE_SUPPORT, "1", "-50", "-50"),
                _item(39200002, e["zero"], CONTOSO, REMOTE_SUPPORT, "0", "125", "0"),
                _item(39200003, e["rounding"], CONTOSO, REMOTE_SUPPORT, "7", "14.285", "99.99"),
                _item(39200004, e["unknown_term"], 39000001, REMOTE_SUPPORT, "1", "125", "125"),
                _item(39200005, e["apostrophe_colon"], 39000001, REMOTE_SUPPORT, "2", "125", "250"),
                _item(39200006, e["long_name"], CONTOSO, LONG_CODE, "1", "125", "125"),
                _item(
                    39200007, e["long_description"], CONTOSO, REMOTE_SUPPORT, "1", "125", "125", description="x" * 5000
                ),
                _item(39200008, e["po_number"], CONTOSO, REMOTE_SUPPORT, "1", "125", "125"),
                _item(39200009, e["several_lobs"], CONTOSO, REMOTE_SUPPORT, "1", "125", "125", lob=MONITORING),
                _item(39200010, e["several_lobs"], CONTOSO, M365, "1", "140", "140", lob=PROJECTS),
                _item(39200011, e["missing_item"], CONTOSO, TRAVEL, "1", "75", "75"),
            ],
        }
    }


# -- helpers --------------------------------------------------------------------------------------


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch):
    """The demo tenant plus the edge cases, settings in the Variable, and helpers to run and look."""
    from sandbox.seeds import load_seed

    sb = sandbox_connections
    sb.reset()
    sb.seed(load_seed("demo"))
    sb.seed(edge_case_seed())
    for conn_id, conn in sb.connections().items():  # after the reset: its refresh token is the valid one
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(SETTINGS))
    return Tenant(sb, monkeypatch)


class Tenant:
    def __init__(self, sandbox, monkeypatch):
        self.sb = sandbox
        self.monkeypatch = monkeypatch
        self.preexisting = set(self.qbo_invoices())  # the demo's invoices synced before atqbo took over

    def settings(self, **changes) -> None:
        self.monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({**SETTINGS, **changes}))

    def run(self, logical_date: datetime | None = None, conf: dict | None = None):
        dag = load_dag("atqbo_invoices")  # retries off: a failed run is re-run instead
        when = logical_date or pendulum.now("UTC").replace(second=0, microsecond=0)
        return dag.test(logical_date=when, run_conf=conf)

    def unnumber(self, *autotask_ids: int) -> None:
        """invoiceNumber marker mode: unsynced invoices have no number yet (QBO numbers them)."""
        at = self.at_invoices()
        self.sb.seed({"autotask": {"Invoices": [{**at[i], "invoiceNumber": None} for i in autotask_ids]}})

    def qbo_invoices(self) -> dict[int, dict]:
        """atqbo's invoices in QBO, by Autotask id."""
        out = {}
        for inv in self.sb.state()["qbo"].get("Invoice", []):
            m = re.search(r"Autotask invoice (\d+)", inv.get("PrivateNote") or "")
            if m:
                assert int(m.group(1)) not in out, f"two QBO invoices for Autotask invoice {m.group(1)}"
                out[int(m.group(1))] = inv
        return out

    def at_invoices(self) -> dict[int, dict]:
        return {i["id"]: i for i in self.sb.state()["autotask"]["Invoices"]}

    def qbo_named(self, entity: str, field: str = "DisplayName") -> dict[str, dict]:
        return {r[field]: r for r in self.sb.state()["qbo"].get(entity, [])}

    def writes(self, api: str | None = None) -> list[dict]:
        return [
            r
            for r in self.sb.requests.list(api)
            if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
            and not r["path"].endswith(("/query", "/query/count", "/query/next", "/tokens/bearer"))
            and "query" not in (r["query"] or "")
        ]


def _eligible(tenant: Tenant) -> set[int]:
    """Autotask invoices the sync should send: unsynced, not voided, total >= 0."""
    return {
        i["id"]
        for i in tenant.at_invoices().values()
        if not i.get("webServiceDate") and not i.get("isVoided") and Decimal(str(i["invoiceTotal"])) >= 0
    }


# -- the full run ---------------------------------------------------------------------------------


def test_inv02_full_run_sends_every_eligible_invoice_once_record_by_record(tenant):
    eligible = _eligible(tenant)
    dagrun = tenant.run()
    assert work_state(dagrun) == "success", task_states(dagrun)
    created = {k: v for k, v in tenant.qbo_invoices().items() if k not in tenant.preexisting}
    assert set(created) == eligible
    at = tenant.at_invoices()
    for autotask_id, inv in created.items():
        source = at[autotask_id]
        # INV-03/04: marker written, QBO's number written back (numbering "qbo")
        assert source["webServiceDate"], autotask_id
        assert source["invoiceNumber"] == inv["DocNumber"], autotask_id
        assert inv["TxnDate"] == source["invoiceDateTime"][:10]
        # totals match (the demo has tax: a tax line carries it when QBO does not compute tax)
        assert abs(Decimal(str(inv["TotalAmt"])) - Decimal(str(source["invoiceTotal"]))) <= Decimal("0.01"), autotask_id


def test_inv05_customers_created_with_clean_names(tenant):
    tenant.run()
    customers = tenant.qbo_named("Customer")
    assert "D'Angelo- Consulting Group" in customers  # ':' is illegal in QBO names, the apostrophe is kept
    created = tenant.qbo_invoices()
    assert created[EDGE["apostrophe_colon"]]["CustomerRef"]["value"] == customers["D'Angelo- Consulting Group"]["Id"]
    assert len(tenant.qbo_named("Customer")) == len(customers)  # no duplicates of existing customers


def test_inv19_negative_invoice_is_marked_error_with_the_seed_message(tenant):
    tenant.settings(invoice_marker_field="invoiceNumber")
    tenant.unnumber(EDGE["negative"], EDGE["po_number"])
    tenant.run()
    assert (
        tenant.at_invoices()[EDGE["po_number"]]["invoiceNumber"]
        == tenant.qbo_invoices()[EDGE["po_number"]]["DocNumber"]
    )
    negative = tenant.at_invoices()[EDGE["negative"]]
    assert negative["invoiceNumber"] == "ERROR"
    assert EDGE["negative"] not in tenant.qbo_invoices()
    expected = (
        "The invoice total is negative. Negative invoices cannot be sent to QuickBooks Online. The invoice number "
        f"for the Autotaskinvoice id {EDGE['negative']} and account Contoso Dental, was set to 'ERROR' in "
        "Autotask. return code 1."
    )
    mail = tenant.sb.mail.messages()
    assert mail and expected in mail[-1]["html"].replace("&#x27;", "'")
    csv = mail[-1]["attachments"][0]["text"]
    assert expected in csv
    from atqbo.ledger import Ledger

    errors = Ledger.from_conn_id("atqbo_state").list_errors(entity="invoice")
    assert [e["message"] for e in errors if e["autotask_id"] == EDGE["negative"]] == [expected]


def test_inv20_clearing_the_error_marker_retries_the_invoice(tenant):
    tenant.settings(invoice_marker_field="invoiceNumber", missing_item_action="error")
    tenant.unnumber(EDGE["missing_item"])
    tenant.run()
    assert tenant.at_invoices()[EDGE["missing_item"]]["invoiceNumber"] == "ERROR"
    tenant.sb.seed({"autotask": {"Invoices": [{**tenant.at_invoices()[EDGE["missing_item"]], "invoiceNumber": None}]}})
    tenant.settings(invoice_marker_field="invoiceNumber", missing_item_action="create")
    tenant.run()
    assert EDGE["missing_item"] in tenant.qbo_invoices()
    assert (
        tenant.at_invoices()[EDGE["missing_item"]]["invoiceNumber"]
        == tenant.qbo_invoices()[EDGE["missing_item"]]["DocNumber"]
    )


def test_inv14_zero_invoices_sent_by_default_and_skipped_when_set(tenant):
    tenant.settings(skip_zero_invoices=True)
    tenant.run()
    assert EDGE["zero"] not in tenant.qbo_invoices()
    tenant.settings(skip_zero_invoices=False)
    tenant.run()
    assert Decimal(str(tenant.qbo_invoices()[EDGE["zero"]]["TotalAmt"])) == 0


def test_inv08_unknown_payment_term_creates_without_terms_and_says_so(tenant):
    tenant.run()
    inv = tenant.qbo_invoices()[EDGE["unknown_term"]]
    assert not inv.get("SalesTermRef")
    known = tenant.qbo_invoices()[EDGE["po_number"]]
    assert known["SalesTermRef"]["value"] == tenant.qbo_named("Term", "Name")["Net 30 Days"]["Id"]
    assert "Net 45" in tenant.sb.mail.messages()[-1]["html"]


def test_inv06_150_character_code_name_becomes_a_100_character_item_once(tenant):
    tenant.run()
    items = [name for name in tenant.qbo_named("Item", "Name") if name.startswith("Extraordinarily Long")]
    assert len(items) == 1 and len(items[0]) <= 100
    line = [x for x in tenant.qbo_invoices()[EDGE["long_name"]]["Line"] if x.get("DetailType") == "SalesItemLineDetail"]
    assert line[0]["SalesItemLineDetail"]["ItemRef"]["value"] == tenant.qbo_named("Item", "Name")[items[0]]["Id"]
    tenant.sb.requests.clear()
    tenant.run()  # found again by its truncated name: nothing created twice
    assert len([n for n in tenant.qbo_named("Item", "Name") if n.startswith("Extraordinarily Long")]) == 1


def test_inv22_long_description_truncated_and_inv07_missing_item_created(tenant):
    tenant.run()
    lines = tenant.qbo_invoices()[EDGE["long_description"]]["Line"]
    assert max(len(line.get("Description") or "") for line in lines) == 4000
    items = tenant.qbo_named("Item", "Name")
    assert "Travel" in items and items["Travel"]["IncomeAccountRef"]
    travel_line = [
        x for x in tenant.qbo_invoices()[EDGE["missing_item"]]["Line"] if x.get("DetailType") == "SalesItemLineDetail"
    ]
    assert travel_line[0]["SalesItemLineDetail"]["ItemRef"]["value"] == items["Travel"]["Id"]


def test_inv10_po_number_goes_to_the_enabled_custom_field(tenant):
    tenant.run()
    fields = tenant.qbo_invoices()[EDGE["po_number"]].get("CustomField") or []
    assert [(f["Name"], f["StringValue"]) for f in fields if f.get("StringValue")] == [("PO Number", "PO-7781")]


def test_inv10_po_number_custom_field_off_gives_a_warning(tenant):
    tenant.settings(po_number_custom_field="Purchase Order")  # not a custom field of the QBO company
    tenant.run()
    assert not [f for f in tenant.qbo_invoices()[EDGE["po_number"]].get("CustomField") or [] if f.get("StringValue")]
    assert "Purchase Order" in tenant.sb.mail.messages()[-1]["html"]


def _classes_of(tenant: Tenant, inv: dict) -> tuple[list, str | None]:
    names = {c["Id"]: c["Name"] for c in tenant.sb.state()["qbo"]["Class"]}
    lines = [
        names.get(x["SalesItemLineDetail"].get("ClassRef", {}).get("value"))
        for x in inv["Line"]
        if x.get("DetailType") == "SalesItemLineDetail"
    ]
    return lines, names.get((inv.get("ClassRef") or {}).get("value"))


def test_inv09_lines_of_business_map_to_classes_per_line(tenant):
    tenant.run()  # the demo company tracks classes per line (the sandbox's default preference)
    lines, invoice_class = _classes_of(tenant, tenant.qbo_invoices()[EDGE["several_lobs"]])
    assert (lines, invoice_class) == (["Managed", "Projects"], None)


def test_inv09_transaction_level_class_takes_the_larger_line_of_business(tenant):
    tenant.sb.seed(
        {
            "qbo": {
                "Preferences": {"AccountingInfoPrefs": {"ClassTrackingPerTxn": True, "ClassTrackingPerTxnLine": False}}
            }
        }
    )
    tenant.run()
    lines, invoice_class = _classes_of(tenant, tenant.qbo_invoices()[EDGE["several_lobs"]])
    assert (lines, invoice_class) == ([None, None], "Projects")  # 140.00 Projects > 125.00 Managed
    assert "Managed" in tenant.sb.mail.messages()[-1]["attachments"][0]["text"]  # the mix is reported


def test_inv13_rounding_difference_reported_as_warning(tenant):
    tenant.run()
    inv = tenant.qbo_invoices()[EDGE["rounding"]]
    assert Decimal(str(inv["TotalAmt"])) == Decimal("100.00")  # 7 x 14.285 = 99.995, to the cent
    rows = tenant.sb.mail.messages()[-1]["attachments"][0]["text"].splitlines()
    warning = [r for r in rows if r.startswith("warning,") and f"E-{EDGE['rounding']}" in r]
    assert len(warning) == 1 and "0.01" in warning[0]


def test_inv13_rounding_difference_suppressed_when_set(tenant):
    tenant.settings(suppress_rounding_warnings=True)
    tenant.run()
    rows = tenant.sb.mail.messages()[-1]["attachments"][0]["text"].splitlines()
    assert not [r for r in rows if r.startswith("warning,") and f"E-{EDGE['rounding']}" in r]


# -- exactly once -------------------------------------------------------------------------------------


def test_bey02_same_window_twice_and_a_backfill_add_no_documents(tenant):
    first = tenant.run()
    assert work_state(first) == "success"
    count = len(tenant.sb.state()["qbo"]["Invoice"])
    customers = len(tenant.sb.state()["qbo"]["Customer"])
    tenant.sb.requests.clear()
    again = tenant.run()
    assert work_state(again) == "success"
    earlier = pendulum.now("UTC").subtract(days=3).replace(minute=0, second=0, microsecond=0)
    assert work_state(tenant.run(logical_date=earlier)) == "success"
    assert len(tenant.sb.state()["qbo"]["Invoice"]) == count
    assert len(tenant.sb.state()["qbo"]["Customer"]) == customers
    assert list(tenant.writes("qbo")) == []


def test_bey09_a_run_with_nothing_to_send_costs_at_most_three_autotask_requests(tenant):
    """The 15-minute safety net mostly finds nothing: its zone look-up, one budget check and the
    invoice query, no more (the idle hour's budget: docs/airflow.md, README "Posting to QBO latency")."""
    tenant.settings(invoice_lookback_days=1)
    tenant.sb.requests.clear()
    long_ago = pendulum.now("UTC").subtract(days=200).replace(second=0, microsecond=0)  # no invoice then
    assert tenant.run(logical_date=long_ago).state == "success"
    calls = [(r["method"], r["path"].split("v1.0/")[-1]) for r in tenant.sb.requests.list("autotask")]
    zone = ("GET", "zoneInformation")  # none when this test process has looked the zone up already
    assert calls.count(zone) <= 1
    assert [c for c in calls if c != zone] == [("GET", "ThresholdInformation"), ("POST", "Invoices/query")]
    assert tenant.sb.requests.list("qbo") == []


def test_bey01_marker_lost_after_load_is_adopted_not_created_again(tenant):
    """A task killed between load and write-back: QBO has the invoices, Autotask has no marker."""
    tenant.run()
    created = tenant.qbo_invoices()
    # undo the write-back, as if write_back never ran (voided invoices are the void sync's business)
    at = tenant.at_invoices()
    created = {i: inv for i, inv in created.items() if not at[i]["isVoided"]}
    tenant.sb.seed({"autotask": {"Invoices": [{**at[i], "webServiceDate": None} for i in created]}})
    tenant.sb.requests.clear()
    assert work_state(tenant.run()) == "success"
    assert tenant.qbo_invoices().keys() - tenant.preexisting == created.keys() - tenant.preexisting
    assert len(tenant.qbo_invoices()) == len(tenant.preexisting | created.keys())
    assert not [w for w in tenant.writes("qbo") if w["path"].endswith(("/invoice", "/batch"))]
    unmarked = [i for i in created if not tenant.at_invoices()[i]["webServiceDate"]]
    assert unmarked == []


def test_bey01_lost_ledger_is_survived_by_the_private_note_lookup(tenant, tmp_path, monkeypatch):
    tenant.run()
    created = tenant.qbo_invoices()
    at = tenant.at_invoices()
    tenant.sb.seed({"autotask": {"Invoices": [{**at[i], "webServiceDate": None} for i in created]}})
    monkeypatch.setenv(
        "AIRFLOW_CONN_ATQBO_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "new.db")})
    )
    # The lost database held the rotated refresh token too: the user reconnects (a fresh token).
    monkeypatch.setenv("AIRFLOW_CONN_QBO_DEFAULT", json.dumps(tenant.sb.connections()["qbo_default"]))
    assert work_state(tenant.run()) == "success"
    assert tenant.qbo_invoices().keys() == created.keys()


@pytest.mark.parametrize("mode", ["commit_then_error", "timeout"])
def test_bey01_fault_on_the_invoice_batch_creates_nothing_twice(tenant, mode):
    eligible = _eligible(tenant)
    rule = {"api": "qbo", "method": "POST", "path": r"/batch$", "mode": mode, "times": 1}
    if mode == "timeout":
        rule["latency_ms"] = 2500
        tenant.monkeypatch.setenv(
            "AIRFLOW_CONN_QBO_DEFAULT",
            json.dumps(
                {
                    **tenant.sb.connections()["qbo_default"],
                    "extra": {**tenant.sb.connections()["qbo_default"]["extra"], "timeout": 1},
                }
            ),
        )
    tenant.sb.faults.add(rule)
    dagrun = tenant.run()
    if dagrun.state != "success":  # the task may fail and be retried by a second run
        dagrun = tenant.run()
    assert work_state(dagrun) == "success", task_states(dagrun)
    # qbo_invoices() asserts there is one QBO invoice per Autotask id
    assert set(tenant.qbo_invoices()) - tenant.preexisting == eligible


# -- settings that stop or shape the run ------------------------------------------------------------


def test_inv01_sync_off_does_nothing_but_says_so(tenant):
    tenant.settings(invoice_sync_enabled=False)
    tenant.sb.requests.clear()
    dagrun = tenant.run()
    states = task_states(dagrun)
    assert states["start"] == "skipped" and states["load"] == "skipped"
    assert tenant.sb.requests.list() == []


def test_bey03_dry_run_plans_everything_and_writes_nothing(tenant):
    tenant.sb.requests.clear()
    before = tenant.sb.state()
    dagrun = tenant.run(conf={"dry_run": "yes"})
    assert work_state(dagrun) == "success", task_states(dagrun)
    assert tenant.writes() == []
    after = tenant.sb.state()
    assert after["qbo"]["Invoice"] == before["qbo"]["Invoice"]
    assert after["autotask"]["Invoices"] == before["autotask"]["Invoices"]
    mail = tenant.sb.mail.messages()[-1]
    assert "DRY RUN" in (mail["text"] or "") + (mail["html"] or "")
    assert "would create" in mail["attachments"][0]["text"]


def test_inv03_invoices_already_marked_in_autotask_are_never_sent(tenant):
    synced = {i["id"] for i in tenant.at_invoices().values() if i.get("webServiceDate")}
    before = tenant.sb.state()["qbo"]["Invoice"]
    tenant.run()
    after = {inv["Id"]: inv for inv in tenant.sb.state()["qbo"]["Invoice"]}
    assert all(after[inv["Id"]] == inv for inv in before)  # their QBO invoices are untouched
    assert set(tenant.qbo_invoices()) & synced == tenant.preexisting & synced  # and none was added


def test_err06_wrong_autotask_secret_fails_the_run_once_with_a_clear_error(tenant):
    conn = tenant.sb.connections()["autotask_default"]
    tenant.monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps({**conn, "password": "expired"}))
    dagrun = tenant.run()
    assert work_state(dagrun) == "failed"
    assert task_states(dagrun)["extract"] == "failed"
    assert set(tenant.qbo_invoices()) == tenant.preexisting  # nothing sent


def test_err01_closed_books_fail_those_invoices_clearly_and_the_run_goes_on(tenant):
    closed_through = str(TODAY - timedelta(days=10))
    tenant.sb.seed({"qbo": {"Preferences": {"AccountingInfoPrefs": {"BookCloseDate": closed_through}}}})
    dagrun = tenant.run()
    assert work_state(dagrun) == "success", task_states(dagrun)
    at = tenant.at_invoices()
    sent = set(tenant.qbo_invoices()) - tenant.preexisting
    assert sent and all(at[i]["invoiceDateTime"][:10] > closed_through for i in sent)
    csv = tenant.sb.mail.messages()[-1]["attachments"][0]["text"]
    closed = [i for i in _eligible(tenant) if at[i]["invoiceDateTime"][:10] <= closed_through]
    assert closed and all(str(i) in csv for i in closed)
    assert "closed books" in csv and "earliest_sync_date" in csv


def test_err04_revoked_qbo_token_fails_the_run_once_with_how_to_reconnect(tenant):
    tenant.settings(todo_action_type=1, todo_resource_id=29682885)
    tenant.sb.seed({"qbo": {"oauth": {"revoke": True}}})
    dagrun = tenant.run()
    states = task_states(dagrun)
    assert work_state(dagrun) == "failed" and states["load"] == "failed" and states["write_back"] == "upstream_failed"
    assert set(tenant.qbo_invoices()) == tenant.preexisting
    # The DAG's failure callback: one email to report_to and one Autotask to-do under company 0.
    alerts = [m for m in tenant.sb.mail.messages() if m["subject"] == "[atqbo] atqbo_invoices run failed"]
    assert len(alerts) == 1 and "load" in (alerts[0]["text"] or alerts[0]["html"])
    todos = [
        t for t in tenant.sb.state()["autotask"].get("CompanyToDos", []) if "atqbo_invoices" in t["activityDescription"]
    ]
    assert len(todos) == 1 and todos[0]["companyID"] == 0 and todos[0]["assignedToResourceID"] == 29682885
    load_ti = next(ti for ti in dagrun.get_task_instances() if ti.task_id == "load")
    assert load_ti.try_number == 1  # not retried: retrying cannot fix a revoked authorization


def test_inv17_qbo_emails_the_invoices_to_customers_with_an_address(tenant):
    tenant.settings(email_invoices=True)
    assert work_state(tenant.run()) == "success"
    sent = {i: inv for i, inv in tenant.qbo_invoices().items() if i not in tenant.preexisting}
    with_email = {i: inv for i, inv in sent.items() if (inv.get("BillEmail") or {}).get("Address")}
    assert with_email and len(with_email) < len(sent)  # some demo customers have no email
    invoice_mail = [m for m in tenant.sb.mail.messages() if not m["subject"].startswith("[atqbo]")]
    recipients = sorted(r for m in invoice_mail for r in m["envelope_to"])
    assert recipients == sorted(inv["BillEmail"]["Address"] for inv in with_email.values())
    assert all(inv["EmailStatus"] == "EmailSent" for inv in with_email.values())
