"""What a QBO API path asks for: ``/v3/company/{realm}/<resource>[/...]`` mapped onto reads and
writes of the books (query, batch, cdc, preferences, companyinfo, exchangerate, entity create /
read / update / delete / void, invoice pdf and send), and the request parts the API reads before
routing (the JSON body, ``include`` / ``optionsData`` options, whether it writes a name).

Everything here runs under the emulator's lock; auth, limits and latency happened before.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from sandbox.core import Request, Response
from sandbox.mail import MailServer
from sandbox.qbo.books import Company
from sandbox.qbo.delivery import deliver_invoice, invoice_pdf
from sandbox.qbo.exchange_rates import read_exchange_rate, save_exchange_rate
from sandbox.qbo.faults import Fault, invalid_property, one_name_at_a_time, required, unsupported, wrong_shape
from sandbox.qbo.reads import changes_since, query_records, read_record
from sandbox.qbo.responses import new_tid
from sandbox.qbo.schema import ENTITIES, NAME_LISTS, URL_ENTITIES
from sandbox.qbo.writes import delete_transaction, save_record, send_invoice, update_preferences, void_transaction


def route(
    books: Company,
    req: Request,
    rest: list[str],
    body: Any,
    *,
    names_blocked: bool,
    max_batch_items: int,
    mailbox: MailServer | None,
) -> dict[str, Any] | Response:
    """Answer the request's resource (``rest``: the path after the realm): a payload for the
    ``{..., "time"}`` envelope, or a whole Response (the PDF)."""
    resource = rest[0].lower()
    options = parse_options(req.arg("include"))
    operation = (req.arg("operation") or "").lower()
    if resource == "query":
        text = req.arg("query") if req.method == "GET" else req.body.decode("utf-8", "replace")
        if req.method == "POST" and req.arg("query") and not req.body:
            text = req.arg("query")
        return {"QueryResponse": query_records(books, text or "")}
    if resource == "batch" and req.method == "POST":
        return run_batch(books, body, names_blocked=names_blocked, max_items=max_batch_items)
    if resource == "cdc" and req.method == "GET":
        return changes_since(books, req.arg("entities"), req.arg("changedSince"))
    if resource == "preferences":
        if req.method == "GET":
            return {"Preferences": copy.deepcopy(books.preferences)}
        return {"Preferences": update_preferences(books, body)}
    if resource == "companyinfo" and req.method == "GET":
        return {"CompanyInfo": copy.deepcopy(books.company_info)}
    if resource == "exchangerate":
        if req.method == "GET":
            return read_exchange_rate(books, req.arg("sourcecurrencycode"), req.arg("asofdate"))
        return {"ExchangeRate": save_exchange_rate(books, body)}
    entity = URL_ENTITIES.get(resource)
    if entity is None:
        raise unsupported(f"Operation {req.method} {rest[0]} is not supported.")
    if req.method == "GET" and len(rest) == 2:
        return {entity: read_record(books, entity, rest[1])}
    if req.method == "GET" and len(rest) == 3 and rest[2].lower() == "pdf" and entity == "Invoice":
        invoice = read_record(books, entity, rest[1])
        return Response(200, invoice_pdf(invoice), {"Content-Type": "application/pdf", "intuit_tid": new_tid()})
    if req.method == "POST" and len(rest) == 3 and rest[2].lower() == "send" and entity == "Invoice":
        sent = send_invoice(books, rest[1], req.arg("sendTo"))
        deliver_invoice(mailbox, books.company_info, sent)
        return {entity: sent}
    if req.method != "POST" or len(rest) != 1:
        raise unsupported(f"Operation {req.method} {'/'.join(rest)} is not supported.")
    if operation == "delete":
        return {entity: delete_transaction(books, entity, body)}
    if operation == "void" or (operation == "update" and "void" in options):
        return {entity: void_transaction(books, entity, body)}
    if operation not in ("", "create", "update"):
        raise unsupported(f"Operation {operation} is not supported for {entity}.")
    return {entity: save_record(books, entity, body, options=options, create_only=operation == "create")}


def run_batch(books: Company, body: Any, *, names_blocked: bool, max_items: int) -> dict[str, Any]:
    """``POST batch``: each item answered on its own, in order; objects an item creates stay
    invisible to the other items until the batch is over."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise required("BatchItemRequest")
    if len(items) > max_items:
        raise Fault(
            "1040",
            "Batch size exceeds allowed limit",
            f"Batch size {len(items)} exceeds the limit of {max_items} BatchItemRequest items per batch.",
        )
    books.hidden = set()
    try:
        responses = []
        for item in items:
            bid = item.get("bId") if isinstance(item, dict) else None
            try:
                if names_blocked and is_name_item(item):
                    raise one_name_at_a_time()
                responses.append({"bId": bid, **_run_batch_item(books, item)})
            except Fault as fault:
                responses.append({"bId": bid, "Fault": fault.fault()})
            except (TypeError, AttributeError) as exc:
                responses.append({"bId": bid, "Fault": wrong_shape(exc).fault()})
    finally:
        books.hidden = None
    return {"BatchItemResponse": responses}


