"""atqbo_sync_po (TOOL-07) run with dag.test() against the sandbox: one PO by id with the PO sync's
own steps, whatever its creation date; the cases the vendor text leaves open (not Submitted,
transferred before, ERROR, an id that does not exist); the alternate email; bad form input; and
the bill lock shared with the scheduled PO sync. Checked in the sandbox's QBO books, Autotask
state, request log and mailbox, and in the state database."""

from __future__ import annotations

import json

import pytest

from tests.dags.dag_support import load_dag, set_run_state, task_states, work_state
from tests.sync import po_support as ps

pytestmark = pytest.mark.integration

DAG_ID = "atqbo_sync_po"
ALTERNATE = "buyer@msp.example"
SUBJECT = "[atqbo] sync one PO"
UNKNOWN_PO = 39699999


class Tool:
    def __init__(self, sandbox, monkeypatch):
        self.sb = sandbox
        self.monkeypatch = monkeypatch

    def sync_po(self, po_id: int, email: list[str] | None = None, expect: str = "success"):
        conf = {"autotask_po_id": po_id, **({"email": email} if email is not None else {})}
        dagrun = load_dag(DAG_ID).test(run_conf=conf)
        assert work_state(dagrun) == expect, task_states(dagrun)
        return dagrun

    def ledger(self):
        from atqbo.ledger import Ledger

        return Ledger.from_conn_id("atqbo_state")

    def reports(self) -> list[dict]:
        return [m for m in self.sb.mail.messages() if m["subject"].startswith(SUBJECT)]


@pytest.fixture
def tool(airflow_db, sandbox_connections, monkeypatch):
    ps.reset_and_seed(sandbox_connections, monkeypatch)
    return Tool(sandbox_connections, monkeypatch)


# -- the PO is sent ---------------------------------------------------------------------------------


def test_tool07_one_po_outside_the_window_becomes_a_bill_and_only_the_alternate_email_gets_the_report(tool):
    before = ps.purchase_orders(tool.sb)
    tool.sync_po(ps.PO_OLD, email=[ALTERNATE])  # created 20 days before: outside the scheduled sync's 14-day window

    bills = ps.bills(tool.sb)
    assert set(bills) == {ps.PO_OLD}  # that PO only, though five others are eligible for the scheduled sync
    bill = bills[ps.PO_OLD]
    assert bill["VendorRef"]["value"] == ps.QBO_INGRAM and bill["APAccountRef"]["value"] == ps.ACCOUNT_AP
    (line,) = bill["Line"]
    assert line["ItemBasedExpenseLineDetail"]["ItemRef"]["value"] == ps.QBO_DELL and float(bill["TotalAmt"]) == 899.0
    after = ps.purchase_orders(tool.sb)
    assert after[ps.PO_OLD]["externalPONumber"] == bill["Id"]  # PO-07, as the scheduled sync writes it
    assert {k: v for k, v in after.items() if k != ps.PO_OLD} == {k: v for k, v in before.items() if k != ps.PO_OLD}

    (mail,) = tool.reports()
    assert mail["envelope_to"] == [ALTERNATE]  # replaces report_to for this run
    assert mail["subject"] == f"{SUBJECT}: 1 transferred"
    assert f"created QBO bill {bill['Id']}" in mail["attachments"][0]["text"]
    record = tool.ledger().get_sync_record("purchase_order", ps.PO_OLD)
    assert (record["status"], record["qbo_id"]) == ("SYNCED", bill["Id"])
    (history,) = tool.ledger().list_runs(dag_id=DAG_ID)
    assert history["counts"]["transferred"] == 1


def test_tool07_a_person_can_send_one_po_while_the_scheduled_po_sync_is_paused(tool):
    ps.set_settings(tool.monkeypatch, po_lookback_days=0)  # pauses atqbo_purchase_orders (PO-01), not this tool
    tool.sync_po(ps.PO_NEW)
    assert set(ps.bills(tool.sb)) == {ps.PO_NEW}
    assert {"Pax8"} <= set(ps.named(tool.sb, "Vendor")) and "Logitech MX Keys" in ps.named(tool.sb, "Item", "Name")


