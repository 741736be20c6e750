"""Shared by the tool DAGs' tests: loading a DAG for dag.test(), task states, and DAG runs that
Airflow reports as live (real rows in the metadata DB), for the lock and reset tests."""

from __future__ import annotations

import uuid

import pytest


def load_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS_DIR

    dag = DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py")).dags[dag_id]
    for task in dag.tasks:  # dag.test() would sit out the real retry delays
        task.retries = 0
    return dag


def states(dagrun) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dagrun.get_task_instances()}


@pytest.fixture
def live_run(airflow_db):
    """``live_run(dag_id)`` makes a DAG run Airflow reports as running and returns its "dag_id/run_id"
    (the owner a sync lock records); the runs are deleted after the test."""
    import pendulum
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    made: list[tuple[str, str]] = []

    def make(dag_id: str) -> str:
        run_id = f"manual__live-{uuid.uuid4().hex[:10]}"
        with create_session() as session:
            session.add(DagRun(dag_id=dag_id, run_id=run_id, run_type=DagRunType.MANUAL, state=DagRunState.RUNNING,
                               run_after=pendulum.now("UTC")))  # fmt: skip
        made.append((dag_id, run_id))
        return f"{dag_id}/{run_id}"

    yield make
    with create_session() as session:
        for dag_id, run_id in made:
            session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).delete()


def set_run_state(owner: str, state: str) -> None:
    """Change the Airflow state of the run ``owner`` ("dag_id/run_id"), e.g. to "failed" (a killed run)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    dag_id, _, run_id = owner.partition("/")
    with create_session() as session:
        session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).update({"state": state})
