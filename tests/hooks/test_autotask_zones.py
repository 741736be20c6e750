"""Tests of ``atqbo.hooks.autotask_zones``: zone URLs, discovery over HTTP, the process-wide cache
and re-discovery after a 401 (the sandbox can move the tenant to another zone).
"""

from __future__ import annotations

import pytest

from atqbo.hooks import autotask as at
from atqbo.hooks.autotask import AutotaskAuthError, AutotaskHook
from atqbo.hooks.autotask_zones import zone_api_base
from tests.hooks.autotask_support import autotask_hook, autotask_requests, seed_companies, set_connection


@pytest.mark.parametrize(
    "zone, base",
    [
        (
            "https://webservices15.autotask.net/atservicesrest/",
            "https://webservices15.autotask.net/atservicesrest/v1.0",
        ),
        ("https://webservices5.autotask.net/ATServicesRest", "https://webservices5.autotask.net/ATServicesRest/v1.0"),
        ("http://127.0.0.1:8700/", "http://127.0.0.1:8700/atservicesrest/v1.0"),
    ],
)
def test_zone_url_becomes_api_base(zone, base):
    assert zone_api_base(zone) == base


def test_zone_discovery_is_cached_per_user_for_every_hook(box):
    first = autotask_hook()
    assert first.zone_url() == f"{box.base_url}/ws1/atservicesrest/v1.0"
    first.count("Companies")
    autotask_hook().count("Companies")  # a second hook in the same process reuses the zone
    assert len(autotask_requests(box, "zoneInformation")) == 1
    assert first.calls_made["GET zoneInformation"] == 1

    AutotaskHook.clear_zone_cache()
    autotask_hook().count("Companies")
    assert len(autotask_requests(box, "zoneInformation")) == 2


def test_zone_cache_expires_after_12_hours(box):
    now = [1000.0]
    hook = autotask_hook(clock=lambda: now[0])
    hook.zone_url()
    now[0] += 12 * 3600 - 1
    hook.zone_url()
    assert len(autotask_requests(box, "zoneInformation")) == 1
    now[0] += 2
    hook.zone_url()
    assert len(autotask_requests(box, "zoneInformation")) == 2


def test_zone_move_is_rediscovered_after_401_and_the_call_retried_once(box):
    hook = autotask_hook()
    assert hook.count("Companies") == 1  # the local company
    box.seed({"autotask": {"zone": "ws2"}})

    assert hook.count("Companies") == 1
    assert hook.zone_url().endswith("/ws2/atservicesrest/v1.0")
    tail = [(r["method"], r["path"].split("/atservicesrest")[0][-3:], r["status"]) for r in autotask_requests(box)][-3:]
    assert tail == [("POST", "ws1", 401), ("GET", "", 200), ("POST", "ws2", 200)]


def test_zone_move_in_the_middle_of_paging_continues_on_the_new_zone(box):
    seed_companies(box, 600)
    hook = autotask_hook()
    records = hook.query("Companies", at.gte("id", 0))
    first = next(records)
    box.seed({"autotask": {"zone": "ws2"}})
    rest = list(records)
    assert len(rest) + 1 == 601 and first["id"] == 0
    assert [r["status"] for r in autotask_requests(box, "query/next")] == [401, 200]


def test_err06_unknown_api_user_is_one_clear_auth_error(box, monkeypatch):
    set_connection(monkeypatch, box, login="nobody@example.com")
    hook = autotask_hook()
    with pytest.raises(AutotaskAuthError) as info:
        hook.count("Companies")
    message = str(info.value)
    assert "nobody@example.com" in message and "login of Airflow connection 'autotask_default'" in message
    assert info.value.status == 500
    assert len(autotask_requests(box)) == 1  # zoneInformation only: no retries, nothing else sent
