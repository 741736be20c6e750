"""TOOL-09's judgement of each run lock, without Airflow: a run's lock is cleared once its run is
over or it expired, kept while its run is live; a failure alert's lock only once expired; a lock
released meanwhile is said to be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from atqbo.tools.reset import reset_run_locks

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LATER, EARLIER = NOW + timedelta(hours=1), NOW - timedelta(minutes=1)


class _Locks:
    """The ledger's run locks, as ``reset_run_locks`` reads and releases them."""

    def __init__(self, locks: list[dict], gone: frozenset[str] = frozenset()):
        self.locks, self.gone, self.released = locks, gone, []

    def list_run_locks(self) -> list[dict]:
        return self.locks

    def release_run_lock(self, name: str, owner: str) -> bool:
        self.released.append(name)
        return name not in self.gone


def _lock(name: str, owner: str, expires: datetime, details: str | None = None) -> dict:
    return {"name": name, "owner": owner, "expires_at": expires, "details": details}


def test_tool09_each_lock_is_judged_by_its_run_and_its_expiry():
    live = {"atqbo_invoices/live"}
    ledger = _Locks(
        [
            _lock("a", "atqbo_invoices/live", LATER),
            _lock("b", "atqbo_invoices/dead", LATER),
            _lock("c", "atqbo_invoices/live", EARLIER),
            _lock("d", "atqbo_invoices/dead", EARLIER),
            _lock("e", "f00d", LATER, details="atqbo_alert"),
            _lock("f", "f00d", EARLIER),
        ]
    )
    findings = reset_run_locks(ledger, NOW, lambda owner: owner in live)
    assert [(f.what, f.cleared) for f in findings] == [
        ("a", False),
        ("b", True),
        ("c", True),
        ("d", True),
        ("e", False),
        ("f", True),
    ]
    assert ledger.released == ["b", "c", "d", "f"]
    reasons = [f.reason for f in findings]
    assert reasons == [
        "its run atqbo_invoices / live is still queued or running in Airflow; if that run is stuck, mark it failed "
        "in Airflow, then run atqbo_reset again",
        "its run atqbo_invoices / dead is no longer queued or running in Airflow",
        "expired at 2026-03-02 11:59:00 UTC (its run is still running)",
        "expired at 2026-03-02 11:59:00 UTC",
        "held by atqbo_alert outside any DAG run; it expires by itself at 2026-03-02 13:00:00 UTC",
        "held by a process, expired at 2026-03-02 11:59:00 UTC",
    ]


def test_tool09_a_lock_released_meanwhile_is_not_said_to_be_cleared():
    ledger = _Locks([_lock("a", "atqbo_invoices/dead", LATER)], gone=frozenset({"a"}))
    (finding,) = reset_run_locks(ledger, NOW, lambda owner: False)
    assert not finding.cleared
    assert finding.reason == "released by its owner meanwhile (or taken by another run): nothing to clear"
