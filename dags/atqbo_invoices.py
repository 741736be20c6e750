"""
### atqbo: Autotask invoices to QuickBooks Online

Sends the Autotask invoices that are not yet in QuickBooks Online (QBO), creating customers and
items as needed, exactly once: within a minute or two of their posting, and every 15 minutes.

**When it runs (BEY-09).** On the asset `atqbo_autotask_invoices`, whose watcher (a trigger in
Airflow's triggerer, `atqbo.triggers.new_invoices.NewInvoicesTrigger`) asks Autotask every 45 s,
one request each time, whether invoices were posted since it last looked; a newly posted unsynced
invoice makes an asset event, and the event a run. The 15-minute schedule stays as the safety net
(an invoice whose marker was cleared to send it again, one that failed, one the watcher missed).
When both fire, one run waits for the other (`max_active_runs=1`), and the second finds nothing
left to send: the marker, the lock and the state database make every run exactly-once.

**Window.** Each run looks at invoices dated in its data interval widened back by
`invoice_lookback_days` (default 14), never before `earliest_sync_date`; an asset-triggered run has
no data interval, and its window ends when the event queued it. A backfill of any date
range (`airflow backfill create --dag-id atqbo_invoices --from-date ... --to-date ...`, or the UI)
re-examines that range and creates nothing twice.

**Tasks.**
1. `start`: validates `atqbo_settings` (plus this run's trigger-form overrides) and fixes the
   window; when `invoice_sync_enabled` is false the run stops here and says so.
2. `extract`: the window's unsynced invoices (marker field blank) and everything they reference,
   in bulk.
3. `transform`: every INV rule, with no I/O.
4. `load`: finds atqbo's own invoices already in QBO (a crash, retry or re-run adopts them), finds
   or creates customers, items, terms and classes, then creates the invoices in QBO batches of
   30, each with a `requestid` derived from the Autotask id and recorded in the state database
   before it is sent.
5. `write_back`: marks the invoices in Autotask (`webServiceDate` or `invoiceNumber`, QBO's number
   when QBO numbers, `ERROR` for failures in invoiceNumber mode).
6. `report`: the summary (transferred, skipped, failed with the fix) by email to `report_to`, with
   a CSV, and in this task's log.

Tasks 2-6 are shared with the invoice tools (`atqbo_preview_invoices`, `atqbo_sync_now`,
`atqbo_copy_invoice`, see `atqbo.sync.invoices.tasks`).

**One at a time.** A run that writes holds the ledger's invoice sync lock from `start` to the end
of `report` (a failed run gives it back in its failure callback). When `atqbo_sync_now` or
`atqbo_copy_invoice` holds it, `start` is skipped with a message naming that run, and the next
scheduled run picks up whatever is left.

A failed invoice never stops the run; it is reported and kept in the error log, and the last task,
`outcome`, then fails (no retry, no second alert) so the run shows red with the counts as its note
(BEY-10). The run fails otherwise only when it cannot proceed (settings, authentication, an
unreachable API); the failure email and an Autotask to-do then say why. `dry_run` reports the whole plan and writes nothing anywhere.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronDataIntervalTimetable, task

from atqbo import forms
from atqbo.dags import sync_dag
from atqbo.sync.invoices.tasks import invoice_sync_tasks
from atqbo.triggers.new_invoices import NewInvoicesTrigger

FIELDS = forms.sync_run_fields(
    forms.whole_number(
        "invoice_lookback_days",
        "Override invoice_lookback_days for this run (empty: use the setting).",
        None,
        0,
        3650,
        title="Look back (days)",
    )
)
# BEY-09: a newly posted invoice (the watcher, in the triggerer) or every 15 minutes (the net).
INVOICES_POSTED = Asset(
    name="atqbo_autotask_invoices",
    watchers=[AssetWatcher(name="atqbo_new_autotask_invoices", trigger=NewInvoicesTrigger())],
)
SCHEDULE = AssetOrTimeSchedule(
    timetable=CronDataIntervalTimetable("*/15 * * * *", timezone="UTC"), assets=INVOICES_POSTED
)


@sync_dag("atqbo_invoices", __doc__, SCHEDULE, ["invoices"], FIELDS)
def atqbo_invoices():
    @task
    def start(params: dict | None = None) -> dict:
        """Validate settings and fix the window; stop here when the invoice sync is off (INV-01) or a
        sync-now or copy run holds the invoice sync lock."""
        from airflow.sdk import get_current_context

        from atqbo.locks import SyncBusy
        from atqbo.outcome import skip_run
        from atqbo.runs import skip_unless_configured, start_run
        from atqbo.sync.invoices.scope import begin_invoice_run, lock_skip_message

        params = forms.read_form(params, FIELDS)  # a key the form lacks is refused, not ignored
        skip_unless_configured()  # a fresh install: one warning saying what to set, not a failure
        run = start_run(
            get_current_context(),
            "invoice_lookback_days",
            {
                "invoice_lookback_days": params.get("invoice_lookback_days"),
                "dry_run": params.get("dry_run"),
                "extra_recipients": params.get("report_to") or [],
            },
        )
        if not run.parsed_settings.invoice_sync_enabled:
            skip_run("Invoice sync is off (invoice_sync_enabled is false in atqbo_settings): nothing to do")
        try:
            begin_invoice_run(run, run.ledger())
        except SyncBusy as busy:
            skip_run(lock_skip_message(busy.owner))
        print(f"Window {run.describe_window()}{' (DRY RUN: nothing will be written)' if run.dry_run else ''}")
        return run.to_xcom()

    invoice_sync_tasks(start())


atqbo_invoices()
