"""Reset a stuck sync (TOOL-09): clear the ledger's held locks and in-progress markers that no live
run owns, so processing resumes; keep what a live run holds.

What can be left behind when a worker is killed (OOM, a node lost, a task marked failed while it ran):

* Run locks (``atqbo_run_locks``). Two kinds of owner are written:
  - ``"dag_id/run_id"``: the sync locks (``invoice_sync`` of the invoice-creating runs,
    ``purchase_order_sync`` of the bill-creating ones). Such a lock is stale when its run is no
    longer queued or running in Airflow (``lock_owner_active``) or it is past its expiry; then it
    is cleared. A lock whose run is still live is kept: clearing it would let a second run create
    the same documents at the same time. If that run is really stuck, mark it failed in Airflow
    first, then reset again.
  - a random id (``atqbo.notify``'s failure-alert lock ``atqbo_alert:{dag_id}/{run_id}``, held by
    a failure callback for the few seconds it takes to send one alert). No Airflow run stands
    for its owner, so only its expiry (10 minutes) says it is stale; before that it is kept.
* ``IN_PROGRESS`` sync records: a run writes one (with the requestid) just before a QBO write and
  settles it after. One whose run is no longer queued or running was interrupted; it goes back
  to ``PENDING``. That is safe because before creating anything every sync adopts what QBO
  already has: an invoice or bill carrying atqbo's PrivateNote (``Autotask invoice {id}``,
  ``Autotask PO {id}``) is recorded as synced, not created again, and a void first reads the QBO
  invoice (one found voided is reported as such). A write that went through before the
  interruption is therefore found, and one that did not is sent again. The record's requestid,
  attempts and payload are kept; only the status changes. One whose write went out less than
  ``WRITE_MAY_COMMIT_S`` ago is kept as it is: QBO may still commit it (docs/api-facts.md 2.8),
  and the next run after that decides it (``atqbo.write_in_flight``); a reset now would let a run
  send it again before then.
  A record names its run's run_id but not its DAG, so the run is looked for in every atqbo DAG
  that writes records (``SYNC_DAG_IDS``, plus any DAG in the run history or a lock owner).

Not touched: the QBO token refresh lease (``atqbo_oauth_tokens``; it expires by itself 150 s after
a refresh began, and clearing it during a refresh could lose QBO's rotated refresh token), the
error log, and the staged data of runs (purged after a week).

Before judging any run, the tool checks that Airflow answers for its own run (running): if it
cannot tell live runs from dead ones, it clears nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from atqbo.exceptions import AtqboError
from atqbo.hooks.qbo_limits import WRITE_MAY_COMMIT_S
from atqbo.notify import RunReport
from atqbo.write_in_flight import in_flight_until

if TYPE_CHECKING:
    from atqbo.ledger import Ledger

log = logging.getLogger(__name__)

REPORT_TITLE = "atqbo reset"
# The DAGs that write sync records (IN_PROGRESS) or hold sync locks.
SYNC_DAG_IDS: tuple[str, ...] = (
    "atqbo_invoices",
    "atqbo_sync_now",
    "atqbo_copy_invoice",
    "atqbo_invoice_voids",
    "atqbo_payments",
    "atqbo_mark_invoice_paid",
    "atqbo_purchase_orders",
    "atqbo_sync_po",
)

IsActive = Callable[[str], bool]  # "dag_id/run_id" -> queued or running in Airflow


@dataclass(frozen=True)
class Finding:
    """One lock or record the reset looked at, and what it did with it."""

    kind: str  # "lock" | "record"
    what: str  # the lock's name, or "entity autotask_id"
    owner: str  # "dag_id/run_id", an alert's id, or the record's run_id
    cleared: bool
    reason: str

    def describe(self) -> str:
        return f"{'cleared' if self.cleared else 'kept'} {self.kind} {self.what} ({self.owner}): {self.reason}"


class ResetRefused(AtqboError):
    """Airflow cannot say which runs are live, so nothing was cleared."""


def run_owner(owner: str) -> tuple[str, str] | None:
    """(dag_id, run_id) when a lock owner is a DAG run ("dag_id/run_id"), else None (a failure alert's id)."""
    dag_id, _, run_id = (owner or "").partition("/")
    return (dag_id, run_id) if dag_id and run_id else None


def check_airflow_answers(own_run_key: str, is_active: IsActive) -> None:
    """Refuse to judge other runs when Airflow does not even see this one running."""
    try:
        answered = is_active(own_run_key)
    except Exception as exc:  # Airflow cannot be asked (its API failing, or not inside a task)
        log.warning("Could not ask Airflow whether %s is running: %s: %s", own_run_key, type(exc).__name__, exc)
        answered = False
    if not answered:
        raise ResetRefused(
            f"Airflow did not report this run ({own_run_key}) as running, so it cannot tell live runs from dead "
            "ones: nothing was cleared. Fix: trigger atqbo_reset from the Airflow UI or CLI of the deployment whose "
            "runs hold the locks"
        )


def reset_run_locks(ledger: Ledger, now: datetime, is_active: IsActive) -> list[Finding]:
    """Clear the stale run locks (see the module docstring); return a finding per lock."""
    findings = []
    for lock in ledger.list_run_locks():
        name, owner = lock["name"], lock["owner"]
        stale, reason = _judge_lock(lock, now, is_active)
        if not stale:
            findings.append(Finding("lock", name, owner, False, reason))
            continue
        released = ledger.release_run_lock(name, owner)
        if not released:
            reason = "released by its owner meanwhile (or taken by another run): nothing to clear"
        findings.append(Finding("lock", name, owner, released, reason))
    return findings


def _judge_lock(lock: dict[str, Any], now: datetime, is_active: IsActive) -> tuple[bool, str]:
    """Whether a run lock is stale, and why it is (or why it is kept)."""
    owner, expires = lock["owner"], lock["expires_at"]
    expired = expires < now
    until = f"{expires:%Y-%m-%d %H:%M:%S} UTC"
    run = run_owner(owner)
    if run is None:  # a failure alert's lock: no Airflow run stands for it, only its expiry says it is stale
        holder = lock.get("details") or "a process"
        if expired:
            return True, f"held by {holder}, expired at {until}"
        return False, f"held by {holder} outside any DAG run; it expires by itself at {until}"
    live = is_active(owner)
    if expired:
        return True, f"expired at {until}" + (" (its run is still running)" if live else "")
    if live:
        return False, (
            f"its run {run[0]} / {run[1]} is still queued or running in Airflow; if that run is stuck, mark it "
            "failed in Airflow, then run atqbo_reset again"
        )
    return True, f"its run {run[0]} / {run[1]} is no longer queued or running in Airflow"


def candidate_dag_ids(ledger: Ledger) -> list[str]:
    """Every DAG whose run may have written a sync record: the known ones and any in the run history
    or a lock owner (a DAG added later is found there)."""
    found = list(SYNC_DAG_IDS)
    with contextlib.suppress(Exception):  # the run history is a convenience: the known DAGs suffice
        found += [r["dag_id"] for r in ledger.list_runs(limit=500)]
    found += [run[0] for lock in ledger.list_run_locks() if (run := run_owner(lock["owner"]))]
    return list(dict.fromkeys(d for d in found if d.startswith("atqbo_")))


def reset_in_progress_records(ledger: Ledger, dag_ids: Iterable[str], is_active: IsActive) -> list[Finding]:
    """IN_PROGRESS records whose run is no longer queued or running in any of ``dag_ids``: back to PENDING."""
    dag_ids = list(dag_ids)
    live_of: dict[str, str | None] = {}  # run_id -> "dag_id/run_id" of the live run with that id, or None
    findings = []
    for record in ledger.list_in_progress():
        what = f"{record['entity']} {record['autotask_id']}"
        run_id = record.get("run_id") or ""
        if run_id and run_id not in live_of:
            live_of[run_id] = next((f"{d}/{run_id}" for d in dag_ids if is_active(f"{d}/{run_id}")), None)
        live = live_of.get(run_id) if run_id else None
        until = in_flight_until(record, WRITE_MAY_COMMIT_S)
        if not live and until is not None:
            reason = (
                f"its QBO write went out at {record['updated_at']} and QBO may still commit it until "
                f"{until:%H:%M:%S} UTC: kept, so no run sends it again before then; the next run after that "
                "decides it (nothing to reset)"
            )
            findings.append(Finding("record", what, run_id or "no run", False, reason))
            continue
        if live:
            reason = f"its run {live.replace('/', ' / ', 1)} is still queued or running: it settles the record itself"
            findings.append(Finding("record", what, run_id, False, reason))
            continue
        done = ledger.reset_in_progress_record(record["entity"], int(record["autotask_id"]))
        findings.append(
            Finding(
                "record",
                what,
                run_id or "no run",
                done,
                (
                    f"IN_PROGRESS since {record['updated_at']}, its run is no longer queued or running: back to "
                    "PENDING; the next run adopts what QBO already has (PrivateNote) before creating anything"
                    if done
                    else "settled meanwhile by another run: nothing to reset"
                ),
            )
        )
    return findings


def reset_stuck_sync(ledger: Ledger, own_run_key: str, now: datetime, is_active: IsActive) -> list[Finding]:
    """The whole reset: check Airflow answers, then locks, then in-progress records."""
    check_airflow_answers(own_run_key, is_active)
    return reset_run_locks(ledger, now, is_active) + reset_in_progress_records(
        ledger, candidate_dag_ids(ledger), is_active
    )


def build_reset_report(dag_id: str, run_id: str, findings: list[Finding]) -> RunReport:
    """A note per lock and record looked at, cleared ones first; no rows (nothing was transferred)."""
    cleared = [f for f in findings if f.cleared]
    kept = [f for f in findings if not f.cleared]
    locks, records = sum(f.kind == "lock" for f in cleared), sum(f.kind == "record" for f in cleared)
    notes = [f"Cleared {locks} lock(s) and reset {records} in-progress record(s); kept {len(kept)}."]
    if not findings:
        notes[0] = "Nothing was stuck: no run locks and no in-progress records in the state database."
    notes += [f.describe()[0].upper() + f.describe()[1:] for f in cleared + kept]
    headline = f"cleared {locks + records}, kept {len(kept)}" if findings else "nothing was stuck"
    return RunReport(
        title=REPORT_TITLE, dag_id=dag_id, run_id=run_id, notes=notes, always_email=True, headline=headline
    )
