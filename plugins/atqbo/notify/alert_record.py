"""Which alerts were sent for a failed run, kept in the ledger so each failure is alerted once.

Airflow may call a DAG's failure callback twice for the same failure (and two callbacks may run
at once): the record of what was sent (``emailed_at``, ``todo_id``, ``todo_uncertain``) is staged
under run_key ``alerts``, kind ``run_failure``, item ``RunFailure.alert_key``, and read and
updated under a run lock ``atqbo_alert:<alert key>``. Without a usable ledger the alerts still go
out: they matter more than avoiding a duplicate.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atqbo.ledger import Ledger
    from atqbo.settings import Settings

log = logging.getLogger(__package__)  # "atqbo.notify", one logger for the package as before its split

ALERT_STAGE_RUN_KEY = "alerts"  # ledger staging: run_key "alerts", kind "run_failure", item "dag_id/run_id"
ALERT_STAGE_KIND = "run_failure"
ALERT_LOCK_TTL_S = 600.0


def open_alert_ledger(settings: Settings) -> Ledger | None:
    """The state database with its schema, or None (logged) when it cannot be opened."""
    from atqbo.ledger import Ledger

    try:
        ledger = Ledger.from_conn_id(settings.state_conn_id)
        ledger.create_schema()
        return ledger
    except Exception as exc:
        log.warning(
            "The state database (connection %r) is not available (%s); alerts are sent without checking "
            "whether this failure was already alerted.",
            settings.state_conn_id,
            exc,
        )
        return None


@contextmanager
def alert_record(ledger: Ledger | None, key: str) -> Iterator[dict[str, Any] | None]:
    """The record of alerts already sent for ``key``, held under a lock while the caller adds to it.

    Yields ``None`` when another callback for the same failure holds the lock right now (it
    sends the alerts). Without a usable ledger, yields an empty record that is not kept: the
    alerts matter more than avoiding a duplicate.
    """
    if ledger is None:
        yield {}
        return
    lock, owner = f"atqbo_alert:{key}", uuid.uuid4().hex
    held = False
    try:
        held = ledger.acquire_run_lock(lock, owner, ALERT_LOCK_TTL_S, details="run failure alert")
        record = (ledger.stage_get(ALERT_STAGE_RUN_KEY, ALERT_STAGE_KIND).get(key) or {}) if held else None
    except Exception as exc:
        log.warning("Could not read which alerts were sent for %s (%s); alerting anyway.", key, exc)
        record = {}
    try:
        yield record
    finally:
        if held:
            try:
                ledger.release_run_lock(lock, owner)
            except Exception as exc:  # the lock expires by itself after ALERT_LOCK_TTL_S
                log.warning("Could not release the alert lock %s (%s).", lock, exc)


def save_alert_record(ledger: Ledger | None, key: str, record: dict[str, Any]) -> None:
    """Keep ``record`` as what was sent for ``key``; a failure to keep it is logged, not raised."""
    if ledger is None:
        return
    try:
        ledger.stage_put(ALERT_STAGE_RUN_KEY, ALERT_STAGE_KIND, {key: record})
    except Exception as exc:
        log.warning("Could not record the alerts sent for %s (%s); a repeated callback may alert again.", key, exc)
