"""
### atqbo: Autotask purchase orders to QuickBooks Online bills

Every 15 minutes, each submitted Autotask purchase order becomes a QuickBooks Online (QBO) bill,
exactly once, as the vendor's "Purchase Orders to QuickBooks Online" app did.

**Eligible (PO-01).** Status *Submitted*, created inside the window (the run's data interval
widened back by `po_lookback_days`, default 14), External PO Number blank. `po_lookback_days` 0
pauses the sync: the run stops at `start` and says so, without calling either API.

**Tasks.**
1. `start`: validates `atqbo_settings` (plus this run's trigger-form overrides), requires
   `todo_action_type` and `todo_resource_id` (PO-08), and fixes the window.
2. `extract`: the eligible POs with their items, products, vendor organizations and Autotask's
   currencies, in bulk.
3. `load`: adopts the bills QBO already has for them (PrivateNote `Autotask PO {id}`, and the state
   database), checks every PO, then creates what is missing: vendors matched by organization name
   (PO-03), items matched by product name, created with `po_new_item_expense_account` or "error
   and stop" per `po_missing_item_action` (PO-05), and the bills on the `po_ap_account` account
   (a bill in a foreign currency: QBO's A/P account of that currency, CUR-03), item lines only
   (PO-02), no tax for a US company and `purchase_tax_code` on every line for a non-US one
   (TAX-03), numbered per `po_number_source` (PO-04), in the currency PO-06 says, by QBO batches
   of 30 with a `requestid` recorded before each is sent.
4. `write_back`: External PO Number = the bill's number (its Id when QBO gave it none), `ERROR`
   for a failed PO (PO-07); one Autotask to-do under company 0 per failure, assigned to
   `todo_resource_id` with `todo_action_type` (PO-08). Clearing ERROR makes the next run retry.
5. `report`: the summary (transferred, failed with the fix, skipped) by email to `report_to`, with
   a CSV, and in this task's log.

A failed PO never stops the run; it is reported, kept in the error log and gets a to-do, and the
last task, `outcome`, then fails (no retry, no second alert) so the run shows red with the counts as
its note (BEY-10); without `todo_action_type`/`todo_resource_id` the run is skipped at `start`
saying so. The run fails otherwise only when it cannot proceed (settings, authentication, an unreachable API, no AP account,
a `purchase_tax_code` QBO does not have); the failure email and an Autotask to-do then say why.
`dry_run` reports the whole plan and writes nothing anywhere.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, task

from atqbo import forms
from atqbo.dags import sync_dag
from atqbo.sync.purchase_orders.tasks import purchase_order_sync_tasks

FIELDS = forms.sync_run_fields(
    forms.whole_number(
        "po_lookback_days",
        "Override po_lookback_days for this run (empty: use the setting; 0 pauses).",
        None,
        0,
        3650,
        title="Look back (days)",
    )
)
SCHEDULE = CronDataIntervalTimetable("*/15 * * * *", timezone="UTC")


@sync_dag("atqbo_purchase_orders", __doc__, SCHEDULE, ["purchase-orders"], FIELDS)
def atqbo_purchase_orders():
    @task
    def start(params: dict | None = None) -> dict:
        """Validate settings and fix the window; stop here while the sync is paused (PO-01)."""
        from airflow.sdk import get_current_context

        from atqbo.exceptions import AtqboConfigError
        from atqbo.outcome import skip_run
        from atqbo.runs import skip_unless_configured, start_run
        from atqbo.sync.purchase_orders.tasks import PO_SYNC_PAUSED

        params = forms.read_form(params, FIELDS)  # a key the form lacks is refused, not ignored
        skip_unless_configured()  # a fresh install: one warning saying what to set, not a failure
        run = start_run(
            get_current_context(),
            "po_lookback_days",
            {
                "po_lookback_days": params.get("po_lookback_days"),
                "dry_run": params.get("dry_run"),
                "extra_recipients": params.get("report_to") or [],
            },
        )
        settings = run.parsed_settings
        if settings.po_lookback_days == 0:
            skip_run(PO_SYNC_PAUSED)
        try:
            settings.require_purchase_order_settings()
        except AtqboConfigError as exc:  # not set up yet: skip with what to set, never fail every 15 minutes
            skip_run(f"not set up yet: {exc}")
        run.ledger().create_schema()
        print(f"Window {run.describe_window()}{' (DRY RUN: nothing will be written)' if run.dry_run else ''}")
        return {"run": run.to_xcom()}

    purchase_order_sync_tasks(start())


atqbo_purchase_orders()
