"""What every atqbo DAG run does the same way: its settings, window and run key.

The first task of a sync calls ``start_run`` with the Airflow context (a tool: ``start_tool_run``);
it validates the settings (with the trigger form's overrides), computes the window from the data
interval widened by the look-back, and returns a small JSON-able ``RunInfo`` that the other tasks
receive through XCom and turn back into objects with ``RunInfo.from_xcom``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from atqbo.settings import Settings, load_settings

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.notify import RunReport

log = logging.getLogger(__name__)


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

    def for_company(self, qbo_conn_id: str) -> RunInfo:
        """This run as one QBO company's (BEY-07): its settings are that company's (its route's
        own settings applied, ``qbo_conn_id`` its connection), so ``qbo()`` is its hook; the run key,
        window and everything staged are the run's."""
        from dataclasses import replace

        from atqbo.settings import company_settings

        return replace(self, settings=company_settings(self.settings, qbo_conn_id))

    @property
    def qbo_conn_ids(self) -> tuple[str, ...]:
        """The run's QBO companies: the default connection, then each route's (BEY-07)."""
        return self.parsed_settings.qbo_conn_ids

    def qbo(self, ledger: Ledger | None = None) -> QuickBooksOnlineHook:
        from atqbo.hooks.qbo import QuickBooksOnlineHook

        settings = self.parsed_settings
        return QuickBooksOnlineHook(settings.qbo_conn_id, state_conn_id=settings.state_conn_id, ledger=ledger)

    def publish(self, report: RunReport, ledger: Ledger | None = None) -> bool:
        """Record the run's counts in the ledger's run history (the UI view shows them) and purge the
        state database's expired rows, log its failed and warned records at WARNING and leave its
        note and counts for Airflow (``atqbo.outcome``), then log and email the report. Returns
        whether an email was sent."""
        from atqbo.notify import deliver_report
        from atqbo.outcome import publish_outcome

        report.several_qbo_companies = len(self.qbo_conn_ids) > 1  # BEY-07: the rows say which company
        try:
            ledger = ledger or self.ledger()
            ledger.record_run(self.dag_id, self.run_id, report.counts(), window=report.window, dry_run=report.dry_run)
            # what keeps the state database small over months of 15-minute runs: week-old staged
            # data and quarter-old history go (both indexed by time, so this costs next to nothing)
            ledger.stage_purge()
            ledger.purge_run_history()
        except Exception as exc:  # the history is a convenience: never lose the report over it
            log.warning("Could not record %s in the run history: %s", self.run_key, exc)
        publish_outcome(report)
        return deliver_report(report, self.parsed_settings, list(self.extra_recipients))

    def to_xcom(self) -> dict[str, Any]:
        out = asdict(self)
        out["extra_recipients"] = list(self.extra_recipients)
        return out

    @classmethod
    def from_xcom(cls, doc: dict[str, Any]) -> RunInfo:
        return cls(**{**doc, "extra_recipients": tuple(doc.get("extra_recipients") or ())})


NOT_CONFIGURED = (
    "atqbo is not set up yet: the atqbo_settings Variable does not exist. Create it in Admin > Variables "
    '(at least {"report_to": ["you@example.com"]}; docs/settings.md lists every key) and the connections '
    "autotask_default, qbo_default and atqbo_state (README, 'Connections'); the next scheduled run then syncs"
)


def skip_unless_configured(dag_id: str | None = None) -> None:
    """A scheduled sync of a fresh install (no ``atqbo_settings`` Variable yet) stops here with one
    WARNING saying what to set, as its run's note, instead of failing every 15 minutes."""
    from airflow.sdk import Variable

    from atqbo.settings import VARIABLE_NAME

    if Variable.get(VARIABLE_NAME, default=None) is None:
        from atqbo.outcome import skip_run

        skip_run(NOT_CONFIGURED, dag_id)


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
