"""The payment sync's tasks (atqbo.sync.payments.tasks): the whole find -> apply -> watermark chain
against the sandbox over HTTP (PAY-01, PAY-02, BEY-01, BEY-03)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from atqbo.sync.payments.window import WATERMARK_OVERLAP, watermark_key
from tests.sync.payments import support as ps
from tests.sync.payments.support import AT_1, AT_2, AT_3, AT_4, make_run, run_payments, seed_four


def rows_by_id(rows: list[dict]) -> dict[int, dict]:
    return {r["autotask_id"]: r for r in rows}


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
    key = watermark_key(qbo)
    watermark = datetime.fromisoformat(ledger.get_meta(key))
    assert abs(watermark - now) < timedelta(seconds=30)

    sandbox.requests.clear()
    run_payments(make_run("scheduled__2", payment_lookback_days=7))
    (cdc,) = ps.cdc_requests(sandbox)
    assert ps.changed_since(cdc) == (watermark - WATERMARK_OVERLAP).replace(microsecond=0)
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
    assert ledger.get_meta(watermark_key(qbo)) is None
