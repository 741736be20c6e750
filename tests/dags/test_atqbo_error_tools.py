"""atqbo_retry_errors (TOOL-08) and atqbo_reset (TOOL-09) run with dag.test() against the sandbox,
between runs of the syncs themselves: a failure is listed with every column, a record retried
after its fix is really sent again by the next sync run (and not before), and a reset clears
what dead runs left behind, keeps what live runs hold, and lets processing resume without a
second document. Checked in the sandbox's QBO books, Autotask state, request log and mailbox,
the state database and the task logs."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest

from tests.dags.dag_support import load_dag, set_run_state, task_states, work_state
from tests.in_flight_support import age_writes
from tests.sync import po_support as ps

pytestmark = pytest.mark.integration

RETRY = "atqbo_retry_errors"
RESET = "atqbo_reset"
ERROR_LOG_SUBJECT = "[atqbo] error log"
RESET_SUBJECT = "[atqbo] reset"


class Tenant:
    def __init__(self, sandbox, monkeypatch):
        self.sb = sandbox
        self.monkeypatch = monkeypatch

    def run(self, dag_id: str, conf: dict | None = None, expect: str = "success", **test_args):
        dagrun = load_dag(dag_id).test(run_conf=conf, **test_args)
        assert work_state(dagrun) == expect, task_states(dagrun)
        return dagrun

    def po_sync(self, minutes_later: int):
        """The scheduled PO sync at the PO tenant's fixed time (its window holds the seeded POs)."""
        return self.run("atqbo_purchase_orders", logical_date=ps.LOGICAL_DATE + timedelta(minutes=minutes_later))

    def ledger(self):
        from atqbo.ledger import Ledger

        ledger = Ledger.from_conn_id("atqbo_state")
        ledger.create_schema()
        return ledger

    def reports(self, subject: str) -> list[dict]:
        return [m for m in self.sb.mail.messages() if m["subject"].startswith(subject)]


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch):
    """The purchase order tenant (tests/sync/po_support.py): five eligible POs, two of which fail."""
    ps.reset_and_seed(sandbox_connections, monkeypatch)
    return Tenant(sandbox_connections, monkeypatch)


def _csv(mail: dict) -> str:
    return mail["attachments"][0]["text"]


# -- TOOL-08: the list ------------------------------------------------------------------------------


def test_tool08_lists_every_open_failure_with_its_columns_and_filters_writing_nothing(tenant, capfd):
    tenant.po_sync(0)  # PO_CLASH and PO_NOT_PURCHASABLE fail (PO-03, PO-05)
    errors = {e["autotask_id"]: e for e in tenant.ledger().list_errors()}
    assert set(errors) == {ps.PO_CLASH, ps.PO_NOT_PURCHASABLE}
    tenant.sb.requests.clear()
    tenant.sb.mail.clear()

    tenant.run(RETRY)
    log = capfd.readouterr().out
    assert "2 open error-log entries (entity all), newest first:" in log
    for autotask_id, entry in errors.items():  # the task log: id, entity, Autotask id, attempts, time, message, fix
        assert (
            f"#{entry['id']} purchase_order, Autotask id {autotask_id}: 1 attempt(s), last {entry['occurred_at']}"
        ) in log
        assert f"message: {entry['message']}" in log and f"fix: {entry['fix']}" in log
    (mail,) = tenant.reports(ERROR_LOG_SUBJECT)
    assert mail["subject"] == f"{ERROR_LOG_SUBJECT}: 2 failed" and mail["envelope_to"] == [ps.REPORT_TO]
    csv = _csv(mail)
    for autotask_id, entry in errors.items():  # the report: the same, one row per entry
        assert f"error #{entry['id']} (1 attempt(s), last {entry['occurred_at']})" in csv
        assert str(autotask_id) in csv and entry["message"].split(":")[0] in csv
    assert ps.writes(tenant.sb) == []  # listing writes nothing anywhere
    assert {e["id"]: e["retry_requested_at"] for e in tenant.ledger().list_errors()} == {
        e["id"]: None for e in errors.values()
    }

    tenant.run(RETRY, {"entity": "invoice"})
    assert "No open error-log entries (entity invoice)." in capfd.readouterr().out
    assert tenant.reports(ERROR_LOG_SUBJECT)[-1]["subject"] == f"{ERROR_LOG_SUBJECT}: no records, 1 note"
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    tenant.run(RETRY, {"entity": "purchase_order", "since": tomorrow})
    assert f"No open error-log entries (entity purchase_order, last occurred on or after {tomorrow})." in (
        capfd.readouterr().out
    )


