"""
### atqbo tool: sync one purchase order (TOOL-07)

Sends one Autotask purchase order to QuickBooks Online (QBO) as a bill now, with the current
`atqbo_settings`, as the vendor's "Sync one PO" did. It runs the purchase order sync's own steps
(`extract`, `load`, `write_back`, `report` of `atqbo_purchase_orders`) over that one PO, so the
bill is the one the scheduled run would have made, exactly once, whatever the PO's creation date
(the look-back window does not apply, and `po_lookback_days` 0, which pauses the scheduled sync,
does not stop this tool).

**Form.**
- `autotask_po_id` (required): the Autotask purchase order's id.
- `email`: alternate email(s) for the report; they *replace* `report_to` for this run (empty:
  `report_to`).

**What it does with the PO.**
- *Submitted*, External PO Number blank: sent (vendor and items found or created, PO-02..06),
  External PO Number = the bill's number (PO-07). A failure is reported with its fix, logged in
  the error log, marked `ERROR` and gets a to-do (PO-08), as in the scheduled sync.
- External PO Number `ERROR` (an earlier attempt failed): asking for it is asking to try again,
  so it is sent as above (the report has a note saying so).
- External PO Number holds a number: it was transferred. The report names its bill (found by the
  state database, atqbo's PrivateNote or the bill number) and nothing is created or written.
- Any other status (New, Received, Canceled): refused with the reason; nothing is written.
- An id Autotask does not have: the `extract` task fails with an error naming the id; nothing is
  sent, written or emailed.

Bills are created under the ledger lock `purchase_order_sync`, shared with the scheduled sync, so
the two never create a bill for the same PO at once. While another run holds it, `load` fails
saying which run (trigger again when it has finished; a lock left by a run that is over is taken
over). The report always goes out: in the `report` task's log and by email.

**Example report** (a PO that failed before and was fixed; email subject
`[atqbo] sync one PO: 1 transferred`):

```
atqbo sync one PO
Run: atqbo_sync_po / manual__2026-03-02T12:44:09.191853+00:00
Counts: 1 transferred

Transferred (1)
  - PO 39600003 (Autotask id 39600003), Contoso Dental -> QBO id 1004; Autotask total 899.00, QBO total 899.00: created QBO bill 1004

Notes (1)
  - Autotask PO 39600003 (vendor Contoso Dental) had ERROR in its External PO Number (an earlier attempt failed, see the error log): sent again, as asked.
```
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo.dags import tool_dag
from atqbo.sync.purchase_orders.tasks import purchase_order_sync_tasks
from atqbo.tools.purchase_orders import SYNC_PO_FIELDS


@tool_dag("atqbo_sync_po", __doc__, SYNC_PO_FIELDS)
def atqbo_sync_po():
    @task
    def start(params: dict | None = None) -> dict:
        """Read the form and the settings (the PO sync's to-do settings are required, PO-08)."""
        from airflow.sdk import get_current_context

        from atqbo.tools.purchase_orders import start_sync_po

        return start_sync_po(get_current_context(), params)

    purchase_order_sync_tasks(start())


atqbo_sync_po()
