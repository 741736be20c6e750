"""The tenant's limits: a rolling hourly request threshold (latency added past 50% and 75% of it,
calls refused past 100%, ThresholdInformation reporting it) and the defaults of every limit,
adjustable at run time through ``/_sandbox/limits``. The per-endpoint concurrency limit is a
``sandbox.limits.Gate`` the API holds.
"""

from __future__ import annotations

import threading
from typing import Any

from sandbox.autotask.responses import errors_response
from sandbox.core import Abort, Clock, Response
from sandbox.limits import RollingWindow

DEFAULT_LIMITS: dict[str, Any] = {
    "request_threshold": 10_000,  # requests per rolling window, per database
    "threshold_window_s": 3600,  # sandbox seconds; ThresholdInformation reports it in minutes
    "latency_at_50pct_s": 0.5,  # added per request once usage reaches 50% of the threshold
    "latency_at_75pct_s": 1.0,  # ... and 75%
    "concurrent_per_endpoint": 3,  # per (integration code, entity endpoint)
    "latency_ms": 0,  # base latency of every API call, real milliseconds (benchmarks)
}

THRESHOLD_MESSAGE = (
    "Request threshold exceeded: this database has made {count} API requests in the last "
    "{minutes} minutes (threshold {threshold}). Requests are refused until the rolling window "
    "frees capacity; read ThresholdInformation to pace calls."
)


class RequestThreshold:
    """The limits in force and the rolling window of the tenant's requests. ``lock`` is the
    emulator's; it is never held while a request sleeps."""

    def __init__(self, clock: Clock, lock: threading.RLock):
        self._lock = lock
        self._window = RollingWindow(clock, DEFAULT_LIMITS["threshold_window_s"])
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._limits = dict(DEFAULT_LIMITS)
            self._window.window = DEFAULT_LIMITS["threshold_window_s"]
            self._window.reset()

    def current(self) -> dict[str, Any]:
        """A copy of the limits in force."""
        with self._lock:
            return dict(self._limits)

    def limits(self) -> dict[str, Any]:
        """The limits in force and ``used_requests``, the window's count."""
        doc = self.current()
        doc["used_requests"] = self._window.count()
        return doc

    def set_limits(self, doc: dict[str, Any]) -> None:
        """Change limits at run time. ``used_requests: n`` fills the rolling window with n
        requests made now (as if other integrations of the tenant had made them)."""
        if not isinstance(doc, dict):
            raise ValueError("autotask limits must be an object")
        unknown = set(doc) - set(DEFAULT_LIMITS) - {"used_requests"}
        if unknown:
            raise ValueError(
                f"unknown autotask limits {sorted(unknown)}; known: {sorted(DEFAULT_LIMITS)} + used_requests"
            )
        checked: dict[str, Any] = {}
        for key, value in doc.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"autotask limit {key!r} must be a non-negative number, got {value!r}")
            if key in ("request_threshold", "concurrent_per_endpoint", "threshold_window_s") and value < 1:
                raise ValueError(f"autotask limit {key!r} must be at least 1, got {value!r}")
            checked[key] = value
        used = checked.pop("used_requests", None)
        with self._lock:
            self._limits.update(checked)
            self._window.window = float(self._limits["threshold_window_s"])
            if used is not None:
                self._window.reset()
                for _ in range(int(used)):
                    self._window.add()

    def count_request(self, limits: dict[str, Any]) -> float:
        """Count one request against the rolling threshold; refuse past 100% (the refused call
        is not counted, so the window clears); return the usage latency in sandbox seconds."""
        threshold = int(limits["request_threshold"])
        with self._lock:
            current = self._window.count()
            if current >= threshold:
                raise Abort(errors_response(429, threshold_message(current, limits)))
            used = self._window.add()
        if used >= 0.75 * threshold:
            return float(limits["latency_at_75pct_s"])
        if used >= 0.5 * threshold:
            return float(limits["latency_at_50pct_s"])
        return 0.0

    def information(self) -> Response:
        """``GET ThresholdInformation``."""
        limits = self.current()
        return Response.json(
            200,
            {
                "externalRequestThreshold": int(limits["request_threshold"]),
                "requestThresholdTimeframe": window_minutes(limits),
                "currentTimeframeRequestCount": self._window.count(),
            },
        )

    def throttled_response(self) -> Response:
        """What an injected ``throttle_429`` answers: the threshold refusal."""
        limits = self.current()
        return errors_response(429, threshold_message(limits["request_threshold"], limits))


def threshold_message(count: int, limits: dict[str, Any]) -> str:
    return THRESHOLD_MESSAGE.format(
        count=count,
        minutes=window_minutes(limits),
        threshold=int(limits["request_threshold"]),
    )


def window_minutes(limits: dict[str, Any]) -> int:
    return max(1, round(float(limits["threshold_window_s"]) / 60))
