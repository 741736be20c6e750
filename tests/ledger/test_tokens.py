"""The QBO tokens in the ledger on SQLite and PostgreSQL: the refresh lease (one holder at a time,
taken over when expired) and the tokens' encryption at rest (BEY-11)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import psycopg2.extras
import pytest
from cryptography.fernet import Fernet

from atqbo.ledger import Ledger
from atqbo.ledger.token_cipher import SEALED_PREFIX, TokenCipher, TokensUnreadable
from tests.conftest import TEST_FERNET_KEY


def test_token_refresh_lease_has_one_holder_among_threads(ledger):
    winners = []
    barrier = threading.Barrier(8)

    def contend(owner: str) -> None:
        barrier.wait()
        if ledger.claim_token_refresh("realm-1", owner, lease_seconds=30):
            winners.append(owner)

    threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    expires = datetime.now(UTC) + timedelta(hours=1)
    ledger.save_oauth_token(
        "realm-1",
        refresh_token="rt-2",
        access_token="at-2",
        access_expires_at=expires,
        refresh_expires_at=None,
        source_fingerprint="fp",
        owner=winners[0],
    )
    token = ledger.get_oauth_token("realm-1")
    assert (token["refresh_token"], token["version"], token["lease_owner"]) == ("rt-2", 1, None)
    assert abs((token["access_expires_at"] - expires).total_seconds()) < 0.001
    assert ledger.claim_token_refresh("realm-1", "another", lease_seconds=30)
    ledger.release_token_refresh("realm-1", "another")
    assert ledger.get_oauth_token("realm-1")["lease_owner"] is None


def test_expired_refresh_lease_can_be_taken_over(ledger):
    assert ledger.claim_token_refresh("realm-2", "crashed-worker", lease_seconds=-1)
    assert ledger.claim_token_refresh("realm-2", "next-worker", lease_seconds=30)
    assert ledger.get_oauth_token("realm-2")["lease_owner"] == "next-worker"


# -- encryption at rest (BEY-11) -------------------------------------------------------------------

SECRETS = ("AB11-rotated-refresh-token-value", "eyJ-access-token-value")


def raw_token_row(ledger: Ledger, realm_id: str) -> dict[str, Any]:
    """The realm's row as the database holds it, read without atqbo (as a copy or backup would be)."""
    if ledger.description.startswith("sqlite:"):
        conn = sqlite3.connect(ledger.description.removeprefix("sqlite:"))
        conn.row_factory = sqlite3.Row
        try:
            return dict(conn.execute("SELECT * FROM atqbo_oauth_tokens WHERE realm_id = ?", (realm_id,)).fetchone())
        finally:
            conn.close()
    conn = psycopg2.connect(ledger.description)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT * FROM atqbo_oauth_tokens WHERE realm_id = %s", (realm_id,))
            return dict(cur.fetchone())
    finally:
        conn.close()


def write_raw_tokens(ledger: Ledger, realm_id: str, refresh_token: str, access_token: str) -> None:
    """Store tokens as they are given, bypassing the cipher (what an atqbo before BEY-11 did)."""
    with ledger.transaction() as tx:
        tx.execute("token_ensure_row", realm_id=realm_id, now="2026-01-01T00:00:00.000000Z")
        tx._conn.cursor().execute(
            ledger.dialect.bind(
                "UPDATE atqbo_oauth_tokens SET refresh_token = :r, access_token = :a, version = 1 WHERE realm_id = :id"
            ),
            {"r": refresh_token, "a": access_token, "id": realm_id},
        )


def save_tokens(ledger: Ledger, realm_id: str, refresh_token: str, access_token: str) -> None:
    ledger.save_oauth_token(
        realm_id,
        refresh_token=refresh_token,
        access_token=access_token,
        access_expires_at=datetime.now(UTC) + timedelta(hours=1),
        refresh_expires_at=datetime.now(UTC) + timedelta(days=100),
        source_fingerprint="fp",
        owner="w",
    )


