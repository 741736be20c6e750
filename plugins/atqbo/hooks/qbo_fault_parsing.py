"""Reading QuickBooks Online's faults out of its answers, into the typed faults of ``qbo_faults``.

QBO sends a fault as JSON (``Fault.Error[]``, in either key casing), as XML (throttling, mostly),
inside a 200 answer, or per item of a batch answer; a gateway in front of it may send HTML. Every
text that ends up in a fault is redacted: known secrets and anything token-shaped become ``***``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

import requests

from atqbo.hooks.qbo_faults import QboFault, fault_class, normalise_code

_MESSAGE_CODE = re.compile(r"errorCode=(\d+)")
_TOKENISH = re.compile(r"(?i)(bearer\s+|token expired:\s*|access_token=|refresh_token=)[^\s,;\"']+")


def parse_fault_body(body: bytes | str, content_type: str | None = None) -> dict[str, Any] | None:
    """QBO's fault in a response body (JSON in either key casing, or XML), or None if there is none.

    Returns {"code", "message", "detail", "element", "type", "errors"} of the first Error.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    stripped = text.lstrip()
    if not stripped:
        return None
    if stripped.startswith("<"):
        return _parse_xml_fault(stripped)
    try:
        payload = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    fault = payload.get("Fault") or payload.get("fault")
    return fault_from_payload(fault) if isinstance(fault, dict) else None


def fault_from_payload(fault: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise a JSON ``Fault`` object (``{"Error": [...], "type": ...}``; any key casing)."""
    errors_raw = fault.get("Error") or fault.get("error") or []
    if isinstance(errors_raw, dict):
        errors_raw = [errors_raw]
    errors = []
    for err in errors_raw:
        if not isinstance(err, dict):
            continue
        lower = {str(k).lower(): v for k, v in err.items()}
        errors.append(
            {
                "code": normalise_code(lower.get("code")),
                "message": str(lower.get("message") or ""),
                "detail": str(lower.get("detail") or ""),
                "element": str(lower.get("element") or ""),
            }
        )
    return {**_first_error(errors), "type": fault.get("type") or fault.get("Type"), "errors": errors}


def _parse_xml_fault(text: str) -> dict[str, Any] | None:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    fault = root if local(root.tag) == "Fault" else next((e for e in root.iter() if local(e.tag) == "Fault"), None)
    if fault is None:
        return None
    errors = []
    for err in (e for e in fault.iter() if local(e.tag) == "Error"):
        fields = {local(child.tag).lower(): (child.text or "").strip() for child in err}
        errors.append(
            {
                "code": normalise_code(err.get("code")),
                "message": fields.get("message", ""),
                "detail": fields.get("detail", ""),
                "element": err.get("element") or "",
            }
        )
    return {**_first_error(errors), "type": fault.get("type"), "errors": errors}


def _first_error(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The first Error; without a code attribute, the code its message names (``errorCode=003001``)."""
    first = errors[0] if errors else {"code": "", "message": "", "detail": "", "element": ""}
    if not first["code"]:
        match = _MESSAGE_CODE.search(first["message"])
        first["code"] = normalise_code(match.group(1)) if match else ""
    return first


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with known secrets and anything token-shaped replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return _TOKENISH.sub(r"\1***", text)


def build_fault(
    info: Mapping[str, Any] | None,
    *,
    status: int | None,
    intuit_tid: str | None = None,
    requestid: str | None = None,
    operation: str | None = None,
    fallback_message: str = "",
    secrets: Iterable[str | None] = (),
) -> QboFault:
    """The typed exception for a parsed fault (``info`` from ``parse_fault_body``/``fault_from_payload``)."""
    info = info or {}
    secrets = list(secrets)
    message = redact(str(info.get("message") or fallback_message), secrets)
    detail = redact(str(info.get("detail") or ""), secrets)
    code = str(info.get("code") or "")
    cls = fault_class(code, status, f"{message} {detail}")
    errors = [
        {**e, "message": redact(e.get("message", ""), secrets), "detail": redact(e.get("detail", ""), secrets)}
        for e in info.get("errors", [])
    ]
    return cls(
        message,
        code=code,
        detail=detail,
        element=str(info.get("element") or ""),
        status=status,
        intuit_tid=intuit_tid,
        requestid=requestid,
        fault_type=info.get("type"),
        operation=operation,
        errors=errors,
    )


def fault_from_response(
    response: requests.Response,
    *,
    requestid: str | None = None,
    operation: str | None = None,
    secrets: Iterable[str | None] = (),
) -> QboFault:
    """The typed exception for a non-2xx (or Fault-carrying) HTTP response."""
    info = parse_fault_body(response.content, response.headers.get("Content-Type"))
    fallback = f"HTTP {response.status_code} {response.reason or ''}".strip()
    if info is None and response.content:
        # not a QBO fault (an HTML gateway page, a proxy error): keep a short, redacted excerpt
        info = {"message": fallback, "detail": response.text[:300].strip(), "code": "", "errors": []}
    return build_fault(
        info,
        status=response.status_code,
        intuit_tid=response.headers.get("intuit_tid"),
        requestid=requestid,
        operation=operation,
        fallback_message=fallback,
        secrets=secrets,
    )
