"""Reads of the books: one record by Id, a query in QBO's query language, and change data capture
(CDC: what changed, deletions included, since a moment at most 30 days back).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.exchange_rates import exchange_rate_rows
from sandbox.qbo.faults import Fault, invalid_property, object_not_found, required
from sandbox.qbo.query import check_query, run_query
from sandbox.qbo.query_parser import QueryError, parse_query
from sandbox.qbo.schema import LISTS, QUERYABLE, URL_ENTITIES
from sandbox.qbo.times import parse_datetime
from sandbox.qbo.values import id_key

CDC_REACH = timedelta(days=30)
CDC_MAX_OBJECTS = 1000


def read_record(books: Company, entity: str, record_id: str) -> dict[str, Any]:
    """``GET {entity}/{id}``: a copy of the record, or 610 when there is none (or it was deleted)."""
    record = books.get(entity, record_id)
    if record is None:
        raise object_not_found(transaction=False)
    return copy.deepcopy(record)


def query_records(books: Company, text: str) -> dict[str, Any]:
    """The body of ``QueryResponse`` for a statement; query errors become the real service's faults."""
    try:
        query = parse_query(text)
        check_query(query, QUERYABLE)
    except QueryError as exc:
        raise Fault(exc.code, exc.message, exc.detail) from None
    if query.entity == "Preferences":
        rows = [books.preferences]
    elif query.entity == "CompanyInfo":
        rows = [books.company_info]
    elif query.entity == "ExchangeRate":
        rows = exchange_rate_rows(books)
    else:
        rows = books.visible(query.entity)
        if query.entity in LISTS and not any(c.path == "Active" for c in query.conditions):
            # Like QBO: name lists answer with active records unless the query asks about Active.
            rows = [r for r in rows if r.get("Active", True) is not False]
    return copy.deepcopy(run_query(query, rows))


def changes_since(books: Company, entities: str | None, changed_since: str | None) -> dict[str, Any]:
    """Changes since ``changed_since`` (at most 30 days back), deletions as tombstones, 1000 objects at most."""
    if not entities:
        raise required("entities")
    if not changed_since:
        raise required("changedSince")
    since = parse_datetime(changed_since)
    if since is None:
        raise invalid_property(f"changedSince specified is unsupported or invalid: {changed_since}", "changedSince")
    if since < books.now() - CDC_REACH:
        raise Fault(
            "4001",
            "Invalid query",
            f"Operation cdc with changedSince date {changed_since} which is older than fixed days is not supported.",
            "changedSince",
        )
    names = []
    for raw in entities.split(","):
        name = URL_ENTITIES.get(raw.strip().lower())
        if name is None:
            raise Fault("4001", "Invalid query", f"QueryValidationError: CDC is not supported for entity {raw.strip()}")
        if name not in names:
            names.append(name)
    changes: list[tuple[datetime, str, str, dict[str, Any]]] = []
    for name in names:
        for record in books.visible(name):
            updated = parse_datetime(record["MetaData"]["LastUpdatedTime"])
            if updated is not None and updated >= since:
                changes.append((updated, name, record["Id"], copy.deepcopy(record)))
        for rid, when in books.tombstones[name].items():
            deleted = parse_datetime(when)
            if deleted is not None and deleted >= since:
                gone = {"Id": rid, "status": "Deleted", "domain": "QBO", "MetaData": {"LastUpdatedTime": when}}
                changes.append((deleted, name, rid, gone))
    changes.sort(key=lambda c: (c[0], id_key(c[2])))
    changes = changes[:CDC_MAX_OBJECTS]
    responses = []
    for name in names:
        objs = [c[3] for c in changes if c[1] == name]
        responses.append({name: objs, "startPosition": 1, "maxResults": len(objs)} if objs else {})
    return {"CDCResponse": [{"QueryResponse": responses}]}
