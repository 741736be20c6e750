"""The item tools over several QBO companies (BEY-07: ``qbo_routes``): the billing codes are read once,
each chosen company's items with its own hook, and each company is compared (and copied into) under
its own settings (``Settings.for_company``: its ``item_match_field``, ``new_item_income_account``, ...).
Every report row names its company (``atqbo.companies.company_row``), the comparison CSV has a
``qbo_company`` column, and a company that cannot be used (its connection, its token, its income
account) fails on its own, in one row naming it, while the others go on.

With one company none of this runs: the tools do exactly what they did before routes existed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from atqbo.companies import STOPPED_FIX, company_failure, company_row, stopped_reason
from atqbo.notify import ReportRow, RunReport, csv_table
from atqbo.tools.items.comparison import _CSV_TEXT_COLUMNS, COMPARISON_COLUMNS, comparison_csv_cells
from atqbo.tools.items.comparison_report import _comparison_report_row, comparison_csv_filename
from atqbo.tools.items.copy_missing import copy_missing_items, copy_stage, income_account_id
from atqbo.tools.items.read import STAGE_CODES, read_billing_codes, stage_company_items, staged_comparison
from atqbo.tools.items.values import numeric_order

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

STAGE_PROBLEMS = "company_problems"  # conn_id -> why that company was left out
COMPANY_ENTITY = "qbo_company"  # the entity of a row about a whole company that could not be used


def extract_by_company(run: RunInfo, autotask: AutotaskHook, ledger: Ledger, companies: list[str]) -> dict[str, Any]:
    """The active billing codes once, then each company's QBO items; a company that cannot be read is
    staged as a problem (one chosen company: its failure stops the run, as with one company)."""
    codes = read_billing_codes(autotask)
    ledger.stage_clear(run.run_key)
    ledger.stage_put(run.run_key, STAGE_CODES, {str(c["id"]): c for c in codes})
    counts: dict[str, Any] = {"billing_codes": len(codes), "qbo_items": {}}
    problems: dict[str, str] = {}
    for conn_id in companies:
        try:
            counts["qbo_items"][conn_id] = stage_company_items(
                run, run.for_company(conn_id).qbo(ledger), ledger, conn_id
            )
        except Exception as exc:
            if len(companies) == 1 or not company_failure(exc):
                raise
            problems[conn_id] = stopped_reason(conn_id, exc)
            log.warning("%s", problems[conn_id])
    ledger.stage_put(run.run_key, STAGE_PROBLEMS, problems)
    counts["left_out"] = sorted(problems)
    return counts


def income_accounts(run: RunInfo, ledger: Ledger, companies: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Each company's ``new_item_income_account`` Id (its own setting), and why a company has none;
    one chosen company without it stops the run, as with one company."""
    ids: dict[str, str] = {}
    problems: dict[str, str] = {}
    for conn_id in companies:
        company = run.for_company(conn_id)
        try:
            ids[conn_id] = income_account_id(company.qbo(ledger), company.parsed_settings)
        except Exception as exc:
            if len(companies) == 1 or not company_failure(exc):
                raise
            problems[conn_id] = stopped_reason(conn_id, exc)
            log.warning("%s", problems[conn_id])
    return ids, problems


def problem_row(conn_id: str, reason: str, fix: str = STOPPED_FIX) -> ReportRow:
    return company_row(
        ReportRow(outcome="failed", entity=COMPANY_ENTITY, autotask_id=None, reference=conn_id, reason=reason, fix=fix),
        conn_id,
    )


def compared_companies(run: RunInfo, ledger: Ledger, companies: list[str]) -> list[str]:
    problems = ledger.stage_get(run.run_key, STAGE_PROBLEMS)
    return [c for c in companies if c not in problems]


