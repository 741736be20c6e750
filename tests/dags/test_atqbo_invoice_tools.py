"""The invoice tools run with dag.test() against the sandbox's demo tenant: atqbo_preview_invoices
(TOOL-03), atqbo_sync_now (TOOL-04) and atqbo_copy_invoice (TOOL-05), and the invoice sync lock
they share with atqbo_invoices. Checked record by record in the sandbox's QBO books, its Autotask
invoices, its request log (what was written), its mailbox (who got which report) and the ledger.

A run "in progress" is a real DagRun row in Airflow's metadata database in state running, whose
key owns the lock in the ledger: what a scheduled run looks like to another run between its start
and report tasks (two dag.test() runs cannot overlap in one process).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.dags.dag_support import load_dag, run_note, set_run_state, task_states, work_state
from tests.in_flight_support import age_writes

pytestmark = pytest.mark.integration

TODAY = date.today()
CONTOSO = 29683501  # demo customer already in QBO
REMOTE_SUPPORT = 29682803  # demo billing code
SYNCED = 29684001  # demo invoice INV-1001, transferred before: marker set, QBO invoice 1013 "INV-1001"
SYNCED_QBO_ID, SYNCED_DOC = "1013", "INV-1001"
SYNCED_2 = 29684002  # INV-1002, transferred too (QBO invoice 1014)
VOIDED = 29684005  # transferred, then voided in Autotask
OLD = 39500001  # unsynced, dated 100 days ago: outside every look-back
NO_NUMBER = 39500002  # unsynced, recent, Autotask gave it no invoice number
REPORT_TO = "billing@msp.example"
SETTINGS = {"invoice_lookback_days": 45, "report_to": [REPORT_TO]}
LOCK = "invoice_sync"


def _dt(days_ago: int) -> str:
    return f"{TODAY - timedelta(days=days_ago)}T00:00:00Z"


def _extra_invoices() -> dict:
    def invoice(iid: int, days_ago: int, number: str | None) -> dict:
        return {
            "id": iid,
            "companyID": CONTOSO,
            "invoiceNumber": number,
            "invoiceDateTime": _dt(days_ago),
            "fromDate": _dt(days_ago + 30),
            "toDate": _dt(days_ago),
            "dueDate": _dt(days_ago - 30),
            "paymentTerm": 1,
            "invoiceTotal": 250.0,
            "totalTaxValue": 0.0,
            "isVoided": False,
        }

    def item(iid: int, invoice_id: int, days_ago: int) -> dict:
        return {
            "id": iid,
            "invoiceID": invoice_id,
            "companyID": CONTOSO,
            "billingCodeID": REMOTE_SUPPORT,
            "billingItemType": 1,
            "organizationalLevelAssociationID": 1,
            "itemName": "Remote support",
            "description": "Remote support",
            "itemDate": _dt(days_ago),
            "quantity": 2.0,
            "rate": 125.0,
            "extendedPrice": 250.0,
            "totalAmount": 250.0,
            "taxDollars": 0.0,
        }

    return {
        "autotask": {
            "Invoices": [invoice(OLD, 100, f"E-{OLD}"), invoice(NO_NUMBER, 2, None)],
            "BillingItems": [item(39510001, OLD, 100), item(39510002, NO_NUMBER, 2)],
        }
    }


# -- helpers --------------------------------------------------------------------------------------


class Tenant:
    def __init__(self, sandbox, monkeypatch):
        self.sb = sandbox
        self.monkeypatch = monkeypatch

    def settings(self, **changes) -> None:
        self.monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({**SETTINGS, **changes}))

    def run(self, dag_id: str, conf: dict | None = None, expect: str = "success"):
        dagrun = load_dag(dag_id).test(run_conf=conf)
        assert work_state(dagrun) == expect, task_states(dagrun)
        return dagrun

    def ledger(self):
        from atqbo.ledger import Ledger

        return Ledger.from_conn_id("atqbo_state")

    def copies(self) -> dict[int, list[dict]]:
        """atqbo's QBO invoices (PrivateNote "Autotask invoice <id>"), by Autotask id, oldest first."""
        out: dict[int, list[dict]] = {}
        for inv in sorted(self.sb.state()["qbo"].get("Invoice", []), key=lambda i: int(i["Id"])):
            m = re.match(r"(?:Voided - )?Autotask invoice (\d+)", inv.get("PrivateNote") or "")
            if m:
                out.setdefault(int(m.group(1)), []).append(inv)
        return out

    def at_invoices(self) -> dict[int, dict]:
        return {i["id"]: i for i in self.sb.state()["autotask"]["Invoices"]}

    def eligible(self, days: int = 45) -> set[int]:
        """What a sync over the last ``days`` must send: unsynced, not voided, total >= 0, in the window."""
        since = str(TODAY - timedelta(days=days))
        return {
            i["id"]
            for i in self.at_invoices().values()
            if not i.get("webServiceDate")
            and not i.get("isVoided")
            and Decimal(str(i["invoiceTotal"])) >= 0
            and i["invoiceDateTime"][:10] >= since
        }

    def writes(self, api: str | None = None) -> list[dict]:
        """Every POST/PATCH/PUT/DELETE to the APIs except reads sent as POST (queries) and token refreshes."""
        return [
            r
            for r in self.sb.requests.list(api)
            if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
            and not r["path"].endswith(("/query", "/query/count", "/query/next", "/tokens/bearer"))
            and "query" not in (r["query"] or "")
        ]

    def reports(self, title: str) -> list[dict]:
        return [m for m in self.sb.mail.messages() if m["subject"].startswith(f"[atqbo] {title}")]

    @staticmethod
    def body(mail: dict) -> str:
        """The report email's text as a reader sees it (the HTML part, entities decoded)."""
        return html.unescape((mail.get("html") or "") + (mail.get("text") or ""))

    def report_rows(self, mail: dict) -> list[dict]:
        text = mail["attachments"][0]["text"].lstrip("\ufeff")
        return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch):
    from sandbox.seeds import load_seed

    sb = sandbox_connections
    sb.reset()
    sb.seed(load_seed("demo"))
    sb.seed(_extra_invoices())
    for conn_id, conn in sb.connections().items():  # after the reset: its refresh token is the valid one
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(SETTINGS))
    return Tenant(sb, monkeypatch)


