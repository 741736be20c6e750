"""The invoice sync's tasks after its first one, written once for every DAG that runs the sync.

``atqbo_invoices`` (every 15 minutes) and the invoice tools (``atqbo_preview_invoices``,
``atqbo_sync_now``, ``atqbo_copy_invoice``) differ only in their ``start`` task, which reads the
settings (and the tool's trigger form), stages the run's ``InvoiceScope`` and takes the invoice
sync lock (``atqbo.sync.invoices.scope.begin_invoice_run``). After it, each DAG calls
``invoice_sync_tasks(start())`` and gets the same six tasks::

    start >> extract >> transform >> load >> write_back >> report >> outcome

(``outcome``: FAILED when records failed, see ``atqbo.outcome``), so a tool is the sync itself
with another scope, never a second implementation of it. The
write-back overlaps the load (BEY-05): ``load`` writes each invoice's marker as soon as QBO has it,
and ``write_back`` writes what is left. The tasks
import the sync's code when they run; this module only needs ``airflow.sdk`` when a DAG is parsed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.sdk import task

from atqbo.outcome import outcome_task


@task
def extract(run: dict) -> dict:
    """The run's Autotask invoices (the window's unsynced ones, or the ids asked for) and what
    they reference, in bulk, staged in the state database."""
    from atqbo.runs import RunInfo
    from atqbo.sync.invoices.extract import extract_invoices

    info = RunInfo.from_xcom(run)
    return extract_invoices(info, info.autotask(), info.ledger())


@task
def transform(run: dict, extracted: dict) -> dict:
    """Plan every invoice: send, skip or error, with every INV rule applied."""
    from atqbo.runs import RunInfo
    from atqbo.sync.invoices.plan import plan_invoice_run

    info = RunInfo.from_xcom(run)
    return plan_invoice_run(info, info.ledger())


@task
def load(run: dict, planned: dict) -> dict:
    """Adopt what QBO already has (unless Overwrite asks for a second copy), create the rest:
    customers, items, invoices by batch; meanwhile write the markers of the invoices QBO has to
    Autotask (BEY-05). A dry run only looks."""
    from atqbo.runs import RunInfo
    from atqbo.sync.invoices.load import load_invoices

    info = RunInfo.from_xcom(run)
    ledger = info.ledger()
    return load_invoices(info, info.qbo(ledger), ledger, info.autotask())


@task
def write_back(run: dict, loaded: dict) -> dict:
    """Write the markers the load did not (ERROR ones, refused ones, any the load did not get to:
    the task is whole on its own, for a load that died) back to Autotask; a dry run writes nothing."""
    from atqbo.runs import RunInfo
    from atqbo.sync.invoices.write_back import write_back_markers

    info = RunInfo.from_xcom(run)
    return write_back_markers(info, info.autotask(), info.ledger())


@task
def report(run: dict, written: dict) -> dict:
    """Email and log what the run did (INV-21), then give back the invoice sync lock."""
    from atqbo.runs import RunInfo
    from atqbo.sync.invoices.report import report_invoice_run

    info = RunInfo.from_xcom(run)
    return report_invoice_run(info, info.ledger())


def invoice_sync_tasks(run: Any, on_failure_callback: Callable[[dict], None] | None = None) -> Any:
    """Chain extract, transform, load, write_back, report and outcome after ``run``, the ``start``
    task's output (``RunInfo.to_xcom()``); returns the report task's output.

    ``on_failure_callback`` goes on these five tasks, not on ``start``: the tools alert (and give
    back the lock) when their work fails, never when ``start`` refused bad input or a busy lock.
    """
    options = {"on_failure_callback": on_failure_callback} if on_failure_callback else {}
    extracted = extract.override(**options)(run)
    planned = transform.override(**options)(run, extracted)
    loaded = load.override(**options)(run, planned)
    written = write_back.override(**options)(run, loaded)
    reported = report.override(**options)(run, written)
    reported >> outcome_task()  # no callback: the report already told everyone about the records
    return reported
