"""BEY-09: the asset watcher of ``atqbo_invoices`` against the sandbox over HTTP.

Each test drives ``NewInvoicesTrigger.run()`` (the async generator the triggerer runs) with asyncio,
polls counted from the sandbox's request log: nothing posted, no event and one Autotask request a
poll; a posted invoice, one event, and never again for it; what the watcher does not count as new.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atqbo.triggers.new_invoices import (
    POLL_SECONDS,
    STATE_KEY,
    InvoiceWatch,
    NewInvoicesTrigger,
    Watermark,
)

FAST = 0.05  # seconds between polls in these tests


def stamp(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def post_invoice(box, invoice_id: int, **fields: Any) -> None:
    """What Autotask's invoicing does: a new invoice, created now, unsynced."""
    now = stamp()
    invoice = {
        "id": invoice_id,
        "companyID": 500,
        "invoiceNumber": f"INV-{invoice_id}",
        "invoiceDateTime": now,
        "createDateTime": now,
        "isVoided": False,
        "invoiceTotal": 100.0,
        "webServiceDate": None,
    }
    box.seed({"autotask": {"Invoices": [{**invoice, **fields}]}})


def invoice_polls(box) -> int:
    return sum(1 for r in box.requests.list("autotask") if r["path"].endswith("/Invoices/query"))


class Driver:
    """Runs a trigger's ``run()`` in a task, queueing its events; waits for polls by the request log."""

    def __init__(self, box, trigger: NewInvoicesTrigger):
        self.box, self.trigger = box, trigger
        self.events: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    async def __aenter__(self) -> Driver:
        async def pump() -> None:
            async for event in self.trigger.run():
                await self.events.put(event.payload)

        self.task = asyncio.create_task(pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        if self.task.done():
            self.task.result()  # a run() that ended on its own raised: show why
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def polls(self, n: int, timeout: float = 20) -> None:
        """Until the sandbox has served ``n`` more invoice polls than now, and their answers are in."""
        target = invoice_polls(self.box) + n
        deadline = time.monotonic() + timeout
        while invoice_polls(self.box) < target:
            assert self.task is not None and not self.task.done(), "run() ended"
            assert time.monotonic() < deadline, f"fewer than {n} polls in {timeout} s"
            await asyncio.sleep(0.01)
        await asyncio.sleep(FAST / 2)  # the poll's thread hands its answer back before the next poll

    def drained(self) -> list[dict]:
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out


def test_bey09_nothing_posted_no_event_and_one_autotask_request_a_poll(box):
    async def scenario() -> list[dict]:
        async with Driver(box, NewInvoicesTrigger(poll_seconds=FAST)) as run:
            await run.polls(10)
            return run.drained()

    assert asyncio.run(scenario()) == []
    served = [r["path"].rsplit("/", 1)[-1] for r in box.requests.list("autotask")]
    polls = served.count("query")
    assert polls >= 10
    # the first poll also finds the zone and checks the budget once; every other poll is one request
    assert sorted(set(served)) == ["ThresholdInformation", "query", "zoneInformation"]
    assert served.count("zoneInformation") == 1 and served.count("ThresholdInformation") == 1
    assert len(served) == polls + 2


def test_bey09_the_idle_cost_at_the_poll_interval_is_under_one_percent_of_the_hourly_threshold():
    polls_an_hour = 3600 / POLL_SECONDS
    budget_checks = 1 + polls_an_hour / 200  # at start, then at most every 200 calls (autotask_limits)
    zone_lookups = 1  # cached 12 hours
    assert polls_an_hour + budget_checks + zone_lookups <= 100  # 1% of Autotask's 10,000 an hour
    assert POLL_SECONDS <= 60  # and an invoice waits at most this long for the poll that sees it


def test_bey09_a_posted_invoice_fires_one_event_and_never_again(box):
    async def scenario() -> tuple[list, list, list]:
        async with Driver(box, NewInvoicesTrigger(poll_seconds=FAST)) as run:
            await run.polls(2)
            quiet = run.drained()
            post_invoice(box, 39000001)
            await run.polls(1)
            first = run.drained()
            await run.polls(5)  # the same unsynced invoice (a run has not sent it yet, or it failed)
            repeated = run.drained()
            post_invoice(box, 39000002)
            post_invoice(box, 39000003)
            await run.polls(3)
            return quiet, first, repeated + run.drained()

    quiet, first, later = asyncio.run(scenario())
    assert quiet == []
    assert first == [{"new_invoices": 1, "autotask_ids": [39000001], "after_id": 39000001}]
    assert later == [{"new_invoices": 2, "autotask_ids": [39000002, 39000003], "after_id": 39000003}]


def test_bey09_synced_voided_and_older_invoices_are_not_new(box):
    async def scenario() -> list[dict]:
        async with Driver(box, NewInvoicesTrigger(poll_seconds=FAST)) as run:
            await run.polls(1)
            post_invoice(box, 39000011, webServiceDate=stamp())  # synced already (the safety net's run)
            post_invoice(box, 39000012, isVoided=True)
            old = stamp(datetime.now(UTC) - timedelta(hours=2))  # before the watch started: the schedule's
            post_invoice(box, 39000013, createDateTime=old)
            post_invoice(box, 39000014)
            await run.polls(3)
            return run.drained()

    assert asyncio.run(scenario()) == [{"new_invoices": 1, "autotask_ids": [39000014], "after_id": 39000014}]


def test_bey09_the_marker_field_of_the_settings_decides_what_is_unsynced(box, monkeypatch):
    settings = {"invoice_marker_field": "invoiceNumber", "invoice_numbering": "qbo"}
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps(settings))
    watch = InvoiceWatch()
    assert watch.poll() == []
    post_invoice(box, 39000021)  # Autotask numbered it: in invoiceNumber mode, that is synced
    post_invoice(box, 39000022, invoiceNumber=None)
    post_invoice(box, 39000023, invoiceNumber="  ")  # a blank marker is unsynced (LINE-03)
    assert watch.poll() == [39000022, 39000023]
    assert watch.poll() == []


