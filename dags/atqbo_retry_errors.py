"""
### atqbo tool: the error log, and retry after a fix (TOOL-08)

The vendor's "View logs to troubleshoot" and its Retry button. Every failure a sync records is
kept in the state database's error log with its entity, Autotask id, QBO id, message, fix, the
time it last occurred and how many attempts failed that way (and, for an invoice, the QBO company
it went to: several with `qbo_routes`, BEY-07); an entry closes when its record is transferred. This tool lists the open entries and, for the records named in `autotask_ids`,
re-queues them so that the next sync run sends them again.

**Form.**
- `entity`: `all` (default), `invoice`, `invoice_void`, `payment` or `purchase_order`.
- `since`: only entries that last occurred on or after this day (YYYY-MM-DD, UTC; empty: all).
- `qbo_company`: only entries of this QBO company, its Airflow connection id (empty or `all`:
  every company; another than the install's or the log's is refused naming them, BEY-07).
- `autotask_ids`: the records to retry, after fixing what their errors say (empty: only list).

**Tasks.**
1. `list_errors`: reads the form and the settings, and writes the open entries matching
   `entity`, `since` and `qbo_company` to its log (id, entity, Autotask id, QBO company when known, message,
   fix, time, attempts).
2. `retry`: for each id in `autotask_ids` with an open entry matching the filters: asks for a
   retry in the error log, sets the record's status in the state database back from ERROR to
   PENDING (a payment stays ERROR: the payment sync retries those at every run), and clears the
   `ERROR` marker in Autotask (an invoice's number in `invoiceNumber` marker mode, a PO's External
   PO Number). Then the next run sends the record again: `atqbo_invoices` sends even an invoice
   it skipped since it failed with unchanged content (webServiceDate mode), `atqbo_purchase_orders`
   a PO again inside its look-back (`atqbo_sync_po` any PO). An id without an open entry is
   reported as such; nothing is sent to QBO by this tool. The report lists the entries (after the
   retries) as `failed` rows, one per entry, with a note per retry, in the task log and by email
   to `report_to`.

**Example report** (after a PO run with two failures, `autotask_ids` [39600003]; email subject
`[atqbo] error log: 2 failed`; message and fix shortened here):

```
atqbo error log
Run: atqbo_retry_errors / manual__2026-03-02T12:44:08.455075+00:00
Counts: 2 failed

Failed (2)
  - error #2 (1 attempt(s), last 2026-03-02T12:44:07.433365Z, retry requested 2026-03-02T12:44:09.073872Z) (Autotask id 39600003): Autotask PO 39600003 (vendor Contoso Dental): the vendor cannot be created in QBO because QBO customer 'Contoso Dental' (Id 58) already uses the name ... (PO-03)
    Fix: rename the QBO customer (e.g. 'Contoso Dental (customer)') or the Autotask organization; then clear ERROR ...
  - error #1 (1 attempt(s), last 2026-03-02T12:44:07.432491Z) (Autotask id 39600004): Autotask PO 39600004 (vendor Ingram Micro): the QBO item 'Remote Support' (Id 11) for product 'Remote Support' is not purchasable ... (PO-05)
    Fix: edit the item in QBO: tick 'I purchase this product/service from a vendor' and choose an expense account; ...

Notes (2)
  - Open error-log entries: 2 (entity all).
  - Retry of purchase_order 39600003 (error #2): re-queued; the next atqbo_purchase_orders (or atqbo_sync_po for one created before the look-back) run sends it again; cleared ERROR from its externalPONumber in Autotask.
```
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo.dags import tool_dag
from atqbo.tools.errors.entries import RETRY_FIELDS


@tool_dag("atqbo_retry_errors", __doc__, RETRY_FIELDS)
def atqbo_retry_errors():
    @task
    def list_errors(params: dict | None = None) -> dict:
        """Read the form and the settings; write the open error-log entries matching the filters to the log."""
        from airflow.sdk import get_current_context

        from atqbo.forms import read_form
        from atqbo.runs import start_tool_run
        from atqbo.tools.errors.entries import chosen_company, describe_filters, select_entries
        from atqbo.tools.errors.report import format_entries

        form = read_form(params, RETRY_FIELDS)
        run = start_tool_run(get_current_context())
        ledger = run.ledger()
        ledger.create_schema()
        entity = None if form["entity"] == "all" else form["entity"]
        company = chosen_company(form["qbo_company"], ledger, run.parsed_settings)
        entries = select_entries(ledger, entity, form["since"], qbo_company=company)
        print(format_entries(entries, describe_filters(entity, form["since"], company)))
        since = form["since"].isoformat() if form["since"] else None
        return {
            "run": run.to_xcom(),
            "entity": entity,
            "since": since,
            "qbo_company": company,
            "autotask_ids": form["autotask_ids"],
        }

    @task
    def retry(listed: dict) -> dict:
        """Re-queue the records asked for (entry, ledger status, Autotask marker); report the log."""
        from datetime import date

        from atqbo.runs import RunInfo
        from atqbo.tools.errors.entries import describe_filters, select_entries, unmatched_ids
        from atqbo.tools.errors.report import build_error_log_report
        from atqbo.tools.errors.retry import needs_marker_cleared, retry_entries

        info = RunInfo.from_xcom(listed["run"])
        ledger = info.ledger()
        settings = info.parsed_settings
        entity, ids, company = listed["entity"], listed["autotask_ids"], listed.get("qbo_company")
        since = date.fromisoformat(listed["since"]) if listed["since"] else None
        outcomes, unmatched = [], []
        if ids:
            chosen = select_entries(ledger, entity, since, ids, qbo_company=company)
            autotask = info.autotask() if any(needs_marker_cleared(e, settings) for e in chosen) else None
            outcomes = retry_entries(ledger, settings, chosen, autotask)
            unmatched = unmatched_ids(ids, chosen)
            for outcome in outcomes:
                print(f"error #{outcome.error_id} ({outcome.entity} {outcome.autotask_id}): {outcome.describe()}")
        entries = select_entries(ledger, entity, since, qbo_company=company)
        report = build_error_log_report(
            info.dag_id, info.run_id, entries, describe_filters(entity, since, company), outcomes, unmatched
        )
        info.publish(report, ledger)
        return {"open": len(entries), "requeued": sum(o.requeued for o in outcomes), "unmatched": len(unmatched)}

    retry(list_errors())


atqbo_retry_errors()
