"""TOOL-02's report: what became of each billing code (staged by ``copy_missing``), in id order,
with the comparison's summary as it stood before the copy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atqbo.notify import ReportRow, RunReport
from atqbo.tools.items.copy_missing import STAGE_COPY
from atqbo.tools.items.read import staged_comparison
from atqbo.tools.items.values import numeric_order

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo


def build_copy_report(run: RunInfo, ledger: Ledger) -> RunReport:
    settings = run.parsed_settings
    outcomes = ledger.stage_get(run.run_key, STAGE_COPY)
    comparison = staged_comparison(run, ledger)
    report = RunReport(
        title="atqbo copy missing items", dag_id=run.dag_id, run_id=run.run_id, dry_run=run.dry_run, always_email=True
    )
    report.rows = [ReportRow.from_dict(outcomes[k]) for k in sorted(outcomes, key=numeric_order)]
    wanted = len(comparison.to_create())
    report.notes.append(
        f"Before the copy: {comparison.summary()}. "
        + (
            f"New items are Service items on the income account {settings.new_item_income_account!r} "
            "(new_item_income_account), named as the invoice sync looks for them."
            if wanted
            else "Nothing to copy: every billing code with a match key has a QBO item."
        )
    )
    return report


def report_copy(run: RunInfo, ledger: Ledger) -> dict[str, int]:
    """Email, log and record what the copy did; return the report's counts."""
    report = build_copy_report(run, ledger)
    run.publish(report, ledger)
    return report.counts()
