"""Run history (table ``atqbo_run_history``): each finished sync or tool run's report counts, the
error-log view's "last runs". A retried report task replaces its run's row; rows older than
``HISTORY_RETENTION`` are purged by every run's report (``RunInfo.publish``), so 96 runs a day per
DAG stay a bounded table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.timestamps import to_ts, utcnow

HISTORY_RETENTION = timedelta(days=90)


class RunHistory(LedgerPart):
    def record_run(
        self, dag_id: str, run_id: str, counts: Mapping[str, int], *, window: str | None = None, dry_run: bool = False
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "run_history_put",
                dag_id=dag_id,
                run_id=run_id,
                now=to_ts(utcnow()),
                counts=json.dumps(dict(counts), sort_keys=True),
                run_window=window or None,
                dry_run=1 if dry_run else 0,
            )

    def list_runs(self, dag_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The latest finished runs, newest first, counts decoded."""
        with self.transaction() as tx:
            rows = tx.all("run_history_list", dag_id=dag_id, limit=int(limit))
        for row in rows:
            row["counts"] = json.loads(row["counts"])
            row["dry_run"] = bool(row["dry_run"])
        return rows

    def purge_run_history(self, older_than: timedelta = HISTORY_RETENTION) -> int:
        """Forget the runs that finished more than ``older_than`` ago; returns how many."""
        with self.transaction() as tx:
            return tx.execute("run_history_purge", before=to_ts(utcnow() - older_than))
