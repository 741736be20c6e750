"""Helpers of the Autotask hook tests: the sandbox's control endpoints, a recording ``sleep``, hooks.

Everything talks to the real sandbox over HTTP on loopback; the ``box`` fixture (``conftest``)
resets it before each test, with the Autotask Secret set to :data:`SECRET`.
"""

from __future__ import annotations

import json

import requests

from atqbo.hooks.autotask import AutotaskHook

SECRET = "s3cret-Very-Private-4711"
API_USER = "atqbo-api@sandbox.local"
API_RESOURCE_ID = 29682885  # the API-only resource the sandbox has after reset


class SleepRecorder:
    """Stands in for time.sleep: records each wait, optionally runs a callback on it."""

    def __init__(self, on_sleep=None):
        self.waits: list[float] = []
        self.on_sleep = on_sleep

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.on_sleep:
            self.on_sleep(len(self.waits))


def autotask_hook(**kwargs) -> AutotaskHook:
    """A hook on ``autotask_default`` whose waits are recorded, not waited."""
    kwargs.setdefault("sleep", SleepRecorder())
    return AutotaskHook(**kwargs)


def control(box, method: str, what: str, doc=None):
    response = requests.request(method, f"{box.base_url}/_sandbox/{what}", json=doc, timeout=10)
    response.raise_for_status()
    return response.json()


def autotask_requests(box, path_contains: str = "") -> list[dict]:
    return [r for r in control(box, "GET", "requests?api=autotask") if path_contains.lower() in r["path"].lower()]


def set_connection(monkeypatch, box, **changes):
    conn = box.connections()["autotask_default"]
    extra = {**conn["extra"], **changes.pop("extra", {})}
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps({**conn, **changes, "extra": extra}))


def seed_companies(box, n: int, **fields) -> list[dict]:
    companies = [
        {
            "companyName": f"Company {i:04d}",
            "companyType": 1,
            "phone": "555-0100",
            "ownerResourceID": API_RESOURCE_ID,
            "isActive": True,
            **fields,
        }
        for i in range(n)
    ]
    box.seed({"autotask": {"Companies": companies}})
    return [c for c in box.state()["autotask"]["Companies"] if c["id"] != 0]
