"""Run locks (table ``atqbo_run_locks``): a named lock with an owner and an expiry.

A sync holds one for its run so two runs never write the same records at once (TOOL-04); the
failure alert holds one per failed run so two callbacks do not both alert. A lock past its expiry
may be taken by anyone, so a run that died does not block the next; TOOL-09 clears them by hand.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.timestamps import from_ts, to_ts, utcnow


class RunLocks(LedgerPart):
    def acquire_run_lock(self, name: str, owner: str, ttl_seconds: float, details: str | None = None) -> bool:
        """Hold ``name`` for ``owner`` until released or ``ttl_seconds`` pass (then anyone may take it)."""
        now = utcnow()
        with self.transaction() as tx:
            tx.execute(
                "run_lock_acquire",
                name=name,
                owner=owner,
                now=to_ts(now),
                expires_at=to_ts(now + timedelta(seconds=ttl_seconds)),
                details=details,
            )
            row = tx.one("run_lock_get", name=name)
        return row is not None and row["owner"] == owner

    def get_run_lock(self, name: str) -> dict[str, Any] | None:
        with self.transaction() as tx:
            row = tx.one("run_lock_get", name=name)
        if row:
            row["acquired_at"] = from_ts(row["acquired_at"])
            row["expires_at"] = from_ts(row["expires_at"])
        return row

    def release_run_lock(self, name: str, owner: str) -> bool:
        with self.transaction() as tx:
            return tx.execute("run_lock_release", name=name, owner=owner) == 1

    def list_run_locks(self) -> list[dict[str, Any]]:
        with self.transaction() as tx:
            rows = tx.all("run_lock_list")
        for row in rows:
            row["acquired_at"] = from_ts(row["acquired_at"])
            row["expires_at"] = from_ts(row["expires_at"])
        return rows

    def clear_run_locks(self, stale_only: bool = True) -> int:
        with self.transaction() as tx:
            return tx.execute("run_lock_clear", stale_only=1 if stale_only else 0, now=to_ts(utcnow()))
