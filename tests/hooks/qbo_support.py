"""Helpers of the QBO hook tests: the sandbox's control endpoints, recording sleep, hooks, bodies.

Everything talks to the real sandbox over HTTP on loopback. ``SandboxControl`` wraps the
``/_sandbox/`` endpoints the tests use (request log, fault rules, seeds, limits, state).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests

from atqbo.hooks.qbo import QboFault, QuickBooksOnlineHook, build_fault, parse_fault_body
from sandbox import Sandbox
from sandbox.qbo import DEFAULT_REALM_ID

REALM = DEFAULT_REALM_ID
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
DATA = Path(__file__).parent / "data" / "qbo"  # QBO's answers in their real shapes (see its README)


def fixture(name: str) -> dict:
    """A QBO answer from ``data/qbo``."""
    return json.loads((DATA / f"{name}.json").read_text())


def fault_of(name: str, status: int = 400, **kwargs) -> QboFault:
    """The typed fault the hook raises for the fault answer in ``data/qbo/<name>.json``."""
    doc = fixture(name)
    return build_fault(parse_fault_body(json.dumps(doc)), status=status, **kwargs)


class SandboxControl:
    """The sandbox's control surface, over HTTP."""

    def __init__(self, server: Sandbox):
        self.server = server
        self.base_url = server.base_url

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.base_url}/_sandbox/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "reset")

    def seed(self, qbo: dict[str, Any]) -> None:
        self._call("POST", "seed", json={"qbo": qbo})

    def fault(self, **rule: Any) -> None:
        self._call("POST", "faults", json={"api": "qbo", **rule})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def limits(self, **qbo: Any) -> None:
        self._call("POST", "limits", json={"qbo": qbo})

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")["qbo"]

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """QBO requests served so far, oldest first, optionally those whose path matches a regex."""
        entries = self._call("GET", "requests", params={"api": "qbo"})
        entries.sort(key=lambda e: e["seq"])
        return [
            e
            for e in entries
            if (path is None or re.search(path, e["path"], re.IGNORECASE)) and (method is None or e["method"] == method)
        ]

    def token_calls(self) -> list[dict[str, Any]]:
        return self.requests(TOKEN_PATH)

    def api_calls(self, path: str = "", method: str | None = None) -> list[dict[str, Any]]:
        return self.requests(f"^/v3/company/[^/]+/{path}", method)

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def refresh_token(self) -> str | None:
        return self.state()["oauth"]["refresh_token"]

    def revoke_access_tokens(self, keep_refresh_token: str) -> None:
        """Kill every live access token but let ``keep_refresh_token`` go on working."""
        self.seed({"oauth": {"revoke": True, "refresh_token": keep_refresh_token}})


def query_args(entry: dict[str, Any]) -> dict[str, list[str]]:
    """The query string of a logged request, parsed."""
    return parse_qs(entry["query"], keep_blank_values=True)


class RecordingSleep:
    """The hook's sleep: records each wait and really waits a capped moment (retries stay real)."""

    def __init__(self, cap: float = 0.02):
        self.calls: list[float] = []
        self.cap = cap

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(min(seconds, self.cap))


def hook_factory(ledger: Any) -> Callable[..., Any]:
    """Hooks with fast retries, sharing ``ledger``; keyword arguments override the defaults."""

    def _make(**kwargs: Any) -> QuickBooksOnlineHook:
        options: dict[str, Any] = {
            "ledger": ledger,
            "sleep": RecordingSleep(),
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "one_name_pause": 0.01,
        }
        options.update(kwargs)
        return QuickBooksOnlineHook(**options)

    return _make


SERVICE_ITEM = {"Name": "Managed Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}, "UnitPrice": 100}


def invoice_body(customer_id: str, item_id: str, amount: float = 100.0, **fields: Any) -> dict[str, Any]:
    return {
        "CustomerRef": {"value": customer_id},
        "Line": [
            {
                "Amount": amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": 1, "UnitPrice": amount},
            }
        ],
        **fields,
    }
