"""A failed run as the failure callback reads it from Airflow's context, and its alert email."""

from __future__ import annotations

from types import SimpleNamespace

from atqbo.notify import MAX_ERROR_CHARS, RunFailure
from tests.notify.failure_support import airflow_dag_failure_context
from tests.notify.html_support import parse_html


def _full_context(**extra):
    return {**airflow_dag_failure_context(), **extra}


def test_failure_context_of_a_dag_callback_is_read():
    failure = RunFailure.from_context(_full_context())
    assert failure.dag_id == "atqbo_invoices"
    assert failure.run_id == "scheduled__2026-11-21T00:15:00+00:00"
    assert failure.failed_tasks == ("create_invoices",)
    assert failure.describe_reason() == "a task failed"
    assert failure.log_url.endswith(
        "/dags/atqbo_invoices/runs/scheduled__2026-11-21T00%3A15%3A00%2B00%3A00/tasks/create_invoices?try_number=3"
    )
    assert failure.error == ""
    assert failure.alert_key == "atqbo_invoices/scheduled__2026-11-21T00:15:00+00:00"
    assert "Error: Airflow does not pass the error" in "\n".join(failure.summary_lines())


def test_failure_context_without_a_task_instance_is_read():
    # What Airflow passes when no task instance caused the failure (e.g. a run timeout).
    context = {"dag": SimpleNamespace(dag_id="atqbo_invoices"), "run_id": "manual__1", "reason": "timed_out"}
    failure = RunFailure.from_context(context)
    assert (failure.dag_id, failure.run_id, failure.failed_tasks) == ("atqbo_invoices", "manual__1", ())
    assert failure.describe_reason() == "the run took longer than its dagrun_timeout"
    assert "Failed task(s): not known" in failure.summary_lines()


def test_failure_of_a_cleared_run_is_a_new_alert_key():
    context = airflow_dag_failure_context(clear_number=2)
    assert RunFailure.from_context(context).alert_key.endswith("+00:00/clear-2")


def test_failure_error_text_is_capped_and_mapped_tasks_are_named():
    # A task-level on_failure_callback's context carries the exception; the same function serves it.
    context = {**airflow_dag_failure_context(map_index=4), "exception": ValueError("x" * 10_000)}
    failure = RunFailure.from_context(context)
    assert failure.error.startswith("ValueError: xxx")
    assert len(failure.error) <= MAX_ERROR_CHARS and failure.error.endswith("(cut)")
    assert failure.failed_tasks == ("create_invoices[4]",)
    assert len(failure.todo_description()) <= 4000


def test_failure_email_html_escapes_the_error():
    failure = RunFailure.from_context(_full_context(exception=RuntimeError("customer <Acme & Co> refused")))
    html_text = failure.email_html(settings_problem="report_to: got 5")
    parse_html(html_text)
    assert "&lt;Acme &amp; Co&gt;" in html_text and "<Acme" not in html_text
    assert "report_to: got 5" in html_text
