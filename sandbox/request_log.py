"""The request log: every request served, for tests to check what a client really sent
(``GET /_sandbox/requests``)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any


class RequestLog:
    """Every request served, newest last, for tests to check what a client really sent."""

    def __init__(self, maxlen: int = 200_000):
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._seq = 0

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)

    def list(self, api: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries if api is None or e["api"] == api]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
