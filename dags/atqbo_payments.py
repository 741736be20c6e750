"""
### atqbo: payments (QuickBooks Online -> Autotask)

Every hour, payments recorded in QuickBooks Online mark the Autotask invoices atqbo sent as paid,
with the payment's date (PAY-01). A payment spread over several invoices marks each one it pays
in full (PAY-02). **Off by default**: set `payment_sync_enabled` to `true` in the `atqbo_settings`
Variable. While it is off, a run only logs
"payment sync is off (payment_sync_enabled=false): nothing to do".

* **start**: validates the settings (with this form's overrides).
* **find**: the QBO payments changed since the last successful run (QBO's change data capture,
  which reaches back 30 days; the first run reads `payment_lookback_days`, default 7), grouped
  by the invoices they are applied to.
* **apply**: reads those QBO invoices and keeps the ones *atqbo* created (the state database's
  record, else the private note `Autotask invoice {id}`); payments on other invoices are ignored.
  An invoice whose QBO balance is 0 gets its Autotask paid date set to the day it was paid in
  full, unless it already has that date. A partial payment is reported, not marked. A payment
  deleted or voided in QBO is reported for a person to check: atqbo never clears a paid date.
* **report**: the summary in the task log and by email to `report_to` (plus the form's
  `report_to`) when the run did anything.
* **advance_watermark**: only once everything above succeeded, the next run starts from this
  run's read (less a few minutes of overlap).

Running it again changes nothing: each invoice's paid state is recorded in the state database, a
paid date already right is not written, and what was reported is not reported again. With
`dry_run` the run reads everything, reports what it would mark, and writes nothing (not even the
watermark). Trigger it with `payment_lookback_days` to read that many days back (at most 30)
instead of from the last run, to dry-run, or to send the report to more people.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, task

from atqbo import forms
from atqbo.dags import sync_dag
from atqbo.outcome import outcome_task

FIELDS = forms.sync_run_fields(
    forms.whole_number(
        "payment_lookback_days",
        "Read QBO payments changed in this many days before now, instead of since the "
        "last successful run (empty: since the last run; the first run uses the setting).",
        None,
        0,
        30,
        title="Rescan payments (days)",
    )
)
SCHEDULE = CronDataIntervalTimetable("0 * * * *", timezone="UTC")


@sync_dag("atqbo_payments", __doc__, SCHEDULE, ["payments"], FIELDS)
def atqbo_payments():
    @task
    def start() -> dict:
        """Settings (with this run's overrides)."""
        from airflow.sdk import get_current_context

        from atqbo import runs

        context = get_current_context()
        params = forms.read_form(context["params"], FIELDS)  # a key the form lacks is refused, not ignored
        runs.skip_unless_configured()  # a fresh install: one warning saying what to set, not a failure
        overrides = {
            "payment_lookback_days": params.get("payment_lookback_days"),
            "dry_run": params.get("dry_run"),
            "extra_recipients": params.get("report_to") or [],
        }
        return runs.start_run(context, "payment_lookback_days", overrides).to_xcom()

    @task
    def find(run: dict) -> dict:
        """QBO payments changed since the last successful run, grouped by invoice."""
        from airflow.sdk import get_current_context

        from atqbo.runs import RunInfo
        from atqbo.switches import skip_unless_enabled
        from atqbo.sync.payments.tasks import find_payment_changes

        info = RunInfo.from_xcom(run)
        skip_unless_enabled(info, "payment_sync_enabled")
        rescan_days = get_current_context()["params"].get("payment_lookback_days")
        return find_payment_changes(info, rescan_days)

    @task
    def apply(run: dict, scan: dict) -> list[dict]:
        """Mark paid in Autotask (or plan it, in a dry run); one report row per invoice."""
        from atqbo.runs import RunInfo
        from atqbo.sync.payments.tasks import apply_payments

        return apply_payments(RunInfo.from_xcom(run), scan)

    @task
    def report(run: dict, scan: dict, rows: list[dict]) -> bool:
        """Log the summary; email it when the run did anything."""
        from atqbo.runs import RunInfo
        from atqbo.sync.payments.tasks import report_payments

        return report_payments(RunInfo.from_xcom(run), scan, rows)

    @task
    def advance_watermark(run: dict, scan: dict) -> str | None:
        """The next run reads QBO's changes from this run's read on (not in a dry run)."""
        from atqbo.runs import RunInfo
        from atqbo.sync.payments.tasks import advance_payment_watermark

        return advance_payment_watermark(RunInfo.from_xcom(run), scan)

    run = start()
    scan = find(run)
    rows = apply(run, scan)
    reported = report(run, scan, rows)
    reported >> advance_watermark(run, scan) >> outcome_task()


atqbo_payments()