# -- TOOL-08: a retried PO is sent again ----------------------------------------------------------------


def test_tool08_po_retried_after_its_fix_is_sent_by_the_next_run_and_not_before(tenant):
    tenant.po_sync(0)
    assert ps.external_numbers(tenant.sb)[ps.PO_CLASH] == "ERROR"
    # The fix: the QBO customer that held the vendor's name is renamed. ERROR still keeps the PO out.
    tenant.sb.seed({"qbo": {"Customer": [{"Id": ps.QBO_CONTOSO_CUSTOMER, "DisplayName": "Contoso Dental (customer)"}]}})
    tenant.po_sync(15)
    assert ps.PO_CLASH not in ps.bills(tenant.sb)

    tenant.sb.requests.clear()
    tenant.run(RETRY, {"autotask_ids": [ps.PO_CLASH, 12345]})
    numbers = ps.external_numbers(tenant.sb)
    assert numbers[ps.PO_CLASH] is None  # ERROR cleared in Autotask
    assert numbers[ps.PO_NOT_PURCHASABLE] == "ERROR"  # not asked for
    (write,) = ps.writes(tenant.sb)  # one PATCH of that one PO; nothing to QBO
    assert write["api"] == "autotask" and write["method"] == "PATCH"
    ledger = tenant.ledger()
    assert ledger.get_sync_record("purchase_order", ps.PO_CLASH)["status"] == "PENDING"
    (entry,) = ledger.list_errors(autotask_ids=[ps.PO_CLASH])
    assert entry["retry_requested_at"]
    html = tenant.reports(ERROR_LOG_SUBJECT)[-1]["html"]
    assert (
        f"Retry of purchase_order {ps.PO_CLASH} (error #{entry['id']}): re-queued; the next atqbo_purchase_orders "
        "(or atqbo_sync_po for one created before the look-back) run sends it again; cleared ERROR from its "
        "externalPONumber in Autotask."
    ) in html
    assert "No open error-log entry (entity all) for Autotask id(s) 12345: nothing re-queued" in html

    tenant.po_sync(30)
    bill = ps.bills(tenant.sb)[ps.PO_CLASH]
    assert ps.external_numbers(tenant.sb)[ps.PO_CLASH] == bill["Id"]
    assert ledger.get_sync_record("purchase_order", ps.PO_CLASH)["status"] == "SYNCED"
    assert [e["autotask_id"] for e in ledger.list_errors()] == [ps.PO_NOT_PURCHASABLE]  # its entry closed


# -- TOOL-08: a failed invoice is skipped silently until retried -----------------------------------------------

CONTOSO, TRAVEL = 29683501, 29682812  # demo company; demo billing code with no QBO item
FAILING_INVOICE = 39800001


