"""The Autotask emulator's front door, over real HTTP: zone discovery (and a zone move) and header
authentication with the real status codes."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.autotask_support import (
    ALL_IDS,
    AT_CODE,
    AT_SECRET,
    AT_USER,
    control,
    seed,
)


def test_zone_information_points_at_this_server_without_auth(fresh_sandbox):
    base = fresh_sandbox.base_url
    for path in (
        "/atservicesrest/v1.0/zoneInformation",
        "/ATServicesRest/V1.0/ZoneInformation",
        "/ws1/atservicesrest/v1.0/zoneinformation",
        "/ws9/ATSERVICESREST/v1.0/zoneInformation",
    ):
        response = requests.get(base + path, params={"user": AT_USER.upper()}, timeout=5)
        assert response.status_code == 200, path
        assert response.json() == {
            "zoneName": "Sandbox Zone ws1",
            "url": f"{base}/ws1/atservicesrest/",
            "webUrl": f"{base}/ws1/",
            "ci": 29680,
        }
    # The URL is built from the Host header the client used, so it stays reachable through it.
    response = requests.get(
        f"{base}/atservicesrest/v1.0/zoneInformation",
        params={"user": AT_USER},
        headers={"Host": "localhost:1234"},
        timeout=5,
    )
    assert response.json()["url"] == "http://localhost:1234/ws1/atservicesrest/"


@pytest.mark.parametrize("user", ["nobody@example.com", "", None])
def test_zone_information_unknown_or_blank_user_is_500(fresh_sandbox, user):
    params = {} if user is None else {"user": user}
    response = requests.get(f"{fresh_sandbox.base_url}/atservicesrest/v1.0/zoneInformation", params=params, timeout=5)
    assert response.status_code == 500
    assert response.json() == {"errors": ["Zone information could not be determined"]}


def test_calls_on_the_bare_prefix_or_another_zone_are_401(autotask):
    base = autotask.server.base_url
    for prefix in ("/atservicesrest", "/ws2/atservicesrest", "/webservices5/atservicesrest"):
        response = autotask.call("POST", f"{base}{prefix}/v1.0/Companies/query", json={"filter": [ALL_IDS]})
        assert response.status_code == 401, prefix
        assert "zoneInformation" in response.json()["errors"][0]
    assert (
        autotask.call("POST", f"{base}/WS1/ATServicesRest/V1.0/companies/QUERY", json={"filter": [ALL_IDS]}).status_code
        == 200
    )


def test_zone_move_needs_rediscovery(autotask):
    old_url = autotask.url
    seed(autotask.server, zone="ws2")
    assert autotask.call("POST", "Companies/query/count", json={"filter": [ALL_IDS]}).status_code == 401
    assert autotask.discover() == f"{autotask.server.base_url}/ws2/atservicesrest/v1.0/" != old_url
    assert autotask.count("Companies", ALL_IDS) == 1
    assert autotask.server.state()["autotask"]["zone"] == "ws2"
    autotask.server.reset()
    assert autotask.discover().endswith("/ws1/atservicesrest/v1.0/")


def test_auth_failures_use_the_real_status_codes(autotask):
    def count_with(**headers) -> requests.Response:
        return autotask.call("POST", "Companies/query/count", json={"filter": [ALL_IDS]}, headers=headers)

    bad_user = count_with(UserName="someone@else.example")
    assert bad_user.status_code == 500 and bad_user.json()["errors"]
    bad_secret = count_with(Secret="wrong-secret")
    assert bad_secret.status_code == 401 and bad_secret.json()["errors"]
    assert "wrong-secret" not in bad_secret.text and AT_SECRET not in bad_secret.text
    bad_code = count_with(ApiIntegrationCode="NOPE")
    assert bad_code.status_code == 500 and bad_code.json() == {"errors": ["IntegrationCode is invalid."]}
    no_headers = requests.post(autotask.url + "Companies/query/count", json={"filter": [ALL_IDS]}, timeout=5)
    assert no_headers.status_code == 500
    # Header names are case-insensitive; the user name is an email, compared without case
    lower = {"apiintegrationcode": AT_CODE.lower(), "username": AT_USER.upper(), "secret": AT_SECRET}
    assert requests.post(
        autotask.url + "Companies/query/count", json={"filter": [ALL_IDS]}, headers=lower, timeout=5
    ).json() == {"queryCount": 1}


def test_seeded_credentials_replace_the_defaults_until_reset(autotask, autotask_client):
    seed(autotask.server, credentials={"username": "api@msp.example", "secret": "n3w", "integration_code": "CODE2"})
    assert autotask.call("GET", "Companies/0").status_code == 500
    other = autotask_client(autotask.server, "api@msp.example", "n3w", "CODE2")
    assert other.get("Companies", 0)["id"] == 0
    assert control(autotask.server, "GET", "connections").json()["autotask_default"] == {
        "conn_type": "autotask",
        "host": autotask.server.base_url,
        "login": "api@msp.example",
        "password": "n3w",
        "extra": {"integration_code": "CODE2"},
    }
    assert control(autotask.server, "POST", "reset").status_code == 200
    assert autotask.get("Companies", 0)["id"] == 0
