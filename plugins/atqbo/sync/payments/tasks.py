"""The ``atqbo_payments`` DAG's task bodies: find, apply, report, advance the watermark. Each takes
the run (and what the tasks before it returned, XCom-shaped) and returns what the next one needs."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from atqbo.companies import STOPPED_FIX, QboCompany, company_failure, company_row, run_companies, stopped_reason
from atqbo.exceptions import AtqboConfigError, AtqboError
from atqbo.hooks.autotask import AutotaskHook
from atqbo.ledger import Ledger
from atqbo.notify import ReportRow
from atqbo.qbo_docs import is_voided
from atqbo.records import PAYMENT
from atqbo.runs import RunInfo
from atqbo.sync.payments.apply import apply_payment_targets
from atqbo.sync.payments.changes import group_by_invoice, is_removed, read_changed_payments
from atqbo.sync.payments.model import CompanyScan, InvoiceTarget, PaymentScan
from atqbo.sync.payments.report import build_payment_report
from atqbo.sync.payments.window import move_watermark, payment_window, read_watermark, utcnow, watermark_key

log = logging.getLogger(__name__)

# Staged by the apply task for the watermark task: the QBO companies that could not go on (BEY-07).
STOPPED_STAGE = "payments_stopped"


def find_payment_changes(run: RunInfo, rescan_days: int | None = None) -> dict[str, Any]:
    """Task 1: the QBO payments changed since the last successful run, grouped by invoice (XCom-ready).

    ``rescan_days`` (the trigger form's ``payment_lookback_days``) reads that far back instead.
    With several QBO companies (BEY-07) every company is read from its own watermark; one that
    cannot be read says why (its changes fail in the apply task, its watermark stays).
    """
    ledger = run.ledger()
    ledger.create_schema()
    now = utcnow()
    companies = run_companies(run, ledger)
    several = len(companies) > 1
    scans: list[CompanyScan] = []
    notes: list[str] = []
    for company in companies:
        try:
            if company.problem or company.qbo is None:
                raise AtqboConfigError(company.problem)
            scan, company_notes = scan_company(run, ledger, company, now, rescan_days, several)
        except AtqboError as exc:
            if not several or not company_failure(exc):
                raise
            problem = company.problem or stopped_reason(company.conn_id, exc)
            log.warning("%s; its payments are read again next run", problem)
            scan = CompanyScan(company.conn_id, now.isoformat(), now.isoformat(), "", False, problem=problem)
            company_notes = []
        scans.append(scan)
        notes.extend(f"QBO company {company.conn_id}: {n}" if several else n for n in company_notes)
    read = [s for s in scans if not s.problem] or scans
    return PaymentScan(
        since=min(s.since for s in read),
        until=now.isoformat(),
        notes=tuple(notes),
        companies=tuple(scans),
    ).to_xcom()


def scan_company(
    run: RunInfo, ledger: Ledger, company: QboCompany, now: datetime, rescan_days: int | None, several: bool
) -> tuple[CompanyScan, list[str]]:
    """One QBO company's changed payments since its own watermark, grouped by invoice, and the notes."""
    assert company.qbo is not None
    qbo = company.qbo
    key = watermark_key(qbo)
    watermark = read_watermark(ledger, key)
    window = payment_window(now, watermark, int(run.settings["payment_lookback_days"]), rescan_days)
    log.info(
        "reading QBO payments%s changed since %s (%s)",
        f" of company {company.conn_id}" if several else "",
        window.since.isoformat(),
        "re-scan from the trigger form"
        if rescan_days is not None
        else ("the last successful run" if watermark else "first run: payment_lookback_days"),
    )
    payments, cdc_note = read_changed_payments(qbo, window.since)
    removed = any(is_removed(p) for p in payments)
    if several:  # QBO Ids are per company: only this company's records trace its payments (BEY-07)
        assert company.realm_id is not None
        records = ledger.list_sync_records_in_realm(PAYMENT, company.realm_id, with_unrealmed=company.default)
    else:
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
    scan = CompanyScan(
        qbo_conn_id=company.conn_id,
        since=window.since.isoformat(),
        until=window.until.isoformat(),
        watermark_key=key,
        advance=window.advance,
        targets=tuple(targets),
    )
    return scan, [n for n in (window.note, cdc_note) if n]


def apply_payments(run: RunInfo, scan_doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Task 2: mark paid (or report) the Autotask invoices behind the changed payments; report rows.

    With several QBO companies (BEY-07) each company's invoices are read with its own hook and
    matched in its own realm; one that cannot go on fails its own changes (and its watermark stays:
    ``STOPPED_STAGE``), the others go on."""
    scan = PaymentScan.from_xcom(scan_doc)
    if len(scan.companies) <= 1:
        if not scan.targets:
            return []
        ledger = run.ledger()
        rows = apply_payment_targets(run, ledger, run.qbo(ledger), run.autotask(), list(scan.targets))
        return [r.to_dict() for r in rows]
    ledger = run.ledger()
    if not run.dry_run:
        ledger.stage_clear(run.run_key, STOPPED_STAGE)  # a retry of this task says it again
    autotask = run.autotask() if scan.targets else None
    rows: list[ReportRow] = []
    stopped: dict[str, str] = {}
    for company in scan.companies:
        if company.problem:
            rows.append(company_row(company_stopped_row(company.problem), company.qbo_conn_id))
            continue
        if not company.targets:
            continue
        assert autotask is not None
        try:
            company_rows = apply_company(run, ledger, autotask, company)
        except AtqboError as exc:
            if not company_failure(exc):
                raise
            stopped[company.qbo_conn_id] = reason = stopped_reason(company.qbo_conn_id, exc)
            log.warning("%s; its payments are read again next run", reason)
            company_rows = [target_stopped_row(t, reason) for t in company.targets]
        rows.extend(company_row(r, company.qbo_conn_id) for r in company_rows)
    if stopped and not run.dry_run:
        ledger.stage_put(run.run_key, STOPPED_STAGE, stopped)
    return [r.to_dict() for r in rows]


def apply_company(run: RunInfo, ledger: Ledger, autotask: AutotaskHook, company: CompanyScan) -> list[ReportRow]:
    """One company's targets, with its own hook, matched in its realm."""
    company_run = run.for_company(company.qbo_conn_id)
    qbo = company_run.qbo(ledger)
    default = company.qbo_conn_id == run.parsed_settings.qbo_conn_id
    return apply_payment_targets(company_run, ledger, qbo, autotask, list(company.targets), qbo.realm_id, default)


def company_stopped_row(reason: str) -> ReportRow:
    """The company's changes could not be read: one failed row for them (read again next run)."""
    return ReportRow(
        outcome="failed",
        entity=PAYMENT,
        autotask_id=None,
        reference="QBO payments",
        reason=f"{reason}; its changed payments were not read (they are read next run)",
        fix=STOPPED_FIX,
    )


def target_stopped_row(target: InvoiceTarget, reason: str) -> ReportRow:
    """A QBO invoice of a company that stopped: failed, nothing recorded (read again next run)."""
    return ReportRow(
        outcome="failed",
        entity=PAYMENT,
        autotask_id=target.autotask_id,
        reference=f"QBO invoice Id {target.qbo_invoice_id}",
        qbo_id=target.qbo_invoice_id,
        reason=f"{reason}; the payments on QBO invoice Id {target.qbo_invoice_id} are read again next run",
        fix=STOPPED_FIX,
    )


def report_payments(run: RunInfo, scan_doc: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    """Task 3: log the summary and email it when the run did anything; returns whether mail went out."""
    report = build_payment_report(run, PaymentScan.from_xcom(scan_doc), [ReportRow.from_dict(r) for r in rows])
    return run.publish(report)


def advance_payment_watermark(run: RunInfo, scan_doc: dict[str, Any]) -> str | None:
    """Task 4 (after every other task succeeded): the next run reads CDC from this run's CDC time.

    Not in a dry run (it wrote nothing), and not after a re-scan that started later than the
    watermark (what lies between would be skipped). With several QBO companies (BEY-07) each
    company's watermark moves on its own, not that of a company that could not go on. Returns the
    stored watermark (several companies: ``conn_id: watermark`` of each moved), or None.
    """
    scan = PaymentScan.from_xcom(scan_doc)
    if run.dry_run:
        log.info("dry run: the payment watermark stays where it was")
        return None
    ledger = run.ledger()
    several = len(scan.companies) > 1
    stopped = ledger.stage_get(run.run_key, STOPPED_STAGE) if several else {}
    moved: list[str] = []
    for company in scan.companies:
        name = f" of QBO company {company.qbo_conn_id}" if several else ""
        if company.problem or company.qbo_conn_id in stopped:
            log.info("the payment watermark%s stays where it was: the company could not go on", name)
            continue
        if not company.advance:
            log.info(
                "this re-scan began after the last successful run's watermark: the watermark%s stays where it was",
                name,
            )
            continue
        until = move_watermark(ledger, company.watermark_key, datetime.fromisoformat(company.until)).isoformat()
        moved.append(f"{company.qbo_conn_id}: {until}" if several else until)
    return ", ".join(moved) or None
