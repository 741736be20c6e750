"""What the error-log tests record failures with: the records' Autotask ids, the settings, and a
failure as a sync records it."""

from __future__ import annotations

from atqbo.settings import Settings

INVOICE, PO, PAYMENT, VOID = 101, 202, 303, 404


def settings_with(**changes) -> Settings:
    return Settings.from_dict(changes)  # the defaults, and these


def record_failure(ledger, entity: str, autotask_id: int | None, message: str = "it failed") -> dict:
    """What a sync does when a record fails: an error-log entry, and the record ERROR."""
    error_id = ledger.log_error(entity, autotask_id, message, fix="fix it", dag_id="atqbo_x", run_id="r1")
    if autotask_id is not None:
        ledger.set_sync_status(entity, autotask_id, "ERROR", last_error=message, run_id="r1")
    return ledger.get_error(error_id)
