"""QBO's OAuth tokens per company (realm), and the lease that lets one worker at a time refresh them.

QBO rotates the refresh token on every refresh, so two workers refreshing at once would leave one
holding a dead token: a worker claims the lease (``claim_token_refresh``), refreshes, and saves
the new tokens (``save_oauth_token`` also ends the lease). An expired lease can be taken over, so a
crashed worker does not block the others. Used by the QBO hook.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.timestamps import from_ts, to_ts, utcnow


class OAuthTokens(LedgerPart):
    def get_oauth_token(self, realm_id: str) -> dict[str, Any] | None:
        with self.transaction() as tx:
            row = tx.one("token_get", realm_id=realm_id)
        if row is None:
            return None
        for key in ("access_expires_at", "refresh_expires_at", "lease_until", "updated_at"):
            row[key] = from_ts(row[key])
        return row

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
        now = utcnow()
        with self.transaction() as tx:
            tx.execute("token_ensure_row", realm_id=realm_id, now=to_ts(now))
            tx.execute(
                "token_save",
                realm_id=realm_id,
                refresh_token=refresh_token,
                access_token=access_token,
                access_expires_at=to_ts(access_expires_at),
                refresh_expires_at=to_ts(refresh_expires_at),
                source_fingerprint=source_fingerprint,
                now=to_ts(now),
            )

    def release_token_refresh(self, realm_id: str, owner: str) -> None:
        with self.transaction() as tx:
            tx.execute("token_release", realm_id=realm_id, owner=owner)
