"""This process's share of one QBO realm's limits: calls in flight, calls and batches per minute.

Every hook of a worker process talking to the same realm shares one :class:`RealmPacer`, so
parallel tasks in a process cannot exceed QBO's 10 concurrent calls; other processes are kept in
line by QBO's 429s, which the hook retries.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from atqbo.hooks.qbo_limits import BATCHES_PER_MINUTE, CALLS_PER_MINUTE


class RealmPacer:
    """Calls in flight (a semaphore) and sliding one-minute windows of calls and batches for one realm."""

    def __init__(self, max_concurrent: int):
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._calls: deque[float] = deque()
        self._batches: deque[float] = deque()

    def _reserve(self, window: deque[float], limit: int) -> float:
        """Record a call in ``window`` if allowed now; otherwise return how long to wait."""
        now = time.monotonic()
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= limit:
            return window[0] + 60.0 - now
        window.append(now)
        return 0.0

    def wait_for_turn(self, is_batch: bool) -> None:
        """Wait until one more call (and batch) fits in the minute's windows, then count it."""
        while True:
            with self._lock:
                wait = self._reserve(self._batches, BATCHES_PER_MINUTE) if is_batch else 0.0
                if wait == 0.0:
                    wait = self._reserve(self._calls, CALLS_PER_MINUTE)
                    if wait and is_batch:
                        self._batches.pop()  # give the batch slot back; we try both again
            if wait <= 0:
                return
            time.sleep(min(wait, 5.0))

    @contextmanager
    def slot(self, is_batch: bool) -> Iterator[None]:
        """Hold one of the realm's call slots for the duration of a call, after waiting for its turn."""
        self.wait_for_turn(is_batch)
        with self._slots:
            yield


_PACERS: dict[tuple[str, str], RealmPacer] = {}
_PACERS_LOCK = threading.Lock()


def pacer_for(host: str, realm_id: str, max_concurrent: int) -> RealmPacer:
    """The process's pacer of a realm (created with ``max_concurrent`` by the first hook that asks)."""
    with _PACERS_LOCK:
        pacer = _PACERS.get((host, realm_id))
        if pacer is None:
            pacer = _PACERS[(host, realm_id)] = RealmPacer(max_concurrent)
        return pacer
