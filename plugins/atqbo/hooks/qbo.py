"""QuickBooks Online Accounting API v3 for atqbo: ``QuickBooksOnlineHook`` and everything callers import with it.

The hook speaks QBO's vocabulary: the query language and its paging (``query_all``, ``query_in``,
``get_many``, ``count``), create/read/sparse update/void/delete, batch, change data capture,
preferences and company info. How each call gets there (OAuth tokens, pacing, idempotent retries,
typed faults) is :class:`~atqbo.hooks.qbo_client.QboClient`'s business, which the hook extends.

This module is the provider's public face for QBO: the typed faults, the query-language helpers,
QBO's limits and the hook, all listed in ``__all__``, are imported from here.

The Airflow connection (conn type ``quickbooks_online``, default ``qbo_default``): host = API base
URL, login = client id, password = client secret, extra = {"realm_id", "refresh_token" (the initial
one from the OAuth consent), "token_url", "minorversion", "timeout"}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from atqbo.hooks.qbo_batch import BatchResult, batch_chunks, batch_results, prepare_batch
from atqbo.hooks.qbo_client import QboClient, counting_calls
from atqbo.hooks.qbo_connection import QboConnectionConfig
from atqbo.hooks.qbo_fault_parsing import build_fault, fault_from_payload, fault_from_response, parse_fault_body, redact
from atqbo.hooks.qbo_faults import (
    FAULT_CLASSES,
    NO_ANSWER_ERRORS,
    ONE_NAME_AT_A_TIME,
    QboAuthError,
    QboBusinessValidation,
    QboDuplicateDocNumber,
    QboDuplicateName,
    QboFault,
    QboInvalidReference,
    QboObjectNotFound,
    QboOneNameAtATime,
    QboPeriodClosed,
    QboServerError,
    QboStaleObject,
    QboThrottled,
    QboTokenRevoked,
    QboTokensUnreadable,
    describe_operation,
    fault_class,
)
from atqbo.hooks.qbo_limits import (
    BATCHES_PER_MINUTE,
    CALLS_PER_MINUTE,
    CDC_MAX_DAYS,
    CDC_MAX_OBJECTS,
    DEFAULT_HOST,
    DEFAULT_MINORVERSION,
    DEFAULT_TIMEOUT_S,
    DEFAULT_TOKEN_URL,
    IN_QUERIES_AT_ONCE,
    MAX_BATCH_ITEMS,
    MAX_CONCURRENT_CALLS,
    MAX_GET_STATEMENT_CHARS,
    MAX_IN_VALUES,
    MAX_QUERY_RESULTS,
    THROTTLE_WAIT_S,
    WRITE_MAY_COMMIT_S,
)
from atqbo.hooks.qbo_query import quote, select_statement, where_eq, where_in
from atqbo.hooks.qbo_requestids import derive_requestid, new_requestid
from atqbo.hooks.retry import Backoff

__all__ = [
    # the hook
    "QuickBooksOnlineHook",
    "QboConnectionConfig",
    "counting_calls",
    # QBO's limits and facts
    "BATCHES_PER_MINUTE",
    "CALLS_PER_MINUTE",
    "CDC_MAX_DAYS",
    "CDC_MAX_OBJECTS",
    "DEFAULT_HOST",
    "DEFAULT_MINORVERSION",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_TOKEN_URL",
    "IN_QUERIES_AT_ONCE",
    "MAX_BATCH_ITEMS",
    "MAX_CONCURRENT_CALLS",
    "MAX_GET_STATEMENT_CHARS",
    "MAX_IN_VALUES",
    "MAX_QUERY_RESULTS",
    "ONE_NAME_AT_A_TIME",
    "THROTTLE_WAIT_S",
    "WRITE_MAY_COMMIT_S",
    # typed faults
    "FAULT_CLASSES",
    "NO_ANSWER_ERRORS",
    "QboAuthError",
    "QboBusinessValidation",
    "QboDuplicateDocNumber",
    "QboDuplicateName",
    "QboFault",
    "QboInvalidReference",
    "QboObjectNotFound",
    "QboOneNameAtATime",
    "QboPeriodClosed",
    "QboServerError",
    "QboStaleObject",
    "QboThrottled",
    "QboTokenRevoked",
    "QboTokensUnreadable",
    "build_fault",
    "fault_class",
    "fault_from_payload",
    "fault_from_response",
    "parse_fault_body",
    "redact",
    # the query language
    "quote",
    "where_eq",
    "where_in",
    # idempotency keys and retries
    "Backoff",
    "derive_requestid",
    "new_requestid",
]


class QuickBooksOnlineHook(QboClient):
    """Talks to the QuickBooks Online Accounting API v3 for one company (realm).

    The constructor's parameters are :class:`~atqbo.hooks.qbo_client.QboClient`'s (connection,
    ledger, retries, pacing, token margins).
    """

    conn_name_attr = "qbo_conn_id"
    default_conn_name = "qbo_default"
    conn_type = "quickbooks_online"
    hook_name = "QuickBooks Online"

    # -- queries -------------------------------------------------------------------------------

    quote = staticmethod(quote)
    where_eq = staticmethod(where_eq)
    where_in = staticmethod(where_in)

    def _query_response(self, statement: str) -> dict[str, Any]:
        operation = f"query {statement[:80]}"
        # Long statements (big IN lists) go in a POST body: URLs have length limits on the way.
        if len(statement) > MAX_GET_STATEMENT_CHARS:
            payload = self._request(
                "POST", "query", data=statement, content_type="application/text", operation=operation
            )
        else:
            payload = self._request("GET", "query", params={"query": statement}, operation=operation)
        return payload.get("QueryResponse") or {}

    def query(self, statement: str) -> list[dict[str, Any]]:
        """The records of one query page (``SELECT * FROM Invoice WHERE ...``); [] when none match."""
        response = self._query_response(statement)
        for value in response.values():
            if isinstance(value, list):
                return value
        return []

    def query_all(
        self,
        entity: str,
        where: str | Iterable[str] | None = None,
        order_by: str | None = None,
        page_size: int = MAX_QUERY_RESULTS,
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``entity`` matching ``where`` (conditions are AND-ed), page by page.

        Pages with STARTPOSITION/MAXRESULTS (QBO's pages hold at most 1,000) until a short page.
        Give ``order_by`` (e.g. ``"Id"``) when records may be added while paging.
        """
        page_size = max(1, min(int(page_size), MAX_QUERY_RESULTS))
        base = select_statement(entity, where, order_by)
        start = 1
        while True:
            page = self.query(f"{base} STARTPOSITION {start} MAXRESULTS {page_size}")
            yield from page
            if len(page) < page_size:
                return
            start += page_size

    def query_in(
        self,
        entity: str,
        field: str,
        values: Iterable[Any],
        where: str | Iterable[str] | None = None,
        order_by: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every ``entity`` record whose ``field`` is one of ``values`` (and matches ``where``), with
        one paged ``field IN (...)`` query per ``MAX_IN_VALUES`` distinct values; none for no values.
        Several lists are read ``IN_QUERIES_AT_ONCE`` at a time (BEY-05), their records yielded in
        the lists' order."""
        unique = list(dict.fromkeys(v for v in values if v not in (None, "")))
        extra = [where] if isinstance(where, str) else list(where or [])
        parts = [unique[start : start + MAX_IN_VALUES] for start in range(0, len(unique), MAX_IN_VALUES)]

        def read(chunk: list[Any]) -> list[dict[str, Any]]:
            return list(self.query_all(entity, where=[where_in(field, chunk), *extra], order_by=order_by))

        if len(parts) <= 1:
            for chunk in parts:
                yield from read(chunk)
            return
        with ThreadPoolExecutor(max_workers=min(IN_QUERIES_AT_ONCE, len(parts)), thread_name_prefix="atqbo-in") as pool:
            for records in pool.map(read, parts):
                yield from records

    def get_many(self, entity: str, ids: Iterable[str | int]) -> dict[str, dict[str, Any]]:
        """``entity`` records by Id (``Id IN (...)`` queries of ``MAX_IN_VALUES``); an Id QBO does not
        return is absent from the result. Like every query, it leaves out inactive name-list records
        (customers, vendors, items): ``query_in(..., where="Active IN (true, false)")`` includes them."""
        return {str(r["Id"]): r for r in self.query_in(entity, "Id", (str(i) for i in ids))}

    def count(self, entity: str, where: str | Iterable[str] | None = None) -> int:
        """How many ``entity`` records match ``where``."""
        statement = select_statement(entity, where, count=True)
        return int(self._query_response(statement).get("totalCount") or 0)

    # -- single records ------------------------------------------------------------------------

    @staticmethod
    def _entity_of(payload: Mapping[str, Any], entity: str) -> dict[str, Any]:
        if entity in payload:
            return payload[entity]
        # QBO keys the envelope by the entity's own spelling; tolerate a caller's different case
        for key, value in payload.items():
            if key.lower() == entity.lower() and isinstance(value, dict):
                return value
        raise QboFault(f"QBO's answer has no {entity} object (keys: {sorted(payload)})", operation=entity)

    def read(self, entity: str, id: str | int) -> dict[str, Any]:
        """One record by Id; raises ``QboObjectNotFound`` when it does not exist."""
        payload = self._request("GET", f"{entity.lower()}/{id}", operation=f"read {entity} Id={id}")
        return self._entity_of(payload, entity)

    def create(
        self,
        entity: str,
        body: Mapping[str, Any],
        requestid: str | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Create a record; with the same ``requestid`` a repeated create returns the first one's result.
        ``before_send`` runs before each attempt goes out (the caller records when: BEY-01)."""
        operation = describe_operation("create", entity, body)
        payload = self._write(
            entity.lower(), dict(body), requestid=requestid, operation=operation, before_send=before_send
        )
        return self._entity_of(payload, entity)

    def update(
        self, entity: str, body: Mapping[str, Any], sparse: bool = True, requestid: str | None = None
    ) -> dict[str, Any]:
        """Update a record by Id; sparse by default: only the fields sent change.

        The body's SyncToken is used when present, else the record is read to get it.

        On a stale SyncToken (5010) the record is re-read once and the same change sent again with
        the fresh SyncToken (ERR-05); a second 5010 raises ``QboStaleObject``.
        """
        if not body.get("Id"):
            raise ValueError(f"update({entity!r}) needs the record's Id in the body")
        change = {k: v for k, v in body.items() if k != "sparse"}
        if sparse:
            change["sparse"] = True
        if change.get("SyncToken") is None:
            change["SyncToken"] = self.read(entity, change["Id"])["SyncToken"]
        requestid = requestid or new_requestid()
        operation = describe_operation("update", entity, body)
        try:
            payload = self._write(entity.lower(), change, requestid=requestid, operation=operation)
        except QboStaleObject:
            fresh = self.read(entity, change["Id"])
            self.log.info(
                "QBO %s: SyncToken %s was stale; retrying once with %s",
                operation,
                change["SyncToken"],
                fresh["SyncToken"],
            )
            change["SyncToken"] = fresh["SyncToken"]
            payload = self._write(
                entity.lower(), change, requestid=derive_requestid(requestid, "stale-retry"), operation=operation
            )
        return self._entity_of(payload, entity)

    def _write_with_sync_token(
        self,
        entity: str,
        id: str | int,
        sync_token: str | None,
        *,
        params: Mapping[str, Any],
        extra_body: Mapping[str, Any],
        requestid: str | None,
        verb: str,
    ) -> dict[str, Any]:
        """A void or delete: needs the current SyncToken; read it when not given, re-read once on 5010."""
        requestid = requestid or new_requestid()
        operation = describe_operation(verb, entity, {"Id": id})
        if sync_token is None:
            sync_token = self.read(entity, id)["SyncToken"]
        body = {"Id": str(id), "SyncToken": str(sync_token), **extra_body}
        try:
            return self._write(entity.lower(), body, requestid=requestid, params=params, operation=operation)
        except QboStaleObject:
            body["SyncToken"] = str(self.read(entity, id)["SyncToken"])
            return self._write(
                entity.lower(),
                body,
                requestid=derive_requestid(requestid, "stale-retry"),
                params=params,
                operation=operation,
            )

    def void_invoice(
        self, id: str | int, sync_token: str | None = None, requestid: str | None = None
    ) -> dict[str, Any]:
        """Void an invoice (it stays in QBO with zero amounts); returns the voided invoice."""
        payload = self._write_with_sync_token(
            "Invoice", id, sync_token, params={"operation": "void"}, extra_body={}, requestid=requestid, verb="void"
        )
        return self._entity_of(payload, "Invoice")

    def send_invoice(self, id: str | int, send_to: str | None = None, requestid: str | None = None) -> dict[str, Any]:
        """Have QBO email an invoice to its BillEmail (or ``send_to``); returns the invoice (INV-17)."""
        params = {"sendTo": send_to} if send_to else None
        payload = self._write(
            f"invoice/{id}/send", None, requestid=requestid, operation=f"send Invoice {id}", params=params
        )
        return self._entity_of(payload, "Invoice")

    def void_payment(
        self, id: str | int, sync_token: str | None = None, requestid: str | None = None
    ) -> dict[str, Any]:
        """Void a payment (``operation=update&include=void``, sparse); returns the voided payment."""
        payload = self._write_with_sync_token(
            "Payment",
            id,
            sync_token,
            params={"operation": "update", "include": "void"},
            extra_body={"sparse": True},
            requestid=requestid,
            verb="void",
        )
        return self._entity_of(payload, "Payment")

    def delete(
        self, entity: str, id: str | int, sync_token: str | None = None, requestid: str | None = None
    ) -> dict[str, Any]:
        """Delete a transaction; returns QBO's ``{"status": "Deleted", "Id": ...}``."""
        payload = self._write_with_sync_token(
            entity, id, sync_token, params={"operation": "delete"}, extra_body={}, requestid=requestid, verb="delete"
        )
        return self._entity_of(payload, entity)

    # -- batch ---------------------------------------------------------------------------------

    def batch(
        self,
        items: Iterable[Mapping[str, Any]],
        requestid: str | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> list[BatchResult]:
        """Send BatchItemRequest entries, 30 per call; return one result per item, in order.

        A result is the item's BatchItemResponse (``{"bId": ..., "Invoice": {...}}`` or
        ``{"bId": ..., "QueryResponse": {...}}``) or, when the item faulted, the typed ``QboFault``
        for it (returned, not raised, so each item can be handled on its own; a throttled item
        comes back as ``QboThrottled`` for the caller to send again). Items without a ``bId`` get
        their position as one. With several calls, each call's requestid is derived from
        ``requestid`` and the call's position, so a re-run with the same ``requestid`` replays.
        ``before_send`` runs before each call's every attempt goes out: a write may commit for
        ``write_may_commit_s`` after the last one, and the caller records when (BEY-01).
        """
        prepared = prepare_batch(items)
        results: dict[str, BatchResult] = {}
        for chunk, chunk_requestid in batch_chunks(prepared, requestid or new_requestid()):
            payload = self._write(
                "batch",
                {"BatchItemRequest": chunk},
                requestid=chunk_requestid,
                operation=f"batch of {len(chunk)} items",
                is_batch=True,
                before_send=before_send,
            )
            results.update(batch_results(chunk, payload, chunk_requestid, self._secrets()))
        return [results[e["bId"]] for e in prepared]

    # -- change data capture, preferences, company ---------------------------------------------

    def cdc(self, entities: Iterable[str], changed_since: datetime | str) -> dict[str, list[dict[str, Any]]]:
        """Records of ``entities`` changed since ``changed_since`` (QBO looks back at most 30 days).

        Deleted records come back as ``{"Id": ..., "status": "Deleted"}``. Every requested entity
        is a key of the result, with [] when nothing changed.
        """
        names = list(entities)
        if isinstance(changed_since, datetime):
            if changed_since.tzinfo is None:
                raise ValueError("cdc(changed_since) needs a timezone-aware datetime")
            since = changed_since.isoformat()
        else:
            since = str(changed_since)
        payload = self._request(
            "GET",
            "cdc",
            params={"entities": ",".join(names), "changedSince": since},
            operation=f"cdc {','.join(names)} since {since}",
        )
        result: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for block in payload.get("CDCResponse") or []:
            for query_response in block.get("QueryResponse") or []:
                for key, value in query_response.items():
                    if isinstance(value, list):
                        result.setdefault(key, []).extend(value)
        return result

    def preferences(self) -> dict[str, Any]:
        """The company's Preferences (custom fields, tax, currency, transaction numbering ...)."""
        return self._entity_of(self._request("GET", "preferences", operation="read Preferences"), "Preferences")

    def company_info(self) -> dict[str, Any]:
        """The company's CompanyInfo record."""
        payload = self._request("GET", f"companyinfo/{self.realm_id}", operation="read CompanyInfo")
        return self._entity_of(payload, "CompanyInfo")

    def test_connection(self) -> tuple[bool, str]:
        """For Airflow's connection test: refresh the token if needed and read the company name."""
        try:
            info = self.company_info()
        except Exception as exc:  # the UI shows the message; tokens are never in it
            return False, str(exc)
        return True, f"Connected to QuickBooks Online company {info.get('CompanyName', '?')!r} (realm {self.realm_id})"
