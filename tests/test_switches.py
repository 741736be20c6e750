"""The switches of the syncs that are off by default (atqbo.switches): a switched-off sync's run stops
with one line saying so (VOID-01, PAY-01)."""

from __future__ import annotations

import pytest

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.switches import skip_unless_enabled, sync_off_message


def _run(**settings) -> RunInfo:
    return RunInfo(
        dag_id="atqbo_payments",
        run_id="scheduled__1",
        run_key="atqbo_payments/scheduled__1",
        settings=Settings.from_dict(settings).to_dict(),
        window_start="2026-03-02T11:00:00+00:00",
        window_end="2026-03-02T12:00:00+00:00",
    )


def test_the_message_names_the_sync_and_its_setting():
    assert sync_off_message("void_sync_enabled") == "void sync is off (void_sync_enabled=false): nothing to do"
    assert sync_off_message("payment_sync_enabled") == "payment sync is off (payment_sync_enabled=false): nothing to do"


def test_a_switched_off_sync_is_skipped_and_says_so():
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException) as skipped:
        skip_unless_enabled(_run(), "payment_sync_enabled")  # off by default
    assert str(skipped.value) == "payment sync is off (payment_sync_enabled=false): nothing to do"


def test_a_switched_on_sync_goes_on():
    skip_unless_enabled(_run(void_sync_enabled=True), "void_sync_enabled")
