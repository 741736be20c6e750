"""The purchase order sync's Airflow tasks after its first one, written once for
``atqbo_purchase_orders`` (every 15 minutes) and ``atqbo_sync_po`` (one PO, TOOL-07).

The two DAGs differ only in their ``start`` task, which returns what the other tasks need::

    {"run": RunInfo.to_xcom(), "autotask_ids": [...]?, "title": "..."?, "always_email": bool?}

(explicit PO ids instead of the window, the report's title, and whether the report goes out even
when nothing happened). After it, each DAG calls ``purchase_order_sync_tasks(start())``::

    start >> extract >> load >> write_back >> report >> outcome

(``outcome``: FAILED when POs failed, see ``atqbo.outcome``).

The tasks import the sync's code when they run; this module only needs ``airflow.sdk`` when a DAG
is parsed.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import task

from atqbo.outcome import outcome_task

# The scheduled DAG's ``start`` task skips the run with this (PO-01).
PO_SYNC_PAUSED = (
    "the purchase order sync is paused: po_lookback_days is 0 in the atqbo_settings Variable (PO-01); "
    "set it above 0 to resume"
)


@task
def extract(started: dict) -> dict:
    """The eligible POs of the window (or the ids asked for), their items, vendors, products and
    currencies, staged in the ledger."""
    from atqbo.runs import RunInfo
    from atqbo.sync.purchase_orders.extract import extract_purchase_orders

    info = RunInfo.from_xcom(started["run"])
    return extract_purchase_orders(info, info.autotask(), info.ledger(), autotask_ids=started.get("autotask_ids"))


@task
def load(started: dict, extracted: dict) -> dict:
    """Adopt what QBO already has, check every PO, create vendors, items and bills."""
    from atqbo.runs import RunInfo
    from atqbo.sync.purchase_orders.load import load_purchase_orders

    info = RunInfo.from_xcom(started["run"])
    ledger = info.ledger()
    return load_purchase_orders(info, info.qbo(ledger), ledger)


@task
def write_back(started: dict, loaded: dict) -> dict:
    """External PO Number = the bill's number (or ERROR); a to-do for every failure."""
    from atqbo.runs import RunInfo
    from atqbo.sync.purchase_orders.write_back import write_back_purchase_orders

    info = RunInfo.from_xcom(started["run"])
    return write_back_purchase_orders(info, info.autotask(), info.ledger())


@task
def report(started: dict, written: dict) -> dict:
    """Email and log what the run did."""
    from atqbo.runs import RunInfo
    from atqbo.sync.purchase_orders.report import REPORT_TITLE, report_purchase_orders

    info = RunInfo.from_xcom(started["run"])
    return report_purchase_orders(
        info, info.ledger(), title=started.get("title") or REPORT_TITLE, always_email=bool(started.get("always_email"))
    )


def purchase_order_sync_tasks(started: Any) -> Any:
    """Chain extract, load, write_back, report and outcome after ``started`` (the ``start`` task's
    output); returns the report task's output."""
    extracted = extract(started)
    loaded = load(started, extracted)
    written = write_back(started, loaded)
    reported = report(started, written)
    reported >> outcome_task()
    return reported
