"""atqbo_purchase_orders run with dag.test() against the sandbox: every PO row (PO-01..08), the three
multi-currency cases, exactly once (BEY-01) and dry run (BEY-03), checked in the sandbox's QBO books,
its Autotask state (External PO Numbers, CompanyToDos), its request log and its mailbox."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.dags.dag_support import load_dag, task_states, work_state
from tests.sync import po_support as ps

pytestmark = pytest.mark.integration

DAG_ID = "atqbo_purchase_orders"


class Tenant:
    def __init__(self, sandbox, monkeypatch):
        self.sb = sandbox
        self.monkeypatch = monkeypatch

    def settings(self, **changes) -> None:
        ps.set_settings(self.monkeypatch, **changes)

    def run(self, minutes_later: int = 0, conf: dict | None = None, expect: str = "success"):
        dagrun = load_dag(DAG_ID).test(logical_date=ps.LOGICAL_DATE + timedelta(minutes=minutes_later), run_conf=conf)
        assert work_state(dagrun) == expect, task_states(dagrun)
        return dagrun

    def ledger(self):
        from atqbo.ledger import Ledger

        return Ledger.from_conn_id("atqbo_state")

    def last_mail(self) -> dict:
        reports = [m for m in self.sb.mail.messages() if m["subject"].startswith("[atqbo] purchase orders")]
        assert reports, [m["subject"] for m in self.sb.mail.messages()]
        return reports[-1]


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch):
    ps.reset_and_seed(sandbox_connections, monkeypatch)
    return Tenant(sandbox_connections, monkeypatch)


# -- PO-01 ---------------------------------------------------------------------------------------------


def test_po01_look_back_zero_pauses_the_sync_without_an_api_call(tenant, capfd):
    tenant.settings(po_lookback_days=0)
    dagrun = tenant.run()
    assert task_states(dagrun) == {
        "start": "skipped",
        "extract": "skipped",
        "load": "skipped",
        "write_back": "skipped",
        "report": "skipped",
    }
    assert tenant.sb.requests.list() == []
    assert tenant.sb.mail.messages() == []
    assert "purchase order sync is paused: po_lookback_days is 0" in capfd.readouterr().out  # the task log


def test_po01_only_submitted_pos_created_in_the_window_with_a_blank_external_number_are_sent(tenant):
    """Also PO-04 with QBO numbering (the default), PO-07 (the bill's Id or ERROR written back) and
    BEY-01 (a second run writes nothing)."""
    before = ps.purchase_orders(tenant.sb)
    tenant.run()
    bills = ps.bills(tenant.sb)
    assert set(bills) == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}  # the other two eligible ones fail
    after = ps.purchase_orders(tenant.sb)
    for po_id in (ps.PO_NEW_STATUS, ps.PO_OLD, ps.PO_BILLED, ps.PO_RECEIVED, ps.PO_CANCELED):
        assert after[po_id] == before[po_id], po_id  # not touched
    mail = tenant.last_mail()
    assert mail["subject"] == "[atqbo] purchase orders: 3 transferred, 2 failed, 1 warning"
    assert mail["envelope_to"] == [ps.REPORT_TO]
    csv = mail["attachments"][0]["text"]
    assert not [p for p in (ps.PO_NEW_STATUS, ps.PO_OLD, ps.PO_BILLED, ps.PO_RECEIVED, ps.PO_CANCELED) if str(p) in csv]
    for po_id in (ps.PO_OK, ps.PO_NEW, ps.PO_LATER):
        assert "DocNumber" not in bills[po_id]  # QBO does not number bills: the write-back holds its Id
        assert after[po_id]["externalPONumber"] == bills[po_id]["Id"]
    assert after[ps.PO_CLASH]["externalPONumber"] == after[ps.PO_NOT_PURCHASABLE]["externalPONumber"] == "ERROR"

    # BEY-01: 15 minutes later nothing is eligible any more (a number or ERROR everywhere): no write, no mail.
    books, mails = tenant.sb.state()["qbo"], len(tenant.sb.mail.messages())
    tenant.sb.requests.clear()
    tenant.run(minutes_later=15)
    assert ps.writes(tenant.sb) == []
    assert tenant.sb.state()["qbo"]["Bill"] == books["Bill"] and len(tenant.sb.mail.messages()) == mails


def test_po02_demo_tenant_every_eligible_po_becomes_one_bill_with_its_number_written_back(tenant):
    import pendulum

    from sandbox.seeds import load_seed

    tenant.sb.reset()
    tenant.sb.seed(load_seed("demo"))
    for conn_id, conn in tenant.sb.connections().items():  # after the reset: its refresh token is the valid one
        tenant.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    now = pendulum.now("UTC").replace(second=0, microsecond=0)
    since = (now - timedelta(days=14, minutes=15)).strftime("%Y-%m-%dT%H:%M:%SZ")
    eligible = {
        p["id"]: p
        for p in ps.purchase_orders(tenant.sb).values()
        if p["status"] == 2 and not p.get("externalPONumber") and p["createDateTime"] >= since
    }
    assert len(eligible) == 3  # what the demo promises
    items = {}
    for item in tenant.sb.state()["autotask"]["PurchaseOrderItems"]:
        items.setdefault(item["orderID"], []).append(item)
    dagrun = load_dag(DAG_ID).test(logical_date=now)
    assert work_state(dagrun) == "success", task_states(dagrun)
    bills = ps.bills(tenant.sb)
    assert set(bills) == set(eligible)
    for po_id, bill in bills.items():
        assert ps.external_numbers(tenant.sb)[po_id] == bill["Id"]
        expected = sum(Decimal(str(i["quantity"])) * Decimal(str(i["unitCost"])) for i in items[po_id])
        assert Decimal(str(bill["TotalAmt"])) == expected
        assert bill["APAccountRef"]["name"] == "Accounts Payable (A/P)"
    vendors = ps.named(tenant.sb, "Vendor")
    for po_id, order in eligible.items():
        name = next(
            c["companyName"] for c in tenant.sb.state()["autotask"]["Companies"] if c["id"] == order["vendorID"]
        )
        assert bills[po_id]["VendorRef"]["value"] == vendors[name]["Id"]
    assert ps.todos(tenant.sb) == []


def test_po01_trigger_form_look_back_reaches_an_older_po(tenant):
    tenant.run(conf={"po_lookback_days": 30})
    assert ps.PO_OLD in ps.bills(tenant.sb)


# -- PO-02, PO-04 (QBO numbering), PO-07 --------------------------------------------------------------------


def test_po02_bill_on_the_configured_ap_account_with_item_lines_and_no_tax(tenant):
    tenant.sb.seed({"qbo": {"Account": [{"Id": "40", "Name": "Trade Payables", "AccountType": "Accounts Payable"}]}})
    tenant.settings(po_ap_account="Trade Payables")
    tenant.run()
    bill = ps.bills(tenant.sb)[ps.PO_OK]
    assert bill["APAccountRef"]["value"] == "40"
    assert bill["VendorRef"]["value"] == ps.QBO_INGRAM
    assert bill["TxnDate"] == "2026-02-28"  # the day it was submitted
    assert "TxnTaxDetail" not in bill and "GlobalTaxCalculation" not in bill
    (line,) = bill["Line"]
    assert line["DetailType"] == "ItemBasedExpenseLineDetail" and "TaxCodeRef" not in line["ItemBasedExpenseLineDetail"]
    assert line["ItemBasedExpenseLineDetail"]["ItemRef"]["value"] == ps.QBO_DELL
    assert (line["ItemBasedExpenseLineDetail"]["Qty"], line["ItemBasedExpenseLineDetail"]["UnitPrice"]) == (2, 899)
    assert bill["TotalAmt"] == 1798  # the items; the PO's freight is reported, not sent
    assert "freight of 25.00" in tenant.last_mail()["attachments"][0]["text"]


def test_po04_autotask_numbering_uses_the_po_id_and_a_duplicate_number_is_an_error(tenant):
    tenant.sb.seed(
        {
            "qbo": {
                "Bill": [
                    {  # a bookkeeper's bill that happens to carry PO_NEW's number
                        "Id": "901",
                        "DocNumber": str(ps.PO_NEW),
                        "VendorRef": {"value": ps.QBO_INGRAM},
                        "TxnDate": "2026-02-20",
                        "Line": [
                            {
                                "DetailType": "ItemBasedExpenseLineDetail",
                                "Amount": 899,
                                "ItemBasedExpenseLineDetail": {
                                    "ItemRef": {"value": ps.QBO_DELL},
                                    "Qty": 1,
                                    "UnitPrice": 899,
                                },
                            }
                        ],
                    }
                ]
            }
        }
    )
    tenant.settings(po_number_source="autotask")
    tenant.run()
    bills = ps.bills(tenant.sb)
    assert bills[ps.PO_OK]["DocNumber"] == str(ps.PO_OK)
    assert ps.external_numbers(tenant.sb)[ps.PO_OK] == str(ps.PO_OK)
    assert ps.PO_NEW not in bills
    assert ps.external_numbers(tenant.sb)[ps.PO_NEW] == "ERROR"
    assert len([b for b in tenant.sb.state()["qbo"]["Bill"] if b.get("DocNumber") == str(ps.PO_NEW)]) == 1
    csv = tenant.last_mail()["attachments"][0]["text"]
    assert f"QBO already has bill number {ps.PO_NEW} (bill Id 901, vendor Ingram Micro)" in csv


# -- PO-03 ---------------------------------------------------------------------------------------------------


def test_po03_missing_vendor_is_created_and_a_customer_with_the_name_is_an_error_naming_both(tenant):
    tenant.run()
    vendors = ps.named(tenant.sb, "Vendor")
    assert set(vendors) == {"Ingram Micro", "Pax8"}  # Ingram matched, Pax8 created, Contoso refused
    assert vendors["Pax8"]["BillAddr"]["City"] == "Columbus"
    assert ps.bills(tenant.sb)[ps.PO_NEW]["VendorRef"]["value"] == vendors["Pax8"]["Id"]
    assert ps.external_numbers(tenant.sb)[ps.PO_CLASH] == "ERROR"
    csv = tenant.last_mail()["attachments"][0]["text"]
    assert (
        f"QBO customer 'Contoso Dental' (Id {ps.QBO_CONTOSO_CUSTOMER}) already uses the name 'Contoso Dental' "
        f"of Autotask vendor 'Contoso Dental' (company {ps.CONTOSO})"
    ) in csv


# -- PO-05 ---------------------------------------------------------------------------------------------------


def test_po05_missing_items_are_created_purchasable_and_a_non_purchasable_item_is_an_error(tenant):
    tenant.run()
    items = ps.named(tenant.sb, "Item", "Name")
    for name in ("Logitech MX Keys", "Ubiquiti Switch 24 PoE"):
        assert items[name]["Type"] == "NonInventory"
        assert items[name]["ExpenseAccountRef"]["value"] == ps.ACCOUNT_COGS  # po_new_item_expense_account
    line = ps.bills(tenant.sb)[ps.PO_NEW]["Line"][0]["ItemBasedExpenseLineDetail"]
    assert line["ItemRef"]["value"] == items["Logitech MX Keys"]["Id"]
    assert ps.PO_NOT_PURCHASABLE not in ps.bills(tenant.sb)
    assert ps.external_numbers(tenant.sb)[ps.PO_NOT_PURCHASABLE] == "ERROR"
    html = tenant.last_mail()["html"].replace("&#x27;", "'")
    assert f"QBO item 'Remote Support' (Id {ps.QBO_REMOTE})" in html and "is not purchasable" in html


def test_po05_error_and_stop_leaves_every_po_after_the_first_missing_item_unprocessed(tenant):
    tenant.settings(po_missing_item_action="error")
    tenant.run()
    assert set(ps.bills(tenant.sb)) == {ps.PO_OK}
    numbers = ps.external_numbers(tenant.sb)
    assert numbers[ps.PO_NEW] == "ERROR"
    assert numbers[ps.PO_CLASH] is numbers[ps.PO_NOT_PURCHASABLE] is numbers[ps.PO_LATER] is None  # the next run's
    assert "Logitech MX Keys" not in ps.named(tenant.sb, "Item", "Name")
    mail = tenant.last_mail()
    assert mail["subject"] == "[atqbo] purchase orders: 1 transferred, 1 failed, 1 warning, 3 skipped"
    csv = mail["attachments"][0]["text"]
    assert csv.count(f"not processed: the run stopped at PO {ps.PO_NEW}") == 3


# -- PO-06 ---------------------------------------------------------------------------------------------------


def test_po06_both_on_bills_in_the_vendor_currency_and_a_currency_mismatch_is_an_error(tenant):
    """The CAD bill names no A/P account (QBO has none in CAD yet) and QBO opens its own (CUR-03)."""
    ps.multi_currency_qbo(
        tenant.sb, [{"Id": "80", "DisplayName": "Maple Leaf Supply", "CurrencyRef": {"value": "CAD"}}]
    )
    ps.canadian_vendor(tenant.sb)  # CAD active in Autotask: multi-currency on there too
    ingram = next(c for c in tenant.sb.state()["autotask"]["Companies"] if c["id"] == ps.INGRAM)
    tenant.sb.seed({"autotask": {"Companies": [{**ingram, "currencyID": ps.CAD}]}})  # QBO has Ingram in USD
    ps.add_po(tenant.sb, 39600021, ps.MAPLE, ps.DELL, 1, 1200.0)
    tenant.run()
    bills = ps.bills(tenant.sb)
    assert bills[39600021]["CurrencyRef"]["value"] == "CAD" and bills[39600021]["VendorRef"]["value"] == "80"
    assert bills[39600021]["APAccountRef"]["name"] == "Accounts Payable (A/P) - CAD"  # not the USD one
    assert bills[ps.PO_NEW]["CurrencyRef"]["value"] == "USD"  # Pax8 is in USD (internal) in Autotask
    assert ps.named(tenant.sb, "Vendor")["Pax8"]["CurrencyRef"]["value"] == "USD"
    assert ps.PO_OK not in bills and ps.external_numbers(tenant.sb)[ps.PO_OK] == "ERROR"
    csv = tenant.last_mail()["attachments"][0]["text"]
    assert "the vendor's currency is CAD in Autotask but USD in QBO (vendor 'Ingram Micro'" in csv


def test_po06_autotask_off_qbo_on_bills_in_the_home_currency_at_rate_one(tenant):
    ps.multi_currency_qbo(tenant.sb)  # Autotask: one active currency, every vendor in it
    tenant.run()
    bill = ps.bills(tenant.sb)[ps.PO_OK]
    assert bill["CurrencyRef"]["value"] == "USD" and bill["ExchangeRate"] == 1
    assert bill["HomeTotalAmt"] == bill["TotalAmt"] == 1798


def test_po06_autotask_on_qbo_off_transfers_nothing_and_says_so_once(tenant):
    ps.canadian_vendor(tenant.sb)  # CAD active: Autotask multi-currency on; QBO's is off
    tenant.run()
    assert ps.bills(tenant.sb) == {}
    assert all(ps.external_numbers(tenant.sb)[p] is None for p in ps.ELIGIBLE)  # sent once QBO is ready
    html = tenant.last_mail()["html"]
    assert "Multi-currency is on in Autotask (2 active currencies: CAD, USD) but off in QuickBooks Online" in html
    (todo,) = ps.todos(tenant.sb)
    assert "Multi-currency is on in Autotask" in todo["activityDescription"] and todo["companyID"] == 0
    tenant.run(minutes_later=15)
    assert len(ps.todos(tenant.sb)) == 1  # the same problem, not a second to-do


# -- TAX-03, CUR-03 (real tenants) ---------------------------------------------------------------------------


def test_tax03_uk_vat_company_bills_carry_the_purchase_code_and_qbo_adds_the_vat(tenant):
    ps.uk_vat_qbo(tenant.sb)
    tenant.settings(**ps.UK_SETTINGS)
    tenant.run()
    bills = ps.bills(tenant.sb)
    assert set(bills) == {ps.PO_OK, ps.PO_NEW, ps.PO_LATER}
    items = {i["orderID"]: i for i in tenant.sb.state()["autotask"]["PurchaseOrderItems"]}
    for po_id, bill in bills.items():
        assert bill["GlobalTaxCalculation"] == "TaxExcluded" and bill["CurrencyRef"]["value"] == "GBP"
        for line in bill["Line"]:
            assert line["ItemBasedExpenseLineDetail"]["TaxCodeRef"] == {"value": ps.UK_STANDARD_CODE}
        po_total = Decimal(str(items[po_id]["quantity"])) * Decimal(str(items[po_id]["unitCost"]))
        ((rate, vat),) = [
            (t["TaxLineDetail"]["TaxRateRef"]["value"], Decimal(str(t["Amount"])))
            for t in bill["TxnTaxDetail"]["TaxLine"]
        ]
        assert rate == "1" and vat == (po_total / 5).quantize(Decimal("0.01"))  # 20.0% S: 20% as QBO computed it
        assert (
            Decimal(str(bill["TotalAmt"]))
            == po_total + vat
            == po_total + Decimal(str(bill["TxnTaxDetail"]["TotalTax"]))
        )
    assert bills[ps.PO_OK]["TotalAmt"] == 2157.6  # 1,798.00 + 359.60, by hand
    mail = tenant.last_mail()
    assert mail["subject"] == "[atqbo] purchase orders: 3 transferred, 2 failed, 1 warning"  # totals agree before tax
    assert "QBO added 359.60 of tax: the bill's total is 2157.60" in mail["attachments"][0]["text"]


def test_tax03_a_purchase_code_qbo_does_not_have_fails_the_run_once_and_writes_nothing(tenant, capfd):
    ps.uk_vat_qbo(tenant.sb)
    tenant.settings(**{**ps.UK_SETTINGS, "purchase_tax_code": "VAT 20%"})
    dagrun = tenant.run(expect="failed")
    states = task_states(dagrun)
    assert (states["extract"], states["load"], states["write_back"]) == ("success", "failed", "upstream_failed")
    assert ps.writes(tenant.sb, "qbo") == [] and ps.bills(tenant.sb) == {}
    (alert_todo,) = ps.writes(tenant.sb, "autotask")  # no ERROR marker, no per-PO to-do: the run's one alert
    assert alert_todo["path"].endswith("/Companies/0/ToDos")
    (todo,) = ps.todos(tenant.sb)
    assert "atqbo_purchase_orders run failed" in todo["activityDescription"]
    assert "Failed task(s): load" in todo["activityDescription"]
    log = capfd.readouterr().out
    assert log.count("QBO has no active tax code named 'VAT 20%' (purchase_tax_code)") == 1  # not retried
    assert "QBO's tax codes: 20.0% S (20%), 5.0% R (5%), 0.0% Z (0%), Exempt (0%), No VAT" in log
    alerts = [m for m in tenant.sb.mail.messages() if m["subject"] == "[atqbo] atqbo_purchase_orders run failed"]
    assert len(alerts) == 1


def test_cur03_a_cad_vendor_is_billed_in_cad_on_the_cad_ap_account(tenant):
    ps.multi_currency_qbo(
        tenant.sb, [{"Id": "80", "DisplayName": "Maple Leaf Supply", "CurrencyRef": {"value": "CAD"}}]
    )
    tenant.sb.seed(
        {
            "qbo": {
                "Account": [
                    {  # a second CAD payables account: atqbo takes the one QBO named after po_ap_account
                        "Id": "41",
                        "Name": "Trade Creditors CAD",
                        "AccountType": "Accounts Payable",
                        "CurrencyRef": {"value": "CAD"},
                    },
                    {
                        "Id": "42",
                        "Name": "Accounts Payable (A/P) - CAD",
                        "AccountType": "Accounts Payable",
                        "CurrencyRef": {"value": "CAD"},
                    },
                ]
            }
        }
    )
    ps.canadian_vendor(tenant.sb)
    ps.add_po(tenant.sb, 39600021, ps.MAPLE, ps.DELL, 2, 1200.0)
    tenant.run()
    bills = ps.bills(tenant.sb)
    cad = bills[39600021]
    assert (cad["CurrencyRef"]["value"], cad["VendorRef"]["value"], cad["TotalAmt"]) == ("CAD", "80", 2400)
    assert cad["APAccountRef"] == {"value": "42", "name": "Accounts Payable (A/P) - CAD"}
    assert cad["HomeTotalAmt"] == round(2400 * cad["ExchangeRate"], 2)  # QBO's rate for the date
    assert bills[ps.PO_OK]["APAccountRef"]["value"] == ps.ACCOUNT_AP  # a USD bill: po_ap_account
    assert ps.external_numbers(tenant.sb)[39600021] == cad["Id"]


# -- PO-08, BEY-01 -----------------------------------------------------------------------------------------


def test_po08_every_failure_gets_one_todo_under_company_0_and_an_error_log_entry_never_twice(tenant):
    tenant.run()
    todos = ps.todos(tenant.sb)
    assert sorted(int(t["activityDescription"].split()[4]) for t in todos) == [ps.PO_CLASH, ps.PO_NOT_PURCHASABLE]
    for todo in todos:
        assert (todo["companyID"], todo["actionType"], todo["assignedToResourceID"]) == (
            0,
            ps.ACTION_TYPE,
            ps.API_RESOURCE,
        )
        assert "How to fix:" in todo["activityDescription"]
    errors = {e["autotask_id"]: e for e in tenant.ledger().list_errors(entity="purchase_order")}
    assert set(errors) == {ps.PO_CLASH, ps.PO_NOT_PURCHASABLE}
    assert "PO-08" in tenant.last_mail()["html"]  # the report says the to-dos were created

    # Someone clears ERROR before fixing the cause: the same failure again, no second to-do.
    po = ps.purchase_orders(tenant.sb)[ps.PO_CLASH]
    tenant.sb.seed({"autotask": {"PurchaseOrders": [{**po, "externalPONumber": None}]}})
    tenant.sb.requests.clear()
    tenant.run(minutes_later=15)
    assert len(ps.todos(tenant.sb)) == 2
    assert ps.external_numbers(tenant.sb)[ps.PO_CLASH] == "ERROR"
    assert tenant.ledger().list_errors(entity="purchase_order")[0]["attempts"] == 2
    assert ps.writes(tenant.sb, "qbo") == []


# -- BEY-03, settings ------------------------------------------------------------------------------------


def test_bey03_dry_run_reports_the_plan_and_writes_nothing(tenant):
    before = tenant.sb.state()
    tenant.run(conf={"dry_run": "yes", "report_to": ["controller@msp.example"]})
    assert ps.writes(tenant.sb) == []
    after = tenant.sb.state()
    for state in (before, after):
        state["qbo"].pop("oauth")  # reading QBO rotates the refresh token; that is not a write to the books
    assert after["qbo"] == before["qbo"] and after["autotask"] == before["autotask"]
    ledger = tenant.ledger()
    assert ledger.list_sync_records(entity="purchase_order") == [] and ledger.list_errors() == []
    mail = tenant.last_mail()
    assert mail["envelope_to"] == [ps.REPORT_TO, "controller@msp.example"]
    assert mail["subject"].endswith("(dry run)")
    csv = mail["attachments"][0]["text"]
    assert (
        "would create a QBO bill for Pax8 (298.50, 1 line(s)), creating vendor 'Pax8', item 'Logitech MX Keys'" in csv
    )


def test_po08_without_todo_settings_the_run_stops_at_start_and_says_which(tenant, capfd):
    """Not set up yet is no failure (BEY-10: a fresh install never fails on a schedule): the run is
    skipped at start, saying which settings to set."""
    tenant.settings(todo_action_type=None)
    dagrun = tenant.run()
    assert task_states(dagrun)["start"] == "skipped"
    assert ps.bills(tenant.sb) == {} and ps.todos(tenant.sb) == []
    assert "the purchase order sync needs todo_action_type" in capfd.readouterr().out  # the task log
