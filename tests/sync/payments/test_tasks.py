"""The payment sync's logic (atqbo.sync.payments): the CDC window, the decision for one invoice, and
the whole find -> apply -> report -> watermark chain against the sandbox over HTTP (PAY-01, PAY-02,
BEY-01, BEY-03)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync import payments
from atqbo.sync.payments import APPLIED, DELETED, VOIDED, PaymentEvent
from tests.sync.payments import support as ps

AT_1, AT_2, AT_3, AT_4 = 29686101, 29686102, 29686103, 29686104
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def sandbox(sandbox_connections, monkeypatch):
    ps.reset_sandbox(sandbox_connections, monkeypatch)
    return sandbox_connections


@pytest.fixture
def ledger(sandbox):
    from atqbo.ledger import Ledger

    led = Ledger.from_conn_id("atqbo_state")
    led.create_schema()
    yield led
    led.close()


@pytest.fixture
def qbo(ledger):
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    return QuickBooksOnlineHook("qbo_default", ledger=ledger)


def make_run(run_id: str, **settings) -> RunInfo:
    doc = Settings.from_dict({"payment_sync_enabled": True, **settings}).to_dict()
    now = datetime.now(UTC)
    return RunInfo(
        dag_id="atqbo_payments",
        run_id=run_id,
        run_key=f"atqbo_payments/{run_id}",
        settings=doc,
        window_start=(now - timedelta(hours=1)).isoformat(),
        window_end=now.isoformat(),
    )


def run_payments(run: RunInfo, rescan_days: int | None = None) -> tuple[list[dict], dict]:
    """The DAG's find -> apply -> watermark chain (XCom-shaped data in between); rows and the scan."""
    scan = payments.find_payment_changes(run, rescan_days)
    rows = payments.apply_payments(run, scan)
    payments.advance_payment_watermark(run, scan)
    return rows, scan


def rows_by_id(rows: list[dict]) -> dict[int, dict]:
    return {r["autotask_id"]: r for r in rows}


def seed_four(sandbox, ledger, payments_=()) -> None:
    """Four Autotask invoices atqbo sent: 501-503 known by their PrivateNote, 504 by the ledger only
    (its note was edited away); plus 509, a QBO invoice atqbo did not create."""
    ps.seed_books(
        sandbox,
        [
            ps.autotask_invoice(AT_1, "INV-3001"),
            ps.autotask_invoice(AT_2, "INV-3002", total=100.0),
            ps.autotask_invoice(AT_3, "INV-3003", total=120.0),
            ps.autotask_invoice(AT_4, "INV-3004", total=80.0),
        ],
        [
            ps.qbo_invoice("501", "1101", AT_1),
            ps.qbo_invoice("502", "1102", AT_2, amount=100.0),
            ps.qbo_invoice("503", "1103", AT_3, amount=120.0),
            ps.qbo_invoice("504", "1104", None, amount=80.0),
            ps.qbo_invoice("509", "1109", None, amount=75.0),
        ],
        payments_,
    )
    ledger.set_sync_status("invoice", AT_4, "SYNCED", qbo_id="504", qbo_number="1104")


# -- pure parts -----------------------------------------------------------------------------------


def test_pay01_first_run_reads_payment_lookback_days():
    window = payments.payment_window(NOW, None, 7)
    assert window.since == NOW - timedelta(days=7)
    assert window.until == NOW and window.advance and window.note == ""


def test_pay01_later_runs_read_from_the_watermark_with_overlap():
    watermark = NOW - timedelta(hours=1, seconds=0.5)
    window = payments.payment_window(NOW, watermark, 7)
    assert window.since == (watermark - payments.WATERMARK_OVERLAP).replace(microsecond=0)
    assert window.advance and window.note == ""


def test_pay01_a_watermark_beyond_cdc_reach_is_clamped_with_a_note():
    window = payments.payment_window(NOW, NOW - timedelta(days=45), 7)
    assert window.since == NOW - timedelta(days=30) + payments.CDC_REACH_MARGIN
    assert "QBO keeps changes for 30 days" in window.note and "were not read" in window.note
    assert window.advance  # nothing earlier can ever be read: move on
    # Thirty days exactly is what CDC offers: clamped by the safety margin only, no note.
    assert payments.payment_window(NOW, None, 30).note == ""


def test_bey02_rescan_from_the_form_moves_the_watermark_only_when_it_covers_it():
    watermark = NOW - timedelta(hours=1)
    wide = payments.payment_window(NOW, watermark, 7, rescan_days=3)
    assert wide.since == NOW - timedelta(days=3) and wide.advance
    narrow = payments.payment_window(NOW, NOW - timedelta(days=2), 7, rescan_days=0)
    assert narrow.since == NOW and not narrow.advance


