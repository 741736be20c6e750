"""Autotask error to-dos: under company 0, with the configured action type and resource, for an hour."""

from __future__ import annotations

from datetime import timedelta

from atqbo.notify import LOCAL_COMPANY_ID, MAX_TODO_DESCRIPTION_CHARS, create_local_todo
from atqbo.settings import Settings


class _RecordingHook:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def create_todo(self, **fields) -> int:
        self.calls.append(fields)
        return 501


def test_po08_local_todo_goes_to_company_0_for_an_hour_with_a_capped_description():
    hook = _RecordingHook()
    settings = Settings.from_dict({"todo_action_type": 3, "todo_resource_id": 29682885})

    assert create_local_todo(hook, settings, "y" * 10_000) == 501  # type: ignore[arg-type]

    (call,) = hook.calls
    assert LOCAL_COMPANY_ID == 0
    assert (call["company_id"], call["action_type"], call["resource_id"]) == (0, 3, 29682885)
    assert len(call["description"]) <= MAX_TODO_DESCRIPTION_CHARS and call["description"].endswith("(cut)")
    assert call["start"].second == call["start"].microsecond == 0 and call["start"].tzinfo is not None
    assert call["end"] - call["start"] == timedelta(hours=1)
