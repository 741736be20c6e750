"""AutotaskHook: the one place atqbo talks to the Autotask PSA REST API (v1.0).

The hook speaks Autotask's vocabulary: queries with the full filter grammar (builders in
``autotask_filters``, raw dicts accepted), paging through ``nextPageUrl`` (POSTed with the same
body: a GET answers 405 and silently truncates a sync to 500 records), ``in`` look-ups of many ids
in chunks, counts, creates and updates (children through their parent), and picklist labels read
from ``entityInformation/fields`` (never hard-coded numbers). How each call gets there (zones,
auth, pacing under the tenant's limits, retries, typed errors) is
:class:`~atqbo.hooks.autotask_client.AutotaskClient`'s business, which the hook extends.

This module is the provider's public face for Autotask: the filter builders, the typed errors,
Autotask's limits and the hook, all listed in ``__all__``, are imported from here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from atqbo.exceptions import AtqboError
from atqbo.hooks.autotask_client import AutotaskClient
from atqbo.hooks.autotask_errors import (
    AutotaskAmbiguousWriteError,
    AutotaskAuthError,
    AutotaskBudgetExhaustedError,
    AutotaskError,
    AutotaskNotFoundError,
    AutotaskPicklistError,
    AutotaskServerError,
    AutotaskThrottledError,
    AutotaskValidationError,
    path_of,
    record_refused,
)
from atqbo.hooks.autotask_filters import (
    GROUP_OPERATORS,
    OPERATORS_WITH_VALUE,
    OPERATORS_WITHOUT_VALUE,
    Filter,
    and_,
    begins_with,
    contains,
    ends_with,
    eq,
    exist,
    gt,
    gte,
    in_,
    lt,
    lte,
    normalize_filters,
    not_exist,
    not_in,
    noteq,
    or_,
)
from atqbo.hooks.autotask_limits import (
    API_VERSION_PATH,
    DEFAULT_DISCOVERY_HOST,
    DEFAULT_TIMEOUT_S,
    MAX_CALLS_BETWEEN_BUDGET_CHECKS,
    MAX_CONCURRENT_PER_ENDPOINT,
    MAX_IN_VALUES,
    MAX_PAGE_SIZE,
    ZONE_CACHE_TTL_S,
    ZONE_DISCOVERY_TIMEOUT_S,
)
from atqbo.hooks.autotask_picklists import picklist_field, picklist_labels, picklist_value_of

__all__ = [
    # the hook
    "AutotaskHook",
    # Autotask's limits and facts
    "API_VERSION_PATH",
    "DEFAULT_DISCOVERY_HOST",
    "DEFAULT_TIMEOUT_S",
    "MAX_CALLS_BETWEEN_BUDGET_CHECKS",
    "MAX_CONCURRENT_PER_ENDPOINT",
    "MAX_IN_VALUES",
    "MAX_PAGE_SIZE",
    "ZONE_CACHE_TTL_S",
    "ZONE_DISCOVERY_TIMEOUT_S",
    # typed errors
    "AutotaskAmbiguousWriteError",
    "AutotaskAuthError",
    "AutotaskBudgetExhaustedError",
    "AutotaskError",
    "AutotaskNotFoundError",
    "AutotaskPicklistError",
    "AutotaskServerError",
    "AutotaskThrottledError",
    "AutotaskValidationError",
    "record_refused",
    # filters
    "Filter",
    "GROUP_OPERATORS",
    "OPERATORS_WITH_VALUE",
    "OPERATORS_WITHOUT_VALUE",
    "and_",
    "begins_with",
    "contains",
    "ends_with",
    "eq",
    "exist",
    "gt",
    "gte",
    "in_",
    "lt",
    "lte",
    "normalize_filters",
    "not_exist",
    "not_in",
    "noteq",
    "or_",
]

_ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


class AutotaskHook(AutotaskClient):
    """Client of the Autotask PSA REST API for one Airflow connection (conn type ``autotask``).

    Connection: host = zone-discovery base URL (default https://webservices.autotask.net),
    login = API user name, password = Secret, extra = ``{"integration_code": ...,
    "impersonation_resource_id": int|null, "timeout": seconds}``. The constructor's parameters
    (budget share, retries, backoff, injected ``sleep``/``clock``/``rng``) are
    :class:`~atqbo.hooks.autotask_client.AutotaskClient`'s.

    Thread safe: one hook may be shared by worker threads; the per-endpoint cap of 3 concurrent
    calls holds for all hooks of the process with the same integration code.
    """

    conn_name_attr = "autotask_conn_id"
    default_conn_name = "autotask_default"
    conn_type = "autotask"
    hook_name = "Autotask PSA"

    # -- queries ------------------------------------------------------------------------------------

    def query(
        self,
        entity: str,
        filters: Filter | Iterable[Filter] | None = None,
        include_fields: Iterable[str] | None = None,
        max_records: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every record of ``entity`` matching ``filters`` (ANDed), in id order, page by page.

        Each next page is fetched by POSTing the same body to ``nextPageUrl``: Autotask requires
        POST for the next page of a POST query (a GET answers 405).
        """
        _check_entity(entity)
        if max_records is not None and max_records <= 0:
            return
        body: dict[str, Any] = {"filter": normalize_filters(filters)}
        if include_fields is not None:
            fields = list(dict.fromkeys(include_fields))
            # Past 500 results Autotask pages by id, which it can only do when id is included.
            if not any(f.lower() == "id" for f in fields):
                fields.insert(0, "id")
            body["IncludeFields"] = fields
        if max_records is not None:
            body["MaxRecords"] = min(MAX_PAGE_SIZE, max_records)
        path: str = f"{entity}/query"
        endpoint = f"{entity}/query"
        yielded = 0
        seen_pages: set[str] = set()
        while True:
            page = self._call("POST", path, endpoint=endpoint, body=body, entity=entity) or {}
            for item in page.get("items") or []:
                yield item
                yielded += 1
                if max_records is not None and yielded >= max_records:
                    return
            next_url = (page.get("pageDetails") or {}).get("nextPageUrl")
            if not next_url:
                return
            if next_url in seen_pages:
                raise AutotaskServerError(
                    f"Autotask {entity} query returned the same nextPageUrl twice; stopping to avoid a loop",
                    method="POST",
                    path=path_of(next_url),
                    entity=entity,
                )
            seen_pages.add(next_url)
            path = next_url
            endpoint = f"{entity}/query/next"

    def query_all(
        self,
        entity: str,
        filters: Filter | Iterable[Filter] | None = None,
        include_fields: Iterable[str] | None = None,
        max_records: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every matching record as a list (see :meth:`query`)."""
        return list(self.query(entity, filters, include_fields, max_records))

    def count(self, entity: str, filters: Filter | Iterable[Filter] | None = None) -> int:
        """How many records match, in one call (``query/count``)."""
        _check_entity(entity)
        body = {"filter": normalize_filters(filters)}
        answer = self._call("POST", f"{entity}/query/count", endpoint=f"{entity}/query/count", body=body, entity=entity)
        return int((answer or {}).get("queryCount") or 0)

    def get(self, entity: str, id: int) -> dict[str, Any] | None:  # noqa: A002 - Autotask's own word
        """One record by id, or None when it does not exist (Autotask answers ``{"item": null}``)."""
        _check_entity(entity)
        answer = self._call(
            "GET", f"{entity}/{int(id)}", endpoint=f"{entity}/{{id}}", entity=entity, record=f"id {int(id)}"
        )
        return (answer or {}).get("item")

    def query_in(
        self,
        entity: str,
        field: str,
        values: Iterable[Any],
        filters: Filter | Iterable[Filter] | None = None,
        include_fields: Iterable[str] | None = None,
        chunk_size: int = MAX_IN_VALUES,
    ) -> list[dict[str, Any]]:
        """Every record whose ``field`` is one of ``values`` (and matching ``filters``), with
        ``field in [...]`` queries of at most 500 values; none for no values.

        500 because Autotask limits a query to 500 OR conditions, which an ``in`` list becomes (and
        500 ids fill exactly one page, so each chunk of ids is one request). Duplicate values are
        asked for once. The chunks are read ``MAX_CONCURRENT_PER_ENDPOINT`` at a time (BEY-05: a
        chunk's pages follow each other, the chunks need not); the records come in chunk order.
        """
        if not 1 <= chunk_size <= MAX_IN_VALUES:
            raise ValueError(f"chunk_size must be between 1 and {MAX_IN_VALUES}, got {chunk_size}")
        unique = list(dict.fromkeys(values))
        extra = [filters] if isinstance(filters, dict) else list(filters or [])
        fields = list(include_fields) if include_fields is not None else None
        parts = [unique[start : start + chunk_size] for start in range(0, len(unique), chunk_size)]

        def read(chunk: list[Any]) -> list[dict[str, Any]]:
            return self.query_all(entity, [in_(field, chunk), *extra], fields)

        if len(parts) <= 1:
            return [record for chunk in parts for record in read(chunk)]
        with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_PER_ENDPOINT, len(parts))) as pool:
            return [record for records in pool.map(read, parts) for record in records]

    def get_many(
        self,
        entity: str,
        ids: Iterable[int],
        chunk_size: int = MAX_IN_VALUES,
        include_fields: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Records for many ids (``id in [...]`` queries of at most 500, see :meth:`query_in`).
        Missing ids are simply absent from the result."""
        return self.query_in(entity, "id", (int(i) for i in ids), include_fields=include_fields, chunk_size=chunk_size)

    # -- writes -------------------------------------------------------------------------------------

    def create(self, entity: str, fields: dict[str, Any]) -> int:
        """Create a record; returns its id (``itemId``)."""
        _check_entity(entity)
        answer = self._call("POST", entity, endpoint=entity, body=fields, write=True, creates=True, entity=entity)
        return _item_id(answer, entity)

    def update(self, entity: str, id: int, fields: dict[str, Any]) -> int:  # noqa: A002
        """Change some fields of a record (PATCH: the others stay); returns its id."""
        _check_entity(entity)
        body = {**fields, "id": int(id)}
        answer = self._call(
            "PATCH", entity, endpoint=entity, body=body, write=True, entity=entity, record=f"id {int(id)}"
        )
        return _item_id(answer, entity)

    def update_many(
        self,
        entity: str,
        changes: Iterable[tuple[int, dict[str, Any]]],
        on_written: Callable[[int], None] | None = None,
    ) -> dict[int, AutotaskError]:
        """PATCH many records, ``MAX_CONCURRENT_PER_ENDPOINT`` at a time (Autotask has no bulk update).

        Returns Autotask's refusal of each record it refused (``record_refused``: what concerns that
        record only), by id; the others were written, and ``on_written`` was called with each of
        their ids as it was (in the calling thread), so a caller can remember its progress.
        Anything that concerns every record (credentials, throttling past the retries, Autotask
        down, no answer) raises: the caller's task fails, and its retry resumes with what is left.
        """

        def write(change: tuple[int, dict[str, Any]]) -> tuple[int, AutotaskError | None]:
            record_id, fields = change
            try:
                self.update(entity, record_id, fields)
            except AutotaskError as exc:
                if not record_refused(exc):
                    raise
                return int(record_id), exc
            return int(record_id), None

        refused: dict[int, AutotaskError] = {}
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_PER_ENDPOINT) as pool:
            for record_id, problem in pool.map(write, list(changes)):
                if problem is not None:
                    refused[record_id] = problem
                elif on_written is not None:
                    on_written(record_id)
        return refused

    def create_child(self, parent_entity: str, parent_id: int, child: str, fields: dict[str, Any]) -> int:
        """Create a child record through its parent, e.g. ``("Companies", 0, "ToDos")``; returns its id."""
        _check_entity(parent_entity)
        _check_entity(child)
        path = f"{parent_entity}/{int(parent_id)}/{child}"
        answer = self._call(
            "POST",
            path,
            endpoint=f"{parent_entity}/{{id}}/{child}",
            body=fields,
            write=True,
            creates=True,
            entity=f"{parent_entity}/{child}",
            record=f"parent id {int(parent_id)}",
        )
        return _item_id(answer, f"{parent_entity} {int(parent_id)} {child}")

    def create_todo(
        self,
        company_id: int,
        action_type: int,
        resource_id: int,
        description: str,
        start: datetime,
        end: datetime,
    ) -> int:
        """Create a to-do (CompanyToDos) on a company, assigned to a resource; returns its id.

        ``start``/``end`` are sent as UTC; a naive datetime is taken to be UTC already.
        """
        fields = {
            "companyID": int(company_id),
            "actionType": int(action_type),
            "assignedToResourceID": int(resource_id),
            "activityDescription": description,
            "startDateTime": start,
            "endDateTime": end,
        }
        return self.create_child("Companies", company_id, "ToDos", fields)

    # -- entity information and picklists -------------------------------------------------------------

    @property
    def api_user_name(self) -> str:
        """The API user the connection logs in as (its ``UserName``: the API user's email)."""
        return self._credentials().username

    def entity_information(self, entity: str) -> dict[str, Any]:
        """``entityInformation`` of an entity: what the API allows (``canQuery``, ``canCreate``,
        ``canUpdate``, ``canDelete``) and what this API user may do (``userAccessForQuery`` ... ``"All"``
        or ``"None"``). Not cached: the preflight reads it once per entity."""
        _check_entity(entity)
        answer = self._call("GET", f"{entity}/entityInformation", endpoint=f"{entity}/entityInformation", entity=entity)
        return dict((answer or {}).get("info") or {})

    def entity_fields(self, entity: str) -> list[dict[str, Any]]:
        """``entityInformation/fields`` of an entity (names, types, read-only flags, picklists); cached."""
        _check_entity(entity)
        key = entity.lower()
        with self._fields_lock:
            cached = self._fields_cache.get(key)
        if cached is not None:
            return cached
        answer = self._call(
            "GET",
            f"{entity}/entityInformation/fields",
            endpoint=f"{entity}/entityInformation/fields",
            entity=entity,
        )
        fields = list((answer or {}).get("fields") or [])
        with self._fields_lock:
            self._fields_cache[key] = fields
        return fields

    def picklist(self, entity: str, field: str) -> dict[str, str]:
        """A picklist as ``{value (string, as Autotask sends it): label}``, inactive values included."""
        return picklist_labels(picklist_field(self.entity_fields(entity), entity, field))

    def picklist_value(self, entity: str, field: str, label: str) -> int | str:
        """The stored value of a picklist label (case-insensitive), e.g. ("PurchaseOrders", "status", "Submitted").

        Active values win over inactive ones with the same label. The value is an int for integer fields.
        """
        return picklist_value_of(picklist_field(self.entity_fields(entity), entity, field), entity, label)

    # -- Airflow UI ---------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Zone discovery plus one authenticated call (the "Test" button of the connection form)."""
        try:
            zone = self.zone_url()
            info = self.threshold_information()
        except AtqboError as exc:
            return False, str(exc)
        return True, (
            f"Connected to {zone}; {info.get('currentTimeframeRequestCount')} of "
            f"{info.get('externalRequestThreshold')} requests used this hour"
        )


def _check_entity(entity: str) -> None:
    if not isinstance(entity, str) or not _ENTITY_NAME.match(entity):
        raise ValueError(f"not an Autotask entity name: {entity!r} (e.g. 'Companies', 'Invoices')")


def _item_id(answer: Any, entity: str) -> int:
    item_id = (answer or {}).get("itemId") if isinstance(answer, dict) else None
    if item_id is None:
        raise AutotaskServerError(f"Autotask write of {entity} answered without an itemId: {answer!r}", entity=entity)
    return int(item_id)
