"""
### atqbo: invoice voids (Autotask -> QuickBooks Online)

Every 15 minutes, invoices voided in Autotask are voided in QuickBooks Online: the QBO invoice
stays, with its amounts zeroed (VOID-01). **Off by default**: set `void_sync_enabled` to `true`
in the `atqbo_settings` Variable. While it is off, a run only logs
"void sync is off (void_sync_enabled=false): nothing to do".

* **start**: validates the settings (with this form's overrides) and fixes the window: the run's
  data interval widened back by `void_lookback_days` (default 14).
* **find**: the Autotask invoices voided inside the window (one bulk query), minus those already
  settled in earlier runs, each resolved to the QBO invoice *atqbo* created for it: the state
  database's record, else the QBO invoice whose private note starts `Autotask invoice {id}`.
  Invoices atqbo did not create are never touched; they are reported once.
* **void**: reads those QBO invoices and voids them. Already voided or deleted in QBO: reported
  once, not retried (VOID-02). Refused by QBO (say a payment is applied): reported with the fix
  and logged in the error log; the run goes on with the others, and the void is tried again when
  the QBO invoice changes (or a retry is asked for in the error log), not every 15 minutes.
* **report**: the summary in the task log and by email to `report_to` (plus the form's
  `report_to`) when the run did anything.

Running it again never voids twice: each void is recorded in the state database and sent with a
QBO `requestid`. With `dry_run` the run reads everything and reports what it would void, and
writes nothing. Trigger it with a config to look further back (`void_lookback_days`), to dry-run,
or to send the report to more people.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, task

from atqbo import forms
from atqbo.dags import sync_dag
from atqbo.outcome import outcome_task

FIELDS = forms.sync_run_fields(
    forms.whole_number(
        "void_lookback_days",
        "Days before the run's interval to look for voided Autotask invoices (empty: the setting).",
        None,
        0,
        3650,
        title="Look back for voids (days)",
    )
)
SCHEDULE = CronDataIntervalTimetable("*/15 * * * *", timezone="UTC")


@sync_dag("atqbo_invoice_voids", __doc__, SCHEDULE, ["invoices"], FIELDS)
def atqbo_invoice_voids():
    @task
    def start() -> dict:
        """Settings (with this run's overrides) and the window."""
        from airflow.sdk import get_current_context

        from atqbo import runs

        context = get_current_context()
        params = forms.read_form(context["params"], FIELDS)  # a key the form lacks is refused, not ignored
        runs.skip_unless_configured()  # a fresh install: one warning saying what to set, not a failure
        overrides = {
            "void_lookback_days": params.get("void_lookback_days"),
            "dry_run": params.get("dry_run"),
            "extra_recipients": params.get("report_to") or [],
        }
        return runs.start_run(context, "void_lookback_days", overrides).to_xcom()

    @task
    def find(run: dict) -> list[dict]:
        """Voided Autotask invoices of the window, resolved to the QBO invoices atqbo created."""
        from atqbo.runs import RunInfo
        from atqbo.switches import skip_unless_enabled
        from atqbo.sync.voids.tasks import find_void_targets

        info = RunInfo.from_xcom(run)
        skip_unless_enabled(info, "void_sync_enabled")
        return find_void_targets(info)

    @task
    def void(run: dict, targets: list[dict]) -> list[dict]:
        """Void them in QBO (or plan it, in a dry run); one report row per invoice."""
        from atqbo.runs import RunInfo
        from atqbo.sync.voids.tasks import apply_voids

        return apply_voids(RunInfo.from_xcom(run), targets)

    @task
    def report(run: dict, rows: list[dict]) -> bool:
        """Log the summary; email it when the run did anything."""
        from atqbo.runs import RunInfo
        from atqbo.sync.voids.tasks import report_voids

        return report_voids(RunInfo.from_xcom(run), rows)

    run = start()
    targets = find(run)
    rows = void(run, targets)
    report(run, rows) >> outcome_task()


atqbo_invoice_voids()
