"""
### atqbo tool: manually copy an invoice (TOOL-05)

Copies one Autotask invoice to QuickBooks Online (QBO) now, by its Autotask id, as the vendor's
"Manually Copy an Invoice" did: whatever its marker and its date (the look-back window does not
apply; `earliest_sync_date` does). It is the invoice sync's own steps (`extract`, `transform`,
`load`, `write_back`, `report` of `atqbo_invoices`) over that one invoice, so the copy is the
invoice the scheduled run would have made, and the Autotask marker (and QBO's number, when QBO
numbers) is written back.

**Form.**
- `autotask_invoice_id` (required): the Autotask invoice's id (not its invoice number).
- `overwrite`: off (default): an invoice already in QBO (the state database's record of it, or
  atqbo's PrivateNote `Autotask invoice <id>` found in QBO) is *not* copied; the report says so and
  names the QBO invoice. On: a new QBO invoice is created even so (a new generation in the state
  database, so a new `requestid`; it may repeat the older copy's number), the report names the
  older copy so you can void or delete it in QBO, and the marker is written again.
- `email`: extra recipients, added to `report_to` for this run.

**Refused in `start`** (nothing is read from QBO or written anywhere, no alert is sent): an id
Autotask does not have, a voided invoice, bad form input, or the invoice sync lock held by an
`atqbo_invoices` or `atqbo_sync_now` run (trigger again when it has finished). While this run holds
the lock, scheduled `atqbo_invoices` runs are skipped. A later task that fails (say QBO was
disconnected) gives the lock back and alerts `report_to`, as a failed scheduled sync does.

**Report** (always sent; in the `report` task's log, by email with a CSV, and in the run history):
its first note says whether a copy was made and names the QBO invoice. Example, with Overwrite, of an
invoice transferred before (QBO numbers invoices; email subject `[atqbo] copy invoice 29684001: 1 transferred`):

```
atqbo copy invoice 29684001
Run: atqbo_copy_invoice / manual__2026-11-21T07:58:15+00:00
Window: Autotask invoice 29684001
Counts: 1 transferred

Transferred (1)
  - INV-1001 (Autotask id 29684001), Contoso Dental -> QBO 1013 (id 1022); Autotask total 3,008.43, QBO total 3,008.43: created QBO invoice 1013, a second copy: QBO invoice INV-1001 (Id 1013), made earlier for this Autotask invoice, still exists; void or delete it in QBO if it is not wanted

Notes (2)
  - A copy was made: QBO invoice 1013 (Id 1022) was created in QBO for Autotask invoice INV-1001 (id 29684001). It is a second copy: QBO invoice INV-1001 (Id 1013) still exists; void or delete it in QBO if it is not wanted.
  - Overwrite on: a new QBO invoice even if one exists.
```

Without Overwrite, for an invoice already in QBO (subject `[atqbo] copy invoice 29684001: 1 matched`), the
first note is:

```
No copy was made: Autotask invoice INV-1001 (id 29684001) is already in QBO as QBO invoice INV-1001 (Id 1013). Trigger again with Overwrite to make a second copy.
```
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo.dags import on_sync_failure, tool_dag
from atqbo.sync.invoices.tasks import invoice_sync_tasks
from atqbo.tools.invoices import COPY_FIELDS


@tool_dag("atqbo_copy_invoice", __doc__, COPY_FIELDS)
def atqbo_copy_invoice():
    @task
    def start(params: dict | None = None) -> dict:
        """Check the form, the settings and the invoice in Autotask (exists, not voided); take the invoice sync lock."""
        from airflow.sdk import get_current_context

        from atqbo.tools.invoices import start_copy

        return start_copy(get_current_context(), params).to_xcom()

    invoice_sync_tasks(start(), on_failure_callback=on_sync_failure)


atqbo_copy_invoice()
