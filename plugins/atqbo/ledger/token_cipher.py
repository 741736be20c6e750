"""Encryption at rest of the QBO OAuth tokens in the state database (BEY-11).

A refresh token is a live authorization to the books for months, so a copy or backup of the state
database must not carry one in clear. The tokens are sealed with Airflow's Fernet key
(``[core] fernet_key``, ``AIRFLOW__CORE__FERNET_KEY``), which lives in Airflow's configuration and
never in the state database. Airflow's own ``get_fernet()`` does the cryptography, so atqbo
follows Airflow's key handling exactly: several comma-separated keys decrypt, the first one
encrypts. That is Airflow's key rotation: put the new key first and the old one after it, and
atqbo re-seals each stored token with the new key the next time it reads it
(``TokenCipher.open`` says when); the old key can be removed once that has happened.

A sealed value is ``fernet:`` followed by the Fernet token; a value without that prefix was stored
by an atqbo from before encryption, and is sealed on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atqbo.exceptions import AtqboConfigError

SEALED_PREFIX = "fernet:"

GENERATE_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'

NO_KEY_MESSAGE = (
    "atqbo keeps the QBO OAuth tokens in the state database encrypted with Airflow's Fernet key, and no "
    "Fernet key is configured: set [core] fernet_key (environment variable AIRFLOW__CORE__FERNET_KEY) to the "
    "same key on every Airflow component (scheduler, API server, workers, dag processor), then run again. "
    f"Generate a key with: {GENERATE_KEY}"
)


class TokensUnreadable(Exception):
    """A stored token does not decrypt with any configured key. The caller says what to do."""


@dataclass(frozen=True)
class Opened:
    """A stored token decrypted: its value, and whether it must be stored again (sealed with the
    current first key: it was plain, or sealed with an older key)."""

    value: str | None
    reseal: bool


class TokenCipher:
    """Seals and opens token strings with a Fernet (or ``MultiFernet``) and its first key.

    ``fernet`` encrypts with the first key and decrypts with any (``rotate`` re-encrypts with the
    first); ``primary`` decrypts with the first key only, which tells a value sealed with an older
    key. Never shows a key or a token in its repr.
    """

    def __init__(self, fernet: Any, primary: Any):
        self._fernet = fernet
        self._primary = primary

    def __repr__(self) -> str:
        return "TokenCipher()"

    @classmethod
    def from_airflow(cls) -> TokenCipher:
        """The cipher of Airflow's configured Fernet key(s); ``AtqboConfigError`` when none is set."""
        from airflow.configuration import conf
        from airflow.models.crypto import get_fernet
        from cryptography.fernet import Fernet

        fernet = get_fernet()  # Airflow's parsing and its errors for a malformed key
        if not getattr(fernet, "is_encrypted", False):
            raise AtqboConfigError(NO_KEY_MESSAGE)
        first = str(conf.get("core", "fernet_key")).split(",")[0].strip()
        return cls(fernet, Fernet(first.encode("utf-8")))

    @classmethod
    def from_keys(cls, keys: str) -> TokenCipher:
        """The cipher of comma-separated Fernet keys, first one encrypting (Airflow's format)."""
        from cryptography.fernet import Fernet, MultiFernet

        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise AtqboConfigError(NO_KEY_MESSAGE)
        fernets = [Fernet(k.encode("utf-8")) for k in parts]
        return cls(MultiFernet(fernets), fernets[0])

    def seal(self, value: str | None) -> str | None:
        if value is None:
            return None
        return SEALED_PREFIX + self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, stored: str | None) -> Opened:
        """The token in ``stored``; raises ``TokensUnreadable`` when no configured key opens it."""
        from cryptography.fernet import InvalidToken

        if stored is None:
            return Opened(None, reseal=False)
        if not stored.startswith(SEALED_PREFIX):
            return Opened(stored, reseal=True)  # stored in clear by an earlier atqbo: seal it now
        sealed = stored[len(SEALED_PREFIX) :].encode("ascii")
        try:
            value = self._fernet.decrypt(sealed).decode("utf-8")
        except (InvalidToken, ValueError):
            raise TokensUnreadable() from None
        try:
            self._primary.decrypt(sealed)
        except (InvalidToken, ValueError):
            return Opened(value, reseal=True)  # sealed with an older key: re-seal with the first
        return Opened(value, reseal=False)
