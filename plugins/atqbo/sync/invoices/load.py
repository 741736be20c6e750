"""Step 3 of the invoice sync: adopt what QBO already has, find or create what the invoices refer
to, create the rest; one outcome per planned invoice, staged for the write-back and the report.

The write-back runs alongside (BEY-05, ``marker_writer``): the adopted invoices' markers, then
each batch's, are PATCHed to Autotask while the next batches go to QBO; the load ends once the
last of them is written, and the ``write_back`` task writes what is left. With several QBO
companies (BEY-07) each company's invoices are sent by a thread of their own, side by side
(``send_companies``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait
from contextvars import copy_context
from typing import TYPE_CHECKING

from atqbo.companies import STOPPED_FIX, company_failure, stopped_reason
from atqbo.exceptions import AtqboError
from atqbo.qbo_tax import read_qbo_company
from atqbo.records import INVOICE
from atqbo.sync.invoices.adopt import adopt_existing_invoices, marked_in_autotask
from atqbo.sync.invoices.create import create_invoices
from atqbo.sync.invoices.marker_writer import MarkerWriter
from atqbo.sync.invoices.outcomes import FAILED_BEFORE, Outcomes, failed_before
from atqbo.sync.invoices.plan import staged_plans
from atqbo.sync.invoices.references import find_or_create_references
from atqbo.sync.invoices.scope import staged_scope
from atqbo.sync.invoices.taxes import refuse_before_writing, require_invoice_tax_code

# QBO companies whose invoices are sent at once (each a thread with its own QBO connections)
MAX_COMPANIES_AT_ONCE = 4

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.transform.invoices import InvoicePlan


def load_invoices(
    run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger, autotask: AutotaskHook | None = None
) -> dict[str, int]:
    """Resolve, then create what is missing in QBO; stage one outcome per planned invoice. The
    markers of the invoices QBO has are written to Autotask meanwhile (``autotask``: the hook to
    write them with, by default the run's; a dry run writes nothing)."""
    plans = staged_plans(run, ledger)
    outcomes = Outcomes()
    notes: list[str] = []
    record_unsent(run, ledger, plans, outcomes)
    to_send = [p for p in plans if p.decision == "send"]
    with MarkerWriter(run, ledger, autotask) as markers:
        by_company = plans_by_company(run, to_send)
        if len(run.qbo_conn_ids) == 1:  # one company: what stops it stops the run, as always
            for conn_id, company_plans in by_company.items():
                send(run.for_company(conn_id), qbo, ledger, company_plans, outcomes, notes, markers)
        else:
            send_companies(run, qbo, ledger, by_company, outcomes, notes, markers)
        if not run.dry_run:
            outcomes.record_failures(run, ledger)
        outcomes.stage(run, ledger)
        ledger.stage_put(run.run_key, "notes", {"load": notes})
    # (leaving the block waited for the markers still queued)
    return outcomes.counts()


def send_companies(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    by_company: dict[str, list[InvoicePlan]],
    outcomes: Outcomes,
    notes: list[str],
    markers: MarkerWriter,
) -> None:
    """BEY-07, BEY-05: each QBO company's invoices sent side by side, one thread per company (their
    realms have limits, tokens and name-list locks of their own; Autotask's markers go through the
    one writer). Each thread keeps its own outcomes and notes, merged here in the companies' order;
    a company that cannot go on fails its own invoices (``company_stopped``), anything else fails the
    load once every company's thread has ended."""

    def one(conn_id: str, plans: list[InvoicePlan]) -> tuple[Outcomes, list[str]]:
        company_outcomes, company_notes = Outcomes(), []
        try:
            company_run = run.for_company(conn_id)
            company_qbo = qbo if conn_id == qbo.qbo_conn_id else company_run.qbo(ledger)
            send(company_run, company_qbo, ledger, plans, company_outcomes, company_notes, markers)
        except AtqboError as exc:  # one company's token, connection or set-up; not the others'
            if not company_failure(exc):
                raise
            company_stopped(conn_id, exc, plans, company_outcomes, company_notes)
        finally:
            ledger.close()  # this thread's own connection
        return company_outcomes, company_notes

    workers = min(len(by_company), MAX_COMPANIES_AT_ONCE) or 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="atqbo-company") as pool:
        futures = [pool.submit(copy_context().run, one, conn_id, plans) for conn_id, plans in by_company.items()]
        wait(futures)
    for future in futures:
        company_outcomes, company_notes = future.result()  # a failure that is no company's: raised here
        outcomes.rows.update(company_outcomes.rows)
        notes.extend(company_notes)