def _invoice_seed() -> dict:
    day = lambda n: f"{date.today() - timedelta(days=n)}T00:00:00Z"  # noqa: E731
    return {
        "autotask": {
            "Invoices": [
                {
                    "id": FAILING_INVOICE,
                    "companyID": CONTOSO,
                    "invoiceNumber": f"E-{FAILING_INVOICE}",
                    "invoiceDateTime": day(2),
                    "fromDate": day(32),
                    "toDate": day(2),
                    "dueDate": f"{date.today() + timedelta(days=28)}T00:00:00Z",
                    "paymentTerm": 1,
                    "invoiceTotal": 75.0,
                    "totalTaxValue": 0.0,
                    "comments": "Travel",
                    "isVoided": False,
                }
            ],
            "BillingItems": [
                {
                    "id": 39800101,
                    "invoiceID": FAILING_INVOICE,
                    "companyID": CONTOSO,
                    "billingCodeID": TRAVEL,
                    "billingItemType": 1,
                    "organizationalLevelAssociationID": 1,
                    "itemName": "Travel",
                    "description": "Travel to site",
                    "itemDate": day(3),
                    "quantity": 1.0,
                    "rate": 75.0,
                    "extendedPrice": 75.0,
                    "totalAmount": 75.0,
                    "taxDollars": 0.0,
                }
            ],
        }
    }


@pytest.fixture
def invoice_tenant(airflow_db, sandbox_connections, monkeypatch):
    from sandbox.seeds import load_seed

    sb = sandbox_connections
    sb.reset()
    sb.seed(load_seed("demo"))
    sb.seed(_invoice_seed())
    for conn_id, conn in sb.connections().items():  # after the reset: its refresh token is the valid one
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return Tenant(sb, monkeypatch)


def _invoice_settings(monkeypatch, missing_item_action: str) -> None:
    monkeypatch.setenv(
        "AIRFLOW_VAR_ATQBO_SETTINGS",
        json.dumps(
            {
                "report_to": ["billing@msp.example"],
                "invoice_marker_field": "webServiceDate",
                "missing_item_action": missing_item_action,
            }
        ),
    )


def _qbo_invoice(sb, autotask_id: int) -> list[dict]:
    note = f"Autotask invoice {autotask_id} "
    return [i for i in sb.state()["qbo"].get("Invoice", []) if note in (i.get("PrivateNote") or "")]


def _autotask_invoice(sb, autotask_id: int) -> dict:
    return next(i for i in sb.state()["autotask"]["Invoices"] if i["id"] == autotask_id)


def test_tool08_failed_invoice_is_skipped_silently_until_retried_then_sent_by_the_next_run(invoice_tenant):
    """webServiceDate mode: a failed invoice keeps a blank marker in Autotask, so only the state
    database stops it being sent and failing again every run; the fix alone does not send it (its
    content did not change), the retry does."""
    t = invoice_tenant
    _invoice_settings(t.monkeypatch, "error")
    t.run("atqbo_invoices")
    assert _qbo_invoice(t.sb, FAILING_INVOICE) == []
    ledger = t.ledger()
    assert ledger.get_sync_record("invoice", FAILING_INVOICE)["status"] == "ERROR"
    (entry,) = ledger.list_errors(entity="invoice", autotask_ids=[FAILING_INVOICE])
    assert entry["attempts"] == 1 and not _autotask_invoice(t.sb, FAILING_INVOICE).get("webServiceDate")

    t.run("atqbo_invoices")  # unchanged: skipped silently, not failed and counted again
    _invoice_settings(t.monkeypatch, "create")  # the fix: missing items are created now
    t.run("atqbo_invoices")  # still skipped: nothing tells the sync the cause was fixed
    assert _qbo_invoice(t.sb, FAILING_INVOICE) == []
    assert ledger.list_errors(entity="invoice", autotask_ids=[FAILING_INVOICE])[0]["attempts"] == 1

    t.sb.requests.clear()
    t.run(RETRY, {"entity": "invoice", "autotask_ids": [FAILING_INVOICE]})
    assert ps.writes(t.sb) == []  # webServiceDate mode: no ERROR marker in Autotask to clear
    assert ledger.get_sync_record("invoice", FAILING_INVOICE)["status"] == "PENDING"
    assert "re-queued; the next atqbo_invoices" in t.reports(ERROR_LOG_SUBJECT)[-1]["html"]

    t.run("atqbo_invoices")
    (sent,) = _qbo_invoice(t.sb, FAILING_INVOICE)
    assert float(sent["TotalAmt"]) == 75.0
    assert _autotask_invoice(t.sb, FAILING_INVOICE)["webServiceDate"]  # marked synced in Autotask
    assert ledger.get_sync_record("invoice", FAILING_INVOICE)["status"] == "SYNCED"
    assert ledger.list_errors(entity="invoice", autotask_ids=[FAILING_INVOICE]) == []  # closed


