"""The ``atqbo_payments`` DAG's task bodies: find, apply, report, advance the watermark. Each takes
the run (and what the tasks before it returned, XCom-shaped) and returns what the next one needs."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from atqbo.notify import ReportRow
from atqbo.qbo_docs import is_voided
from atqbo.records import PAYMENT
from atqbo.runs import RunInfo
from atqbo.sync.payments.apply import apply_payment_targets
from atqbo.sync.payments.changes import group_by_invoice, is_removed, read_changed_payments
from atqbo.sync.payments.model import PaymentScan
from atqbo.sync.payments.report import build_payment_report
from atqbo.sync.payments.window import move_watermark, payment_window, read_watermark, utcnow, watermark_key

log = logging.getLogger(__name__)


def find_payment_changes(run: RunInfo, rescan_days: int | None = None) -> dict[str, Any]:
    """Task 1: the QBO payments changed since the last successful run, grouped by invoice (XCom-ready).

    ``rescan_days`` (the trigger form's ``payment_lookback_days``) reads that far back instead.
    """
    ledger = run.ledger()
    ledger.create_schema()
    qbo = run.qbo(ledger)
    key = watermark_key(qbo)
    watermark = read_watermark(ledger, key)
    window = payment_window(utcnow(), watermark, int(run.settings["payment_lookback_days"]), rescan_days)
    log.info(
        "reading QBO payments changed since %s (%s)",
        window.since.isoformat(),
        "re-scan from the trigger form"
        if rescan_days is not None
        else ("the last successful run" if watermark else "first run: payment_lookback_days"),
    )
    payments, cdc_note = read_changed_payments(qbo, window.since)
    removed = any(is_removed(p) for p in payments)
    records = ledger.list_sync_records(entity=PAYMENT)
    # Only records that can matter: those to retry, and all of them when a payment went away.
    records = [r for r in records if removed or r["status"] == "ERROR"]
    targets = group_by_invoice(payments, records)
    log.info(
        "%d payment change(s) in QBO (%d deleted, %d voided); %d invoice(s) to look at",
        len(payments),
        sum(1 for p in payments if p.get("status") == "Deleted"),
        sum(1 for p in payments if p.get("status") != "Deleted" and is_voided(p)),
        len(targets),
    )
    scan = PaymentScan(
        since=window.since.isoformat(),
        until=window.until.isoformat(),
        watermark_key=key,
        advance=window.advance,
        notes=tuple(n for n in (window.note, cdc_note) if n),
        targets=tuple(targets),
    )
    return scan.to_xcom()


def apply_payments(run: RunInfo, scan_doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Task 2: mark paid (or report) the Autotask invoices behind the changed payments; report rows."""
    scan = PaymentScan.from_xcom(scan_doc)
    if not scan.targets:
        return []
    ledger = run.ledger()
    rows = apply_payment_targets(run, ledger, run.qbo(ledger), run.autotask(), list(scan.targets))
    return [r.to_dict() for r in rows]


def report_payments(run: RunInfo, scan_doc: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    """Task 3: log the summary and email it when the run did anything; returns whether mail went out."""
    report = build_payment_report(run, PaymentScan.from_xcom(scan_doc), [ReportRow.from_dict(r) for r in rows])
    return run.publish(report)


def advance_payment_watermark(run: RunInfo, scan_doc: dict[str, Any]) -> str | None:
    """Task 4 (after every other task succeeded): the next run reads CDC from this run's CDC time.

    Not in a dry run (it wrote nothing), and not after a re-scan that started later than the
    watermark (what lies between would be skipped). Returns the stored watermark, or None.
    """
    scan = PaymentScan.from_xcom(scan_doc)
    if run.dry_run:
        log.info("dry run: the payment watermark stays where it was")
        return None
    if not scan.advance:
        log.info("this re-scan began after the last successful run's watermark: the watermark stays where it was")
        return None
    return move_watermark(run.ledger(), scan.watermark_key, datetime.fromisoformat(scan.until)).isoformat()
