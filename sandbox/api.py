"""The interface each API emulator (Autotask, QBO) implements for the sandbox server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.core import Request, Response


class ApiEmulator:
    """One emulated service. The server calls these; everything else is the API's own business.

    Thread safety: the server calls ``serve`` from many threads at once. An emulator keeps its
    state behind its own lock and must not hold that lock while it sleeps (latency, limits).
    """

    name: str = ""

    def __init__(self, sandbox: Any):
        self.sandbox = sandbox
        self.clock = sandbox.clock

    def handles(self, req: Request) -> bool:
        """Whether this request's path belongs to this API."""
        raise NotImplementedError

    def requestid(self, req: Request) -> str | None:
        """The client's idempotency key for the request log (QBO ``requestid``), if any."""
        return None

    def serve(self, req: Request) -> Response:
        """Answer a request, enforcing auth, limits and business rules."""
        raise NotImplementedError

    def fault_response(self, mode: str) -> Response:
        """The response this API gives for an injected ``error_500``/``error_503``/``throttle_429``."""
        raise NotImplementedError

    def reset(self) -> None:
        """Empty all data; credentials and limits back to defaults."""
        raise NotImplementedError

    def prepare_seed(self, part: dict[str, Any]) -> Callable[[], None]:
        """Validate a seed part against the current state and return a function that merges it.

        Raise ``sandbox.core.SeedError`` naming the record and the rule when the seed breaks
        one; nothing may change before the returned function is called.
        """
        raise NotImplementedError

    def dump_state(self) -> dict[str, Any]:
        """The whole current state, in the seed document's shape."""
        raise NotImplementedError

    def limits(self) -> dict[str, Any]:
        raise NotImplementedError

    def set_limits(self, doc: dict[str, Any]) -> None:
        raise NotImplementedError

    def airflow_connection(self, base_url: str) -> dict[str, Any]:
        """The Airflow connection (JSON form) that points atqbo's hook at this emulator."""
        raise NotImplementedError
