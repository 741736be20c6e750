"""atqbo_invoice_voids run with dag.test() against the sandbox: QBO checked record by record, the
request log for what was (not) written, the sandbox mailbox for the report (VOID-01, VOID-02, BEY-03)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from tests.dags.dag_support import load_dag, task_states, work_state
from tests.sync.voids import support as vs

pytestmark = pytest.mark.integration

DAG_ID = "atqbo_invoice_voids"
REPORT_TO = "billing@msp.example"
AT_LEDGER, AT_NOTE, AT_OTHER, AT_PAID, AT_OLD = 29685101, 29685102, 29685103, 29685104, 29685105


@pytest.fixture
def sandbox(airflow_db, sandbox_connections, monkeypatch):
    vs.reset_sandbox(sandbox_connections, monkeypatch)
    return sandbox_connections


def _settings(monkeypatch, **values) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(values))


def _seed(sandbox, ledger) -> None:
    """Voided in Autotask: one the ledger knows (QBO 501), one found by its note (502), one atqbo
    never sent, one whose QBO copy has a payment (504), and one voided 20 days before the run."""
    vs.seed_books(
        sandbox,
        [
            vs.autotask_invoice(AT_LEDGER, "INV-2001"),
            vs.autotask_invoice(AT_NOTE, "INV-2002"),
            vs.autotask_invoice(AT_OTHER, "INV-2003"),
            vs.autotask_invoice(AT_PAID, "INV-2004"),
            vs.autotask_invoice(AT_OLD, "INV-2005", voided_at=vs.OLD_VOIDED_AT, day=vs.OLD_INVOICE_DAY),
        ],
        [
            vs.qbo_invoice("501", "1047", f"Autotask invoice {AT_LEDGER} (INV-2001)"),
            vs.qbo_invoice("502", "1048", f"Autotask invoice {AT_NOTE} (INV-2002)"),
            vs.qbo_invoice("503", "1049", "typed in by the bookkeeper"),
            vs.qbo_invoice("504", "1050", f"Autotask invoice {AT_PAID} (INV-2004)"),
            vs.qbo_invoice("505", "1051", f"Autotask invoice {AT_OLD} (INV-2005)", day=vs.OLD_INVOICE_DAY),
        ],
        [vs.payment("504", 100.0)],
    )
    ledger.set_sync_status("invoice", AT_LEDGER, "SYNCED", qbo_id="501", qbo_number="1047")


def test_void01_off_by_default_does_nothing(sandbox, ledger, monkeypatch, caplog):
    _seed(sandbox, ledger)
    _settings(monkeypatch, report_to=[REPORT_TO])  # void_sync_enabled left at its default
    before = vs.qbo_invoices_by_id(sandbox)

    with caplog.at_level(logging.INFO):
        dagrun = load_dag(DAG_ID).test(logical_date=vs.LOGICAL_DATE)

    assert work_state(dagrun) == "success"
    assert task_states(dagrun) == {"start": "success", "find": "skipped", "void": "skipped", "report": "skipped"}
    assert sandbox.requests.list() == []  # not one API call
    assert sandbox.mail.messages() == []
    assert vs.qbo_invoices_by_id(sandbox) == before
    assert ledger.list_sync_records(entity="invoice_void") == []
    assert "void sync is off (void_sync_enabled=false): nothing to do" in caplog.text


def test_void01_voids_atqbo_invoices_reports_by_email_and_a_second_run_does_nothing(sandbox, ledger, monkeypatch):
    _seed(sandbox, ledger)
    _settings(monkeypatch, void_sync_enabled=True, report_to=[REPORT_TO])

    dagrun = load_dag(DAG_ID).test(logical_date=vs.LOGICAL_DATE)

    assert work_state(dagrun) == "success", task_states(dagrun)
    books = vs.qbo_invoices_by_id(sandbox)
    assert vs.is_voided(books["501"]) and vs.is_voided(books["502"])
    assert books["501"]["PrivateNote"] == f"Voided - Autotask invoice {AT_LEDGER} (INV-2001)"
    assert books["503"]["TotalAmt"] == 250 and books["503"]["PrivateNote"] == "typed in by the bookkeeper"
    assert books["504"]["TotalAmt"] == 250 and books["504"]["Balance"] == 150  # refused: a payment is applied
    assert books["505"]["TotalAmt"] == 250  # voided before the 14-day look-back
    assert ledger.get_sync_record("invoice_void", AT_LEDGER)["status"] == "SYNCED"
    assert ledger.get_sync_record("invoice_void", AT_OTHER)["status"] == "SKIPPED"
    assert ledger.get_sync_record("invoice_void", AT_PAID)["status"] == "ERROR"
    assert ledger.get_sync_record("invoice_void", AT_OLD) is None
    (error,) = ledger.list_errors(entity="invoice_void")
    assert error["autotask_id"] == AT_PAID and error["dag_id"] == DAG_ID

    (mail,) = sandbox.mail.messages()
    assert mail["envelope_to"] == [REPORT_TO]
    assert mail["subject"] == "[atqbo] invoice voids: 2 voided, 1 failed, 1 skipped"
    body = mail["html"].replace("&#x27;", "'")
    assert "remove the payment in QBO" in body
    assert "not created by atqbo" in body
    csv = mail["attachments"][0]["text"]
    assert "INV-2001" in csv and "INV-2002" in csv and "INV-2003" in csv and "INV-2004" in csv
    assert "INV-2005" not in csv

    # 15 minutes later: nothing new, nothing changed in QBO -> no write, no email.
    sandbox.requests.clear()
    dagrun = load_dag(DAG_ID).test(logical_date=vs.LOGICAL_DATE + timedelta(minutes=15))
    assert work_state(dagrun) == "success", task_states(dagrun)
    assert vs.writes(sandbox) == []
    assert vs.qbo_invoices_by_id(sandbox) == books
    assert len(sandbox.mail.messages()) == 1


def test_void01_trigger_form_look_back_reaches_an_older_void(sandbox, ledger, monkeypatch):
    _seed(sandbox, ledger)
    _settings(monkeypatch, void_sync_enabled=True)

    dagrun = load_dag(DAG_ID).test(logical_date=vs.LOGICAL_DATE, run_conf={"void_lookback_days": 30})

    assert work_state(dagrun) == "success", task_states(dagrun)
    assert vs.is_voided(vs.qbo_invoices_by_id(sandbox)["505"])
    assert ledger.get_sync_record("invoice_void", AT_OLD)["status"] == "SYNCED"


def test_bey03_dry_run_reports_the_plan_and_writes_nothing(sandbox, ledger, monkeypatch):
    _seed(sandbox, ledger)
    _settings(monkeypatch, void_sync_enabled=True, report_to=[REPORT_TO])
    before_books = vs.qbo_invoices_by_id(sandbox)
    before_ledger = (ledger.list_sync_records(), ledger.list_errors(include_resolved=True))

    dagrun = load_dag(DAG_ID).test(
        logical_date=vs.LOGICAL_DATE, run_conf={"dry_run": "yes", "report_to": ["controller@msp.example"]}
    )

    assert work_state(dagrun) == "success", task_states(dagrun)
    assert vs.writes(sandbox) == []  # reads, queries and the token refresh only
    assert vs.void_requests(sandbox) == []
    assert vs.qbo_invoices_by_id(sandbox) == before_books
    assert (ledger.list_sync_records(), ledger.list_errors(include_resolved=True)) == before_ledger
    (mail,) = sandbox.mail.messages()
    assert mail["envelope_to"] == [REPORT_TO, "controller@msp.example"]
    assert mail["subject"].endswith("(dry run)")
    csv = mail["attachments"][0]["text"]
    assert "would void QBO invoice 1047" in csv and "would void QBO invoice 1048" in csv


# -- several QBO companies (BEY-07) ----------------------------------------------------------------

AT_A, AT_B, AT_B_NOTE = 29685201, 29685202, 29685203


def _seed_two(sandbox, ledger, monkeypatch, *, void_a: bool) -> None:
    """Company A holds QBO invoice 501 for AT_A (recorded before routes: no realm); company B holds
    its own 501 for AT_B (recorded in B's realm) and 502 for AT_B_NOTE (found by its note in B, its
    Autotask company routed to B). AT_B and AT_B_NOTE are voided in Autotask; AT_A when ``void_a``."""
    b_invoice = {"companyID": vs.COMPANY_B_ID}
    vs.seed_two_companies(
        sandbox,
        monkeypatch,
        [
            vs.autotask_invoice(AT_A, "INV-2101", voided_at=vs.VOIDED_AT if void_a else None),
            {**vs.autotask_invoice(AT_B, "INV-2102"), **b_invoice},
            {**vs.autotask_invoice(AT_B_NOTE, "INV-2103"), **b_invoice},
        ],
        [vs.qbo_invoice("501", "1047", f"Autotask invoice {AT_A} (INV-2101)")],
        [
            vs.qbo_invoice("501", "B-1", f"Autotask invoice {AT_B} (INV-2102)"),
            vs.qbo_invoice("502", "B-2", f"Autotask invoice {AT_B_NOTE} (INV-2103)"),
        ],
    )
    ledger.set_sync_status("invoice", AT_A, "SYNCED", qbo_id="501", qbo_number="1047")
    ledger.set_sync_status("invoice", AT_B, "SYNCED", qbo_id="501", qbo_number="B-1", realm_id=vs.REALM_B)


def test_bey07_a_void_in_company_b_voids_bs_invoice_and_leaves_a_untouched(sandbox, ledger, monkeypatch):
    _seed_two(sandbox, ledger, monkeypatch, void_a=False)
    _settings(monkeypatch, **vs.two_company_settings(void_sync_enabled=True, report_to=[REPORT_TO]))
    before_a = vs.qbo_invoices_by_id(sandbox)

    dagrun = load_dag(DAG_ID).test(logical_date=vs.LOGICAL_DATE)

    assert work_state(dagrun) == "success", task_states(dagrun)
    books_b = vs.company_b_invoices_by_id(sandbox)
    assert vs.is_voided(books_b["501"]) and vs.is_voided(books_b["502"])  # by the ledger's realm; by note in B
    assert vs.qbo_invoices_by_id(sandbox) == before_a  # A's invoice 501 (another invoice) untouched
    assert all(f"/v3/company/{vs.REALM_B}/" in r["path"] for r in vs.void_requests(sandbox))
    assert ledger.get_sync_record("invoice_void", AT_B)["status"] == "SYNCED"
    assert ledger.get_sync_record("invoice_void", AT_B_NOTE)["status"] == "SYNCED"
    (mail,) = sandbox.mail.messages()
    assert mail["subject"] == "[atqbo] invoice voids: 2 voided"
    assert "qbo_b" in mail["attachments"][0]["text"]  # the rows say which company


def test_bey07_a_revoked_token_in_company_b_fails_bs_voids_only(sandbox, ledger, monkeypatch):
    _seed_two(sandbox, ledger, monkeypatch, void_a=True)
    _settings(monkeypatch, **vs.two_company_settings(void_sync_enabled=True, report_to=[REPORT_TO]))
    sandbox.qbo.revoke_realm(vs.REALM_B)  # the user disconnected the app from company B
    before_b = vs.company_b_invoices_by_id(sandbox)

    dagrun = load_dag(DAG_ID).test(logical_date=vs.LOGICAL_DATE)

    assert work_state(dagrun) == "success", task_states(dagrun)  # the records failed, not the tasks
    assert vs.is_voided(vs.qbo_invoices_by_id(sandbox)["501"])  # A went on
    assert vs.company_b_invoices_by_id(sandbox) == before_b
    assert ledger.get_sync_record("invoice_void", AT_A)["status"] == "SYNCED"
    # B's are not settled: the next run (B reconnected) voids them
    assert ledger.get_sync_record("invoice_void", AT_B) is None
    assert ledger.get_sync_record("invoice_void", AT_B_NOTE) is None
    (mail,) = sandbox.mail.messages()
    assert mail["subject"] == "[atqbo] invoice voids: 1 voided, 2 failed"
    csv = mail["attachments"][0]["text"]
    assert csv.count("QBO company qbo_b could not be reached or used") == 2