def test_bey09_with_the_invoice_sync_off_the_watcher_sends_no_request(box, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"invoice_sync_enabled": False}))
    post_invoice(box, 39000031)
    watch = InvoiceWatch()
    assert [watch.poll() for _ in range(3)] == [[], [], []]
    assert box.requests.list("autotask") == []


def test_bey09_a_failed_poll_is_logged_and_the_next_poll_sees_the_invoice(box, caplog):
    box.faults.add({"api": "autotask", "path": "Invoices/query$", "mode": "error_503", "times": 2})

    async def scenario() -> list[dict]:
        async with Driver(box, NewInvoicesTrigger(poll_seconds=FAST)) as run:
            await run.polls(1)
            post_invoice(box, 39000041)
            await run.polls(3)
            return run.drained()

    with caplog.at_level("INFO", logger="atqbo.triggers.new_invoices"):
        events = asyncio.run(scenario())
    assert events == [{"new_invoices": 1, "autotask_ids": [39000041], "after_id": 39000041}]
    assert "Polling Autotask for new invoices failed (1 in a row)" in caplog.text
    assert "works again after 2 failures" in caplog.text
    assert "s3cret" not in caplog.text.lower() and box.connections()["autotask_default"]["password"] not in caplog.text


class FakeAssetStateStore:
    """The asset state store the triggerer gives a watcher (``aget``/``aset``), in memory."""

    def __init__(self, stored: dict | None = None):
        self.stored: dict[str, Any] = dict(stored or {})

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.stored.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        json.dumps(value)  # what the store keeps is JSON
        self.stored[key] = value


def test_bey09_a_restarted_triggerer_goes_on_from_the_stored_watermark(box):
    store = FakeAssetStateStore()

    async def first_life() -> list[dict]:
        trigger = NewInvoicesTrigger(poll_seconds=FAST)
        trigger.asset_state_store = store
        async with Driver(box, trigger) as run:
            await run.polls(1)
            post_invoice(box, 39000051)
            await run.polls(2)
            return run.drained()

    async def second_life() -> list[dict]:  # the same kwargs, a new instance: what a restart makes
        trigger = NewInvoicesTrigger(poll_seconds=FAST)
        trigger.asset_state_store = store
        async with Driver(box, trigger) as run:
            await run.polls(2)
            post_invoice(box, 39000052)
            await run.polls(2)
            return run.drained()

    assert asyncio.run(first_life()) == [{"new_invoices": 1, "autotask_ids": [39000051], "after_id": 39000051}]
    assert store.stored[STATE_KEY]["after_id"] == 39000051
    # 39000051 is still unsynced (no run sent it) but fires no second event after the restart
    assert asyncio.run(second_life()) == [{"new_invoices": 1, "autotask_ids": [39000052], "after_id": 39000052}]


def test_bey09_a_watermark_of_another_connection_is_not_used(box):
    other = Watermark("autotask_old_tenant", stamp(datetime.now(UTC) - timedelta(days=30)), 99999999)
    watch = InvoiceWatch(other)
    post_invoice(box, 39000061)
    assert watch.poll() == [39000061]
    assert watch.watermark is not None and watch.watermark.conn_id == "autotask_default"


def test_bey09_the_trigger_travels_as_its_classpath_and_poll_interval():
    classpath, kwargs = NewInvoicesTrigger().serialize()
    assert classpath == "atqbo.triggers.new_invoices.NewInvoicesTrigger"
    assert kwargs == {"poll_seconds": POLL_SECONDS}
    module, name = classpath.rsplit(".", 1)
    assert getattr(__import__(module, fromlist=[name]), name)(**kwargs).poll_seconds == POLL_SECONDS
    with pytest.raises(ValueError, match="poll_seconds"):
        NewInvoicesTrigger(poll_seconds=0)
