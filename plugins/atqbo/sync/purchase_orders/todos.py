"""PO-08: an Autotask to-do under the local organization (company 0) for every failure, once.

A failure is its PO (or the whole run) and its message (``todo_key``). The to-dos made are
remembered in the ledger's staging under ``TODO_RECORDS``, across runs, with the error-log entry
each belongs to: a later run failing the same way adds no second to-do while that entry is open,
and one made after the entry was resolved is a new failure. A run-level problem (PO-06 case 3) is
alerted once, until a run finds it gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atqbo.hooks.autotask import AutotaskAmbiguousWriteError, AutotaskError, record_refused
from atqbo.notify import create_local_todo
from atqbo.records import PURCHASE_ORDER, short_digest
from atqbo.settings import VARIABLE_NAME

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

# Where the to-dos already created are remembered, across runs (PO-08: one to-do per failure).
TODO_RECORDS = "atqbo_purchase_orders:todos"
TODO_KIND_PO = "po_failure"
TODO_KIND_RUN = "run_problem"


@dataclass(frozen=True)
class Failure:
    """One failure of the run that needs a to-do."""

    kind: str  # TODO_KIND_PO or TODO_KIND_RUN
    autotask_id: int | None  # None for a problem of the whole run
    message: str
    fix: str
    error_id: int | None  # its error-log entry (a run-level problem gets one with its to-do)

    @property
    def key(self) -> str:
        return todo_key(self.autotask_id, self.message)


def todo_key(autotask_id: int | None, message: str) -> str:
    """A failure's identity for to-dos: the PO and what went wrong (messages hold no run-specific text)."""
    return f"{autotask_id if autotask_id is not None else 'run'}:{short_digest(message)}"


def todo_description(run: RunInfo, autotask_id: int | None, message: str, fix: str) -> str:
    subject = f"Autotask purchase order {autotask_id}" if autotask_id is not None else "The purchase order sync"
    return "\n".join(
        [
            f"atqbo: {subject} was not transferred to QuickBooks Online.",
            f"What failed: {message}",
            f"How to fix: {fix}",
            f"Run: {run.dag_id} / {run.run_id}",
        ]
    )


def create_error_todos(run: RunInfo, autotask: AutotaskHook, ledger: Ledger) -> int:
    """PO-08: an Autotask to-do under company 0 for every failure of this run that has none yet.

    A failure is its PO and its message; the to-do made for it is remembered in the ledger with the
    error-log entry it belongs to, so a later run failing the same way (say after ERROR was cleared
    too early) adds no second to-do while that entry is open. Returns how many were created.
    """
    failures = failures_of_run(run, ledger)
    known = {kind: ledger.stage_get(TODO_RECORDS, kind) for kind in (TODO_KIND_PO, TODO_KIND_RUN)}
    created = 0
    for failure in failures:
        record = known[failure.kind].get(failure.key)
        if record and (failure.kind == TODO_KIND_RUN or record.get("error_id") == failure.error_id):
            continue
        if create_todo(run, autotask, ledger, failure):
            created += 1
    return created


def failures_of_run(run: RunInfo, ledger: Ledger) -> list[Failure]:
    """The failed POs, the refused write-backs and the run-level problems this run staged.

    A run that got as far as the multi-currency decision without a run-level problem forgets the
    one alerted before, so it is alerted again if it returns.
    """
    failures = [
        Failure(TODO_KIND_PO, int(key), row["reason"], row["fix"], row.get("error_id"))
        for key, row in ledger.stage_get(run.run_key, "outcome").items()
        if row.get("outcome") == "failed" and not row.get("transient")  # BEY-07: its company's run problem
    ]
    failures += [
        Failure(TODO_KIND_PO, int(key), problem["message"], problem["fix"], problem.get("error_id"))
        for key, problem in ledger.stage_get(run.run_key, "writeback_problems").items()
    ]
    run_problems = ledger.stage_get(run.run_key, "run_problems")
    failures += [
        Failure(TODO_KIND_RUN, None, problem["message"], problem["fix"], None)
        for problem in (run_problems.get("problems") or {}).values()
    ]
    if run_problems.get("decided") and not run_problems.get("problems"):
        ledger.stage_clear(TODO_RECORDS, TODO_KIND_RUN)  # the run-level problem is gone: alert again if it returns
    return failures


def create_todo(run: RunInfo, autotask: AutotaskHook, ledger: Ledger, failure: Failure) -> bool:
    """Create the failure's to-do and remember it; False when Autotask refused it (the report says
    why). A create whose answer was lost is remembered as uncertain: never risk a second to-do."""
    settings = run.parsed_settings
    error_id = failure.error_id
    if failure.kind == TODO_KIND_RUN:
        error_id = ledger.log_error(
            PURCHASE_ORDER, None, failure.message, fix=failure.fix, dag_id=run.dag_id, run_id=run.run_id
        )
    entry: dict[str, Any] = {
        "autotask_id": failure.autotask_id,
        "error_id": error_id,
        "run_id": run.run_id,
        "created_at": datetime.now(UTC).isoformat(),
    }
    try:
        entry["todo_id"] = create_local_todo(
            autotask, settings, todo_description(run, failure.autotask_id, failure.message, failure.fix)
        )
    except AutotaskAmbiguousWriteError as exc:
        entry["uncertain"] = True  # it may exist: never risk a second one for this failure
        log.error(
            "The Autotask to-do for %s may or may not have been created (%s); check the to-dos of company 0",
            failure.key,
            exc,
        )
    except AutotaskError as exc:
        if not record_refused(exc):
            raise
        subject = f"Autotask PO {failure.autotask_id}" if failure.autotask_id else "the run"
        problem = (
            f"no Autotask to-do could be created for {subject}: {'; '.join(exc.errors) or exc.message}. Check "
            f"todo_action_type ({settings.todo_action_type}) and todo_resource_id ({settings.todo_resource_id}) in "
            f"the {VARIABLE_NAME} Variable"
        )
        ledger.stage_put(run.run_key, "todo_problems", {failure.key: problem})
        return False
    ledger.stage_put(TODO_RECORDS, failure.kind, {failure.key: entry})
    ledger.stage_put(run.run_key, "todos", {failure.key: entry})
    return True
