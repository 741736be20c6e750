"""The atqbo error log inside the Airflow UI (TOOL-08): the vendor app's "View your logs / Retry" page.

``plugins/atqbo_ui.py`` registers this as an Airflow plugin: a FastAPI app mounted by the API server
under ``/atqbo`` (JSON API + one HTML page) and an external view that shows the page in Airflow's
Browse menu. The modules:

- ``state``: reads ``atqbo_settings`` and the state-database connection in the API server;
- ``retry``: the Retry action (re-queue in the ledger, trigger ``atqbo_retry_errors`` for a marker);
- ``app``: the routes, protected by Airflow's own auth dependencies, and the page;
- ``paths``: where the app is mounted and its page.

This module stays light on purpose: Airflow imports plugin files in every task and DAG-parsing
process too (for macros and listeners), so the app is built at its first request (``DeferredApp``),
in the API server only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class DeferredApp:
    """An ASGI app that builds ``atqbo.ui.app.create_app()`` at its first request.

    Building it at import would pull FastAPI and the API server's security code into every task
    process that loads the plugin file, for nothing.
    """

    def __init__(self) -> None:
        self._app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            from atqbo.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)
