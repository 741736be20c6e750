"""Minutes, not hours (BEY-09): the asset watcher that starts ``atqbo_invoices`` when Autotask has a
newly posted invoice.

The triggerer runs :class:`NewInvoicesTrigger` for as long as the DAG schedules on its asset. Every
``poll_seconds`` it makes **one** Autotask request: an ``Invoices/query`` for invoices created since
it started watching and with an id above the highest one it has seen, not voided, asking only for
``id`` and the marker field (``MaxRecords`` 500, so one page). Autotask answers an empty page while
nothing is posted. When the page holds an invoice whose marker is blank, the trigger yields one
``TriggerEvent``; the triggerer turns it into an asset event and the scheduler into an
asset-triggered run of ``atqbo_invoices``.

What it remembers, the *watermark*: the highest invoice id seen and the creation time it started
from (with the connection they belong to). Ids only grow, so an invoice fires at most one event: one
that fails every run is not seen again and cannot make a run every poll (the 15-minute schedule
still retries it). The watermark is kept in memory (the triggerer keeps an asset watcher's
``run()`` going after each event) and in the asset's state store (Airflow 3.3, AIP-103), so a
restarted triggerer goes on from it. Without a stored watermark the trigger starts from invoices
created in the last ``START_MARGIN`` (the schedule's period: older ones are the schedule's).

The idle cost: one request per poll (45 s: 80 an hour), one ``ThresholdInformation`` budget check
when the hook starts and then every few hundred calls, one zone lookup per 12 hours: at most 82 of
the tenant's requests an hour, under 1% of Autotask's 10,000. A failed poll is logged and the next
poll tries again (no retries inside a poll: the next poll is the retry). With
``invoice_sync_enabled`` false the trigger sends nothing at all.

Settings are read from ``atqbo_settings`` at every poll (a Variable read, no Autotask call), so the
connection and marker field in use are always the sync's own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.settings import Settings

log = logging.getLogger(__name__)

#: Seconds between two polls: at most 80 requests an hour while nothing is posted, and an invoice
#: waits 22 s on average (45 s at most) before the run that sends it starts.
POLL_SECONDS = 45.0
#: Without a stored watermark, invoices created this long before the first poll count as new.
START_MARGIN = timedelta(minutes=15)
#: One page: a poll is one request whatever was posted (more than 500 new invoices: the rest next poll).
PAGE = 500
#: The asset state store's key of the watermark.
STATE_KEY = "new_invoices_watermark"
#: How many invoice ids an event names (its payload is stored with the asset event).
IDS_IN_EVENT = 20


@dataclass
class Watermark:
    """Where the watch stands: invoices created at or after ``created_since`` with an id above
    ``after_id`` (None: none seen yet) are new, for the API user of Airflow connection ``conn_id``."""

    conn_id: str
    created_since: str  # ISO-8601 UTC
    after_id: int | None = None

    @classmethod
    def starting_now(cls, conn_id: str, now: datetime | None = None) -> Watermark:
        start = (now or datetime.now(UTC)) - START_MARGIN
        return cls(conn_id, start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    @classmethod
    def from_doc(cls, doc: Any) -> Watermark | None:
        """A stored watermark, or None when ``doc`` is not one (nothing stored, another shape)."""
        if not isinstance(doc, dict) or not doc.get("conn_id") or not doc.get("created_since"):
            return None
        after = doc.get("after_id")
        return cls(str(doc["conn_id"]), str(doc["created_since"]), int(after) if after is not None else None)


class InvoiceWatch:
    """The synchronous part of one poll (run in a thread by the trigger, or directly by a test).

    :param max_retries: the hook's retries within a poll; 0: the next poll is the retry.
    """

    def __init__(self, watermark: Watermark | None = None, *, max_retries: int = 0):
        self.watermark = watermark
        self.max_retries = max_retries
        self._hook: AutotaskHook | None = None
        self._hook_conn: tuple[str, float] | None = None
        self.polls = 0  # polls that asked Autotask

    def poll(self) -> list[int]:
        """Ask Autotask once; the ids of newly posted invoices whose marker is blank (maybe none).

        Advances the watermark past every invoice the answer holds, synced or not. Raises what the
        settings or the hook raise; the watermark then stays where it was.
        """
        from atqbo.autotask_docs import is_blank
        from atqbo.hooks.autotask import eq, gt, gte
        from atqbo.settings import load_settings

        settings = load_settings()
        if not settings.invoice_sync_enabled:
            return []
        if self.watermark is None or self.watermark.conn_id != settings.autotask_conn_id:
            self.watermark = Watermark.starting_now(settings.autotask_conn_id)
        mark = self.watermark
        marker = settings.invoice_marker_field
        filters = [eq("isVoided", False), gte("createDateTime", mark.created_since)]
        if mark.after_id is not None:
            filters.append(gt("id", mark.after_id))
        try:
            rows = self.hook(settings).query_all("Invoices", filters, include_fields=["id", marker], max_records=PAGE)
        except Exception:
            self._drop_hook()  # the next poll reads the connection again (a secret may have changed)
            raise
        finally:
            self.polls += 1
        if rows:
            mark.after_id = max(int(row["id"]) for row in rows)
        return sorted(int(row["id"]) for row in rows if is_blank(row.get(marker)))

    def hook(self, settings: Settings) -> AutotaskHook:
        """One hook for as long as the connection and budget share stay the same: its budget check
        and zone are reused from poll to poll."""
        from atqbo.hooks.autotask import AutotaskHook

        key = (settings.autotask_conn_id, settings.autotask_budget_share)
        if self._hook is None or self._hook_conn != key:
            self._drop_hook()
            self._hook = AutotaskHook(
                settings.autotask_conn_id, budget_share=settings.autotask_budget_share, max_retries=self.max_retries
            )
            self._hook_conn = key
        return self._hook

    def _drop_hook(self) -> None:
        if self._hook is not None:
            self._hook.close()
        self._hook, self._hook_conn = None, None

    def close(self) -> None:
        self._drop_hook()


class NewInvoicesTrigger(BaseEventTrigger):
    """Fires when Autotask has a newly posted, unsynced invoice (BEY-09); see the module's doc.

    :param poll_seconds: seconds between two polls (``POLL_SECONDS``).
    """

    def __init__(self, poll_seconds: float = POLL_SECONDS, **kwargs: Any):
        super().__init__(**kwargs)
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be positive, got {poll_seconds}")
        self.poll_seconds = float(poll_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {"poll_seconds": self.poll_seconds}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch = InvoiceWatch(await self._stored_watermark())
        failures = 0
        try:
            while True:
                before = asdict(watch.watermark) if watch.watermark else None
                try:
                    new_ids = await asyncio.to_thread(watch.poll)
                except Exception as exc:  # the next poll tries again; the cron schedule is the net
                    failures += 1
                    if failures == 1 or failures % 20 == 0:
                        log.warning("Polling Autotask for new invoices failed (%d in a row): %s", failures, exc)
                else:
                    if failures:
                        log.info("Polling Autotask for new invoices works again after %d failures", failures)
                    failures = 0
                    if watch.watermark and asdict(watch.watermark) != before:
                        await self._store_watermark(watch.watermark)
                    if new_ids:
                        log.info("Autotask has %d new unsynced invoice(s): %s", len(new_ids), new_ids[:IDS_IN_EVENT])
                        yield TriggerEvent(
                            {
                                "new_invoices": len(new_ids),
                                "autotask_ids": new_ids[:IDS_IN_EVENT],
                                "after_id": watch.watermark.after_id if watch.watermark else None,
                            }
                        )
                await asyncio.sleep(self.poll_seconds)
        finally:
            watch.close()

    async def _stored_watermark(self) -> Watermark | None:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return None
        try:
            return Watermark.from_doc(await store.aget(STATE_KEY))
        except Exception as exc:  # a store we cannot read: start from now, as a first start does
            log.warning("Could not read the new-invoice watermark from the asset state store: %s", exc)
            return None

    async def _store_watermark(self, watermark: Watermark) -> None:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return
        try:
            await store.aset(STATE_KEY, asdict(watermark))
        except Exception as exc:  # kept in memory all the same; a restart would start from now
            log.warning("Could not store the new-invoice watermark in the asset state store: %s", exc)
