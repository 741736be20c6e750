"""What the void sync reports: one row per Autotask invoice it looked at, and the run's report with
a note for each kind of "nothing to void" a person should hear about once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from atqbo.money import as_decimal
from atqbo.notify import ReportRow, RunReport
from atqbo.records import INVOICE_VOID
from atqbo.runs import RunInfo
from atqbo.sync.voids.model import ALREADY_VOIDED, DELETED_IN_QBO, NOT_CREATED_BY_ATQBO, VoidTarget

REPORT_TITLE = "atqbo invoice voids"

SKIP_NOTES = {
    NOT_CREATED_BY_ATQBO: (
        "{n} invoice(s) voided in Autotask were not created by atqbo, so atqbo left QBO alone: if QBO "
        "holds them from another source (the vendor app, typed in by hand), void them there yourself"
    ),
    ALREADY_VOIDED: "{n} invoice(s) voided in Autotask were already voided in QBO: nothing to do",
    DELETED_IN_QBO: "{n} invoice(s) voided in Autotask were deleted in QBO: nothing to void",
}


def void_row(
    target: VoidTarget,
    outcome: str,
    reason: str,
    fix: str = "",
    qbo_invoice: dict[str, Any] | None = None,
    qbo_total: Any = None,
) -> ReportRow:
    """A report row for ``target``; the QBO columns come from the invoice read when there is one."""
    qbo_id = str(qbo_invoice["Id"]) if qbo_invoice else target.qbo_id
    qbo_number = (qbo_invoice or {}).get("DocNumber") or target.qbo_number
    if qbo_total is None and qbo_invoice is not None:
        qbo_total = qbo_invoice.get("TotalAmt")
    return ReportRow(
        outcome=outcome,  # type: ignore[arg-type]
        entity=INVOICE_VOID,
        autotask_id=target.autotask_id,
        reference=target.reference,
        company=target.company,
        qbo_id=qbo_id,
        qbo_number=qbo_number,
        autotask_total=None if target.autotask_total is None else as_decimal(target.autotask_total),
        qbo_total=None if qbo_total is None else as_decimal(qbo_total),
        reason=reason,
        fix=fix,
    )


def describe_qbo_invoice(qbo_invoice: dict[str, Any] | None, target: VoidTarget) -> str:
    """``QBO invoice 1047`` (its number, from the invoice read or the target), else ``QBO invoice Id 501``."""
    number = (qbo_invoice or {}).get("DocNumber") or target.qbo_number
    qbo_id = (qbo_invoice or {}).get("Id") or target.qbo_id
    return f"QBO invoice {number}" if number else f"QBO invoice Id {qbo_id}"


def build_void_report(run: RunInfo, rows: Iterable[ReportRow]) -> RunReport:
    """The run's report: failures first, then voids, plans and skips.

    Skips are reported once (the ledger remembers them), and each kind gets a note: a person should
    hear once that an invoice was not atqbo's to void, or was already voided or deleted in QBO,
    even though nothing failed (notes make the report worth an email; plain skips alone do not).
    """
    order = {"failed": 0, "voided": 1, "planned": 2, "skipped": 3}
    ordered = sorted(rows, key=lambda r: (order.get(r.outcome, 9), r.autotask_id or 0))
    notes = []
    for kind, text in SKIP_NOTES.items():
        n = sum(1 for r in ordered if r.outcome == "skipped" and r.reason.startswith(kind))
        if n:
            notes.append(text.format(n=n))
    return RunReport(
        title=REPORT_TITLE,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=run.describe_window(),
        dry_run=run.dry_run,
        rows=ordered,
        notes=notes,
    )
