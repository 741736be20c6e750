"""The answers the Autotask API gives besides data: ``{"errors": [...]}`` with its status, ASP.NET
Web API's own 404/405 bodies (capital M), and the request parts every route reads the same way
(a JSON body, an id in the path, the base URL the client used).
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.core import Abort, Request, Response


def errors_response(status: int, *messages: str) -> Response:
    return Response.json(status, {"errors": list(messages)})


def not_allowed(method: str) -> Response:
    # ASP.NET Web API's own body (capital M), not the errors shape.
    return Response.json(405, {"Message": f"The requested resource does not support http method '{method}'."})


def no_resource(req: Request) -> Response:
    return Response.json(404, {"Message": f"No HTTP resource was found that matches the request URI '{req.path}'."})


def request_base(req: Request, server_base_url: str) -> str:
    """scheme://host[:port] as the client addressed this server (cursors and zone URLs must
    point where the client can reach)."""
    host = req.header("Host")
    if not host:
        return server_base_url
    scheme = (req.header("X-Forwarded-Proto") or "http").split(",")[0].strip()
    return f"{scheme}://{host}"


def parse_id(raw: str) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Abort(
            errors_response(500, f"The {what} is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}")
        ) from None


def body_object(req: Request) -> dict[str, Any]:
    body = parse_json(req.body.decode("utf-8") or "null", "request body")
    if not isinstance(body, dict):
        raise Abort(errors_response(500, "The request body must be a JSON object with the entity's fields"))
    return body
