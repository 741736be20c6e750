"""Helpers of the DAG tests: loading a DAG for dag.test(), its task states, and the Airflow state
of a DAG run (the ``live_run`` fixture, in conftest.py, makes runs Airflow reports as running).

A DAG that reports records ends with the ``outcome`` task (``atqbo.outcome``), which fails the run
when records failed (BEY-10). The tests of the work itself look at ``work_state`` and
``task_states`` (both without that task); the BEY-10 tests look at ``outcome_state`` and ``run_note``.
"""

from __future__ import annotations

OUTCOME_TASK_ID = "outcome"


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    dag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py")).dags[dag_id]
    for task in dag.tasks:  # dag.test() would sit out the real retry delays
        task.retries = 0
    return dag


def task_states(dagrun) -> dict[str, str]:
    """The state of each task of the run but the ``outcome`` verdict (``outcome_state``)."""
    return {ti.task_id: ti.state for ti in dagrun.get_task_instances() if ti.task_id != OUTCOME_TASK_ID}


def outcome_state(dagrun) -> str | None:
    """The state of the run's ``outcome`` task: failed (records failed), skipped (warnings, or
    the run stopped before), success; None for a DAG without one."""
    return next((ti.state for ti in dagrun.get_task_instances() if ti.task_id == OUTCOME_TASK_ID), None)


def work_state(dagrun) -> str:
    """The run's state as its work tasks make it: "failed" when one of them failed, else the run's
    state ("success"), whatever the ``outcome`` verdict says about the records."""
    if any(state in ("failed", "upstream_failed") for state in task_states(dagrun).values()):
        return "failed"
    return "success" if dagrun.state == "failed" and outcome_state(dagrun) == "failed" else str(dagrun.state)


def run_note(dagrun) -> str | None:
    """The note Airflow shows for the run (read back from the metadata database)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dagrun.dag_id, DagRun.run_id == dagrun.run_id).one()
        return run.note


def set_run_state(owner: str, state: str) -> None:
    """Change the Airflow state of the run ``owner`` ("dag_id/run_id"), e.g. to "failed" (a killed run)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    dag_id, _, run_id = owner.partition("/")
    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).update({"state": state})
