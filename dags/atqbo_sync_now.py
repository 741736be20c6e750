"""
### atqbo tool: sync now (TOOL-04)

Runs the invoice sync immediately for every eligible invoice, as the vendor's "Sync Now" did,
without waiting for the next scheduled `atqbo_invoices` run: the Autotask invoices dated within
`invoice_lookback_days` up to now, not yet marked, not voided, are sent to QuickBooks Online (QBO)
exactly once, with the same steps, rules and state database as the scheduled sync (`extract`,
`transform`, `load`, `write_back`, `report`). It runs even while `invoice_sync_enabled` is false
(the vendor asked you to pause the automatic sync first; here that is not needed).

**One at a time.** It takes the invoice sync lock in `start`. While an `atqbo_invoices` (or
another sync-now or copy) run holds it, `start` fails at once with a message naming that run and
what to do (wait until it has finished, then trigger again), and nothing is written anywhere.
While this run holds the lock, the scheduled `atqbo_invoices` runs are skipped; the first one after
it picks up whatever is left. A later task that fails (say QBO was disconnected) gives the lock back
and alerts `report_to` with the error, as a failed scheduled sync does.

**Form.**
- `email`: alternate recipients for the report; they *replace* `report_to` for this run (empty:
  `report_to`).

**Report** (always sent; in the `report` task's log, by email with a CSV, and in the run history):
every invoice the run processed: transferred (with the QBO number), matched (already in QBO),
failed (with the fix), skipped. Example (email subject `[atqbo] sync now: 3 transferred`, to the form's `email`):

```
atqbo sync now
Run: atqbo_sync_now / manual__2026-11-21T07:58:14+00:00
Window: 2026-11-18 07:58 to 2026-11-21 07:58 UTC
Counts: 3 transferred

Transferred (3)
  - INV-1039 (Autotask id 29684039), Consolidated Messenger -> QBO 1010 (id 1019); Autotask total 3,978.00, QBO total 3,978.00: created QBO invoice 1010
  - INV-1040 (Autotask id 29684040), Contoso Dental -> QBO 1011 (id 1020); Autotask total 931.25, QBO total 931.25: created QBO invoice 1011
  - 39500002 (Autotask id 39500002), Contoso Dental -> QBO 1012 (id 1021); Autotask total 250.00, QBO total 250.00: created QBO invoice 1012
```
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo.dags import on_sync_failure, tool_dag
from atqbo.sync.invoices.tasks import invoice_sync_tasks
from atqbo.tools.invoices import SYNC_NOW_FIELDS


@tool_dag("atqbo_sync_now", __doc__, SYNC_NOW_FIELDS)
def atqbo_sync_now():
    @task
    def start(params: dict | None = None) -> dict:
        """Check the form and the settings, fix the look-back window, take the invoice sync lock (or refuse)."""
        from airflow.sdk import get_current_context

        from atqbo.tools.invoices import start_sync_now

        return start_sync_now(get_current_context(), params).to_xcom()

    invoice_sync_tasks(start(), on_failure_callback=on_sync_failure)


atqbo_sync_now()
