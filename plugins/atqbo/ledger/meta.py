"""Small values atqbo keeps between runs (table ``atqbo_meta``): a sync's watermark, the schema version."""

from __future__ import annotations

from atqbo.ledger.core import LedgerPart


class Meta(LedgerPart):
    def get_meta(self, key: str) -> str | None:
        """A value atqbo keeps between runs (say a sync's watermark), or None when never set."""
        with self.transaction() as tx:
            row = tx.one("meta_get", key=key)
        return None if row is None else row["value"]

    def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing what was there."""
        with self.transaction() as tx:
            tx.execute("meta_set", key=key, value=value)