def test_bey07_an_invoice_failing_in_a_routed_qbo_company_is_logged_and_listed_with_that_company(invoice_tenant, capfd):
    """Two QBO companies (qbo_routes): Contoso's invoices go to qbo_au, here a second connection to
    the sandbox's company. The failing invoice's error-log entry names qbo_au; the run's report and
    atqbo_retry_errors' list say so."""
    t = invoice_tenant
    connections = t.sb.connections()
    t.monkeypatch.setenv("AIRFLOW_CONN_QBO_AU", json.dumps(connections["qbo_default"]))
    t.monkeypatch.setenv(
        "AIRFLOW_VAR_ATQBO_SETTINGS",
        json.dumps(
            {
                "report_to": ["billing@msp.example"],
                "invoice_marker_field": "webServiceDate",
                "missing_item_action": "error",
                "qbo_routes": [{"qbo_conn_id": "qbo_au", "company_ids": [CONTOSO]}],
            }
        ),
    )
    t.run("atqbo_invoices")
    (entry,) = t.ledger().list_errors(entity="invoice", autotask_ids=[FAILING_INVOICE])
    assert entry["qbo_company"] == "qbo_au"
    report = [m for m in t.sb.mail.messages() if m["subject"].startswith("[atqbo] invoices")][-1]
    assert "Counts by QBO company: qbo_au: " in report["html"] and "; qbo_default: " in report["html"]
    header = _csv(report).lstrip("\ufeff").splitlines()[0]
    assert header.startswith("outcome,entity,autotask_id,reference,company,qbo_company,")

    capfd.readouterr()
    t.run(RETRY, {"entity": "invoice"})
    assert f"#{entry['id']} invoice, Autotask id {FAILING_INVOICE}, QBO company qbo_au: 1 attempt(s)" in (
        capfd.readouterr().out
    )
    (mail,) = t.reports(ERROR_LOG_SUBJECT)
    assert "qbo_au" in _csv(mail)

    # the form's company filter: that company's entries only, and the filter named in the report
    t.run(RETRY, {"entity": "invoice", "qbo_company": "qbo_default"})
    out = capfd.readouterr().out
    assert f"Autotask id {FAILING_INVOICE}" not in out and "QBO company qbo_default" in out
    t.run(RETRY, {"qbo_company": "qbo_au"})
    assert f"#{entry['id']} invoice, Autotask id {FAILING_INVOICE}, QBO company qbo_au" in capfd.readouterr().out
    # a company neither the settings nor the log know: the run fails naming those it knows, writing nothing
    t.sb.mail.clear()
    run = t.run(RETRY, {"qbo_company": "qbo_aus"}, expect="failed")
    assert task_states(run)["list_errors"] == "failed"
    assert (
        "UnknownCompany: qbo_company: 'qbo_aus' is not one of qbo_default, qbo_au; pick one" in capfd.readouterr().out
    )
    assert t.reports(ERROR_LOG_SUBJECT) == []


# -- TOOL-08: bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conf",
    [
        {"entity": "bills"},
        {"since": "21/11/2026"},
        {"autotask_ids": [0]},
        {"autotask_ids": ["PO-1"]},
    ],
)
def test_tool08_bad_form_input_is_refused_by_the_trigger_form_and_nothing_is_written(tenant, conf):
    from airflow.sdk.exceptions import ParamValidationError

    tenant.po_sync(0)
    before = tenant.ledger().list_errors()
    tenant.sb.requests.clear()
    tenant.sb.mail.clear()
    with pytest.raises(ParamValidationError):
        load_dag(RETRY).test(run_conf=conf)
    assert tenant.sb.requests.list() == [] and tenant.sb.mail.messages() == []
    assert tenant.ledger().list_errors() == before


