"""The QBO token refresh lease on SQLite and PostgreSQL: one holder at a time, taken over when expired."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


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
