"""A failed run as a failure callback sees it (``RunFailure``), and its words: the log lines, the
alert email and the Autotask to-do's description.

Built from the context Airflow passes a DAG's ``on_failure_callback``; the alert itself (who gets
it, once per failure) is ``alert``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from atqbo.notify.html_style import HTML_HEAD, S_H1, S_META, S_TABLE, S_TD, S_TH, escape, escape_lines, html_foot
from atqbo.notify.todos import MAX_TODO_DESCRIPTION_CHARS
from atqbo.notify.wording import cap_text

log = logging.getLogger(__package__)  # "atqbo.notify", one logger for the package as before its split

MAX_ERROR_CHARS = 2000  # error text in an alert; the task log has the rest
# Airflow's reasons for a failed run (models/dagrun.py, jobs/scheduler_job_runner.py), in words.
FAILURE_REASONS: dict[str, str] = {
    "task_failure": "a task failed",
    "all_tasks_deadlocked": "no task could run any more (deadlock: upstream tasks failed or were removed)",
    "timed_out": "the run took longer than its dagrun_timeout",
}
_NO_ERROR_IN_CONTEXT = "Airflow does not pass the error to a DAG's failure callback"
# What a secret looks like in an error text, whether or not Airflow's masker knows it: an
# Authorization header's value, a URL's password, and the value after a secret-sounding key.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 ***"),
    (re.compile(r"\b(Basic)\s+[A-Za-z0-9+/]{12,}={0,2}"), r"\1 ***"),
    (re.compile(r"(?i)(://[^/\s:@]+:)[^@\s/]+@"), r"\1***@"),
    (
        re.compile(
            r"(?i)\b((?:client_?)?secret|password|passwd|pwd|(?:access_|refresh_|id_)?token|api_?key|"
            r"integration_?code|apiintegrationcode|authorization)(\W{0,3}\s*[:=]\s*\W{0,2})([^\s\"',;&}\]]+)"
        ),
        r"\1\2***",
    ),
)


def redact_secrets(text: str) -> str:
    """``text`` fit for an email, a to-do or a log line: every secret Airflow's masker knows (the
    passwords and extras of the connections this process read) and anything secret-shaped (a bearer
    token, a password in a URL, ``client_secret=...``, ``"refresh_token": "..."``) replaced by ``***``."""
    if not text:
        return text
    try:
        from airflow.sdk.log import redact

        text = str(redact(text))
    except Exception:  # the masker is a help; the patterns below still apply
        pass
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class RunFailure:
    """What a failure callback knows about a failed run, in plain values."""

    dag_id: str
    run_id: str
    reason: str = ""  # Airflow's reason: task_failure, all_tasks_deadlocked, timed_out
    failed_tasks: tuple[str, ...] = ()
    error: str = ""  # the exception text when the context carries one (task-level callbacks)
    log_url: str = ""
    clear_number: int = 0  # how often the run was cleared; a cleared run that fails again is a new failure

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> RunFailure:
        """Read a DAG (or task) failure callback's context.

        Airflow 3.3 passes a DAG ``on_failure_callback`` either the full template context of the
        last failed task instance (``dag``, ``dag_run``, ``run_id``, ``ti``/``task_instance``, ...)
        plus ``reason``, or, when there is no such task instance, only ``dag``, ``run_id`` and
        ``reason`` (dag_processing/processor.py ``_execute_dag_callbacks``). Neither carries the
        exception; a task-level callback's context does (``exception``).
        """
        dag_run = context.get("dag_run")
        ti = context.get("ti") or context.get("task_instance")
        dag = context.get("dag")
        dag_id = _first_attr("dag_id", dag_run, dag, ti) or "unknown DAG"
        run_id = str(context.get("run_id") or _first_attr("run_id", dag_run, ti) or "unknown run")
        exception = context.get("exception")
        error = (
            f"{type(exception).__name__}: {exception}" if isinstance(exception, BaseException) else str(exception or "")
        )
        log_url = ""
        if ti is not None:
            try:
                log_url = str(getattr(ti, "log_url", "") or "")
            except Exception:  # the property reads Airflow config; a missing one only costs the link
                log_url = ""
        return cls(
            dag_id=str(dag_id),
            run_id=run_id,
            reason=str(context.get("reason") or ""),
            failed_tasks=tuple(_failed_task_ids(str(dag_id), run_id, ti)),
            error=cap_text(redact_secrets(error), MAX_ERROR_CHARS),
            log_url=log_url,
            clear_number=int(getattr(dag_run, "clear_number", 0) or 0),
        )

    def with_error(self, error: str) -> RunFailure:
        """This failure with ``error`` (redacted and capped) as its error text."""
        return replace(self, error=cap_text(redact_secrets(error), MAX_ERROR_CHARS))

    @property
    def alert_key(self) -> str:
        """The ledger key of this failure's alerts: one email and one to-do per key."""
        key = f"{self.dag_id}/{self.run_id}"
        return f"{key}/clear-{self.clear_number}" if self.clear_number else key

    def describe_reason(self) -> str:
        return FAILURE_REASONS.get(self.reason, self.reason or "the run failed")

    def summary_lines(self) -> list[str]:
        lines = [
            f"DAG: {self.dag_id}",
            f"Run: {self.run_id}",
            f"Why: {self.describe_reason()}",
            f"Failed task(s): {', '.join(self.failed_tasks) if self.failed_tasks else 'not known'}",
        ]
        if self.error:
            lines.append(f"Error: {self.error}")
        else:
            lines.append(f"Error: {_NO_ERROR_IN_CONTEXT}; see the task log.")
        if self.log_url:
            lines.append(f"Task log: {self.log_url}")
        return lines

    def email_subject(self) -> str:
        return f"[atqbo] {self.dag_id} run failed"

    def email_html(self, settings_problem: str = "") -> str:
        body = "".join(
            f'<tr><th style="{S_TH}background:#fde8e8;color:#8a1c1c;width:140px;">{name}</th>'
            f'<td style="{S_TD}">{value}</td></tr>'
            for name, value in self._email_fields(settings_problem)
        )
        return (
            HTML_HEAD.format(title=escape(self.email_subject()))
            + f'<h1 style="{S_H1.replace("#1f2933", "#8a1c1c")}">{escape(self.dag_id)} run failed</h1>'
            + f'<p style="{S_META}">The run stopped before finishing its work; records it did not reach are picked up '
            "by the next run once the cause is fixed.</p>"
            + f'<table style="{S_TABLE}border-left:4px solid #8a1c1c;">{body}</table>'
            + f'<p style="{S_META}">To fix: open the failed task\'s log in Airflow, correct the cause (a connection, '
            "a setting, a record), then clear the failed task to run it again.</p>"
            + html_foot("The same details are in the Airflow log of the DAG's callbacks.")
        )

    def _email_fields(self, settings_problem: str) -> list[tuple[str, str]]:
        """The alert email's table: (name, value as HTML) per line."""
        rows = [
            ("DAG", escape(self.dag_id)),
            ("Run", escape(self.run_id)),
            ("Why", escape(self.describe_reason())),
            ("Failed task(s)", escape(", ".join(self.failed_tasks)) if self.failed_tasks else "not known"),
            (
                "Error",
                '<pre style="margin:0;white-space:pre-wrap;font-family:Consolas,monospace;font-size:12px;">'
                f"{escape(self.error)}</pre>"
                if self.error
                else f"{_NO_ERROR_IN_CONTEXT}; the task log has it.",
            ),
        ]
        if self.log_url:
            rows.append(
                ("Task log", f'<a href="{escape(self.log_url)}" style="color:#1a56db;">{escape(self.log_url)}</a>')
            )
        if settings_problem:
            rows.append(("Settings", escape_lines(settings_problem)))
        return rows

    def todo_description(self, settings_problem: str = "") -> str:
        lines = [f"atqbo: {self.dag_id} run failed.", *self.summary_lines()]
        if settings_problem:
            lines.append(f"Settings problem: {settings_problem}")
        lines.append("Fix the cause, then clear the failed task in Airflow to run it again.")
        return cap_text("\n".join(lines), MAX_TODO_DESCRIPTION_CHARS)


def _first_attr(name: str, *objects: Any) -> Any:
    for obj in objects:
        value = getattr(obj, name, None) if obj is not None else None
        if value:
            return value
    return None


def _failed_task_ids(dag_id: str, run_id: str, ti: Any) -> list[str]:
    """Every failed task of the run when Airflow can tell (the callback context names only the
    last one to fail), else that last one."""
    failed: set[str] = set()
    if ti is not None and getattr(ti, "task_id", None):
        map_index = getattr(ti, "map_index", -1)
        failed.add(f"{ti.task_id}[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else str(ti.task_id))
    try:
        from airflow.sdk.execution_time import task_runner

        # Only inside an Airflow process (dag processor, task runner) is there a supervisor to ask.
        if hasattr(task_runner, "SUPERVISOR_COMMS"):
            states = task_runner.RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
            for task_id, state in (states.get(run_id) or {}).items():
                if str(getattr(state, "value", state)) == "failed":
                    failed.add(task_id)
    except Exception as exc:  # the list is a courtesy; the alert goes out without it
        log.info("Could not list the failed tasks of %s run %s (%s); naming the last one only.", dag_id, run_id, exc)
    return sorted(failed)