def test_tool07_a_transferred_po_is_reported_with_its_bill_and_nothing_is_created(tool, tmp_path, monkeypatch):
    tool.sync_po(ps.PO_OK)
    bill = ps.bills(tool.sb)[ps.PO_OK]
    tool.sb.requests.clear()

    tool.sync_po(ps.PO_OK)  # again: External PO Number holds the bill's number
    assert ps.writes(tool.sb) == []  # nothing created in QBO, nothing written to Autotask
    mail = tool.reports()[-1]
    assert mail["subject"] == f"{SUBJECT}: 1 matched" and mail["envelope_to"] == [ps.REPORT_TO]
    csv = mail["attachments"][0]["text"]
    assert f"QBO bill {bill['Id']} (Id {bill['Id']}, found by the state database); nothing was created" in csv

    # Without the state database's record, the bill is found by atqbo's PrivateNote.
    new_state = {"conn_type": "sqlite", "host": str(tmp_path / "new.db")}
    monkeypatch.setenv("AIRFLOW_CONN_ATQBO_STATE", json.dumps(new_state))
    monkeypatch.setenv("AIRFLOW_CONN_QBO_DEFAULT", json.dumps(tool.sb.connections()["qbo_default"]))  # its token
    tool.sb.requests.clear()
    tool.sync_po(ps.PO_OK)
    assert ps.writes(tool.sb) == [] and ps.bills(tool.sb) == {ps.PO_OK: bill}
    csv = tool.reports()[-1]["attachments"][0]["text"]
    assert "found by its PrivateNote 'Autotask PO 39600001 - sent by atqbo'" in csv


def test_tool07_a_number_without_an_atqbo_bill_is_reported_and_not_sent(tool):
    tool.sync_po(ps.PO_BILLED)  # External PO Number "1001", typed by a person: QBO has no such bill
    assert ps.writes(tool.sb) == [] and ps.bills(tool.sb) == {}
    (mail,) = tool.reports()
    assert mail["subject"] == f"{SUBJECT}: 1 skipped"
    csv = mail["attachments"][0]["text"]
    assert "has External PO Number '1001', so it was transferred before" in csv
    assert "clear External PO Number in Autotask, then sync it again" in csv


# -- refused -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "po_id, status, fix",
    [
        (ps.PO_NEW_STATUS, "New", "submit it in Autotask, then sync it again"),
        (ps.PO_CANCELED, "Canceled", "enter its bill there by hand"),
    ],
)
def test_tool07_a_po_that_is_not_submitted_is_refused_with_the_reason_and_nothing_written(tool, po_id, status, fix):
    tool.sync_po(po_id, email=[ALTERNATE])
    assert ps.writes(tool.sb) == []
    assert tool.ledger().list_sync_records() == [] and tool.ledger().list_errors() == [] and ps.todos(tool.sb) == []
    (mail,) = tool.reports()
    assert mail["subject"] == f"{SUBJECT}: 1 skipped" and mail["envelope_to"] == [ALTERNATE]
    csv = mail["attachments"][0]["text"]
    assert f"has status '{status}', not 'Submitted': only submitted purchase orders are sent (PO-01)" in csv
    assert fix in csv


def test_tool07_an_id_autotask_does_not_have_fails_naming_it_and_nothing_is_written(tool, capfd):
    dagrun = tool.sync_po(UNKNOWN_PO, expect="failed")
    assert task_states(dagrun) == {
        "start": "success",
        "extract": "failed",
        "load": "upstream_failed",
        "write_back": "upstream_failed",
        "report": "upstream_failed",
    }
    log = capfd.readouterr().out
    assert f"Autotask has no purchase order with id {UNKNOWN_PO}, so nothing was sent or written" in log
    assert ps.writes(tool.sb) == [] and tool.sb.mail.messages() == []
    assert tool.ledger().list_sync_records() == [] and tool.ledger().list_errors() == []


# -- ERROR: asking is asking to retry --------------------------------------------------------------------


