"""
### atqbo: reconciliation, Autotask vs QuickBooks Online (BEY-04)

Every day at 06:00 UTC, compares every document atqbo sent in the last `window_days` days (30 by
default) as Autotask and QBO hold it now, and emails the differences with a CSV of every document
checked. **Read-only**: nothing is changed in Autotask or QBO; each difference comes with its fix.

**Documents.** Invoices: those the state database records as sent, QBO invoices dated in the
window that carry atqbo's private note `Autotask invoice {id}`, and Autotask invoices dated in the
window that carry the synced marker (`invoice_marker_field`). Bills: those recorded as sent from
purchase orders and QBO bills created in the window with the note `Autotask PO {id}`.

**Differences found.**
* missing: the QBO document deleted, the Autotask record gone, an Autotask invoice marked synced
  that QBO has no invoice of atqbo's for, or several QBO documents carrying the same note;
* total: QBO's total and Autotask's differ by more than `rounding_tolerance` (before tax when QBO
  computes the sales tax);
* void state: voided in one system only (a canceled PO counts as voided);
* paid state: QBO balance 0 but no paid date in Autotask, or a paid date in Autotask while QBO
  still shows a balance (invoices only: Autotask POs have no paid state).

**Several QBO companies** (`qbo_routes`, BEY-07). Every company's books are read with its own
connection. Each document is compared with the one in the company it went to: the realm the state
database recorded, else the company whose books carry its note, else the routes' rule (an
invoice's Autotask company, a PO's purchase-for company); QBO Ids are never matched across
companies. A live copy in another company is a drift of its own. Each row and CSV line
(`qbo_company`) names the company, the notes count each company's documents, and a company that
cannot be reached (its token revoked, its connection missing) is a failed row naming the documents
not compared and the fix; the others are compared as usual.

**Tasks.** `start` (settings and the form), `read` (both sides in bulk: Autotask `in` queries of
500 ids, QBO queries by date range and `Id IN` lists; staged in the state database),
`report` (the comparison; one row per document that differs, the counts of documents checked
and in agreement, the CSV; in the task log and by email to `report_to` plus the form's `email`,
always).

**Form** (manual runs): `window_days` (1-3650, default 30), `email` (more recipients).

**Example report** (`[atqbo] reconciliation: 44 checked, 2 with drift`; the CSV lists every document checked):

    Warnings (2)
      - invoice 1013 (Autotask id 29684010), First Up Consultants -> QBO 1013 (id 1022); Autotask total
        4,267.00, QBO total 4,292.00 (differs by 25.00): total differs by +25.00: Autotask 4267.00, QBO 4292.00
        Fix: Compare the lines of QBO invoice 1013 (Id 1022) with Autotask invoice 1013 and correct the one
        that is wrong (a changed QBO invoice is not sent again by atqbo).
      - invoice 1016 (Autotask id 29684013), Nod Publishers -> QBO 1016 (id 1025); ...: paid in full in QBO,
        not paid in Autotask: Autotask no paid date, QBO balance 0.00 of 4691.85 (paid)
        Fix: Mark it paid in Autotask: atqbo_mark_invoice_paid with invoice number 1016 and the payment's date ...
    Notes (2)
      - 44 document(s) checked (41 invoice(s), 3 bill(s) from purchase orders): 42 in agreement, 2 with drift
      - totals agree within rounding_tolerance 0.01; read-only: nothing was changed in Autotask or QBO
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, task

from atqbo import forms
from atqbo.dags import sync_dag
from atqbo.outcome import outcome_task

FIELDS = (
    forms.whole_number(
        "window_days",
        "Compare the documents sent in this many days before now (empty: 30).",
        30,
        1,
        3650,
        title="Window (days)",
    ),
    forms.emails(
        "email",
        "More email addresses for this run's report (added to report_to), one per line. Optional.",
        title="Also email the report to",
    ),
)
SCHEDULE = CronTriggerTimetable("0 6 * * *", timezone="UTC")


@sync_dag("atqbo_reconcile", __doc__, SCHEDULE, ["reconciliation"], FIELDS)
def atqbo_reconcile():
    @task
    def start() -> dict:
        """Check the form and the settings; the window is the last ``window_days`` days."""
        from airflow.sdk import get_current_context

        from atqbo.forms import read_form
        from atqbo.runs import skip_unless_configured, start_tool_run

        context = get_current_context()
        values = read_form(context["params"], FIELDS)
        skip_unless_configured()  # a fresh install: one warning saying what to set, not a failure
        run = start_tool_run(context, window_days=values["window_days"], extra_recipients=values["email"])
        print(f"Comparing the documents atqbo sent {run.describe_window()}")
        return run.to_xcom()

    @task
    def read(run: dict) -> dict:
        """Both sides of every document in the window, read in bulk and staged (no writes to either system)."""
        from atqbo.runs import RunInfo
        from atqbo.tools.reconcile.tasks import read_documents

        return read_documents(RunInfo.from_xcom(run))

    @task
    def report(run: dict, counts: dict) -> dict:
        """Compare, then log and email the report with the CSV of every document checked."""
        from atqbo.runs import RunInfo
        from atqbo.tools.reconcile.tasks import report_reconciliation

        return report_reconciliation(RunInfo.from_xcom(run))

    info = start()
    report(info, read(info)) >> outcome_task()


atqbo_reconcile()
