"""atqbo_payments run with dag.test() against the sandbox: Autotask paid dates checked record by
record, the request log for what was (not) written, the sandbox mailbox for the report (PAY-01,
PAY-02, BEY-03)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.dags.dag_support import load_dag, task_states, work_state
from tests.sync.payments import support as ps

pytestmark = pytest.mark.integration

DAG_ID = "atqbo_payments"
REPORT_TO = "billing@msp.example"
AT_FULL, AT_SPLIT_1, AT_SPLIT_2, AT_SPLIT_3, AT_PARTIAL, AT_OLD = (
    29687101,
    29687102,
    29687103,
    29687104,
    29687105,
    29687106,
)
HAND_MADE = 29687109  # an Autotask invoice whose QBO twin was typed in by hand, not sent by atqbo


def _logical_date() -> datetime:
    """The last full hour: CDC works on the wall clock, so the runs do too."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def sandbox(airflow_db, sandbox_connections, monkeypatch):
    ps.reset_sandbox(sandbox_connections, monkeypatch)
    return sandbox_connections


def _settings(monkeypatch, **values) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(values))


def _seed(sandbox, ledger, qbo) -> None:
    """Six invoices atqbo sent and one it did not; payments as a bookkeeper records them: one pays
    an invoice in full, one is split over three invoices (PAY-02), one pays part of an invoice,
    one pays the hand-made QBO invoice, and one changed ten days ago (outside the 7-day look-back)."""
    now = datetime.now(UTC)
    ps.seed_books(
        sandbox,
        [
            ps.autotask_invoice(AT_FULL, "INV-4001"),
            ps.autotask_invoice(AT_SPLIT_1, "INV-4002", total=100.0),
            ps.autotask_invoice(AT_SPLIT_2, "INV-4003", total=120.0),
            ps.autotask_invoice(AT_SPLIT_3, "INV-4004", total=80.0),
            ps.autotask_invoice(AT_PARTIAL, "INV-4005"),
            ps.autotask_invoice(AT_OLD, "INV-4006"),
            ps.autotask_invoice(HAND_MADE, "INV-4009", total=75.0),
        ],
        [
            ps.qbo_invoice("601", "2001", AT_FULL),
            ps.qbo_invoice("602", "2002", AT_SPLIT_1, amount=100.0),
            ps.qbo_invoice("603", "2003", AT_SPLIT_2, amount=120.0),
            ps.qbo_invoice("604", "2004", None, amount=80.0),  # the ledger knows it
            ps.qbo_invoice("605", "2005", AT_PARTIAL),
            ps.qbo_invoice("606", "2006", AT_OLD),
            ps.qbo_invoice("609", "INV-4009", None, amount=75.0),
        ],
        [ps.payment("700", "2026-02-10", [("606", 250.0)], updated=now - timedelta(days=10))],
    )
    ledger.set_sync_status("invoice", AT_SPLIT_3, "SYNCED", qbo_id="604", qbo_number="2004")
    ps.record_payment(qbo, "2026-02-25", [("601", 250.0)])
    ps.record_payment(qbo, "2026-02-26", [("602", 100.0), ("603", 120.0), ("604", 80.0)])
    ps.record_payment(qbo, "2026-02-27", [("605", 100.0)])
    ps.record_payment(qbo, "2026-02-28", [("609", 75.0)])
    sandbox.requests.clear()


def test_pay01_off_by_default_does_nothing(sandbox, ledger, qbo, monkeypatch, caplog):
    _seed(sandbox, ledger, qbo)
    _settings(monkeypatch, report_to=[REPORT_TO])  # payment_sync_enabled left at its default
    before = ps.paid_dates(sandbox)

    with caplog.at_level(logging.INFO):
        dagrun = load_dag(DAG_ID).test(logical_date=_logical_date())

    assert work_state(dagrun) == "success"
    assert task_states(dagrun) == {
        "start": "success",
        "find": "skipped",
        "apply": "skipped",
        "report": "skipped",
        "advance_watermark": "skipped",
    }
    assert sandbox.requests.list() == []  # not one API call
    assert sandbox.mail.messages() == []
    assert ps.paid_dates(sandbox) == before
    assert ledger.list_sync_records(entity="payment") == []
    assert "payment sync is off (payment_sync_enabled=false): nothing to do" in caplog.text