def _run_batch_item(books: Company, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not item.get("bId"):
        raise required("bId")
    if "Query" in item:
        return {"QueryResponse": query_records(books, str(item["Query"]))}
    entities = [k for k in item if k in ENTITIES]
    if len(entities) != 1:
        others = [k for k in item if k not in ("bId", "operation", "optionsData")]
        raise unsupported(f"Batch item {item.get('bId')}: unsupported content {others or 'none'}.")
    entity = entities[0]
    operation = str(item.get("operation") or "").lower()
    options = parse_options(item.get("optionsData"))
    body = item[entity]
    if operation == "delete":
        return {entity: delete_transaction(books, entity, body)}
    if operation == "void" or (operation == "update" and "void" in options):
        return {entity: void_transaction(books, entity, body)}
    if operation in ("create", "update"):
        if operation == "update" and (not isinstance(body, dict) or body.get("Id") in (None, "")):
            raise required("Id")
        return {entity: save_record(books, entity, body, options=options, create_only=operation == "create")}
    raise required("operation")


# -- request parts ---------------------------------------------------------------------------------


def parse_options(raw: Any) -> set[str]:
    """``include=void,allowduplicatedocnum`` (or a batch item's ``optionsData``) as a set of lower-case options."""
    return {o.strip().lower() for o in str(raw or "").split(",") if o.strip()}


def json_body(req: Request, rest: list[str]) -> Any:
    """The JSON body of a POST (None for reads and queries); malformed JSON is a 2010 fault."""
    if req.method != "POST" or rest[0].lower() == "query" or not req.body:
        return None
    try:
        return json.loads(req.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise Fault("500", "Unsupported Operation", "Invalid UTF-8 in the request payload; send UTF-8 JSON.") from None
    except json.JSONDecodeError as exc:
        raise invalid_property(
            f"Unexpected character at line {exc.lineno}, column {exc.colno} specified is unsupported or invalid"
        ) from None


def is_name_item(item: Any) -> bool:
    """A batch item that creates or updates a Customer, Vendor or Employee."""
    return (
        isinstance(item, dict)
        and any(k in item for k in NAME_LISTS)
        and str(item.get("operation") or "").lower() in ("create", "update")
    )


def is_name_write(req: Request, rest: list[str], body: Any) -> bool:
    """A request that creates or updates a Customer, Vendor or Employee (also inside a batch)."""
    if req.method != "POST":
        return False
    resource = rest[0].lower()
    if resource in ("customer", "vendor", "employee") and len(rest) == 1:
        return (req.arg("operation") or "").lower() != "delete"
    if resource == "batch" and isinstance(body, dict) and isinstance(body.get("BatchItemRequest"), list):
        return any(is_name_item(item) for item in body["BatchItemRequest"])
    return False