def assert_reveals_nothing(raw: dict[str, Any], *, sealed_with: str) -> None:
    """No token text anywhere in the row; the token columns open with ``sealed_with`` only."""
    text = " ".join(str(v) for v in raw.values())
    for secret in SECRETS:
        assert secret not in text
        for part in secret.split("-"):
            assert len(part) < 5 or part not in text
    for column in ("refresh_token", "access_token"):
        assert raw[column].startswith(SEALED_PREFIX)
        with pytest.raises(TokensUnreadable):
            TokenCipher.from_keys(Fernet.generate_key().decode()).open(raw[column])
        assert TokenCipher.from_keys(sealed_with).open(raw[column]).value in SECRETS


def test_bey11_the_state_database_alone_holds_no_usable_token(ledger):
    key = Fernet.generate_key().decode()
    ledger.use_token_cipher(TokenCipher.from_keys(key))
    save_tokens(ledger, "realm-s", *SECRETS)
    assert_reveals_nothing(raw_token_row(ledger, "realm-s"), sealed_with=key)
    row = ledger.get_oauth_token("realm-s")
    assert (row["refresh_token"], row["access_token"], row["unreadable"]) == (*SECRETS, False)


def test_bey11_the_tests_seal_with_airflows_configured_key(ledger):
    save_tokens(ledger, "realm-a", *SECRETS)  # no cipher given: Airflow's [core] fernet_key
    assert_reveals_nothing(raw_token_row(ledger, "realm-a"), sealed_with=TEST_FERNET_KEY)


def test_bey11_plain_rows_of_an_earlier_atqbo_are_sealed_on_first_use_once(ledger):
    key = Fernet.generate_key().decode()
    ledger.use_token_cipher(TokenCipher.from_keys(key))
    write_raw_tokens(ledger, "realm-p", *SECRETS)
    assert raw_token_row(ledger, "realm-p")["refresh_token"] == SECRETS[0]  # the hole BEY-11 closes

    row = ledger.get_oauth_token("realm-p")
    assert (row["refresh_token"], row["access_token"], row["version"]) == (*SECRETS, 1)
    sealed = raw_token_row(ledger, "realm-p")
    assert_reveals_nothing(sealed, sealed_with=key)
    assert sealed["version"] == 1  # the same tokens, not a new version

    assert ledger.get_oauth_token("realm-p")["refresh_token"] == SECRETS[0]
    assert raw_token_row(ledger, "realm-p") == sealed  # idempotent: a sealed row is not rewritten


def test_bey11_key_rotation_reads_with_the_old_key_and_reseals_with_the_new(ledger):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    ledger.use_token_cipher(TokenCipher.from_keys(old))
    save_tokens(ledger, "realm-r", *SECRETS)

    ledger.use_token_cipher(TokenCipher.from_keys(f"{new},{old}"))  # the operator's rotation
    assert ledger.get_oauth_token("realm-r")["refresh_token"] == SECRETS[0]
    assert_reveals_nothing(raw_token_row(ledger, "realm-r"), sealed_with=new)

    ledger.use_token_cipher(TokenCipher.from_keys(new))  # the old key removed
    assert ledger.get_oauth_token("realm-r")["access_token"] == SECRETS[1]


def test_bey11_a_row_no_key_opens_comes_back_unreadable_without_tokens(ledger):
    ledger.use_token_cipher(TokenCipher.from_keys(Fernet.generate_key().decode()))
    save_tokens(ledger, "realm-u", *SECRETS)
    ledger.use_token_cipher(TokenCipher.from_keys(Fernet.generate_key().decode()))  # the key was lost
    row = ledger.get_oauth_token("realm-u")
    assert row["unreadable"] is True and row["refresh_token"] is None and row["access_token"] is None
    assert row["version"] == 1 and row["source_fingerprint"] == "fp"
