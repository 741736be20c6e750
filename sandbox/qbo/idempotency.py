"""QBO's ``requestid``: a POST carrying one is answered once per (realm, requestid); a retry gets
the first answer byte for byte and nothing runs twice, and a retry that arrives while the first
is still running waits for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sandbox.core import Response


class Idempotency:
    """Responses to writes by (realm, requestid): a retry gets the first answer, nothing runs twice."""

    def __init__(self, capacity: int = 100_000):
        self._done: OrderedDict[tuple[str, str], Response] = OrderedDict()
        self._running: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()
        self.capacity = capacity

    def begin(self, key: tuple[str, str]) -> Response | None:
        """The stored response, or None when the caller now owns ``key`` and must call ``finish``."""
        while True:
            with self._lock:
                if key in self._done:
                    return self._done[key]
                running = self._running.get(key)
                if running is None:
                    self._running[key] = threading.Event()
                    return None
            running.wait(timeout=150)

    def finish(self, key: tuple[str, str], response: Response | None) -> None:
        with self._lock:
            if response is not None:
                self._done[key] = response
                while len(self._done) > self.capacity:
                    self._done.popitem(last=False)
            event = self._running.pop(key, None)
        if event is not None:
            event.set()

    def clear(self) -> None:
        with self._lock:
            self._done.clear()