def _at(paid: str | None = None, voided: bool = False) -> dict:
    return ps.autotask_invoice(AT_1, "INV-3001", paid_date=paid, voided=voided)


def _qbo(balance: float, total: float = 250.0) -> dict:
    return {"Id": "501", "DocNumber": "1101", "TotalAmt": total, "Balance": balance, "PrivateNote": "x"}


def test_pay01_decision_paid_in_full_marks_with_the_payment_date():
    event = PaymentEvent(APPLIED, "900", "2026-02-25", "250")
    state = payments.decide_paid_state(_at(), _qbo(0), date(2026, 2, 25), [event])
    assert state.mark_on == date(2026, 2, 25) and state.outcome == "transferred"
    assert state.fingerprint == "paid 2026-02-25" and state.status == "SYNCED"
    assert (
        state.reason == "marked paid on 2026-02-25: paid in full in QBO (QBO payment 900 of 2026-02-25, 250.00 applied)"
    )
    assert state.plan.startswith("would mark it paid on 2026-02-25")


def test_pay01_decision_already_right_writes_nothing():
    state = payments.decide_paid_state(_at("2026-02-25"), _qbo(0), date(2026, 2, 25), [])
    assert state.mark_on is None and state.outcome == "skipped" and state.status == "SYNCED"


def test_pay01_decision_another_paid_date_is_corrected_and_said():
    state = payments.decide_paid_state(_at("2026-02-20"), _qbo(0), date(2026, 2, 25), [])
    assert state.mark_on == date(2026, 2, 25)
    assert state.reason.startswith("paid date changed from 2026-02-20 to 2026-02-25")


def test_pay02_decision_partial_payment_is_a_warning_not_a_mark():
    event = PaymentEvent(APPLIED, "900", "2026-02-25", "100")
    state = payments.decide_paid_state(_at(), _qbo(150), None, [event])
    assert state.mark_on is None and state.outcome == "warning"
    assert state.reason.startswith("partially paid: balance 150.00 of 250.00 (QBO payment 900")
    assert state.fingerprint == "open 150.00"


def test_pay01_decision_payment_removed_after_marking_is_reported_and_paid_date_kept():
    state = payments.decide_paid_state(_at("2026-02-25"), _qbo(250), None, [PaymentEvent(DELETED, "900")])
    assert state.mark_on is None and state.outcome == "warning"
    assert state.reason.startswith("QBO payment 900 was deleted: QBO balance is 250.00 of 250.00")
    assert "paid date was left as is" in state.reason and "never clears" in state.fix
    voided = payments.decide_paid_state(_at("2026-02-25"), _qbo(250), None, [PaymentEvent(VOIDED, "900")])
    assert voided.reason.startswith("QBO payment 900 was voided")


def test_pay01_decision_voided_or_missing_invoices_are_skipped():
    assert payments.decide_paid_state(_at(voided=True), _qbo(0), date(2026, 2, 25), []).outcome == "skipped"
    assert payments.decide_paid_state(None, _qbo(0), date(2026, 2, 25), []).outcome == "skipped"
    assert payments.decide_paid_state(_at(), None, None, []).reason.startswith("the QBO invoice was deleted")


def test_pay01_deleted_payment_is_traced_through_the_ledger():
    changed = [
        {"Id": "900", "status": "Deleted"},
        ps.payment("901", "2026-02-26", [("502", 40.0), ("503", 60.0)]),
    ]
    records = [
        {"autotask_id": AT_1, "qbo_id": "501", "qbo_number": "899,900", "status": "SYNCED"},
        {"autotask_id": AT_4, "qbo_id": "504", "qbo_number": "777", "status": "ERROR"},
        {"autotask_id": 1, "qbo_id": "999", "qbo_number": "9000", "status": "SYNCED"},  # "900" is not "9000"
    ]
    targets = {t.qbo_invoice_id: t for t in payments.group_by_invoice(changed, records)}
    assert sorted(targets, key=int) == ["501", "502", "503", "504"]
    assert targets["501"].events == (PaymentEvent(DELETED, "900"),) and targets["501"].autotask_id == AT_1
    assert targets["502"].events == (PaymentEvent(APPLIED, "901", "2026-02-26", "40.0"),)
    assert [e.kind for e in targets["504"].events] == ["retry"]


# -- against the sandbox --------------------------------------------------------------------------


