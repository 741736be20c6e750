"""QBO's idempotency keys: the ``requestid`` every write carries (BEY-01).

QBO applies a write once per requestid, and answers a repeat with the first one's result. A write
that QBO refused without applying (a stale SyncToken, "one name at a time") is retried as a new
write under a key *derived* from the first: a re-run of the same sync derives the same key again,
so it still replays instead of writing twice.
"""

from __future__ import annotations

import uuid

_REQUESTID_NS = uuid.UUID("6f1f1b1e-8a53-4b53-9d1e-6a7c0c1f0a42")


def new_requestid() -> str:
    """A fresh idempotency key for one QBO write."""
    return uuid.uuid4().hex


def derive_requestid(requestid: str, purpose: str) -> str:
    """A deterministic second key from ``requestid``: a re-run derives the same one, so it stays idempotent."""
    return uuid.uuid5(_REQUESTID_NS, f"{requestid}/{purpose}").hex
