"""What every sync DAG does the same way: its run's settings, window and run key.

The first task of a sync calls ``start_run`` with the Airflow context; it validates the settings
(with the trigger form's overrides), computes the window from the data interval widened by the
look-back, and returns a small JSON-able ``RunInfo`` that the other tasks receive through XCom
and turn back into objects with ``RunInfo.from_xcom``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

from atqbo.settings import Settings, load_settings

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger

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

    def ledger(self) -> "Ledger":
        from atqbo.ledger import Ledger

        return Ledger.from_conn_id(self.parsed_settings.state_conn_id)

    def autotask(self) -> "AutotaskHook":
        from atqbo.hooks.autotask import AutotaskHook

        settings = self.parsed_settings
        return AutotaskHook(settings.autotask_conn_id, budget_share=settings.autotask_budget_share)

    def qbo(self, ledger: "Ledger | None" = None) -> "QuickBooksOnlineHook":
        from atqbo.hooks.qbo import QuickBooksOnlineHook

        settings = self.parsed_settings
        return QuickBooksOnlineHook(settings.qbo_conn_id, state_conn_id=settings.state_conn_id, ledger=ledger)

    def to_xcom(self) -> dict[str, Any]:
        out = asdict(self)
        out["extra_recipients"] = list(self.extra_recipients)
        return out

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> "RunInfo":
        return cls(**{**doc, "extra_recipients": tuple(doc.get("extra_recipients") or ())})


def on_sync_failure(context: dict[str, Any]) -> None:
    """A sync DAG's on_failure_callback; the alerting code is imported only when a run fails."""
    from atqbo.notify import notify_run_failure

    notify_run_failure(context)


def sync_window(
    interval_start: datetime, interval_end: datetime, lookback_days: int, earliest: date | None = None
) -> tuple[datetime, datetime]:
    """The data interval widened back by ``lookback_days``, never before ``earliest`` (ERR-01)."""
    start = interval_start - timedelta(days=lookback_days)
    if earliest is not None:
        start = max(start, datetime.combine(earliest, time.min, tzinfo=timezone.utc))
    return start.astimezone(timezone.utc), interval_end.astimezone(timezone.utc)


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
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
