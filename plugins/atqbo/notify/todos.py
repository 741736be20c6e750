"""Autotask to-dos for errors: created under the local organization (company 0) with the
``todo_action_type`` and assigned to the ``todo_resource_id`` of the settings, as the vendor apps
did (PO-08). Used by the run-failure alert and by the PO sync for its own errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from atqbo.notify.wording import cap_text

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.settings import Settings

MAX_TODO_DESCRIPTION_CHARS = 4000  # Autotask allows 32000; a to-do is read on a screen
TODO_DURATION = timedelta(hours=1)
LOCAL_COMPANY_ID = 0  # Autotask's local organization, where the vendor app put its error to-dos


def create_local_todo(hook: AutotaskHook, settings: Settings, description: str) -> int:
    """Create an error to-do under the local organization (company 0) with ``todo_action_type``,
    assigned to ``todo_resource_id``, as the vendor apps did (PO-08); returns its id.

    The caller checks that both settings are set (``create_failure_todo`` logs, the PO sync
    refuses to start without them).
    """
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    return hook.create_todo(
        company_id=LOCAL_COMPANY_ID,
        action_type=settings.todo_action_type,  # type: ignore[arg-type]
        resource_id=settings.todo_resource_id,  # type: ignore[arg-type]
        description=cap_text(description, MAX_TODO_DESCRIPTION_CHARS),
        start=start,
        end=start + TODO_DURATION,
    )
