"""Sync records (table ``atqbo_sync_records``): one row per Autotask record a sync sends to QBO,
with its status, its QBO id and the requestid of its last write.

A sync writes the intent (``record_intent``: IN_PROGRESS, the payload hash and requestid) before
each QBO write and the outcome (``set_sync_status``) after it, so a run killed in between leaves a
marker the next run resolves instead of writing twice. While a record is IN_PROGRESS its
``updated_at`` is when its write last went out (``mark_sent``, before every attempt): QBO may still
commit it for a while after that (``atqbo.write_in_flight``). The tools requeue failed records (TOOL-08)
and reset markers of runs that died (TOOL-09).
"""

from __future__ import annotations

from typing import Any

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.timestamps import to_ts, utcnow

SYNC_STATUSES = ("PENDING", "IN_PROGRESS", "SYNCED", "ERROR", "SKIPPED")


class SyncRecords(LedgerPart):
    def get_sync_record(self, entity: str, autotask_id: int) -> dict[str, Any] | None:
        with self.transaction() as tx:
            return tx.one("sync_record_get", entity=entity, autotask_id=int(autotask_id))

    def list_sync_records(self, entity: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        with self.transaction() as tx:
            return tx.all("sync_record_list", entity=entity, status=status)

    def list_sync_records_in_realm(
        self, entity: str, realm_id: str, *, with_unrealmed: bool, status: str | None = None
    ) -> list[dict[str, Any]]:
        """One QBO company's records of ``entity`` (BEY-07: QBO Ids are per company): those that went
        to ``realm_id``, and those without a realm (written before routes) when ``with_unrealmed``
        (the default company's)."""
        with self.transaction() as tx:
            return tx.all(
                "sync_record_list_in_realm",
                entity=entity,
                realm_id=str(realm_id),
                with_unrealmed=1 if with_unrealmed else 0,
                status=status,
            )

    def record_intent(
        self,
        entity: str,
        autotask_id: int,
        *,
        payload_hash: str,
        request_id: str,
        run_id: str | None = None,
        realm_id: str | None = None,
        generation: int = 0,
    ) -> None:
        """Say, before a QBO write, what is about to be sent and under which requestid."""
        with self.transaction() as tx:
            tx.execute(
                "sync_record_intent",
                entity=entity,
                autotask_id=int(autotask_id),
                generation=generation,
                realm_id=realm_id,
                payload_hash=payload_hash,
                request_id=request_id,
                run_id=run_id,
                now=to_ts(utcnow()),
            )

    def mark_sent(self, entity: str, autotask_ids: list[int], run_id: str) -> None:
        """Say that the write of these intents (recorded by ``run_id``) goes out now (BEY-01)."""
        now = to_ts(utcnow())
        with self.transaction() as tx:
            for autotask_id in autotask_ids:
                tx.execute("sync_record_mark_sent", entity=entity, autotask_id=int(autotask_id), run_id=run_id, now=now)

    def set_sync_status(
        self,
        entity: str,
        autotask_id: int,
        status: str,
        *,
        qbo_id: str | None = None,
        qbo_number: str | None = None,
        last_error: str | None = None,
        run_id: str | None = None,
        realm_id: str | None = None,
        payload_hash: str | None = None,
    ) -> None:
        if status not in SYNC_STATUSES:
            raise ValueError(f"unknown sync status {status!r}; expected one of {SYNC_STATUSES}")
        with self.transaction() as tx:
            tx.execute(
                "sync_record_set_status",
                entity=entity,
                autotask_id=int(autotask_id),
                status=status,
                qbo_id=qbo_id,
                qbo_number=qbo_number,
                last_error=last_error,
                run_id=run_id,
                realm_id=realm_id,
                payload_hash=payload_hash,
                now=to_ts(utcnow()),
            )

    def reset_in_progress(self, entity: str | None = None) -> int:
        with self.transaction() as tx:
            return tx.execute("sync_record_reset_in_progress", entity=entity, now=to_ts(utcnow()))

    def requeue_sync_record(self, entity: str, autotask_id: int) -> bool:
        """TOOL-08: an ERROR record back to PENDING; True when there was one."""
        with self.transaction() as tx:
            return (
                tx.execute("sync_record_requeue", entity=entity, autotask_id=int(autotask_id), now=to_ts(utcnow())) == 1
            )

    def list_in_progress(self) -> list[dict[str, Any]]:
        """TOOL-09: records marked IN_PROGRESS (a QBO write was about to be sent) and never settled."""
        with self.transaction() as tx:
            return tx.all("sync_record_list_in_progress")

    def reset_in_progress_record(self, entity: str, autotask_id: int) -> bool:
        with self.transaction() as tx:
            return (
                tx.execute("sync_record_reset_one", entity=entity, autotask_id=int(autotask_id), now=to_ts(utcnow()))
                == 1
            )

    def count_sync_records(self) -> list[dict[str, Any]]:
        with self.transaction() as tx:
            return tx.all("sync_record_count_by_status")