def test_pay01_pay02_marks_paid_reports_by_email_and_a_second_run_changes_nothing(sandbox, ledger, qbo, monkeypatch):
    _seed(sandbox, ledger, qbo)
    _settings(monkeypatch, payment_sync_enabled=True, report_to=[REPORT_TO])

    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date())

    assert work_state(dagrun) == "success", task_states(dagrun)
    assert ps.paid_dates(sandbox) == {
        AT_FULL: "2026-02-25",  # PAY-01: the payment's date
        AT_SPLIT_1: "2026-02-26",
        AT_SPLIT_2: "2026-02-26",
        AT_SPLIT_3: "2026-02-26",  # PAY-02: each one
        AT_PARTIAL: None,  # partial: reported, not marked
        AT_OLD: None,  # changed before the first run's 7-day look-back
        HAND_MADE: None,  # its QBO invoice is not atqbo's
    }
    assert ps.qbo_balances(sandbox)["605"] == 150
    assert ledger.get_sync_record("payment", AT_SPLIT_3)["payload_hash"] == "paid 2026-02-26"
    assert ledger.get_sync_record("payment", AT_PARTIAL)["status"] == "SKIPPED"
    assert ledger.get_sync_record("payment", HAND_MADE) is None
    assert ledger.get_meta(f"payments.cdc_watermark.{qbo.realm_id}") is not None

    (mail,) = sandbox.mail.messages()
    assert mail["envelope_to"] == [REPORT_TO]
    assert mail["subject"] == "[atqbo] payments: 4 transferred, 1 warning"
    body = mail["html"]
    assert "partially paid: balance 150.00 of 250.00" in body
    assert "marked paid on 2026-02-26" in body
    (attachment,) = mail["attachments"]
    csv = attachment["text"]
    for number in ("INV-4001", "INV-4002", "INV-4003", "INV-4004", "INV-4005"):
        assert number in csv
    assert "INV-4006" not in csv and "INV-4009" not in csv

    # An hour later: the same payments come back in CDC's overlap; nothing is written or mailed.
    sandbox.requests.clear()
    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date() + timedelta(hours=1))
    assert work_state(dagrun) == "success", task_states(dagrun)
    assert ps.cdc_requests(sandbox)
    assert ps.paid_date_writes(sandbox) == []
    assert ps.writes(sandbox) == []
    assert len(sandbox.mail.messages()) == 1


def test_pay01_deleted_payment_is_reported_once_and_the_paid_date_kept(sandbox, ledger, qbo, monkeypatch):
    ps.seed_books(sandbox, [ps.autotask_invoice(AT_FULL, "INV-4001")], [ps.qbo_invoice("601", "2001", AT_FULL)])
    paid = ps.record_payment(qbo, "2026-02-25", [("601", 250.0)])
    _settings(monkeypatch, payment_sync_enabled=True, report_to=[REPORT_TO])
    assert work_state(load_dag(DAG_ID).test(logical_date=_logical_date())) == "success"
    assert ps.paid_dates(sandbox)[AT_FULL] == "2026-02-25"

    qbo.delete("Payment", paid["Id"], paid["SyncToken"])
    sandbox.requests.clear()
    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date() + timedelta(hours=1))

    assert work_state(dagrun) == "success", task_states(dagrun)
    assert ps.paid_dates(sandbox)[AT_FULL] == "2026-02-25"  # left for a person to decide
    assert ps.paid_date_writes(sandbox) == []
    first, second = sandbox.mail.messages()
    assert first["subject"] == "[atqbo] payments: 1 transferred"
    assert second["subject"] == "[atqbo] payments: 1 warning"
    csv = second["attachments"][0]["text"]
    assert f"QBO payment {paid['Id']} was deleted" in csv and "paid date was left as is" in csv
    assert "clear the paid date in Autotask by hand" in csv


