"""Fixtures for the sandbox's own tests: one live sandbox per session, reset per test on request.

Shared by the Autotask and QBO emulator tests. ``sandbox`` is the running server (real HTTP on
a free loopback port, SMTP part on); ``fresh_sandbox`` is the same server after ``reset()``.
``autotask`` is a small plain-``requests`` client of the Autotask emulator that discovers its
zone the way a real client does.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.server import Sandbox
from tests.net_support import free_port

AT_USER = "atqbo-api@sandbox.local"
AT_SECRET = "sandbox-secret"
AT_CODE = "ATQBOSANDBOX"
AT_RESOURCE_ID = 29682885  # the API resource every reset leaves in place


@pytest.fixture(scope="session")
def sandbox():
    server = Sandbox(port=0, smtp_port=free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_sandbox(sandbox):
    sandbox.reset()
    return sandbox


class AutotaskClient:
    """Plain HTTP calls to the Autotask emulator: zoneInformation first, then the three headers."""

    def __init__(self, server: Sandbox, username: str = AT_USER, secret: str = AT_SECRET, code: str = AT_CODE):
        self.server = server
        self.headers = {"ApiIntegrationCode": code, "UserName": username, "Secret": secret}
        self.discover()

    def discover(self) -> str:
        zone = requests.get(
            f"{self.server.base_url}/atservicesrest/v1.0/zoneInformation",
            params={"user": self.headers["UserName"]},
            timeout=10,
        )
        zone.raise_for_status()
        self.url = zone.json()["url"] + "v1.0/"
        return self.url

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = path if path.startswith("http") else self.url + path
        return requests.request(method, url, headers=headers, **kwargs)

    def query(self, entity: str, *filters: dict[str, Any], **extra: Any) -> dict[str, Any]:
        response = self.call("POST", f"{entity}/query", json={"filter": list(filters), **extra})
        assert response.status_code == 200, response.text
        return response.json()

    def ids(self, entity: str, *filters: dict[str, Any]) -> list[int]:
        return [item["id"] for item in self.query(entity, *filters)["items"]]

    def count(self, entity: str, *filters: dict[str, Any]) -> int:
        response = self.call("POST", f"{entity}/query/count", json={"filter": list(filters)})
        assert response.status_code == 200, response.text
        return response.json()["queryCount"]

    def get(self, entity: str, item_id: int) -> dict[str, Any] | None:
        response = self.call("GET", f"{entity}/{item_id}")
        assert response.status_code == 200, response.text
        return response.json()["item"]

    def create(self, entity: str, body: dict[str, Any]) -> int:
        response = self.call("POST", entity, json=body)
        assert response.status_code == 200, response.text
        return response.json()["itemId"]


@pytest.fixture
def autotask(fresh_sandbox) -> AutotaskClient:
    return AutotaskClient(fresh_sandbox)


@pytest.fixture
def autotask_client() -> type[AutotaskClient]:
    """The client class, for clients with other credentials or of another sandbox."""
    return AutotaskClient
