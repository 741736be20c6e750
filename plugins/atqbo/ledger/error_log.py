"""The error log (table ``atqbo_error_log``): what failed, for which record, and how to fix it.

A repeated failure of the same record with the same message counts up its open entry instead of
adding another. An operator asks for a retry from the error-log view (TOOL-08); the next attempt,
failed or not, uses the request up, and a record that syncs resolves its entries. An entry names
the QBO company the record went to (``qbo_company``: its Airflow connection id, BEY-07) when the
sync knows it; entries from before schema version 3 have none.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.timestamps import to_ts, utcnow


class ErrorLog(LedgerPart):
    def log_error(
        self,
        entity: str,
        autotask_id: int | None,
        message: str,
        *,
        fix: str | None = None,
        qbo_id: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        qbo_company: str | None = None,
    ) -> int:
        """Record a failure; the same open failure of the same record is counted, not repeated.

        ``qbo_company``: the QBO company's Airflow connection id (BEY-07). The open entry a repeat
        counts is found per record and message, whatever the company: a repeat that names one sets
        it (the record's latest company), one that names none keeps the entry's.

        Returns the error log entry's id.
        """
        now = to_ts(utcnow())
        with self.transaction() as tx:
            existing = None
            if autotask_id is not None:
                existing = tx.one("error_log_find_open", entity=entity, autotask_id=int(autotask_id), message=message)
            if existing:
                tx.execute(
                    "error_log_bump",
                    id=existing["id"],
                    now=now,
                    dag_id=dag_id,
                    run_id=run_id,
                    fix=fix,
                    qbo_company=qbo_company or None,
                )
                return int(existing["id"])
            row = tx.one(
                "error_log_insert",
                entity=entity,
                autotask_id=None if autotask_id is None else int(autotask_id),
                qbo_id=qbo_id,
                dag_id=dag_id,
                run_id=run_id,
                message=message,
                fix=fix,
                attempts=1,
                now=now,
                qbo_company=qbo_company or None,
            )
            return int(row["id"])

    def list_errors(
        self,
        entity: str | None = None,
        since: datetime | None = None,
        include_resolved: bool = False,
        autotask_ids: Iterable[int] | None = None,
        qbo_company: str | None = None,
    ) -> list[dict[str, Any]]:
        """Error log entries, newest first: open ones (or all), of one entity, since a time, of some
        records, of one QBO company (its connection id; None: every entry, those naming none too).

        Each is a dict of every column, ``qbo_company`` included (None when not known)."""
        with self.transaction() as tx:
            rows = tx.all(
                "error_log_list",
                entity=entity,
                since=to_ts(since),
                include_resolved=1 if include_resolved else 0,
                qbo_company=qbo_company or None,
            )
        if autotask_ids is not None:
            wanted = {int(i) for i in autotask_ids}
            rows = [r for r in rows if r["autotask_id"] is not None and int(r["autotask_id"]) in wanted]
        return rows

    def error_companies(self) -> list[str]:
        """The QBO companies (connection ids) the error log's entries name, sorted."""
        with self.transaction() as tx:
            return [row["qbo_company"] for row in tx.all("error_log_companies")]

    def get_error(self, error_id: int) -> dict[str, Any] | None:
        with self.transaction() as tx:
            return tx.one("error_log_get", id=int(error_id))

    def resolve_errors(self, entity: str, autotask_id: int) -> int:
        with self.transaction() as tx:
            return tx.execute("error_log_resolve", entity=entity, autotask_id=int(autotask_id), now=to_ts(utcnow()))

    def request_retry(self, error_id: int) -> bool:
        with self.transaction() as tx:
            return tx.execute("error_log_request_retry", id=int(error_id), now=to_ts(utcnow())) == 1