def test_bey03_dry_run_reports_the_plan_and_writes_nothing(sandbox, ledger, qbo, monkeypatch):
    _seed(sandbox, ledger, qbo)
    _settings(monkeypatch, payment_sync_enabled=True, report_to=[REPORT_TO])
    before = (ps.paid_dates(sandbox), ledger.list_sync_records(), ledger.list_errors(include_resolved=True))

    dagrun = load_dag(DAG_ID).test(
        logical_date=_logical_date(), run_conf={"dry_run": "yes", "report_to": ["controller@msp.example"]}
    )

    assert work_state(dagrun) == "success", task_states(dagrun)
    assert ps.writes(sandbox) == []  # reads, queries and the token refresh only
    assert (ps.paid_dates(sandbox), ledger.list_sync_records(), ledger.list_errors(include_resolved=True)) == before
    assert ledger.get_meta(f"payments.cdc_watermark.{qbo.realm_id}") is None
    (mail,) = sandbox.mail.messages()
    assert mail["envelope_to"] == [REPORT_TO, "controller@msp.example"]
    assert mail["subject"] == "[atqbo] payments: 4 planned, 1 warning (dry run)"
    assert "would mark it paid on 2026-02-25" in mail["attachments"][0]["text"]


def test_bey02_trigger_form_look_back_reaches_an_older_payment(sandbox, ledger, qbo, monkeypatch):
    _seed(sandbox, ledger, qbo)
    _settings(monkeypatch, payment_sync_enabled=True)

    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date(), run_conf={"payment_lookback_days": 14})

    assert work_state(dagrun) == "success", task_states(dagrun)
    assert ps.paid_dates(sandbox)[AT_OLD] == "2026-02-10"
    (cdc,) = ps.cdc_requests(sandbox)
    assert abs(ps.changed_since(cdc) - (datetime.now(UTC) - timedelta(days=14))) < timedelta(minutes=1)


def test_pay01_a_failed_run_keeps_the_watermark_and_the_next_run_catches_up(sandbox, ledger, qbo, monkeypatch):
    ps.seed_books(sandbox, [ps.autotask_invoice(AT_FULL, "INV-4001")], [ps.qbo_invoice("601", "2001", AT_FULL)])
    _settings(monkeypatch, payment_sync_enabled=True)
    assert work_state(load_dag(DAG_ID).test(logical_date=_logical_date())) == "success"
    key = f"payments.cdc_watermark.{qbo.realm_id}"
    watermark = ledger.get_meta(key)

    ps.record_payment(qbo, "2026-02-25", [("601", 250.0)])
    good = json.loads(_conn_env("autotask_default"))
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps({**good, "password": "not-the-secret"}))
    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date() + timedelta(hours=1))

    assert work_state(dagrun) == "failed"
    assert task_states(dagrun)["apply"] == "failed" and task_states(dagrun)["advance_watermark"] != "success"
    assert ledger.get_meta(key) == watermark  # the payment read by the failed run is read again
    assert ps.paid_dates(sandbox)[AT_FULL] is None

    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps(good))
    sandbox.requests.clear()
    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date() + timedelta(hours=2))

    assert work_state(dagrun) == "success", task_states(dagrun)
    assert ps.paid_dates(sandbox)[AT_FULL] == "2026-02-25"
    (cdc,) = ps.cdc_requests(sandbox)
    expected = datetime.fromisoformat(watermark) - timedelta(minutes=5)
    assert ps.changed_since(cdc) == expected.replace(microsecond=0)


def _conn_env(conn_id: str) -> str:
    import os

    return os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"]


# -- several QBO companies (BEY-07) ----------------------------------------------------------------

AT_IN_B, AT_IN_A = 29687201, 29687202  # A's id is the larger: a lookup by QBO Id alone finds A's


