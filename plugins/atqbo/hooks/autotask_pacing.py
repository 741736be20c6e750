"""Autotask's limits on how fast this process may call: the tenant's hourly budget and the thread limit.

Autotask allows 10,000 requests per rolling hour *per tenant*, shared with every other integration,
and 3 concurrent requests per integration code and endpoint. A hook uses at most its share of the
hourly threshold (setting ``autotask_budget_share``), checking ``ThresholdInformation`` every so
many calls and waiting while the share is used up (BEY-05); and no endpoint ever has more than 3
calls of this process in flight. Across processes (two sync DAGs at once) Autotask may refuse a call
past its thread limit with a 429, which the hook retries like any throttling.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from atqbo.hooks.autotask_errors import AutotaskBudgetExhaustedError
from atqbo.hooks.autotask_limits import MAX_CALLS_BETWEEN_BUDGET_CHECKS, MAX_CONCURRENT_PER_ENDPOINT
from atqbo.hooks.metrics import autotask_budget

# A check that allows at least this many calls lets the other threads go on while the next check is
# read: they make a few calls more than counted, never more than the threads of a process.
ROOM_TO_GO_ON = 20

log = logging.getLogger("atqbo.hooks.autotask")  # the hook's logger: its lines keep the name operators know


class RequestBudget:
    """One hook's share of the tenant's hourly request threshold.

    :param share: share (0.05..1) of the threshold the hook may use before it waits.
    :param poll_interval: seconds between ThresholdInformation polls while the share is used up.
    :param max_wait: give up with :class:`AutotaskBudgetExhaustedError` after waiting this long.
    :param sleep: how to wait (tests pass a recorder).
    """

    def __init__(self, share: float, *, poll_interval: float, max_wait: float, sleep: Callable[[float], None]):
        self.share = share
        self.poll_interval = poll_interval
        self.max_wait = max_wait
        self._sleep = sleep
        self._lock = threading.Lock()  # guards the counters
        self._checking = threading.Lock()  # held by the one thread reading ThresholdInformation
        self._calls_until_check = 0  # 0: check before the next call
        self._room = False  # the last check left room for more calls than the threads can make meanwhile
        self.waited_s = 0.0

    def before_call(self, threshold_information: Callable[[], dict[str, Any]]) -> None:
        """Before a call: every N calls, check the tenant's usage and wait while our share is used up.

        One thread checks; while it does, the others go on when the last check left room (a few
        calls more than counted, well inside the fifth of the headroom a check allows), and wait for
        its answer when it did not (the first check, or a share nearly used up)."""
        with self._lock:
            if self._calls_until_check > 0:
                self._calls_until_check -= 1
                return
            if self._room and self._checking.locked():
                return
        with self._checking:
            with self._lock:
                if self._calls_until_check > 0:  # another thread's check just counted again
                    self._calls_until_check -= 1
                    return
            self._wait_for_budget(threshold_information)

    def _wait_for_budget(self, threshold_information: Callable[[], dict[str, Any]]) -> None:
        waited = 0.0
        while True:
            info = threshold_information()
            threshold = int(info.get("externalRequestThreshold") or 0)
            used = int(info.get("currentTimeframeRequestCount") or 0)
            autotask_budget(used, threshold)
            budget = self.share * threshold
            if threshold <= 0 or used < budget:
                headroom = budget - used if threshold > 0 else MAX_CALLS_BETWEEN_BUDGET_CHECKS
                with self._lock:
                    self._calls_until_check = int(max(0, min(MAX_CALLS_BETWEEN_BUDGET_CHECKS, headroom // 5)))
                    self._room = self._calls_until_check >= ROOM_TO_GO_ON
                return
            with self._lock:
                self._room = False  # the others wait for the budget too
            if waited + self.poll_interval > self.max_wait:
                raise AutotaskBudgetExhaustedError(
                    f"Autotask request budget used up: {used} of {threshold} requests in the last "
                    f"{info.get('requestThresholdTimeframe', 60)} minutes, and atqbo may use "
                    f"{self.share:.0%} ({int(budget)}); waited {waited:.0f} s without it dropping. "
                    "Fix: run later, raise autotask_budget_share, or find the integration using the tenant's requests",
                    method="GET",
                    path="ThresholdInformation",
                )
            log.info(
                "Autotask budget used up (%d of %d, share %.0f%%); waiting %.0f s",
                used,
                threshold,
                self.share * 100,
                self.poll_interval,
            )
            self._sleep(self.poll_interval)
            waited += self.poll_interval
            self.waited_s += self.poll_interval


_ENDPOINT_SLOTS: dict[tuple[str, str], threading.BoundedSemaphore] = {}
_ENDPOINT_SLOTS_LOCK = threading.Lock()


def endpoint_slot(integration_code: str, path: str) -> threading.BoundedSemaphore:
    """The process's semaphore of ``MAX_CONCURRENT_PER_ENDPOINT`` for the endpoint of ``path``.

    ``path`` is relative to the zone's API base (``Companies/query``) or an absolute URL (a
    ``nextPageUrl``); Autotask counts threads per top-level endpoint (the entity).
    """
    key = (integration_code, _endpoint_of(path).lower())
    with _ENDPOINT_SLOTS_LOCK:
        slot = _ENDPOINT_SLOTS.get(key)
        if slot is None:
            slot = _ENDPOINT_SLOTS[key] = threading.BoundedSemaphore(MAX_CONCURRENT_PER_ENDPOINT)
        return slot


def _endpoint_of(path: str) -> str:
    if "://" not in path:
        return path.split("/", 1)[0]
    url_path = urlsplit(path).path
    match = re.search(r"/v1\.0/([^/?]+)", url_path, re.IGNORECASE)
    return match.group(1) if match else url_path