def test_tool07_a_po_marked_error_is_sent_again_when_asked_for_after_the_fix(tool):
    tool.sync_po(ps.PO_CLASH)  # vendor "Contoso Dental" is a QBO customer (PO-03)
    assert ps.external_numbers(tool.sb)[ps.PO_CLASH] == "ERROR" and ps.bills(tool.sb) == {}
    assert tool.reports()[-1]["subject"] == f"{SUBJECT}: 1 failed"
    (error,) = tool.ledger().list_errors(entity="purchase_order")
    assert error["autotask_id"] == ps.PO_CLASH and len(ps.todos(tool.sb)) == 1  # PO-08, as the scheduled sync

    tool.sb.seed({"qbo": {"Customer": [{"Id": ps.QBO_CONTOSO_CUSTOMER, "DisplayName": "Contoso Dental (customer)"}]}})
    tool.sync_po(ps.PO_CLASH)
    bill = ps.bills(tool.sb)[ps.PO_CLASH]
    assert ps.external_numbers(tool.sb)[ps.PO_CLASH] == bill["Id"]
    assert tool.ledger().list_errors(entity="purchase_order") == []  # the entry is closed
    assert len(ps.todos(tool.sb)) == 1  # no to-do for a success
    mail = tool.reports()[-1]
    assert mail["subject"] == f"{SUBJECT}: 1 transferred"
    assert "had ERROR in its External PO Number (an earlier attempt failed, see the error log): sent again" in (
        mail["html"].replace("&#x27;", "'")
    )


# -- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "conf",
    [
        {},  # the id is required
        {"autotask_po_id": "39600001"},
        {"autotask_po_id": 0},
        {"autotask_po_id": ps.PO_OK, "email": ["purchasing"]},
        {"autotask_po_id": ps.PO_OK, "email": "buyer@msp.example"},
    ],
)
def test_tool07_bad_form_input_is_refused_by_the_trigger_form_and_nothing_runs(tool, conf):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        load_dag(DAG_ID).test(run_conf=conf)
    assert tool.sb.requests.list() == [] and tool.sb.mail.messages() == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "autotask_po_id: required"),
        ({"autotask_po_id": "PO-39600001"}, "autotask_po_id: 'PO-39600001' is not a whole number"),
        ({"autotask_po_id": 39600001, "email": ["buyer@msp"]}, "email: 'buyer@msp' is not an email address"),
    ],
)
def test_tool07_the_first_task_names_the_bad_field_of_a_hand_written_conf(params, field):
    """What a REST API or CLI conf can carry past the form: the start task refuses it before any call."""
    from atqbo.forms import FormError, read_form
    from atqbo.tools.purchase_orders import SYNC_PO_FIELDS

    with pytest.raises(FormError) as err:
        read_form(params, SYNC_PO_FIELDS)
    assert field in str(err.value) and "nothing was done" in str(err.value)
    assert read_form({"autotask_po_id": " 39600001 ", "email": "a@msp.example, b@msp.example"}, SYNC_PO_FIELDS) == {
        "autotask_po_id": 39600001,
        "email": ["a@msp.example", "b@msp.example"],
    }


# -- one run at a time creates bills ---------------------------------------------------------------------------


def test_tool07_a_live_run_holding_the_bill_lock_stops_the_tool_before_any_create(tool, live_run, capfd):
    """The scheduled PO sync holds ``purchase_order_sync`` while it creates bills: a manual sync of a PO
    it may be sending creates nothing and says which run to wait for. Once that run is over, the
    stale lock is taken over."""
    from atqbo.locks import PURCHASE_ORDER_SYNC_LOCK as PO_SYNC_LOCK

    owner = live_run("atqbo_purchase_orders")
    ledger = tool.ledger()
    ledger.create_schema()
    assert ledger.acquire_run_lock(PO_SYNC_LOCK, owner, 3600, details="atqbo_purchase_orders")

    dagrun = tool.sync_po(ps.PO_OK, expect="failed")
    assert task_states(dagrun)["load"] == "failed"
    dag_id, _, run_id = owner.partition("/")
    assert f"{dag_id} run {run_id!r} is creating QBO bills right now" in capfd.readouterr().out
    assert ps.writes(tool.sb, "qbo") == [] and ps.bills(tool.sb) == {}
    assert ledger.get_run_lock(PO_SYNC_LOCK)["owner"] == owner  # still theirs

    set_run_state(owner, "failed")  # that run is over (killed, marked failed)
    tool.sync_po(ps.PO_OK)
    assert set(ps.bills(tool.sb)) == {ps.PO_OK}
    assert ledger.get_run_lock(PO_SYNC_LOCK) is None  # taken over, then released at the end of load