@pytest.fixture
def run_in_progress(live_run, tenant):
    """Make ``dag_id`` have a run in progress that holds the invoice sync lock; returns its run id."""

    def make(dag_id: str) -> str:
        owner = live_run(dag_id, scheduled=True)
        ledger = tenant.ledger()
        ledger.create_schema()
        assert ledger.acquire_run_lock(LOCK, owner, 3600, details=dag_id)
        return owner.partition("/")[2]

    return make


# -- TOOL-03: check for invoices --------------------------------------------------------------------


def test_tool03_preview_lists_what_the_next_run_picks_up_and_writes_nothing(tenant):
    """The dry run's list is exactly what atqbo_invoices then sends; the preview itself sends no
    POST/PATCH/PUT to either API (reads sent as POST queries and the token refresh aside)."""
    eligible = tenant.eligible()
    before = tenant.sb.state()
    tenant.sb.requests.clear()
    dagrun = tenant.run("atqbo_preview_invoices", {"email": ["cfo@msp.example"]})
    assert task_states(dagrun)["report"] == "success"
    assert tenant.writes("qbo") == [] and tenant.writes("autotask") == []
    after = tenant.sb.state()
    for entity in ("Invoice", "Customer", "Item"):
        assert after["qbo"].get(entity) == before["qbo"].get(entity), entity
    assert after["autotask"]["Invoices"] == before["autotask"]["Invoices"]
    ledger = tenant.ledger()
    assert ledger.list_sync_records(entity="invoice") == [] and ledger.list_errors(entity="invoice") == []
    assert ledger.get_run_lock(LOCK) is None  # a dry run takes no lock

    [mail] = tenant.reports("check for invoices")
    assert sorted(mail["envelope_to"]) == sorted([REPORT_TO, "cfo@msp.example"])  # extra emails are added
    assert mail["subject"].endswith("(dry run)")
    assert "DRY RUN" in tenant.body(mail) and "Invoice numbering: qbo (QBO numbers the invoices" in tenant.body(mail)
    rows = tenant.report_rows(mail)
    planned = {int(r["autotask_id"]) for r in rows if r["outcome"] == "planned"}
    assert planned == eligible and OLD not in planned and SYNCED not in planned
    no_number = next(r for r in rows if int(r["autotask_id"]) == NO_NUMBER)
    assert no_number["reason"] == "would create a QBO invoice numbered by QBO for Contoso Dental (250.00)"

    tenant.run("atqbo_invoices")  # the next run picks up exactly that
    created = {i for i, copies in tenant.copies().items() if any(c["Id"] not in _ids(before) for c in copies)}
    assert created == planned


