"""What every sync DAG does the same way: its run's settings, window and run key.

The first task of a sync calls ``start_run`` with the Airflow context; it validates the settings
(with the trigger form's overrides), computes the window from the data interval widened by the
look-back, and returns a small JSON-able ``RunInfo`` that the other tasks receive through XCom
and turn back into objects with ``RunInfo.from_xcom``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

from atqbo.exceptions import AtqboError
from atqbo.settings import Settings, load_settings

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.notify import RunReport

# A task retried with the same settings and credentials fails the same way: fail at once and let
# the failure email and to-do say what to fix (ERR-06: one clear error, no noise). Named by path so
# DAG files need not import the hooks when they are parsed.
NOT_RETRYABLE = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=[
                "atqbo.exceptions.AtqboConfigError",
                "atqbo.hooks.autotask.AutotaskAuthError",
                "atqbo.hooks.qbo.QboAuthError",
            ],
            action=RetryAction.FAIL,
            reason="settings or credentials are wrong: retrying cannot help",
        )
    ]
)

# Retries of a whole task (the hooks already retry single calls): two more tries, a few minutes apart.
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "atqbo",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=15),
    "retry_policy": NOT_RETRYABLE,
}

# The operator tools (manual DAGs): a person is watching, so a failure shows at once rather than
# after retries minutes apart; the tools are safe to trigger again (they reuse the syncs' exactly-once).
TOOL_DEFAULT_ARGS: dict[str, Any] = {**DEFAULT_ARGS, "retries": 0}

# Ledger run lock held by every run that creates invoices (atqbo_invoices, atqbo_sync_now,
# atqbo_copy_invoice): one at a time, the owner being the run's key ("dag_id/run_id").
INVOICE_SYNC_LOCK = "invoice_sync"
LOCKED_WORK = {INVOICE_SYNC_LOCK: "create invoices", "purchase_order_sync": "create bills"}  # for messages
SYNC_LOCK_TTL_S = 6 * 3600.0  # a lock outlives a killed run by at most this (atqbo_reset clears it sooner)


@dataclass(frozen=True)
class RunInfo:
    dag_id: str
    run_id: str
    run_key: str  # key of this run's staged data in the ledger (dag_id + run_id)
    settings: dict[str, Any]  # Settings.to_dict(), overrides applied
    window_start: str  # ISO-8601 UTC
    window_end: str
    extra_recipients: tuple[str, ...] = ()

    @property
    def parsed_settings(self) -> Settings:
        return Settings.from_dict(self.settings)

    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self.window_start)

    @property
    def end(self) -> datetime:
        return datetime.fromisoformat(self.window_end)

    @property
    def dry_run(self) -> bool:
        return bool(self.settings.get("dry_run"))

    def describe_window(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"

    def ledger(self) -> Ledger:
        from atqbo.ledger import Ledger

        return Ledger.from_conn_id(self.parsed_settings.state_conn_id)

    def autotask(self) -> AutotaskHook:
        from atqbo.hooks.autotask import AutotaskHook

        settings = self.parsed_settings
        return AutotaskHook(settings.autotask_conn_id, budget_share=settings.autotask_budget_share)

    def qbo(self, ledger: Ledger | None = None) -> QuickBooksOnlineHook:
        from atqbo.hooks.qbo import QuickBooksOnlineHook

        settings = self.parsed_settings
        return QuickBooksOnlineHook(settings.qbo_conn_id, state_conn_id=settings.state_conn_id, ledger=ledger)

    def publish(self, report: RunReport, ledger: Ledger | None = None) -> bool:
        """Record the run's counts in the ledger's run history (the UI view shows them), then log and
        email the report. Returns whether an email was sent."""
        from atqbo.notify import deliver_report

        try:
            (ledger or self.ledger()).record_run(
                self.dag_id, self.run_id, report.counts(), window=report.window, dry_run=report.dry_run
            )
        except Exception as exc:  # the history is a convenience: never lose the report over it
            import logging

            logging.getLogger(__name__).warning("Could not record %s in the run history: %s", self.run_key, exc)
        return deliver_report(report, self.parsed_settings, list(self.extra_recipients))

    def to_xcom(self) -> dict[str, Any]:
        out = asdict(self)
        out["extra_recipients"] = list(self.extra_recipients)
        return out

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> RunInfo:
        return cls(**{**doc, "extra_recipients": tuple(doc.get("extra_recipients") or ())})


def on_sync_failure(context: dict[str, Any]) -> None:
    """A sync DAG's on_failure_callback; the alerting code is imported only when a run fails.

    A failed run first gives back the invoice sync lock if it holds it (never another run's), so
    the next run need not wait to take it over.
    """
    from atqbo.notify import load_alert_settings, notify_run_failure

    dag_run, dag = context.get("dag_run"), context.get("dag")
    dag_id = getattr(dag_run, "dag_id", None) or getattr(dag, "dag_id", None)
    run_id = context.get("run_id") or getattr(dag_run, "run_id", None)
    if dag_id and run_id:
        try:
            from atqbo.ledger import Ledger

            ledger = Ledger.from_conn_id(load_alert_settings()[0].state_conn_id)
            try:
                ledger.release_run_lock(INVOICE_SYNC_LOCK, f"{dag_id}/{run_id}")
            finally:
                ledger.close()
        except Exception as exc:  # the alert matters more; a lock of a finished run is taken over anyway
            import logging

            logging.getLogger(__name__).warning(
                "Could not release the %r lock of %s/%s: %s", INVOICE_SYNC_LOCK, dag_id, run_id, exc
            )
    notify_run_failure(context)


def sync_window(
    interval_start: datetime, interval_end: datetime, lookback_days: int, earliest: date | None = None
) -> tuple[datetime, datetime]:
    """The data interval widened back by ``lookback_days``, never before ``earliest`` (ERR-01)."""
    start = interval_start - timedelta(days=lookback_days)
    if earliest is not None:
        start = max(start, datetime.combine(earliest, time.min, tzinfo=UTC))
    return start.astimezone(UTC), interval_end.astimezone(UTC)


def start_run(context: dict[str, Any], lookback_key: str, overrides: dict[str, Any] | None = None) -> RunInfo:
    """Validate settings (+ trigger-form overrides) and fix this run's window.

    ``overrides`` are setting keys from the trigger form (None = not given). A ``report_to`` given
    there is added to the recipients for this run, not a replacement.
    """
    overrides = dict(overrides or {})
    extra = overrides.pop("extra_recipients", None) or []
    settings = load_settings(overrides)
    dag_run = context["dag_run"]
    interval_start = context.get("data_interval_start") or dag_run.run_after
    interval_end = context.get("data_interval_end") or dag_run.run_after
    start, end = sync_window(
        _aware(interval_start), _aware(interval_end), getattr(settings, lookback_key), settings.earliest_sync_date
    )
    dag_id = dag_run.dag_id
    return RunInfo(
        dag_id=dag_id,
        run_id=dag_run.run_id,
        run_key=f"{dag_id}/{dag_run.run_id}",
        settings=settings.to_dict(),
        window_start=start.isoformat(),
        window_end=end.isoformat(),
        extra_recipients=tuple(extra),
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def start_tool_run(
    context: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    *,
    window_days: int | None = None,
    alternate_recipients: list[str] | None = None,
    extra_recipients: list[str] | None = None,
) -> RunInfo:
    """``start_run`` for a manual tool: settings (+ overrides), and a window of the last
    ``window_days`` days up to now (or none: window_start = window_end = now).

    ``alternate_recipients`` replace ``report_to`` for this run (the vendor tools' "alternate
    email"); ``extra_recipients`` are added to it ("other email").
    """
    overrides = dict(overrides or {})
    if alternate_recipients:
        overrides["report_to"] = list(alternate_recipients)
    settings = load_settings(overrides)
    dag_run = context["dag_run"]
    now = datetime.now(UTC)
    start = now - timedelta(days=window_days) if window_days is not None else now
    if window_days is not None and settings.earliest_sync_date is not None:
        start = max(start, datetime.combine(settings.earliest_sync_date, time.min, tzinfo=UTC))
    return RunInfo(
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        run_key=f"{dag_run.dag_id}/{dag_run.run_id}",
        settings=settings.to_dict(),
        window_start=start.isoformat(),
        window_end=now.isoformat(),
        extra_recipients=tuple(extra_recipients or ()),
    )


ACTIVE_RUN_STATES = ("queued", "running")


def airflow_run_active(dag_id: str, run_id: str) -> bool:
    """Whether Airflow has this DAG run queued or running, asked of Airflow from inside a task.

    A run Airflow does not have (deleted) counts 0, so it is not active. When Airflow cannot be
    asked (its API failing, or not inside a task) this raises: a lock must never be taken over
    from a run that may still be creating documents.
    """
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        count = RuntimeTaskInstance.get_dr_count(dag_id=dag_id, run_ids=[run_id], states=list(ACTIVE_RUN_STATES))
    except Exception as exc:  # outside a task, or Airflow's API failing: the answer is unknown, not "no"
        raise AirflowNotAsked(
            f"Airflow could not be asked whether {dag_id} run {run_id!r} is queued or running "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return count > 0


class AirflowNotAsked(AtqboError):
    """Airflow could not say whether a DAG run is still active (outside a task, or its API failing)."""


def lock_owner_active(owner: str) -> bool:
    """Whether the DAG run that owns a ledger lock (owner "dag_id/run_id") is still queued or running."""
    dag_id, _, run_id = owner.partition("/")
    return bool(run_id) and airflow_run_active(dag_id, run_id)


def hold_sync_lock(run: RunInfo, ledger: Ledger, name: str = INVOICE_SYNC_LOCK) -> None:
    """Take ``name`` for this run or raise ``SyncBusy`` naming the run that holds it.

    A lock whose owner run is no longer queued or running in Airflow (killed, failed before it
    could release) is stale: it is taken over, and the log says so.
    """
    import logging

    if ledger.acquire_run_lock(name, run.run_key, SYNC_LOCK_TTL_S, details=run.dag_id):
        return
    held = ledger.get_run_lock(name)
    owner = (held or {}).get("owner") or "?"
    if held and not lock_owner_active(owner):
        logging.getLogger(__name__).warning(
            "Lock %r was held by %s, which is no longer running in Airflow: taken over", name, owner
        )
        ledger.release_run_lock(name, owner)
        if ledger.acquire_run_lock(name, run.run_key, SYNC_LOCK_TTL_S, details=run.dag_id):
            return
        held = ledger.get_run_lock(name)
        owner = (held or {}).get("owner") or "?"
    raise SyncBusy(name, owner)


def release_sync_lock(run: RunInfo, ledger: Ledger, name: str = INVOICE_SYNC_LOCK) -> None:
    ledger.release_run_lock(name, run.run_key)


class SyncBusy(Exception):
    """Another run holds the lock of the work this run wants to do."""

    def __init__(self, name: str, owner: str):
        self.lock_name = name
        self.owner = owner
        dag_id, _, run_id = owner.partition("/")
        super().__init__(
            f"{dag_id} run {run_id!r} is in progress and holds the {name!r} lock; only one run at a time may "
            f"{LOCKED_WORK.get(name, 'do this work')}. Wait until it finishes (see its state in the Airflow UI), "
            "then trigger again. If that "
            f"run was killed and Airflow still shows it running, mark it failed, or run atqbo_reset"
        )
