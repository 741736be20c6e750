"""The ``atqbo_invoice_voids`` DAG's task bodies: find, void, report. Each takes the run (and what
the task before it returned, XCom-shaped) and returns what the next one needs."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from atqbo.autotask_docs import company_names
from atqbo.companies import (
    STOPPED_FIX,
    QboCompany,
    company_failure,
    company_of_record,
    company_row,
    run_companies,
    stopped_reason,
)
from atqbo.exceptions import AtqboError
from atqbo.ledger import Ledger
from atqbo.notify import ReportRow
from atqbo.qbo_docs import SentDocuments
from atqbo.records import INVOICE
from atqbo.routes import route_of
from atqbo.runs import RunInfo
from atqbo.sync.voids.apply import void_targets
from atqbo.sync.voids.find import (
    base_target,
    drop_settled_voids,
    find_voided_invoices,
    resolve_qbo_invoices,
)
from atqbo.sync.voids.model import VoidedInvoice, VoidTarget
from atqbo.sync.voids.report import build_void_report, void_row

log = logging.getLogger(__name__)


def find_void_targets(run: RunInfo) -> list[dict[str, Any]]:
    """Task 1: the voided Autotask invoices of the window still to settle, resolved to QBO (XCom-ready)."""
    ledger = run.ledger()
    ledger.create_schema()
    autotask = run.autotask()
    voided = find_voided_invoices(autotask, run.start, run.end)
    pending = drop_settled_voids(ledger, voided)
    log.info(
        "%d Autotask invoice(s) voided %s; %d already settled in earlier runs, %d to look at",
        len(voided),
        run.describe_window(),
        len(voided) - len(pending),
        len(pending),
    )
    if not pending:
        return []
    names = company_names(autotask, (inv.company_id for inv in pending))
    if len(run.qbo_conn_ids) == 1:
        targets = resolve_qbo_invoices(ledger, run.qbo(ledger), pending, names)
        return [t.to_xcom() for t in targets]
    return [t.to_xcom() for t in resolve_by_company(run, ledger, pending, names)]


def resolve_by_company(
    run: RunInfo, ledger: Ledger, pending: list[VoidedInvoice], names: dict[int, str]
) -> list[VoidTarget]:
    """BEY-07: each voided invoice resolved in the QBO company it went to: the realm of its ledger
    record (none: the default company), else the routes' rule on its Autotask company (an invoice
    atqbo never recorded is looked for by its note there). A company that cannot be used gives its
    targets its reason (they fail in the void task); the others are resolved as with one company."""
    settings = run.parsed_settings
    companies = run_companies(run, ledger)
    sent = SentDocuments.load(ledger, INVOICE)
    groups: dict[str, list[VoidedInvoice]] = {}
    done: dict[int, VoidTarget] = {}
    for invoice in pending:
        record = sent.records.get(invoice.autotask_id)
        if record is None:
            what = f"Autotask invoice {invoice.autotask_id}"
            conn_id = route_of(settings.routes, settings.qbo_conn_id, invoice.company_id, (), what).qbo_conn_id
            groups.setdefault(conn_id, []).append(invoice)
        elif (company := company_of_record(companies, record)) is not None:
            groups.setdefault(company.conn_id, []).append(invoice)
        else:
            done[invoice.autotask_id] = replace(
                base_target(invoice, names),
                qbo_id=str(record["qbo_id"]),
                company_problem=(
                    f"atqbo sent it to QBO realm {record['realm_id']} (invoice Id {record['qbo_id']}), which is none "
                    f"of the QBO companies atqbo can use now ({', '.join(unknown_realms(companies))})"
                ),
            )
    by_conn = {c.conn_id: c for c in companies}
    for conn_id, invoices in groups.items():
        for target in resolve_in_company(ledger, by_conn[conn_id], invoices, names):
            done[target.autotask_id] = target
    return [done[invoice.autotask_id] for invoice in pending]


def unknown_realms(companies: list[QboCompany]) -> list[str]:
    return [f"{c.conn_id}: realm {c.realm_id}" if c.realm_id else f"{c.conn_id}: {c.problem}" for c in companies]


def resolve_in_company(
    ledger: Ledger, company: QboCompany, invoices: list[VoidedInvoice], names: dict[int, str]
) -> list[VoidTarget]:
    """The targets of one company's invoices, or (it cannot be used) each with its reason."""
    problem = company.problem
    if not problem and company.qbo is not None:
        try:
            targets = resolve_qbo_invoices(ledger, company.qbo, invoices, names, company.realm_id, company.default)
            return [replace(t, qbo_conn_id=company.conn_id) for t in targets]
        except AtqboError as exc:  # its token, its connection: not the other companies'
            if not company_failure(exc):
                raise
            problem = stopped_reason(company.conn_id, exc)
    return [replace(base_target(i, names), qbo_conn_id=company.conn_id, company_problem=problem) for i in invoices]


def apply_voids(run: RunInfo, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Task 2: void (or plan) what ``find_void_targets`` found; the report rows, XCom-ready.

    With several QBO companies (BEY-07) each company's targets are voided with its own hook; one
    that cannot go on fails its own targets (nothing recorded: the next run tries them again)."""
    if not targets:
        return []
    ledger = run.ledger()
    parsed = [VoidTarget.from_xcom(t) for t in targets]
    if len(run.qbo_conn_ids) == 1:
        rows = void_targets(run, ledger, run.qbo(ledger), parsed)
        return [r.to_dict() for r in rows]
    groups: dict[str, list[VoidTarget]] = {}
    for target in parsed:
        groups.setdefault(target.qbo_conn_id or run.parsed_settings.qbo_conn_id, []).append(target)
    rows: list[ReportRow] = []
    for conn_id, group in groups.items():
        company_rows = [void_row(t, "failed", t.company_problem, STOPPED_FIX) for t in group if t.company_problem]
        rest = [t for t in group if not t.company_problem]
        if rest:
            company_rows.extend(void_company_targets(run, ledger, conn_id, rest))
        rows.extend(company_row(r, conn_id) for r in company_rows)
    return [r.to_dict() for r in rows]


def void_company_targets(run: RunInfo, ledger: Ledger, conn_id: str, targets: list[VoidTarget]) -> list[ReportRow]:
    """One company's voids with its own hook; what stops it fails its targets not done yet."""
    try:
        company_run = run.for_company(conn_id)
        qbo = company_run.qbo(ledger)
    except AtqboError as exc:
        return [void_row(t, "failed", stopped_reason(conn_id, exc), STOPPED_FIX) for t in targets]
    return void_targets(company_run, ledger, qbo, targets, company=conn_id)


def report_voids(run: RunInfo, rows: list[dict[str, Any]]) -> bool:
    """Task 3: log the summary and email it when the run did anything; returns whether mail went out."""
    report = build_void_report(run, [ReportRow.from_dict(r) for r in rows])
    return run.publish(report)
