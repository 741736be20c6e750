"""Shared machinery of the sandbox: requests, responses, the clock, fault rules and the request log.

The two API emulators (``sandbox.autotask`` and ``sandbox.qbo``) are plain objects that turn a
``Request`` into a ``Response``; everything that is the same for both (timing, faults, the log,
rate windows) lives here so that each API module only states its own rules.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs


class Clock:
    """Sandbox time: real time sped up by ``scale`` for every time-based rule.

    ``seconds()`` is a monotonic counter in *sandbox seconds*: with scale 60, one real second
    is one sandbox minute, so a rolling hour passes in one real minute.
    """

    def __init__(self, scale: float = 1.0):
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = float(scale)
        self._origin = time.monotonic()

    def seconds(self) -> float:
        return (time.monotonic() - self._origin) * self.scale

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long a sandbox duration lasts in real seconds."""
        return sandbox_seconds / self.scale

    def sleep(self, sandbox_seconds: float) -> None:
        if sandbox_seconds > 0:
            time.sleep(self.real_seconds(sandbox_seconds))

    @staticmethod
    def utcnow() -> datetime:
        return datetime.now(UTC)


@dataclass
class Request:
    method: str
    path: str  # without the query string, as sent
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    client: str = "127.0.0.1"

    @classmethod
    def build(cls, method: str, raw_path: str, headers: dict[str, str], body: bytes, client: str) -> Request:
        path, _, qs = raw_path.partition("?")
        return cls(
            method=method.upper(),
            path=path,
            query=parse_qs(qs, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            client=client,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter, matched case-insensitively."""
        for key, values in self.query.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload, default=str).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})


class Abort(Exception):
    """Raised inside an API handler to answer at once with ``response``."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


FAULT_MODES = {
    "error_500",
    "error_503",
    "throttle_429",
    "timeout",
    "commit_then_error",
    "drop_connection",
    "latency",
}


@dataclass
class FaultRule:
    api: str
    mode: str
    method: str | None = None
    path: str | None = None
    times: int | None = None  # how many times it fires; None = forever
    after: int = 0  # let this many matching requests through first
    probability: float = 1.0
    latency_ms: int | None = None
    seed: int | None = None
    matched: int = 0
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> FaultRule:
        unknown = set(doc) - {"api", "mode", "method", "path", "times", "after", "probability", "latency_ms", "seed"}
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        if doc.get("api") not in ("qbo", "autotask"):
            raise ValueError("fault rule 'api' must be 'qbo' or 'autotask'")
        if doc.get("mode") not in FAULT_MODES:
            raise ValueError(f"fault rule 'mode' must be one of {sorted(FAULT_MODES)}")
        if doc.get("path") is not None:
            re.compile(doc["path"])
        probability = float(doc.get("probability", 1.0))
        if not 0 <= probability <= 1:
            raise ValueError("fault rule 'probability' must be between 0 and 1")
        rule = cls(
            api=doc["api"],
            mode=doc["mode"],
            method=(doc.get("method") or None) and doc["method"].upper(),
            path=doc.get("path"),
            times=doc.get("times"),
            after=int(doc.get("after", 0)),
            probability=probability,
            latency_ms=doc.get("latency_ms"),
            seed=doc.get("seed"),
        )
        rule._rng = random.Random(rule.seed)
        return rule

    def to_doc(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "mode": self.mode,
            "method": self.method,
            "path": self.path,
            "times": self.times,
            "after": self.after,
            "probability": self.probability,
            "latency_ms": self.latency_ms,
            "seed": self.seed,
            "matched": self.matched,
            "fired": self.fired,
        }

    def matches(self, api: str, req: Request) -> bool:
        if api != self.api:
            return False
        if self.method and req.method != self.method:
            return False
        return not (self.path and not re.search(self.path, req.path, re.IGNORECASE))


class FaultBook:
    """The active fault rules; ``pick`` decides which one (if any) fires for a request."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, docs: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
        docs = docs if isinstance(docs, list) else [docs]
        rules = [FaultRule.from_doc(d) for d in docs]
        with self._lock:
            self._rules.extend(rules)
            return [r.to_doc() for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_doc() for r in self._rules]

    def pick(self, api: str, req: Request) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if not rule.matches(api, req):
                    continue
                rule.matched += 1
                if rule.matched <= rule.after:
                    continue
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.probability < 1 and rule._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None


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


def iso_utc(dt: datetime | None = None) -> str:
    dt = dt or Clock.utcnow()
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