def _ids(state: dict) -> set[str]:
    return {inv["Id"] for inv in state["qbo"].get("Invoice", [])}


def test_tool03_numbering_option_and_max_age_change_the_list(tenant):
    """autotask_number: Autotask's numbers are planned as DocNumbers and the invoice without one
    would fail (said as "would fail", not logged); max_age_days 120 reaches the 100-day-old invoice."""
    tenant.run("atqbo_preview_invoices", {"invoice_numbering": "autotask_number", "max_age_days": 120})
    [mail] = tenant.reports("check for invoices")
    assert mail["envelope_to"] == [REPORT_TO]
    rows = {int(r["autotask_id"]): r for r in tenant.report_rows(mail) if r["outcome"] != "warning"}
    assert rows[OLD]["outcome"] == "planned"
    assert rows[OLD]["reason"] == f"would create a QBO invoice numbered E-{OLD} for Contoso Dental (250.00)"
    assert rows[NO_NUMBER]["outcome"] == "failed"
    assert rows[NO_NUMBER]["reason"].startswith("would fail: ")
    assert "invoice_numbering is 'autotask_number' but Autotask gave the invoice no number" in rows[NO_NUMBER]["reason"]
    assert "Invoice numbering: autotask_number (Autotask's invoice number; chosen for this check)" in tenant.body(mail)
    assert tenant.ledger().list_errors(entity="invoice") == []  # a preview's failures are not real ones
    assert tenant.at_invoices()[NO_NUMBER]["invoiceNumber"] is None

    tenant.sb.mail.clear()
    tenant.run("atqbo_preview_invoices", {"max_age_days": 0})  # nothing is that young: still a report
    [empty] = tenant.reports("check for invoices")
    assert tenant.report_rows(empty) == [] and "last 0 day(s)" in tenant.body(empty)


def test_tool03_an_invoice_already_in_qbo_is_listed_as_such_and_its_marker_left_alone(tenant):
    """INV-1001 lost its Autotask marker: QBO has it (atqbo's PrivateNote), so the next run would
    adopt it; the preview says so and writes no marker."""
    invoice = tenant.at_invoices()[SYNCED]
    tenant.sb.seed({"autotask": {"Invoices": [{**invoice, "webServiceDate": None}]}})
    tenant.run("atqbo_preview_invoices")
    [mail] = tenant.reports("check for invoices")
    row = next(r for r in tenant.report_rows(mail) if int(r["autotask_id"]) == SYNCED)
    assert row["outcome"] == "matched" and row["qbo_id"] == SYNCED_QBO_ID
    assert row["reason"] == (
        f"already in QBO as QBO invoice {SYNCED_DOC} (Id {SYNCED_QBO_ID}) (created by an earlier "
        "atqbo run); the next run only writes the Autotask marker"
    )
    assert tenant.at_invoices()[SYNCED]["webServiceDate"] is None
    assert tenant.writes() == []


@pytest.mark.parametrize(
    "conf",
    [
        {"invoice_numbering": "sku"},
        {"max_age_days": 4000},
        {"max_age_days": -1},
        {"max_age_days": "ten"},
        {"email": ["nobody"]},
        {"email": "cfo@msp.example"},
    ],
)
def test_tool03_bad_form_input_is_rejected_by_the_trigger_form(tenant, conf):
    from airflow.sdk.exceptions import ParamValidationError

    tenant.sb.requests.clear()
    with pytest.raises(ParamValidationError):
        load_dag("atqbo_preview_invoices").test(run_conf=conf)
    assert tenant.sb.requests.list() == [] and tenant.sb.mail.messages() == []


