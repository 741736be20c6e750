"""Step 2, load: adopt what QBO already has, check every PO, then create vendors, items and bills;
stage one outcome per PO for the write-back and the report.

The order matters and is written once, in ``load_orders``: first every check that only reads
QBO (currency, the AP account, the purchase tax code, adoption, lines, the A/P account of each
foreign currency, items, vendors, bill numbers), so that a PO failing one of them creates nothing;
then the creates (vendors, items, bills). Each check and create leaves the POs it decided
(failed, skipped, adopted) out of the ones after it.

The creates happen under the ledger lock ``purchase_order_sync``: ``atqbo_sync_po`` may be asked
for a PO the scheduled run is sending at the same moment, and two runs that both find no bill for
it would both create one (their batch requestids differ).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from atqbo.companies import STOPPED_FIX, company_failure, stopped_reason
from atqbo.exceptions import AtqboError
from atqbo.locks import PURCHASE_ORDER_SYNC_LOCK, SyncBusy, hold_sync_lock, release_sync_lock
from atqbo.routes import route_of
from atqbo.sync.purchase_orders.accounts import find_ap_account, find_ap_accounts
from atqbo.sync.purchase_orders.adopt import adopt_existing_bills
from atqbo.sync.purchase_orders.bill_numbers import check_bill_numbers
from atqbo.sync.purchase_orders.bills import check_lines, create_bills, warn_unsent_freight
from atqbo.sync.purchase_orders.currency import QboCurrencies, plan_currency, refuse_run_for_currency
from atqbo.sync.purchase_orders.failures import record_failures
from atqbo.sync.purchase_orders.items import check_items, create_items
from atqbo.sync.purchase_orders.model import PurchaseOrder, purchase_orders_from_staged
from atqbo.sync.purchase_orders.requested import note_busy_retries, note_retries, report_held
from atqbo.sync.purchase_orders.state import LoadState
from atqbo.sync.purchase_orders.taxes import find_purchase_tax_code
from atqbo.sync.purchase_orders.todos import todo_key
from atqbo.sync.purchase_orders.vendors import check_vendors, create_vendors

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo


def load_purchase_orders(run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger) -> dict[str, int]:
    """Adopt what QBO has, check, then create vendors, items and bills, under the lock; stage one
    outcome per PO, the run's notes and its run-level problems; return the counts by outcome."""
    reference = ledger.stage_get(run.run_key, "reference")
    orders = purchase_orders_from_staged(ledger.stage_get(run.run_key, "po"), reference)
    held = purchase_orders_from_staged(ledger.stage_get(run.run_key, "po_held"), reference)
    requested = ledger.stage_get(run.run_key, "requested")
    state = LoadState.for_run(run, qbo, ledger, reference)
    locked = bool(orders) and not run.dry_run
    if locked:
        hold_po_sync_lock(run, ledger)
    try:
        report_held(state, held, requested)
        for conn_id, company_orders in orders_by_company(run, orders).items():
            company = company_state(state, conn_id, qbo)
            note_retries(company, company_orders, requested)
            if len(run.qbo_conn_ids) == 1:  # one company: what stops it stops the run, as always
                load_orders(company, company_orders)
            else:
                try:
                    load_orders(company, company_orders)
                except AtqboError as exc:  # BEY-07: one company's token, connection or set-up; not the others'
                    if not company_failure(exc):
                        raise
                    company_stopped(company, conn_id, exc, company_orders)
            for po in company_orders:  # which company each went to (the report, the error log)
                state.out.rows.get(po.autotask_id, {})["qbo_company"] = conn_id
            state.decided_currency = state.decided_currency or company.decided_currency
        record_failures(run, ledger, state.out)
        note_busy_retries(state, orders, requested)
    finally:
        if locked:
            release_sync_lock(run, ledger, PURCHASE_ORDER_SYNC_LOCK)
    ledger.stage_put(run.run_key, "outcome", state.out.staged())
    ledger.stage_put(run.run_key, "notes", {"load": state.notes})
    ledger.stage_put(run.run_key, "run_problems", {"problems": state.run_problems, "decided": state.decided_currency})
    return state.out.counts()


def orders_by_company(run: RunInfo, orders: list[PurchaseOrder]) -> dict[str, list[PurchaseOrder]]:
    """The POs by QBO company (BEY-07): by the Autotask company each is bought for
    (``purchaseForCompanyID``: a PO has no line of business, so a division route never takes one),
    in the order of the run's companies."""
    settings = run.parsed_settings
    out: dict[str, list[PurchaseOrder]] = {}
    for po in orders:
        routing = route_of(settings.routes, settings.qbo_conn_id, po.purchase_for_company_id, (), po.label())
        out.setdefault(routing.qbo_conn_id, []).append(po)
    order = {conn_id: index for index, conn_id in enumerate(settings.qbo_conn_ids)}
    return dict(sorted(out.items(), key=lambda kv: order[kv[0]]))


