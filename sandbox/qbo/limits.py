"""QBO's limits: the defaults (all adjustable at run time through ``/_sandbox/limits``), their
validation, and the per-realm rolling minute windows for requests and batch requests.

The concurrency limit and the one-name-at-a-time gate are ``sandbox.limits.Gate`` objects held
by the API (``sandbox.qbo.api``), which also sleeps the latencies.
"""

from __future__ import annotations

import threading
from typing import Any

from sandbox.core import Clock
from sandbox.limits import RollingWindow

DEFAULT_LIMITS: dict[str, float] = {
    "requests_per_minute": 500,  # per realm, in sandbox minutes
    "concurrent": 10,  # requests in flight per realm
    "batch_per_minute": 40,  # batch requests per realm, in sandbox minutes
    "max_batch_items": 30,
    "latency_ms": 0,  # added to every API request, slept holding the concurrency slot
    "name_write_ms": 0,  # how long a Customer/Vendor/Employee write holds the one-name-at-a-time gate
    "access_token_ttl_s": 3600,  # sandbox seconds
    "refresh_token_ttl_s": 8726400,  # sandbox seconds (101 days)
    # Intuit's refresh-token policy (docs/api-facts.md 2.7): a refresh hands out a new refresh token
    # only once the current one is a day old (else the same one), and the superseded token goes on
    # working for a day after the new one was issued. 0 and 0: every refresh rotates and the old
    # token dies at once (stricter than Intuit).
    "refresh_token_rotation_s": 86400,  # sandbox seconds
    "previous_refresh_token_s": 86400,  # sandbox seconds
}


def check_limits(doc: dict[str, Any]) -> None:
    """Refuse unknown keys and values that are not numbers >= 0 (``ValueError``, a 400 to the caller)."""
    unknown = set(doc) - set(DEFAULT_LIMITS)
    if unknown:
        raise ValueError(f"unknown qbo limits: {sorted(unknown)}; known: {sorted(DEFAULT_LIMITS)}")
    for key, value in doc.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"qbo limit {key!r} must be a number >= 0, got {value!r}")


class RequestRates:
    """The rolling sandbox minute of API requests, and of batch requests, for the realm."""

    def __init__(self, clock: Clock):
        self._minute = RollingWindow(clock, 60)
        self._batch_minute = RollingWindow(clock, 60)
        self._lock = threading.Lock()

    def admit(self, is_batch: bool, per_minute: float, batch_per_minute: float) -> bool:
        """Count the request if both windows have room; a refused request does not count."""
        with self._lock:
            if self._minute.count() >= per_minute:
                return False
            if is_batch and self._batch_minute.count() >= batch_per_minute:
                return False
            self._minute.add()
            if is_batch:
                self._batch_minute.add()
            return True
