"""Helpers of the notification tests: the context Airflow gives a DAG's failure callback."""

from __future__ import annotations

from datetime import UTC


def airflow_dag_failure_context(
    dag_id: str = "atqbo_invoices",
    run_id: str = "scheduled__2026-11-21T00:15:00+00:00",
    task_id: str = "create_invoices",
    *,
    map_index: int = -1,
    clear_number: int = 0,
    reason: str = "task_failure",
) -> dict:
    """The context Airflow 3.3 gives a DAG on_failure_callback after a task failed, built by
    Airflow's own code the way the dag processor builds it (dag_processing/processor.py
    ``_execute_dag_callbacks``): the last failed task instance's template context plus ``reason``."""
    import uuid
    from datetime import datetime

    from airflow.sdk import DAG, task
    from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        task(task_id=task_id)(lambda: None)()
    now = datetime.now(UTC)
    dag_run = DagRun(
        dag_id=dag_id,
        run_id=run_id,
        logical_date=now,
        data_interval_start=now,
        data_interval_end=now,
        run_after=now,
        start_date=now,
        end_date=now,
        clear_number=clear_number,
        run_type="scheduled",
        state="failed",
        conf={},
        consumed_asset_events=[],
        partition_key=None,
    )
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=task_id,
        dag_id=dag_id,
        run_id=run_id,
        try_number=3,
        map_index=map_index,
        dag_version_id=uuid.uuid4(),
        task=dag.get_task(task_id),
        _ti_context_from_server=TIRunContext.model_construct(dag_run=dag_run, max_tries=2),
    )
    context = ti.get_template_context()
    context["reason"] = reason
    return context
