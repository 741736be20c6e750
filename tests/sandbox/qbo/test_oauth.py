"""Intuit's OAuth 2.0 as the QBO emulator plays it, over real HTTP: refresh and Intuit's rotation
policy (a new refresh token once a day, the superseded one alive for a day, a lost answer),
client and grant errors, authorization codes, Bearer checks, revocation, token lifetimes in
sandbox time, and the Airflow connection's refresh token."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.qbo import DEFAULT_CLIENT_ID, DEFAULT_REALM_ID, DEFAULT_REFRESH_TOKEN
from sandbox.server import Sandbox
from tests.sandbox.qbo_support import QboClient


def test_refresh_returns_the_real_token_fields_and_rotates_a_seeded_token(qbo):
    first = qbo.refresh()
    assert set(first) == {"token_type", "access_token", "expires_in", "refresh_token", "x_refresh_token_expires_in"}
    assert first["token_type"] == "bearer" and first["expires_in"] == 3600
    assert first["refresh_token"] != DEFAULT_REFRESH_TOKEN  # a seeded token counts as older than a day
    assert 8726400 - 5 <= first["x_refresh_token_expires_in"] <= 8726400
    # the access token from the first refresh lives on until it expires
    second = qbo.refresh()
    qbo.access_token = first["access_token"]
    assert second["access_token"] != first["access_token"]
    assert qbo.call("GET", "companyinfo/" + DEFAULT_REALM_ID).status_code == 200


def test_a_refresh_within_a_day_returns_the_same_refresh_token_without_extending_it(qbo):
    first = qbo.refresh()
    time.sleep(1.1)
    second = qbo.refresh()
    assert second["refresh_token"] == first["refresh_token"]  # Intuit rotates about once a day
    assert second["access_token"] != first["access_token"]
    assert second["x_refresh_token_expires_in"] < first["x_refresh_token_expires_in"]


def test_the_superseded_refresh_token_works_for_a_day_and_gets_the_current_one(fresh_sandbox, qbo):
    rotated = qbo.refresh()["refresh_token"]
    again = qbo.token_request(grant_type="refresh_token", refresh_token=DEFAULT_REFRESH_TOKEN)
    assert again.status_code == 200
    assert again.json()["refresh_token"] == rotated  # the sandbox's guess: no second rotation
    assert fresh_sandbox.state()["qbo"]["oauth"]["refresh_token"] == rotated
    unknown = qbo.token_request(grant_type="refresh_token", refresh_token="never-issued")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"


def test_rotation_age_and_the_superseded_tokens_day_are_limits(fresh_sandbox, qbo):
    fresh_sandbox.set_limits({"qbo": {"refresh_token_rotation_s": 1, "previous_refresh_token_s": 1}})
    first = qbo.refresh()["refresh_token"]
    assert qbo.refresh()["refresh_token"] == first  # younger than the rotation age
    time.sleep(1.1)
    second = qbo.refresh()["refresh_token"]
    assert second != first
    assert qbo.token_request(grant_type="refresh_token", refresh_token=first).status_code == 200
    time.sleep(1.1)
    dead = qbo.token_request(grant_type="refresh_token", refresh_token=first)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


def test_zero_limits_rotate_on_every_refresh_and_kill_the_old_token_at_once(fresh_sandbox, qbo):
    fresh_sandbox.set_limits({"qbo": {"refresh_token_rotation_s": 0, "previous_refresh_token_s": 0}})
    first = qbo.refresh()["refresh_token"]
    stale = qbo.token_request(grant_type="refresh_token", refresh_token=DEFAULT_REFRESH_TOKEN)
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
    assert qbo.refresh()["refresh_token"] != first


def test_a_refresh_whose_answer_is_lost_leaves_the_old_token_working(fresh_sandbox, qbo):
    fresh_sandbox.faults.add({"api": "qbo", "path": "/oauth2/v1/tokens/bearer", "mode": "commit_then_drop", "times": 1})
    with pytest.raises(requests.ConnectionError):
        qbo.refresh()
    rotated = fresh_sandbox.state()["qbo"]["oauth"]["refresh_token"]
    assert rotated != DEFAULT_REFRESH_TOKEN  # the server rotated; the client never heard
    assert qbo.refresh_token == DEFAULT_REFRESH_TOKEN
    assert qbo.refresh()["refresh_token"] == rotated


def test_a_bad_client_is_invalid_client_and_a_bad_grant_type_is_refused(qbo):
    qbo.client_secret = "wrong"
    response = qbo.token_request(grant_type="refresh_token", refresh_token=DEFAULT_REFRESH_TOKEN)
    assert response.status_code == 401 and response.json() == {"error": "invalid_client"}
    no_auth = requests.post(qbo.base_url + "/oauth2/v1/tokens/bearer", data={"grant_type": "refresh_token"}, timeout=5)
    assert no_auth.status_code == 401

    qbo.client_secret = "sandbox-client-secret"
    assert qbo.token_request(grant_type="password").json() == {"error": "unsupported_grant_type"}


def test_authorization_code_from_the_seed_works_once(fresh_sandbox, qbo):
    fresh_sandbox.seed({"qbo": {"oauth": {"authorization_code": "consent-code-1"}}})
    granted = qbo.token_request(
        grant_type="authorization_code", code="consent-code-1", redirect_uri="http://localhost/cb"
    )
    assert granted.status_code == 200 and granted.json()["refresh_token"]
    again = qbo.token_request(
        grant_type="authorization_code", code="consent-code-1", redirect_uri="http://localhost/cb"
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_api_calls_need_a_valid_bearer_token(qbo):
    url = f"{qbo.company_url}/customer/1"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["intuit_tid"]
        error = response.json()["fault"]["error"][0]
        assert error["code"] == "3200" and "AuthenticationFailed" in error["message"]
        assert response.json()["fault"]["type"] == "AUTHENTICATION"


def test_another_realm_is_forbidden(qbo):
    response = qbo.call("GET", f"{qbo.base_url}/v3/company/123/companyinfo/123")
    assert response.status_code == 403
    assert response.json()["Fault"]["type"] == "AuthorizationFault"


def test_seed_control_revokes_every_token(fresh_sandbox, qbo):
    qbo.refresh()
    assert qbo.call("GET", "preferences").status_code == 200
    fresh_sandbox.seed({"qbo": {"oauth": {"revoke": True}}})
    assert qbo.call("GET", "preferences").status_code == 401
    dead = qbo.token_request(grant_type="refresh_token", refresh_token=qbo.refresh_token)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"

    fresh_sandbox.seed({"qbo": {"oauth": {"refresh_token": "reconnected-token"}}})
    qbo.refresh_token = "reconnected-token"
    qbo.refresh()
    assert qbo.call("GET", "preferences").status_code == 200


def test_access_tokens_expire_in_sandbox_time_and_expires_in_is_real_seconds():
    fast = Sandbox(port=0, time_scale=1800).start()  # two real seconds are a sandbox hour
    try:
        client = QboClient(fast.base_url)
        token = client.refresh()
        assert token["expires_in"] == 2
        assert client.call("GET", "preferences").status_code == 200
        time.sleep(2.2)
        expired = client.call("GET", "preferences")
        assert expired.status_code == 401 and expired.json()["fault"]["error"][0]["detail"] == "Token expired"
        client.refresh()
        assert client.call("GET", "preferences").status_code == 200
    finally:
        fast.stop()


def test_access_token_lifetime_is_a_limit(fresh_sandbox, qbo):
    fresh_sandbox.set_limits({"qbo": {"access_token_ttl_s": 1}})
    assert qbo.refresh()["expires_in"] == 1
    time.sleep(1.1)
    assert qbo.call("GET", "preferences").status_code == 401


def test_airflow_connection_carries_the_current_refresh_token(fresh_sandbox, qbo):
    conn = requests.get(fresh_sandbox.base_url + "/_sandbox/connections", timeout=5).json()["qbo_default"]
    assert conn == {
        "conn_type": "quickbooks_online",
        "host": fresh_sandbox.base_url,
        "login": DEFAULT_CLIENT_ID,
        "password": "sandbox-client-secret",
        "extra": {
            "realm_id": DEFAULT_REALM_ID,
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "token_url": fresh_sandbox.base_url + "/oauth2/v1/tokens/bearer",
        },
    }
    rotated = qbo.refresh()["refresh_token"]
    assert fresh_sandbox.connections()["qbo_default"]["extra"]["refresh_token"] == rotated
