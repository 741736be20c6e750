"""The on/off switches of the syncs that are off by default: ``void_sync_enabled`` (VOID-01) and
``payment_sync_enabled`` (PAY-01).

A switched-off sync still runs on its schedule: its first task after ``start`` stops the run,
skipping every later task, without one API call, and says so in the log
("void sync is off (void_sync_enabled=false): nothing to do").
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)


def sync_off_message(setting: str) -> str:
    """``payment sync is off (payment_sync_enabled=false): nothing to do`` for ``payment_sync_enabled``."""
    work = setting.removesuffix("_enabled").replace("_", " ")
    return f"{work} is off ({setting}=false): nothing to do"


def skip_unless_enabled(run: RunInfo, setting: str) -> None:
    """Stop this run (``AirflowSkipException``: this task and the ones after it are skipped) unless
    ``setting`` switches the sync on in the run's settings; the log (at WARNING) and the run's note
    say why (``atqbo.outcome.skip_run``)."""
    if run.settings.get(setting):
        return
    from atqbo.outcome import skip_run

    skip_run(sync_off_message(setting), run.dag_id)