def test_tool03_input_the_schema_cannot_judge_fails_the_first_task_naming_the_field(tenant, capfd):
    """A conf posted by the REST API (read_form), and a numbering the marker mode cannot use."""
    from atqbo.forms import FormError, read_form
    from atqbo.tools.invoices import PREVIEW_FIELDS

    with pytest.raises(FormError, match=r"max_age_days: '12 days' is not a whole number"):
        read_form({"max_age_days": "12 days"}, PREVIEW_FIELDS)
    with pytest.raises(FormError, match=r"email: 'cfo@msp' is not an email address"):
        read_form({"email": "cfo@msp.example, cfo@msp"}, PREVIEW_FIELDS)
    assert read_form({"max_age_days": " 30 "}, PREVIEW_FIELDS)["max_age_days"] == 30

    tenant.settings(invoice_marker_field="invoiceNumber")
    tenant.sb.requests.clear()
    dagrun = tenant.run("atqbo_preview_invoices", {"invoice_numbering": "autotask_id"}, expect="failed")
    assert task_states(dagrun) == {
        "start": "failed",
        "extract": "upstream_failed",
        "transform": "upstream_failed",
        "load": "upstream_failed",
        "write_back": "upstream_failed",
        "report": "upstream_failed",
    }
    assert "invoice_numbering: 'autotask_id' cannot be previewed while invoice_marker_field is 'invoiceNumber'" in (
        capfd.readouterr().out
    )
    assert tenant.sb.requests.list() == [] and tenant.sb.mail.messages() == []


# -- TOOL-04: sync now ------------------------------------------------------------------------------


def test_tool04_sync_now_sends_every_eligible_invoice_once_and_reports_to_the_alternate_email(tenant):
    """Also while invoice_sync_enabled is false (the vendor paused the automatic sync for Sync now)."""
    tenant.settings(invoice_sync_enabled=False)
    eligible = tenant.eligible()
    before = tenant.copies()
    dagrun = tenant.run("atqbo_sync_now", {"email": ["ap@msp.example", "cfo@msp.example"]})
    assert set(task_states(dagrun).values()) == {"success"}
    created = {i: c[-1] for i, c in tenant.copies().items() if len(c) > len(before.get(i, []))}
    assert set(created) == eligible and OLD not in created
    at = tenant.at_invoices()
    ledger = tenant.ledger()
    for autotask_id, inv in created.items():
        assert at[autotask_id]["webServiceDate"], autotask_id  # INV-03 marker
        assert at[autotask_id]["invoiceNumber"] == inv["DocNumber"], autotask_id  # INV-04 QBO's number back
        record = ledger.get_sync_record("invoice", autotask_id)
        assert (record["status"], record["qbo_id"], record["generation"]) == ("SYNCED", inv["Id"], 0)
    assert ledger.get_run_lock(LOCK) is None  # given back by the report task

    [mail] = tenant.reports("sync now")
    assert sorted(mail["envelope_to"]) == ["ap@msp.example", "cfo@msp.example"]  # instead of report_to
    assert mail["subject"].startswith(f"[atqbo] sync now: {len(eligible)} transferred")
    rows = [r for r in tenant.report_rows(mail) if r["outcome"] == "transferred"]
    assert {int(r["autotask_id"]) for r in rows} == eligible
    assert all(r["qbo_number"] == created[int(r["autotask_id"])]["DocNumber"] for r in rows)

    tenant.sb.requests.clear()
    tenant.run("atqbo_sync_now")  # exactly once: a second sync now has nothing to send
    assert tenant.copies() == {**before, **{i: before.get(i, []) + [c] for i, c in created.items()}}
    assert tenant.writes() == []
    assert tenant.reports("sync now")[-1]["envelope_to"] == [REPORT_TO]  # empty form: report_to


