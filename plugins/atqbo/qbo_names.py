"""QBO name-list records (customers, vendors, items) found by name and created by batch: the one
way every sync and tool does it.

QBO compares names without case, and an inactive record keeps its name taken, so look-ups key by
the lower-cased name and (unless asked for active ones only) read inactive records too. A create
QBO refuses as a duplicate name (6240: an earlier attempt whose answer was lost, another run, a
person) adopts the record that has the name instead.

``recording_names`` lets a caller see the decisions a dry run made here without a second
implementation of them (the preflight, BEY-08): which names were looked up and found, and which
records a dry run would have created.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field
from typing import Any

from atqbo.hooks.qbo import MAX_BATCH_ITEMS, QboDuplicateName, QboFault, QuickBooksOnlineHook, where_eq
from atqbo.records import short_digest

PLANNED_ID = "(new)"  # the Id of a record a dry run would create


@dataclass
class NameDecisions:
    """What ``find_names`` and ``create_names`` decided while recorded, by entity ("Customer", ...):
    the names looked up, the records found (by lower-cased name), the records a dry run would create
    (by name, as their payloads)."""

    asked: dict[str, set[str]] = field(default_factory=dict)
    found: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    planned: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def missing(self, entity: str) -> list[str]:
        """The names of ``entity`` looked up and not found, sorted."""
        found = self.found.get(entity, {})
        return sorted(n for n in self.asked.get(entity, set()) if n.lower() not in found)


_RECORDING: ContextVar[NameDecisions | None] = ContextVar("atqbo_name_decisions", default=None)


@contextmanager
def recording_names() -> Iterator[NameDecisions]:
    """Record, inside the ``with``, what every ``find_names`` and dry-run ``create_names`` decides."""
    decisions = NameDecisions()
    token = _RECORDING.set(decisions)
    try:
        yield decisions
    finally:
        _RECORDING.reset(token)


_NAME_WRITES: dict[str, threading.Lock] = {}
_NAME_WRITES_LOCK = threading.Lock()


@contextmanager
def name_list_write(qbo: QuickBooksOnlineHook) -> Iterator[None]:
    """One write to the company's name lists (customers, vendors, employees, items) at a time in this
    process: QBO refuses a name-list write that overlaps another with 6000 "You can only add or edit
    one name at a time" (ERR-02), a batch's items included. The invoice load finds its customers and
    its items side by side (BEY-05); their creates and updates take turns here."""
    with _NAME_WRITES_LOCK:
        lock = _NAME_WRITES.setdefault(str(qbo.realm_id), threading.Lock())
    with lock:
        yield


def _in_context(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``function`` run in a copy of the caller's context, so that a worker thread records its
    decisions where the caller does (``recording_names``)."""
    context = copy_context()

    def run(argument: Any) -> Any:
        return context.copy().run(function, argument)

    return run


def chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    """``values`` in lists of ``size`` (the last one shorter)."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def find_names(
    qbo: QuickBooksOnlineHook, entity: str, field: str, names: Iterable[str], active_only: bool = False
) -> dict[str, dict[str, Any]]:
    """``entity`` records whose ``field`` is one of ``names``, by lower-cased name (the oldest first
    if QBO ever holds two)."""
    found: dict[str, dict[str, Any]] = {}
    where = None if active_only else "Active IN (true, false)"  # inactive names stay taken in QBO
    wanted = sorted({n for n in names if n})
    for record in qbo.query_in(entity, field, wanted, where=where, order_by="Id"):
        found.setdefault(str(record[field]).lower(), record)
    decisions = _RECORDING.get()
    if decisions is not None:
        decisions.asked.setdefault(entity, set()).update(wanted)
        decisions.found.setdefault(entity, {}).update(found)
    return found


def names_taken(
    qbo: QuickBooksOnlineHook, names: Iterable[str], entities: Iterable[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Of ``names``, those QBO already gives a record of one of ``entities`` (say "Vendor",
    "Employee"), inactive ones included: QBO names are unique across customers, vendors and
    employees. By lower-cased name: (the entity in lower case, the record)."""
    taken: dict[str, tuple[str, dict[str, Any]]] = {}
    entities, wanted = list(entities), set(names)
    if not wanted:
        return taken
    with ThreadPoolExecutor(max_workers=max(1, len(entities)), thread_name_prefix="atqbo-names") as pool:
        found = list(pool.map(_in_context(lambda entity: find_names(qbo, entity, "DisplayName", wanted)), entities))
    for entity, records in zip(entities, found, strict=True):
        for name, record in records.items():
            taken.setdefault(name, (entity.lower(), record))
    return taken


def find_account(qbo: QuickBooksOnlineHook, name: str) -> dict[str, Any] | None:
    """The QBO account named ``name`` (an active one: QBO's queries leave inactive ones out), or None.

    Settings name accounts (``new_item_income_account``, ``po_ap_account``, ...); their type is the
    caller's to check."""
    return next(iter(qbo.query_all("Account", where=[where_eq("Name", name)])), None)


def create_names(
    qbo: QuickBooksOnlineHook,
    entity: str,
    name_field: str,
    payloads: dict[str, dict[str, Any]],
    *,
    run_id: str,
    dry_run: bool,
    describe_fault: Callable[[QboFault], str] = str,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Create ``payloads`` (name -> record) by batch; returns (created or adopted records by
    lower-cased name, fault text by name).

    Each batch's ``requestid`` is derived from the run and its names: a retried task sends the same
    key (QBO replays a lost answer), a later run a new one (else QBO would replay an earlier refusal
    after its cause was fixed). In a dry run nothing is created: the payloads come back as planned
    records with Id "(new)".
    """
    if not payloads:
        return {}, {}
    names = sorted(payloads)
    if dry_run:
        decisions = _RECORDING.get()
        if decisions is not None:
            decisions.planned.setdefault(entity, {}).update(payloads)
        return {n.lower(): {**payloads[n], "Id": PLANNED_ID, "Active": True, "planned": True} for n in names}, {}
    created: dict[str, dict[str, Any]] = {}
    faults: dict[str, str] = {}
    for chunk in chunks(names, MAX_BATCH_ITEMS):
        batch = [{"bId": str(i), "operation": "create", entity: payloads[n]} for i, n in enumerate(chunk)]
        digest = short_digest("\n".join([run_id, *chunk]))
        with name_list_write(qbo):
            results = qbo.batch(batch, requestid=f"atqbo-{entity.lower()}-{digest}")
        for name, result in zip(chunk, results, strict=True):
            if isinstance(result, QboDuplicateName):
                again = find_names(qbo, entity, name_field, {name})
                if again:
                    created.update(again)
                    continue
            if isinstance(result, QboFault):
                faults[name] = describe_fault(result)
            else:
                record = result[entity]
                created[str(record[name_field]).lower()] = record
    return created, faults
