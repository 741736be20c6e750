"""Staging (table ``atqbo_staging``): one DAG run's work in progress, shared by its tasks.

Tasks may run on different workers, so XCom carries only the run key and the data lives here as
JSON, item by item (``run_key``/``kind``/``item_key``). ``stage_purge`` removes what is older
than a week.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from atqbo.ledger.core import LedgerPart
from atqbo.ledger.timestamps import to_ts, utcnow


def _json_default(value: Any) -> Any:
    """Staged data may hold dates and amounts: dates as ISO text, amounts as exact strings."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot stage a {type(value).__name__}")


class Staging(LedgerPart):
    def stage_put(self, run_key: str, kind: str, items: dict[str, Any]) -> None:
        """Store JSON-able ``items`` (key -> value) under ``run_key``/``kind``, replacing same keys."""
        now = to_ts(utcnow())
        with self.transaction() as tx:
            for key, value in items.items():
                tx.execute(
                    "staging_put",
                    run_key=run_key,
                    kind=kind,
                    item_key=str(key),
                    data=json.dumps(value, default=_json_default, sort_keys=True),
                    now=now,
                )

    def stage_get(self, run_key: str, kind: str) -> dict[str, Any]:
        with self.transaction() as tx:
            rows = tx.all("staging_get", run_key=run_key, kind=kind)
        return {row["item_key"]: json.loads(row["data"]) for row in rows}

    def stage_clear(self, run_key: str, kind: str | None = None) -> int:
        with self.transaction() as tx:
            return tx.execute("staging_clear", run_key=run_key, kind=kind)

    def stage_purge(self, older_than: timedelta = timedelta(days=7)) -> int:
        with self.transaction() as tx:
            return tx.execute("staging_purge", before=to_ts(utcnow() - older_than))
