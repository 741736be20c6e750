"""Time passing for atqbo's in-flight writes (BEY-01), without waiting for it: QBO may commit a
write for ``WRITE_MAY_COMMIT_S`` after it went out, which the ledger dates by an IN_PROGRESS record's
``updated_at``. A test that needs "later" moves those dates into the past."""

from __future__ import annotations

from datetime import timedelta

from atqbo.hooks.qbo_limits import WRITE_MAY_COMMIT_S
from atqbo.ledger import to_ts, utcnow


def age_writes(ledger, seconds: float = WRITE_MAY_COMMIT_S + 1) -> int:
    """Date every IN_PROGRESS record's last send ``seconds`` ago (default: just past the bound);
    returns how many there were."""
    past = to_ts(utcnow() - timedelta(seconds=seconds))
    count = len(ledger.list_sync_records(status="IN_PROGRESS"))
    with ledger.transaction() as tx:
        # a plain statement of the test's own (the ledger has no "move time" statement, rightly)
        tx.execute_ddl(f"UPDATE atqbo_sync_records SET updated_at = '{past}' WHERE status = 'IN_PROGRESS'")
    return count
