"""The note of an atqbo DAG run, set when the run ends: an Airflow listener (``on_dag_run_success``
and ``on_dag_run_failed``), registered by the ``atqbo_ui`` plugin (``plugins/atqbo_ui.py``), in the process that
decides the run's state (the scheduler, or the test process of ``dag.test()``).

Airflow 3.3 gives a task no way to write its DagRun's note (the Task SDK talks to the execution
API, which has none, and a task has no access to the metadata database), so the tasks leave the
note in XCom (``atqbo.outcome.RUN_NOTE_KEY``: the counts of the report, or why the run was
skipped) and the listener copies the newest one to the run. A failed run without one gets the
failed tasks named (the failure email and the Autotask to-do carry the error). A note a person
wrote is never replaced.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)

DAG_ID_PREFIX = "atqbo_"


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    set_run_note(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    set_run_note(dag_run, failed=True)


def set_run_note(dag_run: Any, failed: bool = False) -> None:
    """Copy the run's note from its tasks' XCom to the run (never raises: a note is a convenience)."""
    if not str(getattr(dag_run, "dag_id", "")).startswith(DAG_ID_PREFIX):
        return
    try:
        _set_run_note(dag_run, failed)
    except Exception as exc:
        log.warning("Could not set the note of %s/%s: %s", dag_run.dag_id, dag_run.run_id, exc)


def _set_run_note(dag_run: Any, failed: bool) -> None:
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is not None:  # the scheduler's session: the note is committed with the run's new state
        _write_note(session, dag_run, failed)
        return
    # dag.test() hands the listener a run detached from its session: write the note in a session of its own
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as own:
        run = own.query(DagRun).filter(DagRun.dag_id == dag_run.dag_id, DagRun.run_id == dag_run.run_id).one_or_none()
        if run is not None:
            _write_note(own, run, failed)


def _write_note(session: Any, dag_run: Any, failed: bool) -> None:
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    from atqbo.outcome import RUN_NOTE_KEY, cap_note

    existing = dag_run.dag_run_note
    if existing is not None and existing.user_id and existing.content:
        return  # a person's note
    row = session.execute(
        select(XComModel)
        .where(XComModel.dag_id == dag_run.dag_id, XComModel.run_id == dag_run.run_id, XComModel.key == RUN_NOTE_KEY)
        .order_by(XComModel.timestamp.desc())
        .limit(1)
    ).scalar_one_or_none()
    note = str(XComModel.deserialize_value(row) or "") if row is not None else ""
    if not note and failed:
        failed_tasks = sorted(ti.task_id for ti in dag_run.get_task_instances(state=["failed"], session=session))
        note = (
            f"Failed: {', '.join(failed_tasks) or 'the run'} failed. The failure email and the Autotask to-do "
            "have the error; the task's log has the rest."
        )
    if note:
        dag_run.note = cap_note(note)
