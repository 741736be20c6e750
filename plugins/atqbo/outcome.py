"""What a run's outcome looks like in Airflow itself (BEY-10, "operations at a glance"): the grid,
the run list, the run's note, the log at WARNING, and the metrics.

- ``publish_outcome`` (called by ``RunInfo.publish`` after the report went out): the records that
  failed or warned are logged at WARNING, their counts sent as metrics, and the task leaves for
  the ``outcome`` task and the run's note the counts and a short note ("12 transferred, 2 failed,
  1 skipped", then the failed records).
- ``outcome_task``: the last task of every DAG that reports records. It ends FAILED, without a
  retry (``AirflowFailException``), when records failed; SKIPPED when records only warned (or a
  dry run would fail some); SUCCESS when all went well. So a run with failed records is red in the
  grid and the run list and a run with warnings shows a skipped last task. The failure callback
  of the syncs (``atqbo.notify.alert``) sends no alert for it: the report said it all already.
- ``skip_run``: a run stopped at once (a switch off, the lock held, the settings not set): one
  WARNING, the reason as the run's note, a metric, then ``AirflowSkipException``.

A task cannot write its DagRun's note in Airflow 3.3 (the Task SDK's execution API has no call for
it); the task leaves the note in XCom (``RUN_NOTE_KEY``) and ``atqbo.run_notes``, a listener in
the scheduler (and in ``dag.test()``), copies it to the run when the run ends.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import task

from atqbo.hooks.metrics import record_counts, run_skipped

if TYPE_CHECKING:
    from atqbo.notify.report import ReportRow, RunReport

log = logging.getLogger(__name__)

RUN_NOTE_KEY = "atqbo_run_note"  # XCom: the run's note, copied to the DagRun when it ends
OUTCOME_KEY = "atqbo_outcome"  # XCom: {"counts": {...}, "dry_run": bool, "note": str}
OUTCOME_TASK_ID = "outcome"
MAX_NOTE_CHARS = 1000  # the note column's size in Airflow's metadata database
MAX_NOTE_RECORDS = 5  # failed (or warned) records named in a note; the report has all of them


def run_note(report: RunReport) -> str:
    """The run's note: its counts, then the failed records (or, when none failed, the warned ones)."""
    counts = report.describe_counts() if report.rows else "Nothing to do: no records"
    lines = [f"{'Dry run: ' if report.dry_run else ''}{counts}" + (f" ({report.headline})" if report.headline else "")]
    failed, warned = report.rows_by_outcome("failed"), report.rows_by_outcome("warning")
    shown = failed or warned
    if shown:
        lines.append("")
        lines += [
            f"- {'failed' if row.outcome == 'failed' else 'warning'}: {_row_text(row)}"
            for row in shown[:MAX_NOTE_RECORDS]
        ]
        if len(shown) > MAX_NOTE_RECORDS:
            lines.append(f"- and {len(shown) - MAX_NOTE_RECORDS} more: see the report")
    return cap_note("\n".join(lines))


def cap_note(text: str) -> str:
    return text if len(text) <= MAX_NOTE_CHARS else text[: MAX_NOTE_CHARS - 1].rstrip() + "…"


def _row_text(row: ReportRow) -> str:
    name = row.reference or (f"Autotask id {row.autotask_id}" if row.autotask_id is not None else row.entity)
    text = f"{name}: {row.reason}" if row.reason else name
    return f"{text} (fix: {row.fix})" if row.fix and row.outcome == "failed" else text


def publish_outcome(report: RunReport) -> None:
    """After a report went out: log its failed and warned records at WARNING, send its counts as
    metrics, and leave the note and the counts for the run's note and its ``outcome`` task."""
    counts = {outcome: n for outcome, n in report.counts().items() if n}
    failed, warned = report.rows_by_outcome("failed"), report.rows_by_outcome("warning")
    if failed:
        log.warning(
            "%d record(s) %s:\n%s",
            len(failed),
            "would fail (dry run)" if report.dry_run else "failed",
            "\n".join(f"  - {_row_text(row)}" for row in failed),
        )
    if warned:
        log.warning("%d warning(s):\n%s", len(warned), "\n".join(f"  - {_row_text(row)}" for row in warned))
    if not report.dry_run:
        record_counts(report.dag_id, counts)
    note = run_note(report)
    push_xcom(OUTCOME_KEY, {"counts": counts, "dry_run": report.dry_run, "note": note})
    push_xcom(RUN_NOTE_KEY, note)


def skip_run(message: str, dag_id: str | None = None) -> NoReturn:
    """Stop this run here: one WARNING with ``message``, the message as the run's note, a metric;
    this task and the ones after it are skipped (``AirflowSkipException``)."""
    from airflow.sdk.exceptions import AirflowSkipException

    log.warning("Skipped: %s", message)
    push_xcom(RUN_NOTE_KEY, cap_note(f"Skipped: {message}"))
    run_skipped(dag_id or _current_dag_id() or "unknown")
    raise AirflowSkipException(message)


def push_xcom(key: str, value: Any) -> None:
    """Push ``value`` under ``key`` from the running task; outside a task (a test calling the code
    directly) there is nowhere to push it, and nothing to do."""
    try:
        from airflow.sdk import get_current_context

        ti = get_current_context()["ti"]
    except Exception:
        return
    try:
        ti.xcom_push(key=key, value=value)
    except Exception as exc:  # the note is a convenience: the report went out already
        log.warning("Could not leave the run's %s for its note: %s", key, exc)


def _current_dag_id() -> str | None:
    try:
        from airflow.sdk import get_current_context

        return get_current_context()["dag_run"].dag_id
    except Exception:
        return None


def judge_outcome(outcome: dict[str, Any] | None) -> tuple[str, str]:
    """("success" | "skipped" | "failed", why) for what ``publish_outcome`` left."""
    if not outcome:
        return "success", "the run reported no records"
    counts = outcome.get("counts") or {}
    note = str(outcome.get("note") or "")
    if counts.get("failed") and not outcome.get("dry_run"):
        return "failed", note
    if counts.get("failed") or counts.get("warning"):
        return "skipped", note
    return "success", note


@task(task_id=OUTCOME_TASK_ID)  # no retry either way: AirflowFailException fails it for good
def outcome_task(report_task_id: str = "report") -> str:
    """The run's verdict on its records, the last task: FAILED (no retry) when records failed,
    SKIPPED when they only warned, SUCCESS otherwise. No alert: the report went out already."""
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    ti = get_current_context()["ti"]
    verdict, why = judge_outcome(ti.xcom_pull(task_ids=report_task_id, key=OUTCOME_KEY))
    if verdict == "failed":
        log.warning("Records failed; the report (email, CSV, error log) says which and how to fix them:\n%s", why)
        raise AirflowFailException(f"records failed: {why.splitlines()[0]}. The report says which and how to fix them")
    if verdict == "skipped":
        log.warning("Records need a look (warnings); the report says which:\n%s", why)
        raise AirflowSkipException(f"warnings: {why.splitlines()[0]}")
    log.info("All records went well: %s", why.splitlines()[0] if why else "nothing to report")
    return why
