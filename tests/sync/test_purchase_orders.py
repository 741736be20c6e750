"""The purchase order sync's logic (atqbo.sync.purchase_orders): its pure rules, and the steps run
one by one against the sandbox over HTTP for what the DAG tests cannot reach cheaply: crashes and
retries (BEY-01), refused write-backs, settings that stop the run (PO-02..08)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync import purchase_orders as po
from tests.sync import po_support as ps

# -- pure rules ------------------------------------------------------------------------------------------

USD_ONLY = po.AutotaskCurrencies(internal="USD", active=("USD",), codes={1: "USD", 2: "CAD"})
USD_AND_CAD = po.AutotaskCurrencies(internal="USD", active=("CAD", "USD"), codes={1: "USD", 2: "CAD"})
QBO_ON = po.QboCurrencies(multi_currency=True, home="USD")
QBO_OFF = po.QboCurrencies(multi_currency=False, home="USD")


def test_po06_autotask_multi_currency_is_several_active_currencies_or_a_vendor_in_another_currency():
    assert not USD_ONLY.multi_currency_for({"currencyID": 1})
    assert not USD_ONLY.multi_currency_for({"currencyID": None})  # no currency: the internal one
    assert USD_ONLY.multi_currency_for({"currencyID": 2})  # CAD is inactive, the vendor still uses it
    assert USD_AND_CAD.multi_currency_for({"currencyID": 1})
    assert USD_ONLY.of_vendor({"currencyID": 2}) == "CAD" and USD_ONLY.of_vendor({}) == "USD"


@pytest.mark.parametrize(
    ("autotask_multi", "qbo", "vendor_currency", "expected"),
    [
        (True, QBO_ON, "CAD", po.BillCurrency("both", "CAD", None, "CAD")),  # QBO's rate for the date
        (True, QBO_ON, "USD", po.BillCurrency("both", "USD", Decimal(1), "USD")),
        (False, QBO_ON, "USD", po.BillCurrency("qbo_only", "USD", Decimal(1), "USD")),  # home currency at 1.00
        (True, QBO_OFF, "CAD", po.BillCurrency("autotask_only", None, None, None)),  # nothing can be sent
        (False, QBO_OFF, "USD", po.BillCurrency("single", None, None, None)),
    ],
)
def test_po06_the_three_multi_currency_cases(autotask_multi, qbo, vendor_currency, expected):
    assert po.plan_bill_currency(autotask_multi, qbo, vendor_currency) == expected


def _order(**changes) -> po.PurchaseOrder:
    line = po.PoLine(
        product_id=1,
        product_name="Dell: OptiPlex",
        item_name="Dell- OptiPlex",
        quantity=Decimal(3),
        unit_cost=Decimal("33.335"),
        description="Desk PCs",
    )
    base = {
        "autotask_id": 29686003,
        "vendor_id": 7,
        "vendor_name": "Pax8",
        "created": datetime(2026, 3, 1, tzinfo=UTC),
        "txn_date": date(2026, 3, 1),
        "freight": Decimal(0),
        "lines": (line,),
    }
    return po.PurchaseOrder(**{**base, **changes})


def test_po02_bill_payload_has_item_lines_on_the_ap_account_and_nothing_about_tax():
    plan = po.plan_bill_currency(False, QBO_OFF, "USD")
    payload = po.bill_payload(_order(), "71", "4", {"dell- optiplex": "12"}, plan, "qbo")
    assert payload == {
        "VendorRef": {"value": "71"},
        "APAccountRef": {"value": "4"},
        "TxnDate": "2026-03-01",
        "PrivateNote": "Autotask PO 29686003 - sent by atqbo",
        "Line": [
            {
                "DetailType": "ItemBasedExpenseLineDetail",
                "Amount": 100.01,
                "Description": "Desk PCs",
                "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "12"}, "Qty": 3, "UnitPrice": 33.335},
            }
        ],
    }


def test_po04_autotask_numbering_puts_the_po_id_in_docnumber_and_po06_the_currency_on_the_bill():
    plan = po.plan_bill_currency(False, QBO_ON, "USD")
    payload = po.bill_payload(_order(), "71", "4", {"dell- optiplex": "12"}, plan, "autotask")
    assert payload["DocNumber"] == "29686003"
    assert (payload["CurrencyRef"], payload["ExchangeRate"]) == ({"value": "USD"}, 1)


def test_po07_the_write_back_number_is_the_docnumber_else_the_bill_id():
    assert po.bill_number({"Id": "1042"}) == "1042"
    assert po.bill_number({"Id": "1042", "DocNumber": "29686003"}) == "29686003"


def test_po08_a_failure_is_its_po_and_its_message():
    assert po.todo_key(1, "no items") == po.todo_key(1, "no items")
    assert po.todo_key(1, "no items") != po.todo_key(2, "no items") != po.todo_key(1, "inactive")
    assert po.todo_key(None, "multi-currency").startswith("run:")


# -- the steps against the sandbox -------------------------------------------------------------------------


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    ps.reset_and_seed(sandbox_connections, monkeypatch)
    return sandbox_connections


@pytest.fixture
def ledger(sandbox):
    from atqbo.ledger import Ledger

    led = Ledger.from_conn_id("atqbo_state")
    led.create_schema()
    yield led
    led.close()


def make_run(run_id: str, **settings) -> RunInfo:
    return RunInfo(
        dag_id="atqbo_purchase_orders",
        run_id=run_id,
        run_key=f"atqbo_purchase_orders/{run_id}",
        settings=Settings.from_dict({**ps.SETTINGS, **settings}).to_dict(),
        window_start=ps.WINDOW_START.isoformat(),
        window_end=ps.WINDOW_END.isoformat(),
    )


def _hooks(ledger):
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    no_wait = lambda seconds: None  # noqa: E731 - the sandbox's faults need no real backoff
    return AutotaskHook("autotask_default", max_retries=1, sleep=no_wait), QuickBooksOnlineHook(
        "qbo_default", ledger=ledger, sleep=no_wait
    )


def run_sync(run: RunInfo, ledger) -> dict[int, dict]:
    """extract, load and write_back as the DAG chains them; the staged outcome per PO id."""
    autotask, qbo = _hooks(ledger)
    po.extract_purchase_orders(run, autotask, ledger)
    po.load_purchase_orders(run, qbo, ledger)
    po.write_back_purchase_orders(run, autotask, ledger)
    return {int(k): v for k, v in ledger.stage_get(run.run_key, "outcome").items()}


def _bill_batches(sandbox) -> list[dict]:
    return [
        r for r in sandbox.requests.list("qbo") if r["path"].endswith("/batch") and "pobills" in (r["requestid"] or "")
    ]


def test_bey01_bill_batch_applied_but_its_answer_lost_creates_each_bill_once(sandbox, ledger):
    # the vendor and the item batches go through; the bill batch is applied and answered 502
    sandbox.faults.add(
        {"api": "qbo", "method": "POST", "path": r"/batch$", "mode": "commit_then_error", "after": 2, "times": 1}
    )
    outcomes = run_sync(make_run("r1"), ledger)
    assert {k for k, v in outcomes.items() if v["outcome"] == "transferred"} == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}
    batches = _bill_batches(sandbox)
    assert len(batches) == 2 and batches[0]["requestid"] == batches[1]["requestid"]  # the retry replays
    assert set(ps.bills(sandbox)) == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}  # one each (bills() checks)


def test_bey01_load_retried_after_a_crash_adopts_the_bills_it_had_created(sandbox, ledger):
    run = make_run("r1")
    autotask, qbo = _hooks(ledger)
    po.extract_purchase_orders(run, autotask, ledger)
    po.load_purchase_orders(run, qbo, ledger)
    created = ps.bills(sandbox)
    # The worker died right after the batch: the ledger still says IN_PROGRESS, nothing was staged.
    for po_id in created:
        ledger.record_intent("purchase_order", po_id, payload_hash="x", request_id="lost", run_id=run.run_id)
    ledger.stage_clear(run.run_key, "outcome")
    sandbox.requests.clear()
    po.load_purchase_orders(run, qbo, ledger)
    outcomes = ledger.stage_get(run.run_key, "outcome")
    assert ps.bills(sandbox) == created and _bill_batches(sandbox) == []
    assert {int(k) for k, v in outcomes.items() if v["outcome"] == "transferred"} == set(created)
    assert all(ledger.get_sync_record("purchase_order", i)["status"] == "SYNCED" for i in created)


def test_bey01_lost_write_back_and_lost_ledger_are_survived_by_the_private_note(sandbox, ledger, tmp_path, monkeypatch):
    run_sync(make_run("r1"), ledger)
    created = ps.bills(sandbox)
    orders = ps.purchase_orders(sandbox)
    sandbox.seed({"autotask": {"PurchaseOrders": [{**orders[i], "externalPONumber": None} for i in created]}})
    monkeypatch.setenv(
        "AIRFLOW_CONN_ATQBO_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "new.db")})
    )
    # The lost database held the rotated refresh token too: the user reconnects (a fresh token).
    monkeypatch.setenv("AIRFLOW_CONN_QBO_DEFAULT", json.dumps(sandbox.connections()["qbo_default"]))
    from atqbo.ledger import Ledger

    fresh = Ledger.from_conn_id("atqbo_state")
    fresh.create_schema()
    sandbox.requests.clear()
    outcomes = run_sync(make_run("r2"), fresh)
    assert {k for k, v in outcomes.items() if v["outcome"] == "matched"} == set(created)
    assert ps.bills(sandbox) == created and ps.writes(sandbox, "qbo") == []
    assert all(ps.external_numbers(sandbox)[i] == bill["Id"] for i, bill in created.items())


def test_bey01_a_bill_deleted_in_qbo_and_its_number_cleared_is_created_again(sandbox, ledger):
    run_sync(make_run("r1"), ledger)
    old = ps.bills(sandbox)[ps.PO_OK]
    _, qbo = _hooks(ledger)
    qbo.delete("Bill", old["Id"])
    sandbox.seed(
        {"autotask": {"PurchaseOrders": [{**ps.purchase_orders(sandbox)[ps.PO_OK], "externalPONumber": None}]}}
    )
    outcomes = run_sync(make_run("r2"), ledger)
    new = ps.bills(sandbox)[ps.PO_OK]
    assert new["Id"] != old["Id"] and outcomes[ps.PO_OK]["outcome"] == "transferred"
    assert any("no longer exists in QBO" in w for w in outcomes[ps.PO_OK]["warnings"])
    assert ledger.get_sync_record("purchase_order", ps.PO_OK)["generation"] == 1
    assert ps.external_numbers(sandbox)[ps.PO_OK] == new["Id"]


def test_po07_a_refused_write_back_is_reported_logged_and_gets_a_todo(sandbox, ledger):
    run = make_run("r1")
    autotask, qbo = _hooks(ledger)
    po.extract_purchase_orders(run, autotask, ledger)
    po.load_purchase_orders(run, qbo, ledger)
    sandbox.faults.add({"api": "autotask", "method": "PATCH", "path": r"(?i)/PurchaseOrders$", "mode": "error_500"})
    result = po.write_back_purchase_orders(run, autotask, ledger)
    sandbox.faults.clear()
    assert result["problems"] == 5 and result["written"] == 0
    errors = [
        e for e in ledger.list_errors(entity="purchase_order") if "External PO Number could not be set" in e["message"]
    ]
    assert {e["autotask_id"] for e in errors} == ps.ELIGIBLE
    assert len(ps.todos(sandbox)) == 7  # the two failed POs, and the five refused write-backs
    report = po.build_purchase_order_report(run, ledger)
    assert len([r for r in report.rows if "could not be set" in r.reason]) == 5
    # The next run finds the bills and writes their numbers; it adds no to-do for what is already known.
    outcomes = run_sync(make_run("r2"), ledger)
    assert {k for k, v in outcomes.items() if v["outcome"] == "matched"} == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}
    assert all(ps.external_numbers(sandbox)[i] == b["Id"] for i, b in ps.bills(sandbox).items())
    assert len(ps.todos(sandbox)) == 7


def test_po02_an_ap_account_that_does_not_exist_stops_the_run_naming_the_setting(sandbox, ledger):
    run = make_run("r1", po_ap_account="Trade Payables")
    autotask, qbo = _hooks(ledger)
    po.extract_purchase_orders(run, autotask, ledger)
    with pytest.raises(AtqboConfigError, match="po_ap_account"):
        po.load_purchase_orders(run, qbo, ledger)
    assert ps.writes(sandbox, "qbo") == []


def test_po05_without_the_expense_account_only_pos_needing_new_items_fail(sandbox, ledger):
    outcomes = run_sync(make_run("r1", po_new_item_expense_account="Freight In"), ledger)
    assert outcomes[ps.PO_OK]["outcome"] == "transferred"
    for po_id in (ps.PO_NEW, ps.PO_LATER):
        assert outcomes[po_id]["outcome"] == "failed"
        assert "'Freight In' (po_new_item_expense_account)" in outcomes[po_id]["reason"]
    assert "Logitech MX Keys" not in ps.named(sandbox, "Item", "Name")


def test_po03_an_employee_with_the_name_or_an_inactive_vendor_is_an_error(sandbox, ledger):
    sandbox.seed(
        {
            "qbo": {
                "Employee": [{"Id": "90", "GivenName": "Pax8", "DisplayName": "Pax8"}],
                "Vendor": [{"Id": ps.QBO_INGRAM, "DisplayName": "Ingram Micro", "Active": False}],
            }
        }
    )
    outcomes = run_sync(make_run("r1"), ledger)
    assert "QBO employee 'Pax8' (Id 90) already uses the name 'Pax8'" in outcomes[ps.PO_NEW]["reason"]
    assert "the QBO vendor 'Ingram Micro' (Id 70) is inactive" in outcomes[ps.PO_OK]["reason"]
    assert ps.bills(sandbox) == {} and "Pax8" not in ps.named(sandbox, "Vendor")


def test_po06_both_on_a_missing_vendor_is_created_in_its_autotask_currency(sandbox, ledger):
    ps.multi_currency_qbo(sandbox)
    ps.canadian_vendor(sandbox)
    ps.add_po(sandbox, 39600021, ps.MAPLE, ps.DELL, 2, 1200.0)
    outcomes = run_sync(make_run("r1"), ledger)
    assert outcomes[39600021]["outcome"] == "transferred"
    assert ps.named(sandbox, "Vendor")["Maple Leaf Supply"]["CurrencyRef"]["value"] == "CAD"
    bill = ps.bills(sandbox)[39600021]
    assert bill["CurrencyRef"]["value"] == "CAD" and bill["TotalAmt"] == 2400


def test_po06_a_vendor_in_another_currency_without_qbo_multi_currency_is_an_error(sandbox, ledger):
    ps.canadian_vendor(sandbox, active_cad=False)  # one active currency, but Maple still bills in CAD
    ps.add_po(sandbox, 39600021, ps.MAPLE, ps.DELL, 1, 1200.0)
    outcomes = run_sync(make_run("r1"), ledger)
    assert outcomes[39600021]["outcome"] == "failed" and "uses CAD" in outcomes[39600021]["reason"]
    assert outcomes[ps.PO_OK]["outcome"] == "transferred"  # the USD vendors are not held up
    assert ps.external_numbers(sandbox)[39600021] == "ERROR"


def test_po08_a_failure_that_returns_after_it_was_resolved_gets_a_new_todo(sandbox, ledger):
    run_sync(make_run("r1"), ledger)
    assert len(ps.todos(sandbox)) == 2
    ledger.resolve_errors("purchase_order", ps.PO_CLASH)  # say someone marked it fixed in the error log
    sandbox.seed(
        {"autotask": {"PurchaseOrders": [{**ps.purchase_orders(sandbox)[ps.PO_CLASH], "externalPONumber": None}]}}
    )
    run_sync(make_run("r2"), ledger)
    assert len(ps.todos(sandbox)) == 3


def test_bey01_a_po_refused_by_qbo_is_sent_under_a_new_requestid_once_fixed(sandbox, ledger):
    """QBO answers a repeated requestid with its first answer: a retry after a refusal must not reuse it."""
    sandbox.seed({"qbo": {"Preferences": {"AccountingInfoPrefs": {"BookCloseDate": "2026-02-28"}}}})
    outcomes = run_sync(make_run("r1"), ledger)
    refused = {k for k, v in outcomes.items() if v["outcome"] == "failed" and "6210" in v["reason"]}
    assert refused == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER} and ps.bills(sandbox) == {}
    sandbox.seed({"qbo": {"Preferences": {"AccountingInfoPrefs": {"BookCloseDate": "2025-12-31"}}}})  # reopened
    orders = ps.purchase_orders(sandbox)
    sandbox.seed({"autotask": {"PurchaseOrders": [{**orders[i], "externalPONumber": None} for i in refused]}})
    outcomes = run_sync(make_run("r2"), ledger)
    assert {k for k, v in outcomes.items() if v["outcome"] == "transferred"} == refused
    first, second = _bill_batches(sandbox)
    assert first["requestid"] != second["requestid"]
