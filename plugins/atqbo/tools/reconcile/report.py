"""The reconciliation's report: one warning row per document that differs, the counts as notes,
and a CSV of every document checked (``DOCUMENT_CSV_COLUMNS``) as its attachment. No I/O."""

from __future__ import annotations

from collections.abc import Iterable

from atqbo.notify import RunReport, csv_table
from atqbo.runs import RunInfo
from atqbo.tools.reconcile.compare import DocumentCheck
from atqbo.tools.reconcile.model import INVOICE

REPORT_TITLE = "atqbo reconciliation"

DOCUMENT_CSV_COLUMNS: tuple[str, ...] = (
    "document",
    "autotask_id",
    "reference",
    "company",
    "qbo_id",
    "qbo_number",
    "result",
    "drift",
    "autotask_total",
    "qbo_total",
    "autotask_voided",
    "qbo_voided",
    "autotask_paid_date",
    "qbo_balance",
    "details",
    "fix",
)
_CSV_TEXT_COLUMNS = frozenset({"reference", "company", "qbo_number", "drift", "details", "fix"})


def build_reconcile_report(
    run: RunInfo, checks: list[DocumentCheck], tax_source: str = "", unreachable: list[str] | None = None
) -> RunReport:
    """One warning row per drifted document, the counts as notes, every document in a CSV attachment."""
    drifted = sum(1 for c in checks if not c.agrees)
    report = RunReport(
        title=REPORT_TITLE,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=f"documents sent {run.describe_window()}",
        rows=[c.report_row() for c in checks if not c.agrees],
        notes=_notes(run, checks, tax_source) + list(unreachable or []),
        always_email=True,
        headline=(f"{len(checks)} checked, " + (f"{drifted} with drift" if drifted else "all agree"))
        if checks
        else "nothing sent in the window",
    )
    report.attachments[documents_csv_filename(report)] = documents_csv(checks)
    return report


def _notes(run: RunInfo, checks: list[DocumentCheck], tax_source: str) -> list[str]:
    """The counts, what the totals were compared on, and that nothing was changed."""
    invoices = sum(1 for c in checks if c.pair.kind == INVOICE)
    bills = len(checks) - invoices
    agreeing = sum(1 for c in checks if c.agrees)
    drifted = len(checks) - agreeing
    counts = (
        f"{len(checks)} document(s) checked ({invoices} invoice(s), {bills} bill(s) from purchase orders): "
        f"{agreeing} in agreement, {drifted} with drift"
    )
    notes = [counts + (": all agree between Autotask and QBO" if not drifted and checks else "")]
    if not checks:
        notes = ["no documents sent by atqbo in the window: nothing to compare"]
    if any(c.pair.kind == INVOICE for c in checks):
        notes.append("invoice totals are compared with tax" + (f" ({tax_source})" if tax_source else ""))
    notes.append(
        f"totals agree within rounding_tolerance {run.parsed_settings.rounding_tolerance}; read-only: nothing was "
        "changed in Autotask or QBO"
    )
    return notes


def documents_csv_filename(report: RunReport) -> str:
    return report.csv_filename().removesuffix(".csv") + "-documents.csv"


def documents_csv(checks: Iterable[DocumentCheck]) -> str:
    """One line per document checked (``DOCUMENT_CSV_COLUMNS``), RFC 4180 quoting, CRLF line ends."""
    return csv_table(DOCUMENT_CSV_COLUMNS, (check.csv_cells() for check in checks), _CSV_TEXT_COLUMNS)
