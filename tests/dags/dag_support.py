"""Helpers of the DAG tests: loading a DAG for dag.test(), its task states, and the Airflow state
of a DAG run (the ``live_run`` fixture, in conftest.py, makes runs Airflow reports as running)."""

from __future__ import annotations


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    dag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py")).dags[dag_id]
    for task in dag.tasks:  # dag.test() would sit out the real retry delays
        task.retries = 0
    return dag


def task_states(dagrun) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dagrun.get_task_instances()}


def set_run_state(owner: str, state: str) -> None:
    """Change the Airflow state of the run ``owner`` ("dag_id/run_id"), e.g. to "failed" (a killed run)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    dag_id, _, run_id = owner.partition("/")
    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).update({"state": state})