def test_tool04_refused_while_a_scheduled_run_is_in_progress_naming_it_and_writing_nothing(
    tenant, run_in_progress, capfd
):
    scheduled = run_in_progress("atqbo_invoices")
    tenant.sb.requests.clear()
    dagrun = tenant.run("atqbo_sync_now", {"email": ["ap@msp.example"]}, expect="failed")
    states = task_states(dagrun)
    assert states["start"] == "failed" and states["extract"] == states["report"] == "upstream_failed"
    out = capfd.readouterr().out
    assert f"atqbo_invoices run '{scheduled}' is in progress and holds the 'invoice_sync' lock" in out
    assert "Wait until it finishes" in out and "then trigger again" in out
    assert tenant.writes() == []
    assert [r for r in tenant.sb.requests.list() if r["api"] == "qbo"] == []  # not even a QBO read
    assert tenant.sb.mail.messages() == []  # a refusal alerts nobody: its task log says why
    assert tenant.ledger().get_run_lock(LOCK)["owner"] == f"atqbo_invoices/{scheduled}"  # not taken, not released

    set_run_state(
        f"atqbo_invoices/{scheduled}", "failed"
    )  # the scheduled run died without giving the lock back: it is taken over
    tenant.run("atqbo_sync_now")
    assert tenant.eligible() == set()


def test_tool04_scheduled_run_skips_while_sync_now_holds_the_lock_and_the_next_one_picks_up(
    tenant, run_in_progress, capfd
):
    sync_now = run_in_progress("atqbo_sync_now")
    eligible = tenant.eligible()
    tenant.sb.requests.clear()
    dagrun = tenant.run("atqbo_invoices")
    assert set(task_states(dagrun).values()) == {"skipped"}
    out = capfd.readouterr().out
    assert f"atqbo_sync_now run '{sync_now}' holds the invoice sync lock" in out
    assert "the next scheduled run picks up whatever is left" in out
    note = run_note(dagrun)  # BEY-10: the reason is the run's note too
    assert note.startswith("Skipped: ") and f"atqbo_sync_now run '{sync_now}' holds the invoice sync lock" in note
    assert tenant.sb.requests.list() == []
    assert tenant.ledger().get_run_lock(LOCK)["owner"] == f"atqbo_sync_now/{sync_now}"

    tenant.ledger().release_run_lock(LOCK, f"atqbo_sync_now/{sync_now}")  # what its report task does
    set_run_state(f"atqbo_sync_now/{sync_now}", "success")
    tenant.run("atqbo_invoices")
    assert eligible and tenant.eligible() == set()
    assert tenant.ledger().get_run_lock(LOCK) is None


def test_tool04_a_failed_run_gives_back_only_its_own_lock_and_says_why(tenant):
    """QBO disconnected: atqbo_invoices (its DAG's failure callback) and sync now (the callback on
    its work tasks) fail at load, give back their lock and alert report_to once, with the error for
    sync now; the callback never releases another run's lock."""
    from atqbo.dags import on_sync_failure

    tenant.sb.seed({"qbo": {"oauth": {"revoke": True}}})
    dagrun = tenant.run("atqbo_invoices", expect="failed")
    assert task_states(dagrun)["load"] == "failed"
    ledger = tenant.ledger()
    assert ledger.get_run_lock(LOCK) is None
    dagrun = tenant.run("atqbo_sync_now", {"email": ["ap@msp.example"]}, expect="failed")
    assert task_states(dagrun)["load"] == "failed" and task_states(dagrun)["report"] == "upstream_failed"
    assert ledger.get_run_lock(LOCK) is None
    alerts = tenant.sb.mail.messages()
    assert [m["subject"] for m in alerts] == ["[atqbo] atqbo_invoices run failed", "[atqbo] atqbo_sync_now run failed"]
    assert alerts[1]["envelope_to"] == [REPORT_TO]  # the alternate email is for the report, alerts go to report_to
    alert = tenant.body(alerts[1])
    assert "Failed task(s)</th>" in alert and ">load</td>" in alert
    assert "QboTokenRevoked" in alert and "To reconnect" in alert  # a task callback knows the error
    assert [v for v in tenant.writes() if v["api"] == "qbo"] == []

    class Dag:
        dag_id = "atqbo_invoices"

    assert ledger.acquire_run_lock(LOCK, "atqbo_sync_now/manual__1", 3600)
    on_sync_failure({"dag": Dag(), "run_id": "scheduled__2", "reason": "task_failure"})
    assert ledger.get_run_lock(LOCK)["owner"] == "atqbo_sync_now/manual__1"
    on_sync_failure({"dag": type("D", (), {"dag_id": "atqbo_sync_now"})(), "run_id": "manual__1", "reason": "x"})
    assert ledger.get_run_lock(LOCK) is None


