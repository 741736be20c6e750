"""
### atqbo tool: check for invoices (TOOL-03)

Lists what the next invoice sync would pick up, as the vendor's "Check for Invoices" did: which
Autotask invoices would be sent to QuickBooks Online (QBO), which are already there, which would be
skipped and which would fail, and why. It is the invoice sync itself (`extract`, `transform`,
`load`, `write_back`, `report` of `atqbo_invoices`) in dry-run mode: it reads both systems and
writes nothing to either (no customer, item or invoice created, no Autotask marker written), so
it needs no lock and may run while `atqbo_invoices` does.

**Form.**
- `invoice_numbering`: how the invoices would be numbered. `settings` (default) = the
  `invoice_numbering` setting; `qbo` = QBO numbers them; `autotask_number` = Autotask's invoice
  number (an invoice without one, or with more than 21 characters, would fail); `autotask_id` =
  the Autotask invoice id. In `invoiceNumber` marker mode only `settings` and `qbo` are possible.
- `max_age_days`: the oldest invoice to list, in days before now (0-3650; empty: the
  `invoice_lookback_days` setting). `earliest_sync_date` still applies.
- `email`: extra recipients, added to `report_to` for this run.

**Report** (always sent; in the `report` task's log, by email with a CSV, and in the run history),
one row per invoice: *planned* (would be created, with the number it would get), *matched* (already
in QBO; the next run only writes the Autotask marker), *skipped* (why), *failed* (why it would fail,
and the fix). Example (form `invoice_numbering` = `autotask_number`, `max_age_days` = 3; email subject
`[atqbo] check for invoices: 2 planned, 1 failed (dry run)`):

```
atqbo check for invoices
Run: atqbo_preview_invoices / manual__2026-11-21T07:58:07+00:00
Window: 2026-11-18 07:58 to 2026-11-21 07:58 UTC
DRY RUN: nothing was written
Counts: 2 planned, 1 failed

Planned (dry run) (2)
  - INV-1039 (Autotask id 29684039), Consolidated Messenger; Autotask total 3,978.00: would create a QBO invoice numbered INV-1039 for Consolidated Messenger (3978.00)
  - INV-1040 (Autotask id 29684040), Contoso Dental; Autotask total 931.25: would create a QBO invoice numbered INV-1040 for Contoso Dental (931.25)

Failed (1)
  - 39500002 (Autotask id 39500002), Contoso Dental; Autotask total 250.00: would fail: Autotask invoice 39500002 of Contoso Dental: invoice_numbering is 'autotask_number' but Autotask gave the invoice no number
    Fix: turn on invoice numbering in Autotask (Admin > Invoice settings), or set invoice_numbering to 'qbo' or 'autotask_id'

Notes (2)
  - Check for invoices: what the next run would pick up from the last 3 day(s); nothing was written to QBO or Autotask.
  - Invoice numbering: autotask_number (Autotask's invoice number; chosen for this check).
```
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo.dags import tool_dag
from atqbo.sync.invoices.tasks import invoice_sync_tasks
from atqbo.tools.invoices import PREVIEW_FIELDS


@tool_dag("atqbo_preview_invoices", __doc__, PREVIEW_FIELDS)
def atqbo_preview_invoices():
    @task
    def start(params: dict | None = None) -> dict:
        """Check the form and the settings; a dry run over the last max_age_days, with the numbering chosen."""
        from airflow.sdk import get_current_context

        from atqbo.tools.invoices import start_preview

        return start_preview(get_current_context(), params).to_xcom()

    invoice_sync_tasks(start())


atqbo_preview_invoices()