def build_company_comparison_report(run: RunInfo, ledger: Ledger, companies: list[str]) -> RunReport:
    """TOOL-01 over several companies: each company's rows, naming it; one CSV with a ``qbo_company``
    column; a company that could not be read in one failed row."""
    problems = ledger.stage_get(run.run_key, STAGE_PROBLEMS)
    report = RunReport(
        title="atqbo compare billing codes and items", dag_id=run.dag_id, run_id=run.run_id, always_email=True
    )
    cells: list[dict[str, Any]] = []
    for conn_id in companies:
        if conn_id in problems:
            report.rows.append(problem_row(conn_id, f"{problems[conn_id]}; its items were not compared"))
            continue
        comparison = staged_comparison(run, ledger, conn_id)
        report.notes.append(f"QBO company {conn_id}: {comparison.summary()}.")
        report.rows += [company_row(_comparison_report_row(row), conn_id) for row in comparison.rows if row.code]
        cells += [{"qbo_company": conn_id, **comparison_csv_cells(row)} for row in comparison.rows]
    report.notes.append("The attached item-comparison CSV has every row of every company with both sides' values.")
    report.attachments[comparison_csv_filename(run.run_id)] = csv_table(
        ("qbo_company", *COMPARISON_COLUMNS), cells, _CSV_TEXT_COLUMNS | {"qbo_company"}
    )
    return report


def report_company_comparisons(run: RunInfo, ledger: Ledger, companies: list[str]) -> dict[str, Any]:
    report = build_company_comparison_report(run, ledger, companies)
    run.publish(report, ledger)
    return {
        conn_id: staged_comparison(run, ledger, conn_id).counts()
        for conn_id in compared_companies(run, ledger, companies)
    }


def copy_by_company(run: RunInfo, ledger: Ledger, companies: list[str], income_ids: dict[str, str]) -> dict[str, Any]:
    """TOOL-02 into each company that was compared and has its income account; one that stops on the
    way (its token) is staged as a problem, the others go on."""
    problems = dict(ledger.stage_get(run.run_key, STAGE_PROBLEMS))
    counts: dict[str, Any] = {}
    for conn_id in compared_companies(run, ledger, companies):
        if conn_id not in income_ids:
            continue
        try:
            counts[conn_id] = copy_missing_items(
                run, run.for_company(conn_id).qbo(ledger), ledger, income_ids[conn_id], conn_id
            )
        except Exception as exc:
            if len(companies) == 1 or not company_failure(exc):
                raise
            problems[conn_id] = stopped_reason(conn_id, exc)
            log.warning("%s", problems[conn_id])
    ledger.stage_put(run.run_key, STAGE_PROBLEMS, problems)
    return counts


def build_company_copy_report(
    run: RunInfo, ledger: Ledger, companies: list[str], account_problems: dict[str, str]
) -> RunReport:
    problems = {**ledger.stage_get(run.run_key, STAGE_PROBLEMS), **account_problems}
    report = RunReport(
        title="atqbo copy missing items", dag_id=run.dag_id, run_id=run.run_id, dry_run=run.dry_run, always_email=True
    )
    for conn_id in companies:
        if conn_id in problems:
            report.rows.append(problem_row(conn_id, f"{problems[conn_id]}; nothing was copied into it"))
            continue
        outcomes = ledger.stage_get(run.run_key, copy_stage(conn_id))
        report.rows += [ReportRow.from_dict(outcomes[k]) for k in sorted(outcomes, key=numeric_order)]
        comparison = staged_comparison(run, ledger, conn_id)
        account = run.for_company(conn_id).parsed_settings.new_item_income_account
        report.notes.append(
            f"QBO company {conn_id}, before the copy: {comparison.summary()}. "
            + (
                f"New items are Service items on its income account {account!r} (new_item_income_account)."
                if comparison.to_create()
                else "Nothing to copy: every billing code with a match key has a QBO item."
            )
        )
    return report


def report_company_copies(
    run: RunInfo, ledger: Ledger, companies: list[str], account_problems: dict[str, str]
) -> dict[str, int]:
    report = build_company_copy_report(run, ledger, companies, account_problems)
    run.publish(report, ledger)
    return report.counts()
