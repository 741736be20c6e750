"""TOOL-01's report: a row per billing code (matched, or a warning with what to do), the summary as
a note, and the whole comparison as its own CSV attachment (``atqbo-item-comparison-<run>.csv``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from atqbo.notify import ReportRow, RunReport
from atqbo.tools.items.comparison import ENTITY, INACTIVE_FIX, NO_UPDATE_FIX, ItemComparison, ItemMatch
from atqbo.tools.items.read import staged_comparison
from atqbo.tools.items.values import text

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo


def comparison_csv_filename(run_id: str) -> str:
    return "atqbo-item-comparison-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", run_id).strip("-.") or "run") + ".csv"


def build_comparison_report(run: RunInfo, comparison: ItemComparison) -> RunReport:
    """The comparison as a report: a row per billing code, the full table as a CSV attachment."""
    report = RunReport(
        title="atqbo compare billing codes and items",
        dag_id=run.dag_id,
        run_id=run.run_id,
        notes=[comparison.summary() + ". The attached item-comparison CSV has every row with both sides' values."],
        attachments={comparison_csv_filename(run.run_id): comparison.to_csv()},
        always_email=True,
    )
    for row in comparison.rows:
        if row.code is None:
            continue  # QBO-only items are in the attachment
        report.rows.append(_comparison_report_row(row))
    return report


def _comparison_report_row(row: ItemMatch) -> ReportRow:
    code, item = row.code or {}, row.item or {}
    base = {
        "entity": ENTITY,
        "autotask_id": code.get("id"),
        "reference": text(code.get("name")),
        "qbo_id": text(item.get("Id")) or None,
        "qbo_number": text(item.get("Name")) or None,
    }
    notes = "; ".join(row.notes)
    if row.status == "matched":
        return ReportRow(outcome="matched", reason=_join(f"matches QBO item {row.match_key!r}", notes), **base)
    if row.status == "discrepancy":
        inactive = any(d.field == "active" for d in row.differences)
        return ReportRow(
            outcome="warning",
            reason=_join("matched, but " + "; ".join(d.describe() for d in row.differences), notes),
            fix=INACTIVE_FIX if inactive else NO_UPDATE_FIX,
            **base,
        )
    if row.status == "missing_in_qbo":
        return ReportRow(
            outcome="warning",
            reason=_join(f"missing in QBO: no item named {row.match_key!r}", notes),
            fix="run atqbo_copy_missing_items, or create the item in QBO (the invoice sync also creates it when "
            "missing_item_action is 'create')",
            **base,
        )
    return ReportRow(outcome="warning", reason=notes, fix="fill in the field in Autotask", **base)


def report_comparison(run: RunInfo, ledger: Ledger) -> dict[str, int]:
    """Email, log and record the staged comparison; return its counts by status."""
    comparison = staged_comparison(run, ledger)
    run.publish(build_comparison_report(run, comparison), ledger)
    return comparison.counts()


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if second else first
