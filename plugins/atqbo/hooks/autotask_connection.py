"""What the Autotask hook reads from its Airflow connection (conn type ``autotask``), and the
headers that authenticate a call with it.

host = zone-discovery base URL (default https://webservices.autotask.net), login = API user name,
password = Secret, extra = ``{"integration_code": ..., "impersonation_resource_id": int|null,
"timeout": seconds}``. Secrets never appear in a repr, and :meth:`AutotaskCredentials.scrub`
takes them out of any text bound for a log or an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks.autotask_limits import DEFAULT_DISCOVERY_HOST, DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class AutotaskCredentials:
    """An Autotask API user as the connection describes it."""

    discovery_host: str
    username: str
    secret: str
    integration_code: str
    impersonation_resource_id: int | None
    timeout: float

    def __repr__(self) -> str:
        return f"AutotaskCredentials(discovery_host={self.discovery_host!r}, username={self.username!r})"

    @classmethod
    def from_connection(cls, conn: Any, conn_id: str) -> AutotaskCredentials:
        """The API user of Airflow connection ``conn`` (named ``conn_id``); raises ``AtqboConfigError``."""
        extra = conn.extra_dejson or {}
        host = (conn.host or "").strip() or DEFAULT_DISCOVERY_HOST
        if "://" not in host:
            host = f"https://{host}"
        if conn.port:
            parts = urlsplit(host)
            if not parts.port:
                host = f"{parts.scheme}://{parts.hostname}:{conn.port}{parts.path}"
        missing = [
            name
            for name, value in (
                ("login (API user name)", conn.login),
                ("password (Secret)", conn.password),
                ("extra.integration_code", extra.get("integration_code")),
            )
            if not value
        ]
        if missing:
            raise AtqboConfigError(
                f"Airflow connection {conn_id!r} lacks {', '.join(missing)}; "
                "set them to the Autotask API-only user's user name, Secret and API tracking identifier"
            )
        imp = extra.get("impersonation_resource_id")
        return cls(
            discovery_host=host.rstrip("/"),
            username=conn.login,
            secret=conn.password,
            integration_code=str(extra["integration_code"]),
            impersonation_resource_id=int(imp) if imp not in (None, "") else None,
            timeout=float(extra.get("timeout") or DEFAULT_TIMEOUT_S),
        )

    def headers(self, write: bool) -> dict[str, str]:
        """The auth headers of one call; writes act as the impersonated resource when there is one."""
        headers = {
            "ApiIntegrationCode": self.integration_code,
            "UserName": self.username,
            "Secret": self.secret,
        }
        if write and self.impersonation_resource_id is not None:
            headers["ImpersonationResourceId"] = str(self.impersonation_resource_id)
        return headers

    def scrub(self, text: str) -> str:
        """``text`` without the secret and integration code, for an exception or a log line."""
        for secret in (self.secret, self.integration_code):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text
