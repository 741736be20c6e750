"""The reconciliation's report: one warning row per document that differs, the counts as notes,
and a CSV of every document checked (``DOCUMENT_CSV_COLUMNS``) as its attachment. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from atqbo.companies import company_row
from atqbo.notify import ReportRow, RunReport, csv_table
from atqbo.runs import RunInfo
from atqbo.tools.reconcile.compare import DocumentCheck
from atqbo.tools.reconcile.model import INVOICE

REPORT_TITLE = "atqbo reconciliation"
UNREACHED_FIX = (
    "fix the QBO company's connection as said (atqbo_check_connections checks every company), then trigger "
    "atqbo_reconcile again"
)

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
    run: RunInfo,
    checks: list[DocumentCheck],
    tax_source: str = "",
    unreachable: list[str] | None = None,
    unreached_companies: dict[str, dict[str, Any]] | None = None,
) -> RunReport:
    """One warning row per drifted document, the counts as notes, every document in a CSV attachment.
    With several QBO companies (BEY-07): each row and CSV line names its company, the counts are
    given per company, and a company that could not be read is a failed row of its own
    (``unreached_companies``: conn id -> its reason and the documents not compared)."""
    drifted = sum(1 for c in checks if not c.agrees)
    unreached = unreached_companies or {}
    headline = (
        (f"{len(checks)} checked, " + (f"{drifted} with drift" if drifted else "all agree"))
        if checks
        else "nothing sent in the window"
    )
    if unreached:
        headline += f", QBO company {', '.join(unreached)} not reached"
    report = RunReport(
        title=REPORT_TITLE,
        dag_id=run.dag_id,
        run_id=run.run_id,
        window=f"documents sent {run.describe_window()}",
        rows=[c.report_row() for c in checks if not c.agrees] + [_unreached_row(k, v) for k, v in unreached.items()],
        notes=_notes(run, checks, tax_source) + _company_notes(checks, unreached) + list(unreachable or []),
        always_email=True,
        headline=headline,
    )
    report.attachments[documents_csv_filename(report)] = documents_csv(checks)
    return report


def _unreached_row(conn_id: str, what: dict[str, Any]) -> ReportRow:
    """A QBO company whose documents could not be compared (BEY-07), with the reason and the fix."""
    documents = list(what.get("documents") or [])
    reason = str(what.get("reason") or f"QBO company {conn_id} could not be read")
    reason += (
        f": its {len(documents)} document(s) were not compared ({', '.join(documents)})"
        if documents
        else ": its books were not compared"
    )
    row = ReportRow(outcome="failed", entity="qbo_company", autotask_id=None, reference=conn_id, reason=reason)
    return company_row(replace(row, fix=UNREACHED_FIX), conn_id)


def _company_notes(checks: list[DocumentCheck], unreached: dict[str, dict[str, Any]]) -> list[str]:
    """Each QBO company's counts, when the documents went to several (BEY-07)."""
    companies = list(dict.fromkeys(c.pair.qbo_company for c in checks if c.pair.qbo_company))
    if not companies and not unreached:
        return []
    notes = []
    for conn_id in companies:
        mine = [c for c in checks if c.pair.qbo_company == conn_id]
        drifted = sum(1 for c in mine if not c.agrees)
        notes.append(f"QBO company {conn_id}: {len(mine)} document(s) checked, {drifted} with drift")
    notes += [f"QBO company {conn_id}: not reached, nothing compared" for conn_id in unreached]
    return notes


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
    """One line per document checked (``DOCUMENT_CSV_COLUMNS``, and ``qbo_company`` after ``company``
    when the documents went to several QBO companies), RFC 4180 quoting, CRLF line ends."""
    checks = list(checks)
    columns = DOCUMENT_CSV_COLUMNS
    if any(c.pair.qbo_company for c in checks):
        at = columns.index("company") + 1
        columns = (*columns[:at], "qbo_company", *columns[at:])
    return csv_table(columns, (check.csv_cells() for check in checks), _CSV_TEXT_COLUMNS | {"qbo_company"})