@pytest.mark.parametrize(
    "params, field",
    [
        ({"entity": "bill"}, "entity: 'bill' is not one of 'all', 'invoice', 'invoice_void', 'payment', "),
        ({"since": "2026-02-30"}, "since: '2026-02-30' is not a real date"),
        ({"autotask_ids": "39600003, PO-4"}, "autotask_ids: 'PO-4' is not a whole number"),
    ],
)
def test_tool08_the_first_task_names_the_bad_field_of_a_hand_written_conf(params, field):
    from atqbo.forms import FormError, read_form
    from atqbo.tools.errors.entries import RETRY_FIELDS

    with pytest.raises(FormError) as err:
        read_form(params, RETRY_FIELDS)
    assert field in str(err.value) and "nothing was done" in str(err.value)


# -- TOOL-09 ----------------------------------------------------------------------------------------------------


def test_tool09_clears_what_dead_runs_left_keeps_what_live_runs_hold_and_says_which(tenant, live_run):
    from atqbo.ledger import to_ts, utcnow
    from atqbo.locks import INVOICE_SYNC_LOCK, SYNC_LOCK_TTL_S
    from atqbo.locks import PURCHASE_ORDER_SYNC_LOCK as PO_SYNC_LOCK

    ledger = tenant.ledger()
    dead = "atqbo_invoices/scheduled__2026-03-02T11:45:00+00:00"  # no such run in Airflow: killed and gone
    live = live_run("atqbo_purchase_orders")
    alert_owner, old_alert_owner = uuid.uuid4().hex, uuid.uuid4().hex  # how notify.py's alert lock is owned
    assert ledger.acquire_run_lock(INVOICE_SYNC_LOCK, dead, SYNC_LOCK_TTL_S, details="atqbo_invoices")
    assert ledger.acquire_run_lock(PO_SYNC_LOCK, live, SYNC_LOCK_TTL_S, details="atqbo_purchase_orders")
    assert ledger.acquire_run_lock("atqbo_other_sync", live, -1, details="atqbo_purchase_orders")  # expired
    assert ledger.acquire_run_lock("atqbo_alert:atqbo_payments/r1", alert_owner, 600, details="run failure alert")
    assert ledger.acquire_run_lock("atqbo_alert:atqbo_payments/r0", old_alert_owner, -1, details="run failure alert")
    ledger.record_intent("invoice", 501, payload_hash="h", request_id="rq-501", run_id=dead.split("/")[1])
    ledger.record_intent("purchase_order", 502, payload_hash="h", request_id="rq-502", run_id=live.split("/")[1])
    age_writes(ledger)  # written long ago: QBO can no longer commit them
    # a dead run's write that went out just now may still commit in QBO (BEY-01): kept
    ledger.record_intent("invoice", 503, payload_hash="h", request_id="rq-503", run_id=dead.split("/")[1])
    before = to_ts(utcnow())

    tenant.run(RESET)
    locks = {lock["name"]: lock["owner"] for lock in ledger.list_run_locks()}
    assert locks == {PO_SYNC_LOCK: live, "atqbo_alert:atqbo_payments/r1": alert_owner}
    reset_record = ledger.get_sync_record("invoice", 501)
    assert reset_record["status"] == "PENDING" and reset_record["request_id"] == "rq-501"  # only the status changed
    assert reset_record["updated_at"] >= before
    assert ledger.get_sync_record("purchase_order", 502)["status"] == "IN_PROGRESS"
    assert ps.writes(tenant.sb) == []  # nothing outside the state database

    (mail,) = tenant.reports(RESET_SUBJECT)
    text = mail["html"].replace("&#x27;", "'")
    assert "Cleared 3 lock(s) and reset 1 in-progress record(s); kept 4." in text
    assert f"Cleared lock {INVOICE_SYNC_LOCK} ({dead}): its run atqbo_invoices / " in text
    assert "Cleared lock atqbo_alert:atqbo_payments/r0" in text and "expired at" in text
    assert f"Cleared lock atqbo_other_sync ({live}): expired at" in text and "(its run is still running)" in text
    assert f"Kept lock {PO_SYNC_LOCK} ({live}): its run atqbo_purchase_orders / " in text
    assert "still queued or running in Airflow; if that run is stuck, mark it failed in Airflow" in text
    assert "Kept lock atqbo_alert:atqbo_payments/r1" in text and "it expires by itself at" in text
    assert "Cleared record invoice 501" in text and "Kept record purchase_order 502" in text
    assert ledger.get_sync_record("invoice", 503)["status"] == "IN_PROGRESS"
    assert "Kept record invoice 503" in text and "QBO may still commit it until" in text

    set_run_state(live, "failed")  # the stuck run is marked failed, as the report says; reset again
    tenant.run(RESET)
    assert {lock["name"] for lock in ledger.list_run_locks()} == {"atqbo_alert:atqbo_payments/r1"}
    assert ledger.get_sync_record("purchase_order", 502)["status"] == "PENDING"


