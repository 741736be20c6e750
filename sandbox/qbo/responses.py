"""The envelopes QBO answers in: ``{<payload>, "time"}`` with an ``intuit_tid`` header, the fault
body, the XML throttle fault (whatever the client asked for), and the bodies of the injected
``error_500`` / ``error_503`` / ``throttle_429`` faults.
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.core import Response
from sandbox.qbo.faults import Fault
from sandbox.qbo.times import pacific_now, response_time


def new_tid() -> str:
    """An ``intuit_tid``: Intuit's id of one response, which support asks for."""
    return f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"


def ok_response(payload: dict[str, Any]) -> Response:
    return Response.json(200, {**payload, "time": response_time(pacific_now())}, {"intuit_tid": new_tid()})


def fault_response(fault: Fault) -> Response:
    payload = {"Fault": fault.fault(), "time": response_time(pacific_now())}
    return Response.json(fault.status, payload, {"intuit_tid": new_tid()})


def throttled_response() -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<IntuitResponse time="{response_time(pacific_now())}" xmlns="http://schema.intuit.com/finance/v3">'
        '<Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    )
    return Response(429, body.encode("utf-8"), {"Content-Type": "application/xml", "intuit_tid": new_tid()})


def injected_fault_response(mode: str) -> Response:
    """What QBO answers for an injected ``throttle_429``, ``error_503`` or ``error_500``."""
    if mode == "throttle_429":
        return throttled_response()
    if mode == "error_503":
        title = "503 Service Temporarily Unavailable"
        body = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center></body></html>"
        return Response(503, body.encode(), {"Content-Type": "text/html", "intuit_tid": new_tid()})
    fault = Fault(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data. "
        "Please wait a few minutes and try again. If the problem persists, contact customer support.",
        status=500,
        kind="SystemFault",
    )
    return fault_response(fault)
