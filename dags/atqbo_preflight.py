"""
### atqbo tool: preflight (BEY-08)

Run this once before the first live run on a real tenant, and after changing settings. It reads
your Autotask database and QuickBooks Online (QBO) company, **writes nothing to either**, and says
what atqbo will do with your books and which settings are wrong or missing: a verdict per check
(*ok*, *warning*, *blocking*) with the fix.

Its tasks, one per part, so a part with a blocking check ends failed in the grid:

* **check_settings**: which syncs are on, the rules across keys the syncs enforce when they start;
* **check_autotask**: every entity and field atqbo reads or writes exists and is queryable or
  writable for this API user; the picklist labels atqbo relies on (purchase order statuses, payment
  terms, lines of business); the API user's line-of-business restriction; the hourly request
  threshold and how much of it a month-start run would use;
* **check_qbo**: country and edition against `qbo_edition`, sales tax, multi-currency and home
  currency, custom transaction numbers, class tracking, the custom field of `po_number_custom_field`,
  closed books, and every account, class, tax code, term and item the settings name;
* **check_data**: the window's invoices and purchase orders as the next runs would see them: the
  invoice and purchase order syncs run in dry run (the same code, nothing written): what would be
  created or matched, customers and vendors to create, names QBO would clash on or that must change,
  missing items, other currencies, tax-exempt companies, covered and non-billable lines, invoices
  whose lines do not add up, `ERROR` markers;
* with several QBO companies (`qbo_routes`): check_qbo runs for every company with its own
  settings, each check naming its company (one that cannot be reached is one blocking check, the
  others are checked), and check_settings lists each company's settings;
* **report**: runs whatever the others' states; the report in its log and by email (HTML with a CSV
  of every check) to `report_to` and the form's addresses.

**Form.**
- `window_days`: the invoices and purchase orders of this many days before now (empty: the
  `invoice_lookback_days` setting, the window of the next runs).
- `email`: extra recipients, added to `report_to` for this run.
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo.dags import tool_dag
from atqbo.tools.preflight.tasks import FIELDS


@tool_dag("atqbo_preflight", __doc__, FIELDS)
def atqbo_preflight():
    @task
    def start(params: dict | None = None) -> dict:
        """Check the form and the settings (a run with invalid settings stops here, naming every bad key)."""
        from airflow.sdk import get_current_context

        from atqbo.tools.preflight.tasks import start_preflight

        return start_preflight(get_current_context(), params).to_xcom()

    def part_task(part: str, doc: str):
        @task(task_id=f"check_{part}", doc_md=doc)
        def check(run: dict) -> dict:
            from atqbo.runs import RunInfo
            from atqbo.tools.preflight.tasks import run_part

            return run_part(RunInfo.from_xcom(run), part)

        return check

    @task(trigger_rule="all_done")
    def report(run: dict) -> dict:
        """Log and email the report of every part, whatever their states."""
        from atqbo.runs import RunInfo
        from atqbo.tools.preflight.tasks import report_preflight

        return report_preflight(RunInfo.from_xcom(run))

    run = start()
    checks = [
        part_task("settings", "What the settings turn on; the rules across keys.")(run),
        part_task("autotask", "Entities, fields, picklists, the API user's restriction, the hourly budget.")(run),
        part_task("qbo", "The QBO company and every object the settings name.")(run),
        part_task("data", "The window's invoices and purchase orders, the syncs run in dry run.")(run),
    ]
    checks >> report(run)


atqbo_preflight()