def test_pay01_pay02_marks_each_invoice_a_payment_settles_and_ignores_others(sandbox, ledger, qbo):
    seed_four(sandbox, ledger)
    ps.record_payment(qbo, "2026-02-25", [("501", 250.0)])
    ps.record_payment(qbo, "2026-02-26", [("502", 100.0), ("503", 120.0), ("504", 80.0)])  # PAY-02
    ps.record_payment(qbo, "2026-02-27", [("509", 75.0)])  # not atqbo's invoice
    sandbox.requests.clear()

    rows = rows_by_id(run_payments(make_run("scheduled__1"))[0])

    assert ps.paid_dates(sandbox) == {AT_1: "2026-02-25", AT_2: "2026-02-26", AT_3: "2026-02-26", AT_4: "2026-02-26"}
    assert set(rows) == {AT_1, AT_2, AT_3, AT_4}
    assert rows[AT_1]["outcome"] == "transferred" and rows[AT_1]["reference"] == "INV-3001"
    assert rows[AT_1]["qbo_number"] == "1101" and rows[AT_1]["company"] == ps.COMPANY_NAME
    assert rows[AT_4]["reason"].startswith("marked paid on 2026-02-26: paid in full in QBO (QBO payment")
    record = ledger.get_sync_record("payment", AT_2)
    assert record["status"] == "SYNCED" and record["payload_hash"] == "paid 2026-02-26" and record["qbo_id"] == "502"

    # Bulk reads: one CDC, one QBO invoice query, one Autotask invoice query; four PATCHes.
    assert len(ps.cdc_requests(sandbox)) == 1
    queries = [r for r in sandbox.requests.list("qbo") if r["path"].endswith("/query")]
    assert len(queries) == 1
    at_queries = [r for r in sandbox.requests.list("autotask") if r["path"].lower().endswith("/invoices/query")]
    assert len(at_queries) == 1
    assert len(ps.paid_date_writes(sandbox)) == 4


def test_pay01_second_run_writes_nothing_and_reports_nothing(sandbox, ledger, qbo):
    seed_four(sandbox, ledger)
    ps.record_payment(qbo, "2026-02-25", [("501", 250.0)])
    run_payments(make_run("scheduled__1"))
    sandbox.requests.clear()

    rows, _ = run_payments(make_run("scheduled__2"))  # reads the overlap again: the same payment

    assert rows == []
    assert ps.writes(sandbox) == []
    assert ps.paid_dates(sandbox)[AT_1] == "2026-02-25"


def test_pay02_partial_payment_is_reported_then_marked_when_the_rest_comes(sandbox, ledger, qbo):
    seed_four(sandbox, ledger)
    ps.record_payment(qbo, "2026-02-25", [("501", 100.0)])

    rows = rows_by_id(run_payments(make_run("scheduled__1"))[0])
    assert rows[AT_1]["outcome"] == "warning"
    assert rows[AT_1]["reason"].startswith("partially paid: balance 150.00 of 250.00")
    assert ps.paid_dates(sandbox)[AT_1] is None and ps.paid_date_writes(sandbox) == []
    assert run_payments(make_run("scheduled__2"))[0] == []  # reported once

    ps.record_payment(qbo, "2026-03-02", [("501", 150.0)])
    rows = rows_by_id(run_payments(make_run("scheduled__3"))[0])
    assert rows[AT_1]["outcome"] == "transferred"
    assert ps.paid_dates(sandbox)[AT_1] == "2026-03-02"  # the day the last payment settled it


def test_pay01_deleted_payment_is_reported_once_and_the_paid_date_kept(sandbox, ledger, qbo):
    seed_four(sandbox, ledger)
    paid = ps.record_payment(qbo, "2026-02-25", [("501", 250.0)])
    run_payments(make_run("scheduled__1"))
    qbo.delete("Payment", paid["Id"], paid["SyncToken"])

    rows = rows_by_id(run_payments(make_run("scheduled__2"))[0])

    assert rows[AT_1]["outcome"] == "warning"
    assert rows[AT_1]["reason"].startswith(f"QBO payment {paid['Id']} was deleted: QBO balance is 250.00 of 250.00")
    assert ps.paid_dates(sandbox)[AT_1] == "2026-02-25"  # never cleared by atqbo
    sandbox.requests.clear()
    assert run_payments(make_run("scheduled__3"))[0] == []  # reported once
    assert ps.writes(sandbox) == []


