"""Counters the emulators build their limits from: a rolling window of events in sandbox time, and
a gate that counts requests in flight per key.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from sandbox.core import Clock


class RollingWindow:
    """Counts events in a rolling window of ``window`` sandbox seconds."""

    def __init__(self, clock: Clock, window: float):
        self.clock = clock
        self.window = window
        self._events: deque[float] = deque()
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()

    def count(self) -> int:
        with self._lock:
            self._trim(self.clock.seconds())
            return len(self._events)

    def add(self) -> int:
        """Record one event and return the count including it."""
        with self._lock:
            now = self.clock.seconds()
            self._trim(now)
            self._events.append(now)
            return len(self._events)

    def reset(self) -> None:
        with self._lock:
            self._events.clear()


class Gate:
    """Counts requests in flight per key, refusing past ``limit``."""

    def __init__(self) -> None:
        self._inflight: dict[Any, int] = {}
        self._lock = threading.Lock()

    def enter(self, key: Any, limit: int) -> bool:
        with self._lock:
            current = self._inflight.get(key, 0)
            if current >= limit:
                return False
            self._inflight[key] = current + 1
            return True

    def leave(self, key: Any) -> None:
        with self._lock:
            self._inflight[key] = max(0, self._inflight.get(key, 0) - 1)

    def current(self, key: Any) -> int:
        with self._lock:
            return self._inflight.get(key, 0)
