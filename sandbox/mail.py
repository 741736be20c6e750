"""The sandbox's SMTP part: a real SMTP server (aiosmtpd) that keeps every message it receives.

Messages are listed at ``GET /_sandbox/mail`` with their headers, text and HTML bodies and
attachments by name, so tests can check a report the way a recipient would read it.
"""

from __future__ import annotations

import base64
import socket
import threading
from email import policy
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller


class _KeepAll:
    def __init__(self, store: MailServer):
        self.store = store

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        self.store.add(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


class MailServer:
    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self._messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self.port == 0:
            # aiosmtpd checks readiness by connecting to the port it was given, so port 0 ("any
            # free port") must be resolved to a real one first.
            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.port = probe.getsockname()[1]
        self._controller = Controller(_KeepAll(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._messages]

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        text = html = None
        attachments = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            filename = part.get_filename()
            content_type = part.get_content_type()
            if filename:
                payload = part.get_payload(decode=True) or b""
                entry = {"filename": filename, "content_type": content_type, "size": len(payload)}
                if content_type.startswith("text/") or filename.endswith((".csv", ".txt", ".json")):
                    entry["text"] = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
                else:
                    entry["base64"] = base64.b64encode(payload).decode("ascii")
                attachments.append(entry)
            elif content_type == "text/plain" and text is None:
                text = part.get_content()
            elif content_type == "text/html" and html is None:
                html = part.get_content()
        with self._lock:
            self._messages.append(
                {
                    "id": len(self._messages) + 1,
                    "envelope_from": mail_from,
                    "envelope_to": rcpt_tos,
                    "from": str(msg.get("From", "")),
                    "to": str(msg.get("To", "")),
                    "cc": str(msg.get("Cc", "")),
                    "subject": str(msg.get("Subject", "")),
                    "date": str(msg.get("Date", "")),
                    "headers": {k: str(v) for k, v in msg.items()},
                    "text": text,
                    "html": html,
                    "attachments": attachments,
                }
            )

    def airflow_connection(self) -> dict[str, Any]:
        return {
            "conn_type": "smtp",
            "host": self.host,
            "port": self.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "atqbo@sandbox.local", "timeout": 10},
        }