def test_tool09_reset_record_resumes_without_a_second_bill(tenant):
    """A run killed after QBO created the bill but before it could record it: the record stays
    IN_PROGRESS and External PO Number blank. After the reset the next run adopts the bill by its
    PrivateNote instead of creating another."""
    tenant.po_sync(0)
    bill = ps.bills(tenant.sb)[ps.PO_OK]
    po = ps.purchase_orders(tenant.sb)[ps.PO_OK]
    tenant.sb.seed({"autotask": {"PurchaseOrders": [{**po, "externalPONumber": None}]}})
    ledger = tenant.ledger()
    ledger.record_intent(
        "purchase_order",
        ps.PO_OK,
        payload_hash="h",
        request_id="atqbo-pobills-killed",
        run_id="scheduled__2026-03-02T12:15:00+00:00",
    )
    age_writes(ledger)

    tenant.run(RESET)
    assert ledger.get_sync_record("purchase_order", ps.PO_OK)["status"] == "PENDING"
    tenant.sb.requests.clear()
    tenant.po_sync(30)
    assert ps.bills(tenant.sb)[ps.PO_OK] == bill  # the same bill; ps.bills fails on a second one
    assert ps.external_numbers(tenant.sb)[ps.PO_OK] == bill["Id"]
    assert ledger.get_sync_record("purchase_order", ps.PO_OK)["status"] == "SYNCED"
    assert not list(ps.writes(tenant.sb, "qbo"))  # nothing created in QBO


def test_tool09_with_nothing_stuck_says_so(tenant):
    tenant.run(RESET)
    (mail,) = tenant.reports(RESET_SUBJECT)
    assert mail["subject"] == f"{RESET_SUBJECT}: nothing was stuck"
    assert "Nothing was stuck: no run locks and no in-progress records in the state database." in mail["html"]


def test_tool09_refuses_to_clear_anything_when_airflow_cannot_say_which_runs_are_live(tenant):
    """Outside a task (no Airflow to ask), every run looks dead: the reset must not believe that."""
    from atqbo.ledger import utcnow
    from atqbo.locks import INVOICE_SYNC_LOCK, lock_owner_active
    from atqbo.tools.reset import ResetRefused, reset_stuck_sync

    ledger = tenant.ledger()
    ledger.acquire_run_lock(INVOICE_SYNC_LOCK, "atqbo_invoices/scheduled__x", 3600)
    ledger.record_intent("invoice", 7, payload_hash="h", request_id="r", run_id="scheduled__x")
    with pytest.raises(ResetRefused, match="nothing was cleared"):
        reset_stuck_sync(ledger, "atqbo_reset/manual__y", utcnow(), lock_owner_active)
    assert [lock["name"] for lock in ledger.list_run_locks()] == [INVOICE_SYNC_LOCK]
    assert ledger.get_sync_record("invoice", 7)["status"] == "IN_PROGRESS"
