"""The ``atqbo_invoice_voids`` DAG's task bodies: find, void, report. Each takes the run (and what
the task before it returned, XCom-shaped) and returns what the next one needs."""

from __future__ import annotations

import logging
from typing import Any

from atqbo.autotask_docs import company_names
from atqbo.notify import ReportRow
from atqbo.runs import RunInfo
from atqbo.sync.voids.apply import void_targets
from atqbo.sync.voids.find import drop_settled_voids, find_voided_invoices, resolve_qbo_invoices
from atqbo.sync.voids.model import VoidTarget
from atqbo.sync.voids.report import build_void_report

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
    targets = resolve_qbo_invoices(ledger, run.qbo(ledger), pending, names)
    return [t.to_xcom() for t in targets]


def apply_voids(run: RunInfo, targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Task 2: void (or plan) what ``find_void_targets`` found; the report rows, XCom-ready."""
    if not targets:
        return []
    ledger = run.ledger()
    rows = void_targets(run, ledger, run.qbo(ledger), [VoidTarget.from_xcom(t) for t in targets])
    return [r.to_dict() for r in rows]


def report_voids(run: RunInfo, rows: list[dict[str, Any]]) -> bool:
    """Task 3: log the summary and email it when the run did anything; returns whether mail went out."""
    report = build_void_report(run, [ReportRow.from_dict(r) for r in rows])
    return run.publish(report)
