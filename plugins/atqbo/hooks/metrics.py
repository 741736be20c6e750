"""atqbo's metrics, sent through Airflow's own metrics (``[metrics]`` of airflow.cfg: StatsD,
Datadog or OpenTelemetry; nothing is sent while all are off, the default).

Here, below the hooks, so that the hooks may count their API calls; the syncs send their record
counts through ``atqbo.outcome``. The names (each also tagged ``dag_id`` where it has one, for
the backends that keep tags)::

    atqbo.records.<outcome>.<dag_id>    counter: records a run transferred, failed, skipped, ...
    atqbo.runs.skipped.<dag_id>         counter: runs that stopped at once (a switch off, the lock
                                        held, the settings not set), with their reason in the note
    atqbo.api.calls.autotask            counter: HTTP requests sent to Autotask (retries included)
    atqbo.api.calls.qbo                 counter: HTTP requests sent to QuickBooks Online
    atqbo.autotask.budget_used_pct      gauge: the tenant's hourly Autotask request budget in use,
                                        in percent, each time atqbo reads ThresholdInformation

A metric is never worth failing a run over: every emit swallows its own errors.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from airflow.sdk._shared.observability.metrics import stats as shared_stats
from airflow.sdk.configuration import conf
from airflow.sdk.observability import stats
from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

log = logging.getLogger(__name__)

PREFIX = "atqbo"
_INIT_LOCK = threading.Lock()
_initialized = False


def _stats() -> Any:
    """Airflow's Task SDK stats module, its backend chosen from ``[metrics]`` on first use.

    A task run by Airflow's task runner has it initialised already; an in-process ``dag.test()``
    run, a failure callback or a trigger may not, and would send nothing, so the same
    initialisation is done here once when nobody did it.
    """
    global _initialized
    if not _initialized:
        with _INIT_LOCK:
            if not _initialized:
                if getattr(shared_stats, "_factory", None) is None:  # the Task SDK's own (private) marker
                    stats.initialize(
                        factory=get_stats_factory(),
                        export_legacy_names=conf.getboolean("metrics", "legacy_names_on", fallback=False),
                    )
                _initialized = True
    return stats


def metric_part(text: str) -> str:
    """``text`` as one dot-free part of a metric name (a DAG id is already one)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", str(text)).strip("_") or "unknown"


def incr(name: str, count: int = 1, tags: dict[str, str] | None = None) -> None:
    if count <= 0:
        return
    try:
        _stats().incr(f"{PREFIX}.{name}", count, tags=tags or None)
    except Exception as exc:  # a metric is never worth failing a run over
        log.debug("metric %s not sent: %s", name, exc)


def gauge(name: str, value: float, tags: dict[str, str] | None = None) -> None:
    try:
        _stats().gauge(f"{PREFIX}.{name}", value, tags=tags or None)
    except Exception as exc:
        log.debug("metric %s not sent: %s", name, exc)


def api_call(api: str) -> None:
    """One HTTP request sent to ``api`` ("autotask" or "qbo")."""
    incr(f"api.calls.{api}", 1, {"api": api})


def autotask_budget(used: int, threshold: int) -> None:
    """The tenant's hourly request budget in use, as ThresholdInformation just told it."""
    if threshold > 0:
        gauge("autotask.budget_used_pct", round(100.0 * used / threshold, 1))


def record_counts(dag_id: str, counts: dict[str, int]) -> None:
    """A run's records per outcome (only the outcomes it had)."""
    for outcome, n in counts.items():
        incr(f"records.{metric_part(outcome)}.{metric_part(dag_id)}", n, {"dag_id": dag_id, "outcome": outcome})


def run_skipped(dag_id: str) -> None:
    incr(f"runs.skipped.{metric_part(dag_id)}", 1, {"dag_id": dag_id})
