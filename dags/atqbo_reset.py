"""
### atqbo tool: reset a stuck sync (TOOL-09)

The vendor's "clears the internal processing status so that processing can resume", for when a
sync seems stuck: a run killed mid-way (worker lost, task marked failed while it ran) can leave a
lock that makes the next runs wait, or records marked in progress. This tool clears what no live
run owns and keeps what one does, and reports exactly which is which.

**Form.** None: trigger it.

**What it clears** (in the state database, `atqbo_state`):
- *Run locks* (`atqbo_run_locks`). A sync lock (`invoice_sync`, `purchase_order_sync`; its owner is
  the run, `dag_id/run_id`) is cleared when that run is no longer queued or running in Airflow,
  or the lock has expired. A lock whose run is still live is **kept**, and the report says so: if
  that run is really stuck, mark it failed in Airflow, then run this tool again. A failure-alert
  lock (`atqbo_alert:...`, held by a failure callback while it sends one alert) is cleared only
  once expired (10 minutes): no Airflow run stands for it.
- *In-progress records* (`IN_PROGRESS` in `atqbo_sync_records`: a QBO write was about to be sent)
  whose run is no longer queued or running go back to `PENDING`. Safe: before creating anything,
  every sync adopts what QBO already has (atqbo's PrivateNote `Autotask invoice {id}` /
  `Autotask PO {id}`; a void reads the QBO invoice first), so a write that went through is found,
  not made twice, and one that did not is sent by the next run.

Not touched: the QBO token refresh lease (it expires by itself after 150 s, and clearing it during
a refresh could lose QBO's rotated token), the error log (see `atqbo_retry_errors`). If Airflow
does not report this very run as running, the tool cannot tell live runs from dead ones and
clears nothing.

**Example report** (task log and email to `report_to`, subject `[atqbo] reset: cleared 1, kept 1`):

```
atqbo reset
Run: atqbo_reset / manual__2026-03-02T12:40:00+00:00
Counts: no records

Notes (3)
  - Cleared 1 lock(s) and reset 0 in-progress record(s); kept 1.
  - Cleared lock invoice_sync (atqbo_invoices/scheduled__2026-03-02T11:45:00+00:00): its run atqbo_invoices / scheduled__2026-03-02T11:45:00+00:00 is no longer queued or running in Airflow
  - Kept lock purchase_order_sync (atqbo_purchase_orders/scheduled__2026-03-02T12:30:00+00:00): its run atqbo_purchase_orders / scheduled__2026-03-02T12:30:00+00:00 is still queued or running in Airflow; if that run is stuck, mark it failed in Airflow, then run atqbo_reset again
```
"""

from __future__ import annotations

from datetime import UTC

from airflow.sdk import task

from atqbo.dags import tool_dag


@tool_dag("atqbo_reset", __doc__)
def atqbo_reset():
    @task
    def start() -> dict:
        """Read the settings (where the state database is)."""
        from airflow.sdk import get_current_context

        from atqbo.runs import start_tool_run

        run = start_tool_run(get_current_context())
        run.ledger().create_schema()
        return run.to_xcom()

    @task
    def reset(run: dict) -> dict:
        """Clear stale locks and in-progress records; keep a live run's; report each."""
        from datetime import datetime

        from atqbo.locks import lock_owner_active
        from atqbo.runs import RunInfo
        from atqbo.tools.reset import build_reset_report, reset_stuck_sync

        info = RunInfo.from_xcom(run)
        ledger = info.ledger()
        findings = reset_stuck_sync(ledger, info.run_key, datetime.now(UTC), lock_owner_active)
        info.publish(build_reset_report(info.dag_id, info.run_id, findings), ledger)
        return {
            "cleared": sum(f.cleared for f in findings),
            "kept": sum(not f.cleared for f in findings),
        }

    reset(start())


atqbo_reset()
