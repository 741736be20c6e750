"""The error log's Retry action in the API server (TOOL-08).

A retry re-queues the record in the ledger at once (``atqbo.tools.errors.retry.requeue``). A record whose
sync wrote an ERROR marker in Autotask (an invoice in ``invoiceNumber`` marker mode, a purchase
order) also needs that marker cleared, or the next sync would still see it as done: that is left to
the ``atqbo_retry_errors`` DAG, triggered here for that one record, so the same code clears it in a
worker and the API server never holds Autotask credentials.

Before anything is written, the DAG is checked to be known and importable: when it is not (its file
is not parsed yet, or has import errors) the retry is refused with what to do, and nothing changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from atqbo.ledger import Ledger
from atqbo.settings import Settings
from atqbo.tools.errors.retry import RetryOutcome, needs_marker_cleared, requeue
from atqbo.ui.state import ViewProblem

RETRY_DAG_ID = "atqbo_retry_errors"


class RetryRefused(ViewProblem):
    """The retry was not done; nothing was written unless ``message`` says otherwise."""

    def __init__(self, status: int, message: str, fix: str):
        super().__init__(message, fix, status)


@dataclass(frozen=True)
class RetryDone:
    error_id: int
    entity: str
    autotask_id: int
    requeued: bool
    retry_requested_at: str | None
    clears_marker: bool  # an atqbo_retry_errors run was triggered to clear the Autotask ERROR marker
    dag_id: str | None
    dag_run_id: str | None
    dag_paused: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _RetryDag:
    paused: bool


def retry_error(ledger: Ledger, settings: Settings, error_id: int, user_name: str) -> RetryDone:
    """Retry one error-log entry; ``RetryRefused`` says why not (404 / 409 / 503)."""
    entry, record = _retryable_entry(ledger, error_id)
    clears_marker = needs_marker_cleared(entry, settings)
    dag = _check_retry_dag() if clears_marker else None
    autotask_id = int(entry["autotask_id"])
    sync_record = ledger.get_sync_record(entry["entity"], autotask_id)
    if not requeue(ledger, entry):
        raise RetryRefused(
            409,
            f"error-log entry {error_id} ({record}) was resolved meanwhile: nothing to retry",
            "reload the error log",
        )
    requested_at = (ledger.get_error(error_id) or {}).get("retry_requested_at")
    run_id = _start_marker_clearing(entry, record, user_name) if clears_marker else None
    # The words the atqbo_retry_errors report uses for the same retry.
    outcome = RetryOutcome(
        error_id=error_id,
        entity=entry["entity"],
        autotask_id=autotask_id,
        requeued=True,
        marker=f"{RETRY_DAG_ID} run {run_id} clears its ERROR marker in Autotask" if run_id else "",
        message=entry["message"],
        status=sync_record["status"] if sync_record else None,
    )
    message = f"{record}: {outcome.describe()}"
    if dag is not None and dag.paused:
        message += f"; {RETRY_DAG_ID} is paused: unpause it in the Dags page so the run starts"
    return RetryDone(
        error_id=error_id,
        entity=entry["entity"],
        autotask_id=autotask_id,
        requeued=True,
        retry_requested_at=requested_at,
        clears_marker=clears_marker,
        dag_id=RETRY_DAG_ID if run_id else None,
        dag_run_id=run_id,
        dag_paused=bool(dag and dag.paused),
        message=message,
    )


def _retryable_entry(ledger: Ledger, error_id: int) -> tuple[dict[str, Any], str]:
    """The entry and how messages name its record; ``RetryRefused`` when there is nothing to retry."""
    entry = ledger.get_error(error_id)
    if entry is None:
        raise RetryRefused(404, f"error-log entry {error_id} does not exist", "reload the error log")
    record = f"{entry['entity']} {entry['autotask_id'] if entry.get('autotask_id') is not None else '(run-level)'}"
    if entry.get("resolved_at"):
        raise RetryRefused(
            409, f"error-log entry {error_id} ({record}) is already resolved: nothing to retry", "reload the error log"
        )
    if entry.get("autotask_id") is None:
        raise RetryRefused(
            409,
            f"error-log entry {error_id} is a run-level error and names no record to re-queue",
            "fix what it says; the next run tries again",
        )
    return entry, record


def _start_marker_clearing(entry: dict[str, Any], record: str, user_name: str) -> str:
    """Trigger the retry DAG for this one record (it clears the ERROR marker); its run id."""
    autotask_id = int(entry["autotask_id"])
    conf = {"entity": entry["entity"], "autotask_ids": [autotask_id]}
    try:
        return _trigger_retry_dag(conf, user_name, f"Retry from the atqbo error log: {record} (entry {entry['id']})")
    except Exception as exc:  # the DAG vanished between the check and the trigger, or refused the conf
        reason = (str(exc).strip().splitlines() or [""])[0][:300]
        raise RetryRefused(
            503,
            f"{record} was re-queued in the ledger, but the {RETRY_DAG_ID} run that clears "
            f"its ERROR marker in Autotask could not be started ({type(exc).__name__}: {reason})",
            f"trigger {RETRY_DAG_ID} with entity {entry['entity']!r} and autotask_ids "
            f"[{autotask_id}] from the Dags page",
        ) from None


def _check_retry_dag() -> _RetryDag:
    """The retry DAG can be triggered now; else ``RetryRefused`` (503) before anything is written."""
    from airflow.models.dag import DagModel
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session

    fix = (
        f"wait until the DAG processor has parsed dags/{RETRY_DAG_ID}.py (it shows in the Dags list), "
        "then retry; nothing was changed"
    )
    with create_session() as session:
        dag_model = DagModel.get_current(RETRY_DAG_ID, session=session)
        if dag_model is None or dag_model.is_stale:
            raise RetryRefused(
                503,
                f"the {RETRY_DAG_ID} DAG that clears ERROR markers in Autotask is not in Airflow "
                "(not parsed yet, or its file is missing)",
                fix,
            )
        if dag_model.has_import_errors:
            raise RetryRefused(
                503,
                f"the {RETRY_DAG_ID} DAG has import errors",
                "fix them (they show in the Dags list), then retry; nothing was changed",
            )
        if DBDagBag().get_latest_version_of_dag(RETRY_DAG_ID, session=session) is None:
            raise RetryRefused(503, f"the {RETRY_DAG_ID} DAG is not serialized yet", fix)
        return _RetryDag(paused=bool(dag_model.is_paused))


def _trigger_retry_dag(conf: dict[str, Any], user_name: str, note: str) -> str:
    """Queue a manual run of the retry DAG, as the Dags page's Trigger button does; its run id."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    with create_session() as session:
        run = trigger_dag(
            RETRY_DAG_ID,
            triggered_by=DagRunTriggeredByType.UI,
            triggering_user_name=user_name,
            conf=conf,
            note=note,
            session=session,
        )
        if run is None:
            raise RuntimeError("no run was created")
        return str(run.run_id)
