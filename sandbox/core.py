"""The vocabulary every part of the sandbox speaks: a request, a response, the clock, and the two
ways a part refuses (``Abort`` inside an API handler, ``SeedError`` for a seed document).

The server and both API emulators import these; this module imports nothing of the sandbox, so
it sits at the bottom of the import graph.
"""

from __future__ import annotations

import json
import time
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


class SeedError(ValueError):
    """A seed document breaks a rule; nothing of it was loaded."""


def iso_utc(dt: datetime | None = None) -> str:
    dt = dt or Clock.utcnow()
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