@pytest.mark.parametrize("conf", [{"email": ["not-an-address"]}, {"email": "ap@msp.example"}, {"email": [42]}])
def test_tool04_bad_form_input_is_rejected_by_the_trigger_form(tenant, conf):
    from airflow.sdk.exceptions import ParamValidationError

    tenant.sb.requests.clear()
    with pytest.raises(ParamValidationError):
        load_dag("atqbo_sync_now").test(run_conf=conf)
    assert tenant.sb.requests.list() == [] and tenant.sb.mail.messages() == []


def test_tool04_read_form_names_the_bad_address():
    from atqbo.forms import FormError, read_form
    from atqbo.tools.invoices import SYNC_NOW_FIELDS

    with pytest.raises(FormError, match=r"email: 'ap@msp' is not an email address"):
        read_form({"email": "ops@msp.example; ap@msp"}, SYNC_NOW_FIELDS)
    assert read_form({"email": " ap@msp.example \n"}, SYNC_NOW_FIELDS) == {"email": ["ap@msp.example"]}


# -- TOOL-05: manually copy an invoice --------------------------------------------------------------


def test_tool05_copies_an_unsynced_invoice_outside_the_window_and_says_a_copy_was_made(tenant):
    dagrun = tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": OLD, "email": ["cfo@msp.example"]})
    assert set(task_states(dagrun).values()) == {"success"}
    [copy] = tenant.copies()[OLD]
    assert copy["TxnDate"] == str(TODAY - timedelta(days=100)) and Decimal(str(copy["TotalAmt"])) == 250
    source = tenant.at_invoices()[OLD]
    assert source["webServiceDate"] and source["invoiceNumber"] == copy["DocNumber"]
    record = tenant.ledger().get_sync_record("invoice", OLD)
    assert (record["status"], record["qbo_id"], record["generation"], record["request_id"]) == (
        "SYNCED",
        copy["Id"],
        0,
        f"atqbo-inv-{OLD}-g0",
    )
    assert set(tenant.copies()) - {OLD} == {i for i in tenant.copies() if i < 39000000}  # nothing else sent
    [mail] = tenant.reports(f"copy invoice {OLD}")
    assert sorted(mail["envelope_to"]) == sorted([REPORT_TO, "cfo@msp.example"])
    assert mail["subject"] == f"[atqbo] copy invoice {OLD}: 1 transferred"
    assert (
        f"A copy was made: QBO invoice {copy['DocNumber']} (Id {copy['Id']}) was created in QBO for Autotask "
        f"invoice E-{OLD} (id {OLD})."
    ) in tenant.body(mail)


def test_tool05_an_invoice_already_in_qbo_is_not_copied_without_overwrite(tenant):
    before = tenant.at_invoices()[SYNCED]
    tenant.sb.requests.clear()
    tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": SYNCED})
    assert [c["Id"] for c in tenant.copies()[SYNCED]] == [SYNCED_QBO_ID]
    assert tenant.writes() == []  # nothing created in QBO, the marker it has is left as it is
    assert tenant.at_invoices()[SYNCED] == before
    [mail] = tenant.reports(f"copy invoice {SYNCED}")
    assert mail["subject"] == f"[atqbo] copy invoice {SYNCED}: 1 matched"
    verdict = (
        f"No copy was made: Autotask invoice {SYNCED_DOC} (id {SYNCED}) is already in QBO as QBO invoice "
        f"{SYNCED_DOC} (Id {SYNCED_QBO_ID}). Trigger again with Overwrite to make a second copy."
    )
    assert verdict in tenant.body(mail)
    [row] = tenant.report_rows(mail)
    assert (row["outcome"], row["qbo_id"], row["qbo_number"]) == ("matched", SYNCED_QBO_ID, SYNCED_DOC)