def test_pay01_voided_payment_before_marking_changes_nothing(sandbox, ledger, qbo):
    seed_four(sandbox, ledger)
    paid = ps.record_payment(qbo, "2026-02-25", [("502", 100.0)])
    qbo.void_payment(paid["Id"], paid["SyncToken"])
    sandbox.requests.clear()

    rows = rows_by_id(run_payments(make_run("scheduled__1"))[0])

    assert rows[AT_2]["outcome"] == "skipped"
    assert f"QBO payment {paid['Id']} was voided" in rows[AT_2]["reason"]
    assert ps.paid_date_writes(sandbox) == [] and ps.paid_dates(sandbox)[AT_2] is None


def test_pay01_paid_date_already_right_is_not_written(sandbox, ledger, qbo):
    ps.seed_books(
        sandbox,
        [ps.autotask_invoice(AT_1, "INV-3001", paid_date="2026-02-25")],
        [ps.qbo_invoice("501", "1101", AT_1)],
    )
    ps.record_payment(qbo, "2026-02-25", [("501", 250.0)])
    sandbox.requests.clear()

    rows = rows_by_id(run_payments(make_run("scheduled__1"))[0])

    assert (
        rows[AT_1]["outcome"] == "skipped" and rows[AT_1]["reason"] == "already marked paid on 2026-02-25 in Autotask"
    )
    assert ps.paid_date_writes(sandbox) == []
    assert ledger.get_sync_record("payment", AT_1)["status"] == "SYNCED"


def test_pay01_first_run_window_and_watermark_advance(sandbox, ledger, qbo):
    now = datetime.now(UTC)
    seed_four(
        sandbox,
        ledger,
        [
            ps.payment("800", "2026-02-10", [("501", 250.0)], updated=now - timedelta(days=10)),
            ps.payment("801", "2026-02-24", [("502", 100.0)], updated=now - timedelta(days=3)),
        ],
    )
    run = make_run("scheduled__1", payment_lookback_days=7)

    rows = rows_by_id(run_payments(run)[0])

    assert set(rows) == {AT_2}  # the payment changed 10 days ago is outside the 7-day look-back
    (cdc,) = ps.cdc_requests(sandbox)
    assert abs(ps.changed_since(cdc) - (now - timedelta(days=7))) < timedelta(seconds=30)
    key = payments.watermark_key(qbo)
    watermark = datetime.fromisoformat(ledger.get_meta(key))
    assert abs(watermark - now) < timedelta(seconds=30)

    sandbox.requests.clear()
    run_payments(make_run("scheduled__2", payment_lookback_days=7))
    (cdc,) = ps.cdc_requests(sandbox)
    assert ps.changed_since(cdc) == (watermark - payments.WATERMARK_OVERLAP).replace(microsecond=0)
    assert datetime.fromisoformat(ledger.get_meta(key)) > watermark

    # A re-scan from the trigger form reaches the older payment; idempotent for the rest.
    rows = rows_by_id(run_payments(make_run("manual__1"), rescan_days=14)[0])
    assert set(rows) == {AT_1} and ps.paid_dates(sandbox)[AT_1] == "2026-02-10"


def test_bey03_dry_run_plans_and_writes_nothing(sandbox, ledger, qbo):
    seed_four(sandbox, ledger)
    ps.record_payment(qbo, "2026-02-25", [("501", 250.0)])
    ps.record_payment(qbo, "2026-02-26", [("502", 40.0)])
    sandbox.requests.clear()
    before = ledger.list_sync_records()

    rows = rows_by_id(run_payments(make_run("manual__dry", dry_run=True))[0])

    assert rows[AT_1]["outcome"] == "planned" and rows[AT_1]["reason"].startswith("would mark it paid on 2026-02-25")
    assert rows[AT_2]["outcome"] == "warning"
    assert ps.writes(sandbox) == []
    assert ledger.list_sync_records() == before
    assert ledger.get_meta(payments.watermark_key(qbo)) is None


def test_pay01_report_lists_marks_and_warnings(sandbox, ledger, qbo):
    seed_four(sandbox, ledger)
    ps.record_payment(qbo, "2026-02-25", [("501", 250.0), ("502", 30.0)])
    run = make_run("scheduled__1")
    scan = payments.find_payment_changes(run)
    rows = payments.apply_payments(run, scan)

    from atqbo.notify import ReportRow

    report = payments.build_payment_report(run, payments.PaymentScan.from_xcom(scan), map(ReportRow.from_dict, rows))

    assert report.email_subject() == "[atqbo] payments: 1 transferred, 1 warning"
    assert [r.outcome for r in report.rows] == ["warning", "transferred"]
    assert report.window.startswith("QBO payments changed ")
    csv = report.to_csv()
    assert "INV-3001" in csv and "partially paid: balance 70.00 of 100.00" in csv
