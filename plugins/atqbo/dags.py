"""How atqbo's DAGs are declared: the ``@dag`` decorators of the scheduled syncs and of the operator
tools, their default arguments (task retries, the retry policy), and the syncs' failure callback.

DAG files import this module when they are parsed, so it imports only ``airflow.sdk``, pendulum
and what the forms need; everything else is imported when a run fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule, dag

from atqbo.forms import Field, form_params
from atqbo.locks import INVOICE_SYNC_LOCK

log = logging.getLogger(__name__)

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

# A task retried with the same settings and credentials fails the same way: fail at once and let
# the failure email and to-do say what to fix (ERR-06: one clear error, no noise). Named by path so
# DAG files need not import the hooks when they are parsed.
NOT_RETRYABLE = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=[
                "atqbo.exceptions.AtqboConfigError",
                "atqbo.hooks.autotask.AutotaskAuthError",
                "atqbo.hooks.qbo.QboAuthError",
            ],
            action=RetryAction.FAIL,
            reason="settings or credentials are wrong: retrying cannot help",
        )
    ]
)


def on_task_failure(context: dict[str, Any]) -> None:
    """A sync task's on_failure_callback (after its last try): keep its error, redacted, for the
    run's failure alert, which Airflow does not give the error (``atqbo.notify.alert``)."""
    from atqbo.notify.alert import remember_task_error

    remember_task_error(context)


# Retries of a whole task (the hooks already retry single calls): two more tries, a few minutes apart.
# A task that fails for good keeps its error for the run's failure alert (``on_task_failure``).
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "atqbo",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=15),
    "retry_policy": NOT_RETRYABLE,
    "on_failure_callback": on_task_failure,
}

# The operator tools (manual DAGs): a person is watching, so a failure shows at once rather than
# after retries minutes apart; the tools are safe to trigger again (they reuse the syncs' exactly-once).
# A tool alerts (if at all) from its tasks' own callbacks, which get the error: nothing to keep.
TOOL_DEFAULT_ARGS: dict[str, Any] = {
    **{k: v for k, v in DEFAULT_ARGS.items() if k != "on_failure_callback"},
    "retries": 0,
}


def sync_dag(
    dag_id: str, doc_md: str | None, schedule: Any, tags: Iterable[str], fields: Iterable[Field]
) -> Callable[[Callable[..., Any]], Any]:
    """The ``@dag`` decorator of a scheduled atqbo DAG (the syncs, the reconciliation): on
    ``schedule`` from 2026 without catch-up, one run at a time, retried (``DEFAULT_ARGS``), a
    failure emailed and made an Autotask to-do (``on_sync_failure``), the trigger form from ``fields``."""
    return _atqbo_dag(dag_id, doc_md, schedule, tags, DEFAULT_ARGS, fields, on_failure_callback=on_sync_failure)


def tool_dag(dag_id: str, doc_md: str | None, fields: Iterable[Field] = ()) -> Callable[[Callable[..., Any]], Any]:
    """The ``@dag`` decorator of an operator tool: manual (``schedule=None``), one run at a time,
    not retried behind the operator's back (``TOOL_DEFAULT_ARGS``), tagged ``tools``, its trigger
    form built from ``fields``. The DAG file keeps its doc, its form and its tasks."""
    return _atqbo_dag(dag_id, doc_md, None, ["tools"], TOOL_DEFAULT_ARGS, fields)


def _atqbo_dag(
    dag_id: str,
    doc_md: str | None,
    schedule: Any,
    tags: Iterable[str],
    default_args: dict[str, Any],
    fields: Iterable[Field],
    **more: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """What every atqbo DAG is: from 2026 without catch-up, one run at a time, tagged atqbo."""
    return dag(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        doc_md=doc_md,
        tags=["atqbo", *tags],
        default_args=default_args,
        params=form_params(fields),
        **more,
    )


def on_sync_failure(context: dict[str, Any]) -> None:
    """A sync DAG's on_failure_callback; the alerting code is imported only when a run fails.

    A failed run first gives back the invoice sync lock if it holds it (never another run's), so
    the next run need not wait to take it over.
    """
    from atqbo.ledger import Ledger
    from atqbo.notify import load_alert_settings, notify_run_failure

    dag_run, dag = context.get("dag_run"), context.get("dag")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(dag, "dag_id", None)
    run_id = context.get("run_id") or getattr(dag_run, "run_id", None)
    if dag_id and run_id:
        try:
            ledger = Ledger.from_conn_id(load_alert_settings()[0].state_conn_id)
            try:
                ledger.create_schema()  # a run that failed before its first task made the tables
                ledger.release_run_lock(INVOICE_SYNC_LOCK, f"{dag_id}/{run_id}")
            finally:
                ledger.close()
        except Exception as exc:  # the alert matters more; a lock of a finished run is taken over anyway
            log.warning("Could not release the %r lock of %s/%s: %s", INVOICE_SYNC_LOCK, dag_id, run_id, exc)
    notify_run_failure(context)