def test_tool05_overwrite_makes_a_second_copy_with_a_new_generation_and_names_the_older_one(tenant):
    old_marker = tenant.at_invoices()[SYNCED]["webServiceDate"]
    tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": SYNCED, "overwrite": True})
    first, second = tenant.copies()[SYNCED]
    assert first["Id"] == SYNCED_QBO_ID and second["Id"] != SYNCED_QBO_ID
    assert second["CustomerRef"] == first["CustomerRef"] and second["TxnDate"] == first["TxnDate"]
    source = tenant.at_invoices()[SYNCED]
    assert source["invoiceNumber"] == second["DocNumber"] != SYNCED_DOC  # QBO numbers the new copy (INV-04)
    assert source["webServiceDate"] != old_marker  # the marker is written again
    record = tenant.ledger().get_sync_record("invoice", SYNCED)
    assert (record["qbo_id"], record["generation"], record["request_id"]) == (second["Id"], 1, f"atqbo-inv-{SYNCED}-g1")
    [mail] = tenant.reports(f"copy invoice {SYNCED}")
    assert (
        f"A copy was made: QBO invoice {second['DocNumber']} (Id {second['Id']}) was created in QBO for Autotask "
        f"invoice {SYNCED_DOC} (id {SYNCED}). It is a second copy: QBO invoice {SYNCED_DOC} (Id {SYNCED_QBO_ID}) "
        "still exists; void or delete it in QBO if it is not wanted."
    ) in tenant.body(mail)

    tenant.sb.mail.clear()
    tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": SYNCED, "overwrite": True})  # again: a third copy
    third = tenant.copies()[SYNCED][2]
    assert tenant.ledger().get_sync_record("invoice", SYNCED)["generation"] == 2
    [mail] = tenant.reports(f"copy invoice {SYNCED}")
    older = f"QBO invoice {second['DocNumber']} (Id {second['Id']})"
    assert f"It is a second copy: {older} still exists" in tenant.body(mail)

    tenant.sb.mail.clear()
    tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": SYNCED})  # without Overwrite: the latest is named
    assert len(tenant.copies()[SYNCED]) == 3
    [mail] = tenant.reports(f"copy invoice {SYNCED}")
    assert f"is already in QBO as QBO invoice {third['DocNumber']} (Id {third['Id']})" in tenant.body(mail)


def test_tool05_overwrite_keeps_autotask_numbers_even_though_qbo_has_that_number(tenant):
    """With invoice_numbering autotask_number the second copy repeats the DocNumber; QBO's duplicate
    number check would refuse it (6140) and the older copy must not be taken for the new one."""
    tenant.settings(invoice_numbering="autotask_number")
    tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": SYNCED_2, "overwrite": True})
    first, second = tenant.copies()[SYNCED_2]
    assert first["DocNumber"] == second["DocNumber"] == "INV-1002" and first["Id"] != second["Id"]
    assert tenant.at_invoices()[SYNCED_2]["invoiceNumber"] == "INV-1002"
    [mail] = tenant.reports(f"copy invoice {SYNCED_2}")
    assert mail["subject"] == f"[atqbo] copy invoice {SYNCED_2}: 1 transferred"


def test_tool05_an_overwrite_run_again_after_a_lost_answer_makes_one_copy_not_two(tenant):
    """BEY-01 for Overwrite: QBO created the second copy but every answer was lost, so load failed;
    run again at once, the same run sends nothing (its write may still be committing in QBO, for
    all it knows); run again once that window has passed, it keeps its generation (so its batch
    requestid), and QBO replays the copy instead of making a third."""
    tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": OLD})  # the first copy (and its customer, item)
    [first_copy] = tenant.copies()[OLD]
    when = datetime.now(UTC).replace(microsecond=0)
    conf = {"autotask_invoice_id": OLD, "overwrite": True}
    tenant.sb.faults.add({"api": "qbo", "method": "POST", "path": r"/batch$", "mode": "commit_then_error", "times": 50})
    first = load_dag("atqbo_copy_invoice").test(logical_date=when, run_after=when, run_conf=conf)
    assert work_state(first) == "failed" and task_states(first)["load"] == "failed"
    assert len(tenant.copies()[OLD]) == 2  # the write was applied
    assert tenant.ledger().get_run_lock(LOCK) is None  # the failed task's callback gave the lock back
    tenant.sb.faults.clear()
    at_once = load_dag("atqbo_copy_invoice").test(logical_date=when, run_after=when, run_conf=conf)
    assert at_once.run_id == first.run_id and work_state(at_once) == "success", task_states(at_once)
    assert len(tenant.copies()[OLD]) == 2  # nothing sent: the lost write is still in flight
    assert "still in flight" in tenant.reports(f"copy invoice {OLD}")[-1]["attachments"][0]["text"]
    age_writes(tenant.ledger())
    tenant.sb.mail.clear()
    again = load_dag("atqbo_copy_invoice").test(logical_date=when, run_after=when, run_conf=conf)
    assert again.run_id == first.run_id and work_state(again) == "success", task_states(again)
    assert [c["Id"] for c in tenant.copies()[OLD]][0] == first_copy["Id"]
    [_, second_copy] = tenant.copies()[OLD]
    record = tenant.ledger().get_sync_record("invoice", OLD)
    assert (record["status"], record["qbo_id"], record["generation"]) == ("SYNCED", second_copy["Id"], 1)
    assert tenant.at_invoices()[OLD]["invoiceNumber"] == second_copy["DocNumber"]
    [mail] = tenant.reports(f"copy invoice {OLD}")
    assert f"A copy was made: QBO invoice {second_copy['DocNumber']} (Id {second_copy['Id']})" in tenant.body(mail)
    assert f"second copy: QBO invoice {first_copy['DocNumber']} (Id {first_copy['Id']})" in tenant.body(mail)