def _seed_two(sandbox, ledger, monkeypatch) -> None:
    """QBO invoice Id 601 exists in both companies: in A for AT_IN_A (recorded before routes, no
    realm), in B for AT_IN_B (recorded in B's realm; no note of atqbo's: only the ledger knows it)."""
    from tests.sync.voids import support as vs

    vs.seed_two_companies(
        sandbox,
        monkeypatch,
        [
            ps.autotask_invoice(AT_IN_A, "INV-4101"),
            {**ps.autotask_invoice(AT_IN_B, "INV-4102"), "companyID": vs.COMPANY_B_ID},
        ],
        [ps.qbo_invoice("601", "2001", AT_IN_A)],
        [ps.qbo_invoice("601", "B-2001", None)],
    )
    ledger.set_sync_status("invoice", AT_IN_A, "SYNCED", qbo_id="601", qbo_number="2001")
    ledger.set_sync_status("invoice", AT_IN_B, "SYNCED", qbo_id="601", qbo_number="B-2001", realm_id=vs.REALM_B)


def _company_b_qbo(ledger):
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    return QuickBooksOnlineHook("qbo_b", ledger=ledger)


def test_bey07_a_payment_in_company_b_marks_the_invoice_that_went_to_b(sandbox, ledger, qbo, monkeypatch):
    from tests.sync.voids import support as vs

    _seed_two(sandbox, ledger, monkeypatch)
    _settings(monkeypatch, **vs.two_company_settings(payment_sync_enabled=True, report_to=[REPORT_TO]))
    ps.record_payment(_company_b_qbo(ledger), "2026-02-25", [("601", 250.0)])
    sandbox.requests.clear()

    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date())

    assert work_state(dagrun) == "success", task_states(dagrun)
    paid = ps.paid_dates(sandbox)
    assert paid[AT_IN_B] == "2026-02-25"
    assert paid[AT_IN_A] is None  # A's invoice 601 is another invoice: untouched
    assert ledger.get_sync_record("payment", AT_IN_B)["realm_id"] == vs.REALM_B
    assert ledger.get_sync_record("payment", AT_IN_A) is None
    # each company read from its own watermark, and each moved
    cdc_realms = {r["path"].split("/")[3] for r in ps.cdc_requests(sandbox)}
    assert cdc_realms == {qbo.realm_id, vs.REALM_B}
    assert ledger.get_meta(f"payments.cdc_watermark.{qbo.realm_id}") is not None
    assert ledger.get_meta(f"payments.cdc_watermark.{vs.REALM_B}") is not None
    (mail,) = sandbox.mail.messages()
    assert mail["subject"] == "[atqbo] payments: 1 transferred"
    assert "qbo_b" in mail["attachments"][0]["text"]

    # The next run: nothing new in either company, nothing written.
    sandbox.requests.clear()
    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date() + timedelta(minutes=1))
    assert work_state(dagrun) == "success", task_states(dagrun)
    assert ps.paid_date_writes(sandbox) == []


def test_bey07_a_revoked_token_in_company_b_fails_bs_payments_only(sandbox, ledger, qbo, monkeypatch):
    from tests.dags.dag_support import outcome_state
    from tests.sync.voids import support as vs

    _seed_two(sandbox, ledger, monkeypatch)
    _settings(monkeypatch, **vs.two_company_settings(payment_sync_enabled=True, report_to=[REPORT_TO]))
    ps.record_payment(qbo, "2026-02-26", [("601", 250.0)])
    ps.record_payment(_company_b_qbo(ledger), "2026-02-25", [("601", 250.0)])
    sandbox.qbo.revoke_realm(vs.REALM_B)  # the user disconnected the app from company B
    sandbox.requests.clear()

    dagrun = load_dag(DAG_ID).test(logical_date=_logical_date())

    assert work_state(dagrun) == "success", task_states(dagrun)  # B's changes failed, not the tasks
    assert outcome_state(dagrun) == "failed"
    paid = ps.paid_dates(sandbox)
    assert paid[AT_IN_A] == "2026-02-26"  # A went on
    assert paid[AT_IN_B] is None
    assert ledger.get_meta(f"payments.cdc_watermark.{qbo.realm_id}") is not None
    assert ledger.get_meta(f"payments.cdc_watermark.{vs.REALM_B}") is None  # B's changes are read again
    (mail,) = sandbox.mail.messages()
    assert mail["subject"] == "[atqbo] payments: 1 transferred, 1 failed"
    assert "QBO company qbo_b could not be reached or used" in mail["attachments"][0]["text"]
