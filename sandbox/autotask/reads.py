"""Autotask reads: ``GET {Entity}/{id}`` and the query endpoints (``query``, ``query/count``,
``query/next``) with their id-cursor paging: records in id order, at most a page, and a
``nextPageUrl`` that carries the first id of the next page. A caller restricted to some lines of
business reads the others' records as missing (``{"item": null}``, left out of queries and counts);
one whose security level denies querying the entity gets the permission error for all of these.
"""

from __future__ import annotations

import copy
import json
from bisect import bisect_left
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sandbox.autotask.access import EVERYTHING, Caller
from sandbox.autotask.filter import FilterError, Query, parse_query
from sandbox.autotask.responses import errors_response, no_resource, not_allowed, parse_id, parse_json, request_base
from sandbox.autotask.schema import EntitySpec
from sandbox.autotask.tenant import Tenant
from sandbox.core import Abort, Request, Response


def read_item(tenant: Tenant, req: Request, spec: EntitySpec, raw_id: str, caller: Caller = EVERYTHING) -> Response:
    """``GET {Entity}/{id}``: ``{"item": {...}}``, or ``{"item": null}`` with 200 for a missing id."""
    if req.method != "GET":
        return not_allowed(req.method)
    item_id = parse_id(raw_id)
    if item_id is None:
        return no_resource(req)
    caller.require("query", spec)
    with tenant.lock:
        record = tenant.tables[spec.name].get(item_id)
        item = copy.deepcopy(record) if record is not None and caller.can_see(spec, record) else None
    return Response.json(200, {"item": item})


def run_query(
    tenant: Tenant, req: Request, spec: EntitySpec, mode: str, server_base_url: str, caller: Caller = EVERYTHING
) -> Response:
    """``query`` (first page), ``count`` or ``next`` (the page a cursor points at)."""
    search = req.arg("search")
    body = _query_body(req, search)
    caller.require("query", spec)
    with tenant.lock:
        strict = tenant.settings["refuse_unqueryable_fields"]
    try:
        query = parse_query(body, spec.filter_fields, strict=strict)
    except FilterError as exc:
        return errors_response(500, str(exc))

    def finds(record: dict[str, Any]) -> bool:
        return query.matches(record) and caller.can_see(spec, record)

    if mode == "count":
        with tenant.lock:
            count = sum(1 for record in tenant.tables[spec.name].values() if finds(record))
        return Response.json(200, {"queryCount": count})

    page_size, previous, start = query.max_records, [], -1
    if mode == "next":
        page_size, previous, start = _parse_paging(req.arg("paging"))
    page, next_start = _read_page(tenant, spec, query, finds, page_size, start)

    with tenant.lock:
        zone = tenant.zone
    base = f"{request_base(req, server_base_url)}/{zone}/atservicesrest/V1.0/{spec.name}/query/next"
    search_part = f"&search={quote(search, safe='')}" if req.method == "GET" and search is not None else ""

    def cursor(previous_ids: list[int], next_id: int) -> str:
        paging = json.dumps(
            {"pageSize": page_size, "previousIds": previous_ids, "nextIds": [next_id]}, separators=(",", ":")
        )
        return f"{base}?paging={quote(paging, safe='')}{search_part}"

    next_url = cursor(previous + [start], next_start) if next_start is not None else None
    prev_url = cursor(previous[:-1], previous[-1]) if previous else None
    return Response.json(
        200,
        {
            "items": page,
            "pageDetails": {
                "count": len(page),
                "requestCount": page_size,
                "prevPageUrl": prev_url,
                "nextPageUrl": next_url,
            },
        },
    )


def _query_body(req: Request, search: str | None) -> Any:
    """The query body: ``search`` of a GET, the body (or else ``search``) of a POST; 405 for a
    request no query action matches."""
    if req.method == "GET":
        if search is None:
            # Without ``search`` no GET action matches; this is also what a GET of a POST
            # query's nextPageUrl gets (its cursor carries no search).
            raise Abort(not_allowed("GET"))
        return parse_json(search, "search")
    if req.method == "POST":
        body = parse_json(req.body.decode("utf-8"), "request body") if req.body.strip() else None
        if body is None and search is not None:
            body = parse_json(search, "search")
        return body
    raise Abort(not_allowed(req.method))


def _read_page(
    tenant: Tenant, spec: EntitySpec, query: Query, finds: Callable[[dict[str, Any]], bool], page_size: int, start: int
) -> tuple[list[dict[str, Any]], int | None]:
    """The records ``finds`` (the query matches them, the caller may see them) from id ``start`` on,
    at most ``page_size`` of them (projected), and the id the next page starts at (None on the
    last page)."""
    with tenant.lock:
        table = tenant.tables[spec.name]
        hits: list[dict[str, Any]] = []
        ordered = sorted(table)
        for item_id in ordered[bisect_left(ordered, start) :]:
            record = table[item_id]
            if finds(record):
                hits.append(record)
                if len(hits) > page_size:
                    break
        page = [_project(record, query) for record in hits[:page_size]]
    next_start = hits[page_size]["id"] if len(hits) > page_size else None
    return page, next_start


def _parse_paging(raw: str | None) -> tuple[int, list[int], int]:
    """(page size, earlier page starts, this page's first id) from a cursor's ``paging``."""
    try:
        paging = json.loads(raw or "")
        size = int(paging["pageSize"])
        previous = [int(i) for i in paging.get("previousIds") or []]
        start = int(paging["nextIds"][0])
        if not 1 <= size <= 500:
            raise ValueError("pageSize out of range")
    except (ValueError, KeyError, IndexError, TypeError):
        raise Abort(
            errors_response(
                500, "The paging parameter of query/next is missing or not valid; use the nextPageUrl as given"
            )
        ) from None
    return size, previous, start


def _project(record: dict[str, Any], query: Query) -> dict[str, Any]:
    if query.include_fields is None:
        return copy.deepcopy(record)
    return {name: copy.deepcopy(record.get(name)) for name in query.include_fields}
