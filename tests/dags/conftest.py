"""Fixtures of the DAG tests (helpers: ``dag_support``, ``tenant_support``)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def live_run(airflow_db):
    """``live_run(dag_id)`` makes a DAG run Airflow reports as running and returns its "dag_id/run_id"
    (the owner a sync lock records); ``scheduled=True`` makes a scheduled run. The runs are deleted
    after the test."""
    import pendulum
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    made: list[tuple[str, str]] = []

    def make(dag_id: str, scheduled: bool = False) -> str:
        kind = DagRunType.SCHEDULED if scheduled else DagRunType.MANUAL
        run_id = f"{kind.value}__live-{uuid.uuid4().hex[:10]}"
        now = pendulum.now("UTC")
        with create_session() as session:
            session.add(
                DagRun(
                    dag_id=dag_id,
                    run_id=run_id,
                    run_type=kind,
                    state=DagRunState.RUNNING,
                    run_after=now,
                    start_date=now,
                )
            )
        made.append((dag_id, run_id))
        return f"{dag_id}/{run_id}"

    yield make
    with create_session() as session:
        for dag_id, run_id in made:
            session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).delete()


@pytest.fixture
def ledger(state_ledger):
    """The state ledger (for the tests whose module defines ``sandbox``)."""
    return state_ledger


@pytest.fixture
def qbo(state_qbo):
    return state_qbo


@pytest.fixture
def multi_company(airflow_db, sandbox_connections, monkeypatch):
    """The sandbox on its ``multi-company`` seed (BEY-07: three QBO companies), its connections
    exported; helpers in ``tests/dags/companies_support.py``."""
    from sandbox.seeds import load_seed
    from tests.dags.tenant_support import export_connections

    sb = sandbox_connections
    sb.reset()
    sb.seed(load_seed("multi-company"))
    export_connections(sb, monkeypatch)
    return sb
