"""QBO's OAuth tokens per company (realm), and the lease that lets one worker at a time refresh them.

QBO rotates the refresh token on every refresh, so two workers refreshing at once would leave one
holding a dead token: a worker claims the lease (``claim_token_refresh``), refreshes, and saves
the new tokens (``save_oauth_token`` also ends the lease). An expired lease can be taken over, so a
crashed worker does not block the others. Used by the QBO hook.

The tokens are stored encrypted with Airflow's Fernet key (``token_cipher``, BEY-11): what
this part reads and writes is plain, what the database holds is sealed. A row stored in clear by
an earlier atqbo, or sealed with a key that is no longer the first, is sealed again when read. A
row no configured key opens is returned with ``unreadable`` set and no tokens.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.statements import Tx
from atqbo.ledger.timestamps import from_ts, to_ts, utcnow
from atqbo.ledger.token_cipher import TokenCipher, TokensUnreadable


class OAuthTokens(LedgerPart):
    _token_cipher: TokenCipher | None = None  # None: Airflow's Fernet key, read at each use

    def use_token_cipher(self, cipher: TokenCipher | None) -> None:
        """Seal the tokens with ``cipher`` instead of Airflow's configured key (tests, tools)."""
        self._token_cipher = cipher

    def token_cipher(self) -> TokenCipher:
        """The cipher in use; ``AtqboConfigError`` when Airflow has no Fernet key."""
        return self._token_cipher or TokenCipher.from_airflow()

    def get_oauth_token(self, realm_id: str) -> dict[str, Any] | None:
        cipher = self.token_cipher()  # no key: fail before anyone refreshes a token it could not store
        with self.transaction() as tx:
            row = tx.one("token_get", realm_id=realm_id)
            if row is None:
                return None
            self._open_tokens(tx, cipher, row)
        for key in ("access_expires_at", "refresh_expires_at", "lease_until", "updated_at"):
            row[key] = from_ts(row[key])
        return row

    @staticmethod
    def _open_tokens(tx: Tx, cipher: TokenCipher, row: dict[str, Any]) -> None:
        """Decrypt the row's tokens in place; re-seal them in the same transaction when needed."""
        try:
            refresh = cipher.open(row["refresh_token"])
            access = cipher.open(row["access_token"])
        except TokensUnreadable:
            row.update(refresh_token=None, access_token=None, unreadable=True)
            return
        if refresh.reseal or access.reseal:
            tx.execute(
                "token_reseal",
                realm_id=row["realm_id"],
                version=row["version"],
                refresh_token=cipher.seal(refresh.value),
                access_token=cipher.seal(access.value),
            )
        row.update(refresh_token=refresh.value, access_token=access.value, unreadable=False)

    def claim_token_refresh(self, realm_id: str, owner: str, lease_seconds: float) -> bool:
        now = utcnow()
        with self.transaction() as tx:
            tx.execute("token_ensure_row", realm_id=realm_id, now=to_ts(now))
            changed = tx.execute(
                "token_claim_refresh",
                realm_id=realm_id,
                owner=owner,
                now=to_ts(now),
                lease_until=to_ts(now + timedelta(seconds=lease_seconds)),
            )
        return changed == 1

    def save_oauth_token(
        self,
        realm_id: str,
        *,
        refresh_token: str,
        access_token: str | None,
        access_expires_at: datetime | None,
        refresh_expires_at: datetime | None,
        source_fingerprint: str | None,
        owner: str,
    ) -> None:
        cipher = self.token_cipher()
        now = utcnow()
        with self.transaction() as tx:
            tx.execute("token_ensure_row", realm_id=realm_id, now=to_ts(now))
            tx.execute(
                "token_save",
                realm_id=realm_id,
                refresh_token=cipher.seal(refresh_token),
                access_token=cipher.seal(access_token),
                access_expires_at=to_ts(access_expires_at),
                refresh_expires_at=to_ts(refresh_expires_at),
                source_fingerprint=source_fingerprint,
                now=to_ts(now),
            )

    def release_token_refresh(self, realm_id: str, owner: str) -> None:
        with self.transaction() as tx:
            tx.execute("token_release", realm_id=realm_id, owner=owner)