def company_state(state: LoadState, conn_id: str, qbo: QuickBooksOnlineHook) -> LoadState:
    """The load state of one QBO company: its settings and hook, the run's outcomes, notes and problems."""
    if conn_id == state.run.parsed_settings.qbo_conn_id and not state.run.parsed_settings.qbo_routes:
        return state
    run = state.run.for_company(conn_id)
    return replace(
        state,
        run=run,
        qbo=qbo if conn_id == qbo.qbo_conn_id else run.qbo(state.ledger),
        settings=run.parsed_settings,
        decided_currency=False,
        several_companies=len(state.run.qbo_conn_ids) > 1,
    )  # out, notes and run_problems: the same objects as the run's


def company_stopped(state: LoadState, conn_id: str, exc: Exception, orders: list[PurchaseOrder]) -> None:
    """One QBO company could not go on: its POs not decided yet fail naming it, without an ERROR
    marker or an error-log entry each (nothing is wrong with the POs: the next run sends them once the
    company is fixed); one run problem (one to-do) names the company."""
    state.notes.append(f"QBO company {conn_id} stopped: {exc}; its other companies' POs went on")
    message = f"QBO company {conn_id} could not be reached or used, so its purchase orders were not sent: {exc}"
    state.run_problems[todo_key(None, message)] = {
        "message": message,
        "fix": "fix the QBO company's connection or settings named above; the next run sends its purchase orders",
    }
    for po in state.undecided(orders):
        state.out.set(
            po,
            "failed",
            stopped_reason(conn_id, exc),
            STOPPED_FIX,
            transient=True,
        )


def load_orders(state: LoadState, orders: list[PurchaseOrder]) -> None:
    """The checks, then the creates, over the POs to send (see the module's docstring)."""
    if not orders:
        return
    qbo_currencies = QboCurrencies.from_preferences(state.qbo.preferences())
    state.decided_currency = True
    # BEY-07: with several QBO companies each PO's currency is judged against its company's (plan_currency)
    if state.currencies.several_active and not qbo_currencies.multi_currency and not state.several_companies:
        refuse_run_for_currency(state, orders)
        return
    ap_account = find_ap_account(state.qbo, state.settings, qbo_currencies)
    tax_code = find_purchase_tax_code(state.qbo, state.settings)
    pending = adopt_existing_bills(state, orders)
    pending = [po for po in pending if check_lines(state, po)]
    plans = {po.autotask_id: plan_currency(state, po, qbo_currencies) for po in pending}
    pending = state.undecided(pending)
    ap_accounts = find_ap_accounts(
        state.qbo, ap_account, qbo_currencies, (plans[po.autotask_id].currency for po in pending)
    )
    items, expense_account_id = check_items(state, pending)
    pending = state.undecided(pending)
    vendors = check_vendors(state, pending, plans)
    pending = state.undecided(pending)
    if state.settings.po_number_source == "autotask":
        check_bill_numbers(state, pending)
        pending = state.undecided(pending)
    create_vendors(state, pending, vendors, plans)
    pending = state.undecided(pending)
    create_items(state, pending, items, expense_account_id)
    pending = state.undecided(pending)
    warn_unsent_freight(state, pending)
    create_bills(state, pending, ap_accounts, tax_code, vendors, items, plans)


class PurchaseOrderSyncBusy(Exception):
    """Another run is creating bills (``purchase_order_sync``); this one waits for its retry or a new trigger."""

    def __init__(self, owner: str):
        self.owner = owner
        dag_id, _, run_id = owner.partition("/")
        super().__init__(
            f"{dag_id} run {run_id!r} is creating QBO bills right now and holds the {PURCHASE_ORDER_SYNC_LOCK!r} "
            "lock; one run at a time may create bills, so this run created nothing. A scheduled run tries again by "
            "itself (task retry); trigger a tool again once that run has finished. If that run was killed and Airflow "
            "still shows it running, mark it failed, or run atqbo_reset"
        )


def hold_po_sync_lock(run: RunInfo, ledger: Ledger) -> None:
    """Take ``purchase_order_sync`` for this run (a stale one, whose run is over, is taken over)."""
    try:
        hold_sync_lock(run, ledger, PURCHASE_ORDER_SYNC_LOCK)
    except SyncBusy as busy:
        raise PurchaseOrderSyncBusy(busy.owner) from None
