"""Sealing the QBO tokens with Airflow's Fernet key (BEY-11): seal, open, key rotation, no key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from atqbo.exceptions import AtqboConfigError
from atqbo.ledger.token_cipher import SEALED_PREFIX, TokenCipher, TokensUnreadable

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def test_bey11_a_sealed_token_shows_nothing_of_it_and_opens_with_the_key():
    cipher = TokenCipher.from_keys(NEW_KEY)
    sealed = cipher.seal("AB11-refresh-token-value")
    assert sealed.startswith(SEALED_PREFIX) and "AB11" not in sealed and "refresh-token-value" not in sealed
    assert cipher.seal("AB11-refresh-token-value") != sealed  # a fresh IV each time
    opened = cipher.open(sealed)
    assert (opened.value, opened.reseal) == ("AB11-refresh-token-value", False)
    assert cipher.open(None).value is None and cipher.seal(None) is None


def test_bey11_another_key_cannot_open_a_sealed_token():
    sealed = TokenCipher.from_keys(OLD_KEY).seal("secret-token")
    with pytest.raises(TokensUnreadable):
        TokenCipher.from_keys(NEW_KEY).open(sealed)


def test_bey11_rotation_opens_with_the_old_key_and_asks_for_a_reseal_with_the_new():
    sealed_old = TokenCipher.from_keys(OLD_KEY).seal("secret-token")
    rotated = TokenCipher.from_keys(f"{NEW_KEY},{OLD_KEY}")
    opened = rotated.open(sealed_old)
    assert (opened.value, opened.reseal) == ("secret-token", True)
    resealed = rotated.seal(opened.value)
    assert TokenCipher.from_keys(NEW_KEY).open(resealed).value == "secret-token"  # the old key can go
    assert rotated.open(resealed).reseal is False


def test_bey11_a_plain_token_from_an_earlier_atqbo_is_read_and_marked_for_sealing():
    opened = TokenCipher.from_keys(NEW_KEY).open("plain-refresh-token")
    assert (opened.value, opened.reseal) == ("plain-refresh-token", True)


def test_bey11_from_airflow_uses_airflows_configured_keys(airflow_fernet_key):
    airflow_fernet_key(f"{NEW_KEY},{OLD_KEY}")
    cipher = TokenCipher.from_airflow()
    assert TokenCipher.from_keys(NEW_KEY).open(cipher.seal("t")).value == "t"  # the first key seals
    assert cipher.open(TokenCipher.from_keys(OLD_KEY).seal("t")).reseal is True
    assert "Key" not in repr(cipher) and NEW_KEY not in repr(cipher)


def test_bey11_no_fernet_key_is_a_clear_error_saying_how_to_set_one(airflow_fernet_key):
    airflow_fernet_key("")
    with pytest.raises(AtqboConfigError) as err:
        TokenCipher.from_airflow()
    message = str(err.value)
    assert "no Fernet key is configured" in message and "AIRFLOW__CORE__FERNET_KEY" in message
    assert "Fernet.generate_key()" in message
    with pytest.raises(AtqboConfigError, match="no Fernet key"):
        TokenCipher.from_keys(" , ")
