"""
### atqbo: manually mark an invoice paid (TOOL-06)

The vendor's "Manually Mark an Invoice as Paid": sets the paid date of one Autotask invoice,
found by its invoice number. Trigger it with config ("Trigger DAG w/ config"); nothing runs on a
schedule.

**Form.**
* `invoice_number` (required): the Autotask invoice number, as on the invoice (at most 50 characters).
* `paid_date`: the day the payment was made, `YYYY-MM-DD`. Empty: today (UTC).

**What it does.**
1. `start`: checks the form and the `atqbo_settings` Variable. A date that is not a real
   `YYYY-MM-DD` date (`2026-02-30`, `21/11/2026`) or lies after today is refused here.
2. `mark_paid`: finds the invoice by its number. Exactly one invoice must have it: none or
   several, or a voided invoice, fails the run with the reason and the fix, and nothing is
   changed. Otherwise the invoice's `paidDate` is set in Autotask, unless it already is that date.
   The report (task log, and email to `report_to`, always) says what changed and what QBO shows
   for the same invoice. `dry_run` in the settings reports what would change and writes nothing.

**The payment sync afterwards.** While QBO still shows money owed on the invoice, the hourly
`atqbo_payments` leaves the manual paid date alone (it never clears a paid date; it reports the
difference when a payment on that invoice changes). Once QBO shows the invoice paid in full, it
sets the paid date to the day of that payment.

**Example report** (`[atqbo] mark invoice paid: 1 transferred`):

    atqbo mark invoice paid
    Window: invoice number INV-1012, paid date 2026-11-20
    Counts: 1 transferred
    Transferred (1)
      - INV-1012 (Autotask id 29684012), Contoso Dental; Autotask total 1,284.50: paid date changed
        from 2026-11-18 to 2026-11-20 in Autotask
    Notes (1)
      - QBO invoice 1044 (Id 187) shows it paid in full too
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo import forms
from atqbo.dags import tool_dag
from atqbo.outcome import outcome_task

FIELDS = (
    forms.text(
        "invoice_number", "The Autotask invoice number, as on the invoice.", max_length=50, title="Invoice number"
    ),
    forms.optional_date("paid_date", "The day the payment was made, YYYY-MM-DD (empty: today, UTC).", title="Paid on"),
)


@tool_dag("atqbo_mark_invoice_paid", __doc__, FIELDS)
def atqbo_mark_invoice_paid():
    @task
    def start() -> dict:
        """Check the form (the date a real one, not after today) and the settings."""
        from airflow.sdk import get_current_context

        from atqbo.forms import read_form
        from atqbo.runs import start_tool_run
        from atqbo.tools.mark_paid import check_paid_date, today_utc

        context = get_current_context()
        values = read_form(context["params"], FIELDS)
        today = today_utc()
        paid_on = values["paid_date"] or today
        check_paid_date(paid_on, today)
        run = start_tool_run(context)
        return {
            "run": run.to_xcom(),
            "invoice_number": values["invoice_number"],
            "paid_date": paid_on.isoformat(),
            "date_given": values["paid_date"] is not None,
        }

    @task
    def mark_paid(job: dict) -> dict:
        """Find the invoice by number, set its paid date in Autotask, report (always emailed)."""
        from datetime import date

        from atqbo.runs import RunInfo
        from atqbo.tools.mark_paid import mark_invoice_paid

        return mark_invoice_paid(
            RunInfo.from_xcom(job["run"]),
            job["invoice_number"],
            date.fromisoformat(job["paid_date"]),
            bool(job["date_given"]),
        )

    mark_paid(start()) >> outcome_task("mark_paid")


atqbo_mark_invoice_paid()
