"""Tests of the QBO hook's OAuth token protocol (ERR-04), against the sandbox's token endpoint over HTTP.

Each test runs with the ledger on SQLite and, when the server at 127.0.0.1:5432 answers, on
PostgreSQL (a throwaway database for the session; skipped with the reason otherwise).
"Workers" are separate hook instances with their own ledger connections, as separate Airflow
tasks would have.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks.qbo import QboAuthError, QboServerError, QboTokenRevoked, QboTokensUnreadable
from atqbo.hooks.qbo_tokens import fingerprint
from atqbo.ledger import Ledger
from atqbo.ledger.token_cipher import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.hooks.qbo_support import REALM, hook_factory
from tests.ledger.test_tokens import raw_token_row

INITIAL_TOKEN = "sandbox-refresh-token-0"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request, tmp_path) -> str:
    """URL of an empty state database with its schema."""
    url = f"sqlite:///{tmp_path / 'state.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    led = Ledger.from_url(url)
    led.create_schema()
    with led.transaction() as tx:  # the PostgreSQL database is shared by the session's tests
        tx._conn.cursor().execute("DELETE FROM atqbo_oauth_tokens")
    led.close()
    return url


@pytest.fixture
def state(state_url):
    led = Ledger.from_url(state_url)
    yield led
    led.close()


@pytest.fixture
def make_hook(connect, state):
    return hook_factory(state)


def expire_access_token(ledger: Ledger) -> None:
    """Make the stored access token look expired (as if an hour had passed), keeping the rest."""
    row = ledger.get_oauth_token(REALM)
    assert ledger.claim_token_refresh(REALM, "test-clock", 5)
    ledger.save_oauth_token(
        REALM,
        refresh_token=row["refresh_token"],
        access_token=row["access_token"],
        access_expires_at=datetime.now(UTC) - timedelta(seconds=1),
        refresh_expires_at=row["refresh_expires_at"],
        source_fingerprint=row["source_fingerprint"],
        owner="test-clock",
    )


class SaveWatchingLedger:
    """The real ledger; on each save it notes which QBO requests the sandbox had served by then."""

    def __init__(self, ledger: Ledger, qbo: Any):
        self._ledger = ledger
        self._qbo = qbo
        self.requests_at_save: list[list[dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def save_oauth_token(self, realm_id: str, **kwargs: Any) -> None:
        self.requests_at_save.append(self._qbo.requests())
        self._ledger.save_oauth_token(realm_id, **kwargs)


# -- first use ------------------------------------------------------------------------------------


def test_err04_first_refresh_stores_the_rotated_token_before_using_it(connect, state, qbo):
    watching = SaveWatchingLedger(state, qbo)
    hook = hook_factory(watching)()
    assert hook.company_info()["CompanyName"] == "Sandbox MSP Books"

    # when the new tokens were saved, QBO had seen the token call and no API call yet
    (seen,) = watching.requests_at_save
    assert [(r["path"], r["status"]) for r in seen] == [("/oauth2/v1/tokens/bearer", 200)]
    calls = qbo.requests()
    assert [c["path"].split("/")[-2] if "/v3/" in c["path"] else "token" for c in calls] == ["token", "companyinfo"]

    row = state.get_oauth_token(REALM)
    assert row["refresh_token"] == qbo.refresh_token() != INITIAL_TOKEN  # the rotated one
    assert row["version"] == 1 and row["lease_owner"] is None and row["lease_until"] is None
    assert row["source_fingerprint"] == fingerprint(INITIAL_TOKEN)
    assert INITIAL_TOKEN not in row["source_fingerprint"]
    assert timedelta(minutes=55) < row["access_expires_at"] - datetime.now(UTC) <= timedelta(hours=1)


def test_err04_a_second_worker_uses_the_stored_token_without_refreshing(make_hook, qbo):
    make_hook().company_info()
    make_hook().company_info()
    assert len(qbo.token_calls()) == 1


# -- concurrency ------------------------------------------------------------------------------------


def test_err04_eight_concurrent_workers_refresh_exactly_once(connect, state_url, state, qbo):
    # a slow token endpoint keeps the first worker's refresh in flight while the others arrive
    qbo.fault(path="/oauth2/v1/tokens/bearer", mode="latency", latency_ms=300)
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def worker() -> None:
        led = Ledger.from_url(state_url)
        try:
            hook = hook_factory(led)()
            barrier.wait()
            results.append(hook.company_info()["CompanyName"])
        except Exception as exc:  # asserted below, with its type
            results.append(exc)
        finally:
            led.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == ["Sandbox MSP Books"] * 8
    assert [c["status"] for c in qbo.token_calls()] == [200]
    assert [c["status"] for c in qbo.api_calls("companyinfo")] == [200] * 8
    row = state.get_oauth_token(REALM)
    assert row["version"] == 1 and row["refresh_token"] == qbo.refresh_token()


def test_err04_worker_with_a_stale_in_memory_token_recovers(make_hook, state, qbo):
    first, second = make_hook(), make_hook()
    first.company_info()
    second.company_info()  # both now hold the same access token in memory
    qbo.revoke_access_tokens(keep_refresh_token=state.get_oauth_token(REALM)["refresh_token"])

    first.company_info()  # 401 -> refreshes (the only new token call) -> retries
    second.company_info()  # 401 -> finds the first worker's new token in the ledger
    assert [c["status"] for c in qbo.token_calls()] == [200, 200]
    assert [c["status"] for c in qbo.api_calls("companyinfo")] == [200, 200, 401, 200, 401, 200]
    assert second.tokens.access_token() == state.get_oauth_token(REALM)["access_token"]


def test_err04_refresh_lost_to_another_process_adopts_that_process_token(make_hook, state, qbo):
    # stricter than Intuit: every refresh rotates and the superseded token dies at once
    qbo.limits(refresh_token_rotation_s=0, previous_refresh_token_s=0)
    loser, winner = make_hook(token_lease_seconds=0.001), make_hook()
    loser.company_info()
    expire_access_token(state)
    real_refresh = loser.tokens.endpoint.refresh

    def refresh_after_the_winner(refresh_token: str):
        # the loser's lease has lapsed: another worker claims it and rotates the token first
        time.sleep(0.01)
        winner.tokens.access_token()
        return real_refresh(refresh_token)  # now a superseded token -> invalid_grant

    loser.tokens.endpoint.refresh = refresh_after_the_winner
    loser.tokens._access_token = None
    assert loser.company_info()["CompanyName"] == "Sandbox MSP Books"
    assert [c["status"] for c in qbo.token_calls()] == [200, 200, 400]
    row = state.get_oauth_token(REALM)
    assert row["version"] == 3  # first refresh, the test's expiry, the winner's refresh
    assert loser.tokens.access_token() == row["access_token"]


# -- lost answers (Intuit keeps a superseded refresh token for a day) --------------------------------

TOKEN_PATH_RE = "/oauth2/v1/tokens/bearer$"


def test_err04_a_refresh_answer_lost_after_qbo_rotated_is_retried_with_the_same_token(make_hook, state, qbo):
    qbo.fault(path=TOKEN_PATH_RE, mode="commit_then_drop", times=1)  # QBO rotates, the answer never comes
    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"
    calls = qbo.token_calls()
    assert len(calls) == 2 and calls[0].get("fault") == "commit_then_drop" and calls[1]["status"] == 200
    row = state.get_oauth_token(REALM)
    assert row["refresh_token"] == qbo.refresh_token() != INITIAL_TOKEN  # the token QBO rotated to
    assert row["version"] == 1 and row["lease_owner"] is None


def test_err04_every_refresh_answer_lost_fails_the_run_and_the_next_run_within_a_day_recovers(make_hook, state, qbo):
    make_hook().company_info()
    stored = state.get_oauth_token(REALM)["refresh_token"]
    qbo.limits(refresh_token_rotation_s=0)  # the stored token is due for rotation; Intuit's day of grace
    expire_access_token(state)
    qbo.fault(path=TOKEN_PATH_RE, mode="commit_then_drop")
    with pytest.raises(QboServerError) as err:
        make_hook().company_info()
    message = str(err.value)
    assert "no answer from the QBO token endpoint" in message and "run again within a day" in message
    assert stored not in message and qbo.refresh_token() not in message
    assert qbo.refresh_token() != stored  # QBO rotated; atqbo never heard
    row = state.get_oauth_token(REALM)
    assert row["refresh_token"] == stored and row["lease_owner"] is None

    qbo.clear_faults()
    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"  # the next run, same day
    assert state.get_oauth_token(REALM)["refresh_token"] == qbo.refresh_token()
    assert qbo.token_calls()[-1]["status"] == 200


def test_err04_a_lost_refresh_answer_ends_the_authorization_once_the_day_is_over(make_hook, state, qbo):
    make_hook().company_info()
    qbo.limits(refresh_token_rotation_s=0, previous_refresh_token_s=1)  # a day that lasts one second
    expire_access_token(state)
    qbo.fault(path=TOKEN_PATH_RE, mode="commit_then_drop")
    with pytest.raises(QboServerError):
        make_hook().company_info()
    qbo.clear_faults()
    time.sleep(1.2)
    with pytest.raises(QboTokenRevoked, match="invalid_grant"):  # what Intuit would answer too
        make_hook().company_info()


class FailingSaveLedger:
    """The real ledger, except that storing new tokens fails (a state database gone read-only)."""

    def __init__(self, ledger: Ledger):
        self._ledger = ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)

    def save_oauth_token(self, realm_id: str, **kwargs: Any) -> None:
        raise OSError("disk I/O error")


def test_err04_a_rotated_token_the_ledger_could_not_store_leaves_a_day_to_run_again(make_hook, state, qbo):
    make_hook().company_info()
    stored = state.get_oauth_token(REALM)["refresh_token"]
    qbo.limits(refresh_token_rotation_s=0)
    expire_access_token(state)
    with pytest.raises(QboAuthError) as err:
        hook_factory(FailingSaveLedger(state))().company_info()
    assert "could not store it" in str(err.value) and "run again within a day" in str(err.value)
    assert qbo.refresh_token() != stored == state.get_oauth_token(REALM)["refresh_token"]
    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"  # the superseded token still works
    assert state.get_oauth_token(REALM)["refresh_token"] == qbo.refresh_token()


def test_err04_a_refresh_within_the_day_stores_the_same_refresh_token_qbo_returns(make_hook, state, qbo):
    make_hook().company_info()
    first = state.get_oauth_token(REALM)["refresh_token"]
    expire_access_token(state)
    make_hook().company_info()
    row = state.get_oauth_token(REALM)
    assert row["refresh_token"] == first == qbo.refresh_token()  # Intuit rotates about once a day
    assert [c["status"] for c in qbo.token_calls()] == [200, 200]


# -- expiry ---------------------------------------------------------------------------------------


def test_err04_access_token_is_refreshed_before_it_expires(make_hook, qbo):
    qbo.limits(access_token_ttl_s=1.5)  # the sandbox says expires_in=1
    hook = make_hook(token_margin=0.5)
    hook.company_info()
    time.sleep(0.7)  # inside the margin, still alive at QBO
    hook.company_info()
    assert [c["status"] for c in qbo.token_calls()] == [200, 200]
    assert [c["status"] for c in qbo.api_calls("companyinfo")] == [200, 200]  # never a 401


def test_err04_expired_stored_token_is_refreshed_by_the_next_worker(make_hook, state, qbo):
    make_hook().company_info()
    expire_access_token(state)
    make_hook().company_info()
    assert [c["status"] for c in qbo.token_calls()] == [200, 200]
    assert state.get_oauth_token(REALM)["refresh_token"] == qbo.refresh_token()


# -- revocation and reconnect -----------------------------------------------------------------------


def test_err04_revoked_authorization_says_how_to_reconnect(make_hook, state, qbo):
    hook = make_hook()
    hook.company_info()
    qbo.seed({"oauth": {"revoke": True}})  # the user disconnected the app in QBO
    with pytest.raises(QboTokenRevoked) as err:
        hook.company_info()
    message = str(err.value)
    assert "invalid_grant" in message and "'qbo_default'" in message and '"refresh_token"' in message
    assert "consent" in message and "reconnect" in message.lower()
    row = state.get_oauth_token(REALM)
    assert row["lease_owner"] is None  # nobody is left waiting on a dead lease
    assert [c["status"] for c in qbo.token_calls()] == [200, 400]


def test_err04_dead_initial_token_raises_revoked(make_hook, qbo):
    qbo.seed({"oauth": {"revoke": True}})
    with pytest.raises(QboTokenRevoked):
        make_hook().company_info()


def test_err04_no_refresh_token_anywhere_says_where_to_put_one(connect, make_hook):
    connect(refresh_token="")
    with pytest.raises(QboTokenRevoked, match="no refresh token.*refresh_token"):
        make_hook().company_info()


def test_err04_reconnect_adopts_the_new_connection_token_once(connect, make_hook, state, qbo):
    make_hook().company_info()
    # the user ran the consent again: a new token chain; the old one (in the ledger) is dead
    qbo.seed({"oauth": {"revoke": True, "refresh_token": "reconnected-token-1"}})
    connect(refresh_token="reconnected-token-1")

    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"
    row = state.get_oauth_token(REALM)
    assert row["source_fingerprint"] == fingerprint("reconnected-token-1")
    assert row["refresh_token"] == qbo.refresh_token() != "reconnected-token-1"

    # from now on the ledger wins: the connection's token is already used up
    expire_access_token(state)
    make_hook().company_info()
    assert [c["status"] for c in qbo.token_calls()] == [200, 200, 200]  # never an invalid_grant


def test_err04_outdated_connection_copy_falls_back_to_the_stored_token(connect, make_hook, state, qbo):
    make_hook().company_info()
    adopted = state.get_oauth_token(REALM)["source_fingerprint"]
    expire_access_token(state)
    connect(refresh_token="some-older-token")  # a worker still holding an old connection copy
    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"
    assert [c["status"] for c in qbo.token_calls()] == [200, 400, 200]
    assert state.get_oauth_token(REALM)["source_fingerprint"] == adopted


# -- encryption at rest (BEY-11) -------------------------------------------------------------------


def test_bey11_fernet_key_rotation_keeps_atqbo_working_and_reseals_with_the_new_key(
    make_hook, state, qbo, airflow_fernet_key
):
    make_hook().company_info()  # tokens sealed with the tests' key, now the "old" one
    new_key = Fernet.generate_key().decode()
    airflow_fernet_key(f"{new_key},{TEST_FERNET_KEY}")  # the operator puts a new key first

    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"  # the stored access token
    raw = raw_token_row(state, REALM)
    for column in ("refresh_token", "access_token"):
        assert TokenCipher.from_keys(new_key).open(raw[column]).value  # re-sealed: the old key can go
    airflow_fernet_key(new_key)
    expire_access_token(state)
    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"
    assert [c["status"] for c in qbo.token_calls()] == [200, 200]
    assert TokenCipher.from_keys(new_key).open(raw_token_row(state, REALM)["refresh_token"]).value == (
        qbo.refresh_token()
    )


def test_bey11_no_fernet_key_stops_before_any_token_call_saying_how_to_set_one(make_hook, qbo, airflow_fernet_key):
    airflow_fernet_key("")
    with pytest.raises(AtqboConfigError, match="no Fernet key is configured.*AIRFLOW__CORE__FERNET_KEY"):
        make_hook().company_info()
    assert qbo.token_calls() == []  # no refresh whose rotated token could not have been stored


def test_bey11_tokens_no_key_opens_say_what_to_do_and_a_reconnect_replaces_them(
    connect, make_hook, state, qbo, airflow_fernet_key
):
    make_hook().company_info()
    stored = state.get_oauth_token(REALM)
    airflow_fernet_key(Fernet.generate_key().decode())  # the key was replaced, the old one lost

    with pytest.raises(QboTokensUnreadable) as err:
        make_hook().company_info()
    message = str(err.value)
    assert "do not decrypt" in message and "AIRFLOW__CORE__FERNET_KEY=new,old" in message
    assert "re-authorize" in message and "'qbo_default'" in message and '"refresh_token"' in message
    for secret in (stored["refresh_token"], stored["access_token"], TEST_FERNET_KEY):
        assert secret not in message
    assert len(qbo.token_calls()) == 1 and state.get_oauth_token(REALM)["lease_owner"] is None

    qbo.seed({"oauth": {"revoke": True, "refresh_token": "reconnected-token-2"}})
    connect(refresh_token="reconnected-token-2")
    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"
    row = state.get_oauth_token(REALM)
    assert row["unreadable"] is False and row["refresh_token"] == qbo.refresh_token()


# -- the token endpoint itself -----------------------------------------------------------------------


def test_token_endpoint_5xx_is_retried(make_hook, qbo):
    qbo.fault(path="/oauth2/v1/tokens/bearer", mode="error_503", times=2)
    assert make_hook().company_info()["CompanyName"] == "Sandbox MSP Books"
    assert [c["status"] for c in qbo.token_calls()] == [503, 503, 200]


def test_wrong_client_secret_is_an_auth_error_that_does_not_show_it(monkeypatch, qbo, state):
    conn = qbo.server.connections()["qbo_default"]
    conn["password"] = "wrong-secret-value"
    monkeypatch.setenv("AIRFLOW_CONN_QBO_DEFAULT", json.dumps(conn))
    with pytest.raises(QboAuthError) as err:
        hook_factory(state)().company_info()
    assert "invalid_client" in str(err.value) and "client secret" in str(err.value)
    assert "wrong-secret-value" not in str(err.value) and INITIAL_TOKEN not in str(err.value)
    assert state.get_oauth_token(REALM)["lease_owner"] is None


def test_tokens_are_never_logged(make_hook, state, qbo, caplog):
    caplog.set_level("DEBUG")
    hook = make_hook()
    hook.company_info()
    row = state.get_oauth_token(REALM)
    qbo.revoke_access_tokens(keep_refresh_token=row["refresh_token"])
    hook.company_info()
    latest = state.get_oauth_token(REALM)
    assert "refreshed" in caplog.text
    for secret in (
        INITIAL_TOKEN,
        row["refresh_token"],
        row["access_token"],
        latest["refresh_token"],
        latest["access_token"],
        "sandbox-client-secret",
    ):
        assert secret not in caplog.text
    assert latest["refresh_token"] not in repr(hook.tokens) and latest["access_token"] not in repr(hook.tokens)


def test_fingerprint_identifies_a_token_without_revealing_it():
    assert fingerprint("abc") == fingerprint("abc") != fingerprint("abd")
    assert "abc" not in fingerprint("abc") and fingerprint(None) is None and fingerprint("") is None