def plans_by_company(run: RunInfo, plans: list[InvoicePlan]) -> dict[str, list[InvoicePlan]]:
    """The plans to send by QBO company (BEY-07), in the order of the run's companies; a plan
    staged before routes existed (no ``qbo_conn_id``) goes to the default company."""
    out: dict[str, list[InvoicePlan]] = {}
    default = run.parsed_settings.qbo_conn_id
    for plan in plans:
        out.setdefault(plan.qbo_conn_id or default, []).append(plan)
    order = {conn_id: index for index, conn_id in enumerate(run.qbo_conn_ids)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def company_stopped(
    conn_id: str, exc: Exception, plans: list[InvoicePlan], outcomes: Outcomes, notes: list[str]
) -> None:
    """One QBO company could not go on (its token revoked, its connection missing, its settings
    wrong for it): its invoices not done yet fail with the reason, without an ERROR marker or an
    error log entry (nothing is wrong with the invoices: the next run sends them once the company is
    fixed); the other companies go on (BEY-07)."""
    reason = stopped_reason(conn_id, exc)
    notes.append(f"QBO company {conn_id} stopped: {exc}; its other companies' invoices went on")
    for plan in plans:
        if plan.autotask_id in outcomes.rows:
            continue  # done (adopted, created, refused) before the company stopped
        outcomes.add(
            plan,
            "failed",
            reason=reason,
            fix=STOPPED_FIX,
            marker=None,
        )
        outcomes.rows[plan.autotask_id]["transient"] = True


def record_unsent(run: RunInfo, ledger: Ledger, plans: list[InvoicePlan], outcomes: Outcomes) -> None:
    """The plans the transform skipped or refused; a refusal that failed before with the same
    content is not reported again (unless the invoice was asked for by id)."""
    scope = staged_scope(run, ledger)
    for plan in plans:
        if plan.decision == "skip":
            outcomes.add(plan, "skipped", reason=plan.reason)
        elif plan.decision == "error":
            record = ledger.get_sync_record(INVOICE, plan.autotask_id)
            # an invoice asked for by id is tried again, whatever happened to it before
            if not scope.autotask_ids and failed_before(plan, record, run.parsed_settings):
                outcomes.add(plan, "skipped", reason=FAILED_BEFORE.format(error=plan.reason))
            else:
                outcomes.add(plan, "failed", reason=plan.reason, fix=plan.fix, marker="error")


def send(
    run: RunInfo,
    qbo: QuickBooksOnlineHook,
    ledger: Ledger,
    plans: list[InvoicePlan],
    outcomes: Outcomes,
    notes: list[str],
    markers: MarkerWriter,
) -> None:
    """The plans to send: adopted when QBO has them, else checked (currency, tax), their references
    found or created and the invoices created; ``markers`` gets each invoice QBO has, as soon as
    the ledger records it."""
    markers.warm_up()
    marked = marked_in_autotask(ledger.stage_get(run.run_key, "invoice"), run.parsed_settings)
    to_create, older = adopt_existing_invoices(run, qbo, ledger, plans, outcomes, staged_scope(run, ledger), marked)
    markers.submit(outcomes.rows.values())  # the adopted ones, written while the rest is prepared
    if not to_create:
        return
    company, codes = read_qbo_company(qbo, run.parsed_settings)
    require_invoice_tax_code(company, codes, run.parsed_settings)
    tax_codes, failures = refuse_before_writing(to_create, company, codes, run.parsed_settings)
    checked = [p for p in to_create if p.autotask_id not in failures]
    reference = ledger.stage_get(run.run_key, "reference")
    refs, more, warnings = find_or_create_references(run, qbo, checked, reference, company, notes, tax_codes)
    failures.update(more)
    for plan in to_create:
        if plan.autotask_id in failures:
            reason, fix = failures[plan.autotask_id]
            outcomes.add(plan, "failed", reason=reason, fix=fix, marker="error")
    ready = [p for p in to_create if p.autotask_id not in failures]
    create_invoices(
        run,
        qbo,
        ledger,
        ready,
        refs,
        warnings,
        company,
        outcomes,
        older,
        recorded=lambda ids: markers.submit(outcomes.rows[a] for a in ids),
    )