@pytest.mark.parametrize(
    "autotask_id, message",
    [
        (VOIDED, f"autotask_invoice_id: Autotask invoice {VOIDED} (INV-1005) is voided; a voided invoice is not"),
        (99999999, "autotask_invoice_id: Autotask has no invoice with id 99999999; nothing was copied or written"),
    ],
)
def test_tool05_a_voided_or_unknown_invoice_is_refused_naming_it_and_nothing_is_written(
    tenant, capfd, autotask_id, message
):
    tenant.sb.requests.clear()
    dagrun = tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": autotask_id, "overwrite": True}, expect="failed")
    assert task_states(dagrun)["start"] == "failed" and task_states(dagrun)["report"] == "upstream_failed"
    assert message in capfd.readouterr().out
    assert tenant.writes() == [] and [r for r in tenant.sb.requests.list() if r["api"] == "qbo"] == []
    assert tenant.sb.mail.messages() == []
    ledger = tenant.ledger()
    ledger.create_schema()  # start refused before it created the state database's tables
    assert ledger.get_run_lock(LOCK) is None and ledger.list_sync_records() == []


def test_tool05_refused_while_another_run_holds_the_lock(tenant, run_in_progress, capfd):
    scheduled = run_in_progress("atqbo_invoices")
    tenant.sb.requests.clear()
    tenant.run("atqbo_copy_invoice", {"autotask_invoice_id": OLD}, expect="failed")
    assert f"atqbo_invoices run '{scheduled}' is in progress" in capfd.readouterr().out
    assert tenant.writes() == [] and OLD not in tenant.copies() and tenant.sb.mail.messages() == []


@pytest.mark.parametrize(
    "conf",
    [
        {},
        {"autotask_invoice_id": 0},
        {"autotask_invoice_id": "abc"},
        {"autotask_invoice_id": 5, "overwrite": "yes"},
        {"autotask_invoice_id": 5, "email": ["nobody@"]},
    ],
)
def test_tool05_bad_form_input_is_rejected_by_the_trigger_form(tenant, conf):
    from airflow.sdk.exceptions import ParamValidationError

    tenant.sb.requests.clear()
    with pytest.raises(ParamValidationError):
        load_dag("atqbo_copy_invoice").test(run_conf=conf)
    assert tenant.sb.requests.list() == [] and tenant.sb.mail.messages() == []


def test_tool05_read_form_names_every_bad_field():
    from atqbo.forms import FormError, read_form
    from atqbo.tools.invoices import COPY_FIELDS

    with pytest.raises(FormError) as err:
        read_form({"autotask_invoice_id": "12x", "overwrite": "yes", "email": "a@b"}, COPY_FIELDS)
    for expected in (
        "autotask_invoice_id: '12x' is not a whole number",
        "overwrite: 'yes' is not true or false",
        "email: 'a@b' is not an email address",
    ):
        assert expected in str(err.value)
    assert read_form({"autotask_invoice_id": " 29684001 "}, COPY_FIELDS) == {
        "autotask_invoice_id": 29684001,
        "overwrite": False,
        "email": [],
    }
