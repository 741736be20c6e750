"""The ``atqbo_reconcile`` DAG's tasks after ``start``: read both sides and stage the pairs
(``read_documents``), then compare them and publish the report (``report_reconciliation``). The
pairs wait in the ledger's staging between the two, so a report task retried re-reads nothing."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from atqbo.ledger import Ledger
from atqbo.qbo_tax import read_qbo_company
from atqbo.runs import RunInfo
from atqbo.tools.reconcile.by_company import read_by_company
from atqbo.tools.reconcile.compare import DocumentCheck, compare_documents, order_checks
from atqbo.tools.reconcile.model import DocumentPair, Rules
from atqbo.tools.reconcile.read import read_bill_pairs, read_invoice_pairs, read_unreachable_invoices
from atqbo.tools.reconcile.report import build_reconcile_report
from atqbo.transform.invoices.tax import tax_source

log = logging.getLogger(__name__)

STAGE_DOCUMENTS = "reconcile_document"  # ledger staging kind: one pair per document
STAGE_META = "reconcile_meta"


def read_documents(run: RunInfo) -> dict[str, Any]:
    """Task 2: read both sides of every document in the window and stage the pairs; returns counts."""
    ledger = run.ledger()
    ledger.create_schema()
    autotask = run.autotask()
    if len(run.qbo_conn_ids) > 1:
        return read_documents_by_company(run, ledger, autotask)
    qbo = run.qbo(ledger)
    invoices = read_invoice_pairs(run, ledger, autotask, qbo)
    bills = read_bill_pairs(run, ledger, autotask, qbo)
    unreachable = read_unreachable_invoices(run, autotask)
    source = ""
    if invoices:
        company, _ = read_qbo_company(qbo, run.parsed_settings)
        source = tax_source(company, run.parsed_settings)
    ledger.stage_clear(run.run_key)
    ledger.stage_put(run.run_key, STAGE_DOCUMENTS, {f"{p.kind}:{p.autotask_id}": p.to_doc() for p in invoices + bills})
    ledger.stage_put(run.run_key, STAGE_META, {"tax_source": source, "unreachable": unreachable})
    log.info(
        "read %d invoice(s) and %d bill(s) atqbo sent %s (%d Autotask calls)",
        len(invoices),
        len(bills),
        run.describe_window(),
        autotask.total_calls,
    )
    return {"invoices": len(invoices), "bills": len(bills), "autotask_calls": autotask.total_calls}


def read_documents_by_company(run: RunInfo, ledger: Ledger, autotask: Any) -> dict[str, Any]:
    """Task 2 with several QBO companies (BEY-07): every company's documents read, each document
    paired in the company it went to; a company that cannot be read is staged as not reached."""
    found = read_by_company(run, ledger, autotask)
    pairs = found.invoices + found.bills
    unreachable = read_unreachable_invoices(run, autotask)
    ledger.stage_clear(run.run_key)
    ledger.stage_put(run.run_key, STAGE_DOCUMENTS, {f"{p.kind}:{p.autotask_id}": p.to_doc() for p in pairs})
    ledger.stage_put(
        run.run_key,
        STAGE_META,
        {"tax_sources": found.tax_sources, "unreachable": unreachable, "unreached_companies": found.unreached},
    )
    log.info(
        "read %d invoice(s) and %d bill(s) atqbo sent %s in %d QBO companies (%d Autotask calls)%s",
        len(found.invoices),
        len(found.bills),
        run.describe_window(),
        len(run.qbo_conn_ids),
        autotask.total_calls,
        "".join(f"; not reached: {conn_id}" for conn_id in found.unreached),
    )
    return {
        "invoices": len(found.invoices),
        "bills": len(found.bills),
        "autotask_calls": autotask.total_calls,
        "unreached_companies": sorted(found.unreached),
    }


def staged_checks(run: RunInfo, ledger: Ledger) -> tuple[list[DocumentCheck], str, list[str]]:
    """The staged pairs compared under the run's settings; who computed QBO's invoice tax; the
    invoices no run reaches. With several QBO companies each pair is compared under its company's
    rules (who computed that company's tax)."""
    settings = run.parsed_settings
    meta = ledger.stage_get(run.run_key, STAGE_META)
    source = str(meta.get("tax_source") or "")
    rules = Rules(
        rounding_tolerance=settings.rounding_tolerance,
        tax_source=source,
        marker_field=settings.invoice_marker_field,
    )
    pairs = [DocumentPair.from_doc(d) for d in ledger.stage_get(run.run_key, STAGE_DOCUMENTS).values()]
    sources = meta.get("tax_sources")
    if sources is None:
        return compare_documents(pairs, rules), source, list(meta.get("unreachable") or [])
    checks = [
        check
        for conn_id in dict.fromkeys(p.qbo_company for p in pairs)
        for check in compare_documents(
            [p for p in pairs if p.qbo_company == conn_id], replace(rules, tax_source=str(sources.get(conn_id) or ""))
        )
    ]
    return order_checks(checks), "", list(meta.get("unreachable") or [])


def report_reconciliation(run: RunInfo) -> dict[str, int]:
    """Task 3: compare, then log and email the report (always) and record the run; staging cleared."""
    ledger = run.ledger()
    checks, source, unreachable = staged_checks(run, ledger)
    unreached = ledger.stage_get(run.run_key, STAGE_META).get("unreached_companies") or {}
    report = build_reconcile_report(run, checks, source, unreachable, unreached)
    run.publish(report, ledger)
    ledger.stage_clear(run.run_key)
    agreeing = sum(1 for c in checks if c.agrees)
    return {"checked": len(checks), "agree": agreeing, "drift": len(checks) - agreeing}
