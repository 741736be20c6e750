"""Injected faults: the rules a test posts to ``/_sandbox/faults`` and the book that decides, per
request, which rule (if any) fires. The server applies the rule; each API emulator only supplies
its own body for ``error_500``, ``error_503`` and ``throttle_429``.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.core import Request

FAULT_MODES = {
    "error_500",
    "error_503",
    "throttle_429",
    "timeout",
    "commit_then_error",
    "commit_then_drop",
    "commit_later",
    "drop_connection",
    "latency",
}


@dataclass
class FaultRule:
    api: str
    mode: str
    method: str | None = None
    path: str | None = None
    requestid: str | None = None  # a regular expression the request's ``requestid`` must match
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
        keys = {"api", "mode", "method", "path", "requestid", "times", "after", "probability", "latency_ms", "seed"}
        unknown = set(doc) - keys
        if unknown:
            raise ValueError(f"unknown fault rule keys: {sorted(unknown)}")
        if doc.get("api") not in ("qbo", "autotask"):
            raise ValueError("fault rule 'api' must be 'qbo' or 'autotask'")
        if doc.get("mode") not in FAULT_MODES:
            raise ValueError(f"fault rule 'mode' must be one of {sorted(FAULT_MODES)}")
        for pattern in ("path", "requestid"):
            if doc.get(pattern) is not None:
                re.compile(doc[pattern])
        probability = float(doc.get("probability", 1.0))
        if not 0 <= probability <= 1:
            raise ValueError("fault rule 'probability' must be between 0 and 1")
        rule = cls(
            api=doc["api"],
            mode=doc["mode"],
            method=(doc.get("method") or None) and doc["method"].upper(),
            path=doc.get("path"),
            requestid=doc.get("requestid"),
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
            "requestid": self.requestid,
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
        if self.requestid and not re.search(self.requestid, req.arg("requestid") or ""):
            return False
        return not (self.path and not re.search(self.path, req.path, re.IGNORECASE))


class FaultBook:
    """The active fault rules; ``pick`` decides which one (if any) fires for a request."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._holds = threading.Condition()
        self._releases = 0  # how many times the holds were released: a hold ends when this moves
        self._clears = 0  # how many times the holds were dropped (a sandbox reset)
        self._held = 0

    def hold(self, seconds: float) -> bool:
        """Hold the calling request ``seconds``, or until ``release_holds`` or ``drop_holds``. False
        when dropped: the sandbox was reset, and the held request must not be applied to the books
        of whatever test comes next.

        What a ``commit_later`` request waits before QBO applies it: a test that must see the run
        after it finish first holds it long and releases it then, instead of guessing a time."""
        with self._holds:
            released, cleared = self._releases, self._clears
            self._held += 1
            try:
                self._holds.wait_for(lambda: self._releases != released, timeout=seconds)
            finally:
                self._held -= 1
            return self._clears == cleared

    def holding(self) -> int:
        """How many requests are held now."""
        with self._holds:
            return self._held

    def release_holds(self) -> int:
        """End every hold now (the held requests are applied at once); how many releases so far."""
        with self._holds:
            self._releases += 1
            self._holds.notify_all()
            return self._releases

    def add(self, docs: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
        docs = docs if isinstance(docs, list) else [docs]
        rules = [FaultRule.from_doc(d) for d in docs]
        with self._lock:
            self._rules.extend(rules)
            return [r.to_doc() for r in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def drop_holds(self) -> None:
        """End every hold now, the held requests dropped (``hold`` says so): the sandbox's reset."""
        with self._holds:
            self._clears += 1
        self.release_holds()

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
