"""The payment sync's report: failures, then warnings (partial payments, payments removed), marks,
skips; its window is the stretch of QBO changes the run read."""

from __future__ import annotations

from collections.abc import Iterable

from atqbo.notify import ReportRow, RunReport
from atqbo.runs import RunInfo
from atqbo.sync.payments.model import PaymentScan

REPORT_TITLE = "atqbo payments"


def build_payment_report(run: RunInfo, scan: PaymentScan, rows: Iterable[ReportRow]) -> RunReport:
    """The run's report: failures, then warnings (partial payments, payments removed), marks, skips."""
    order = {"failed": 0, "warning": 1, "transferred": 2, "planned": 3, "skipped": 4}
    ordered = sorted(rows, key=lambda r: (order.get(r.outcome, 9), r.autotask_id or 0))
    shown = scan.run_with_window(run)
    return RunReport(
        title=REPORT_TITLE,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=f"QBO payments changed {shown.describe_window()}",
        dry_run=run.dry_run,
        rows=ordered,
        notes=list(scan.notes),
    )
