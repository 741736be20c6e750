"""What the QBO hook reads from its Airflow connection (conn type ``quickbooks_online``), checked.

host = API base URL, login = client id, password = client secret, extra = {"realm_id",
"refresh_token" (the initial one from the OAuth consent), "token_url", "minorversion", "timeout"}.
A missing field raises ``AtqboConfigError`` naming the connection and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from atqbo.exceptions import AtqboConfigError
from atqbo.hooks.qbo_limits import DEFAULT_HOST, DEFAULT_MINORVERSION, DEFAULT_TIMEOUT_S, DEFAULT_TOKEN_URL


@dataclass(frozen=True)
class QboConnectionConfig:
    """What the hook needs from the Airflow connection. The secret fields are left out of repr."""

    conn_id: str
    host: str
    realm_id: str
    client_id: str
    client_secret: str
    refresh_token: str | None
    token_url: str
    minorversion: int
    timeout: float

    def __repr__(self) -> str:
        return f"QboConnectionConfig(conn_id={self.conn_id!r}, host={self.host!r}, realm_id={self.realm_id!r})"

    @classmethod
    def from_connection(cls, conn: Any, conn_id: str) -> QboConnectionConfig:
        """The settings of Airflow connection ``conn`` (named ``conn_id``); raises ``AtqboConfigError``."""
        extra = conn.extra_dejson or {}
        host = (conn.host or DEFAULT_HOST).rstrip("/")
        if "://" not in host:
            host = f"https://{host}"
        host = re.sub(r"/v3$", "", host)
        missing = [
            name
            for name, value in (("login (client id)", conn.login), ("password (client secret)", conn.password))
            if not value
        ]
        if not extra.get("realm_id"):
            missing.append("extra realm_id")
        if missing:
            raise AtqboConfigError(
                f"QuickBooks Online connection {conn_id!r} lacks {', '.join(missing)}: "
                f"edit the connection (conn type quickbooks_online)"
            )
        return cls(
            conn_id=conn_id,
            host=host,
            realm_id=str(extra["realm_id"]),
            client_id=conn.login,
            client_secret=conn.password,
            refresh_token=extra.get("refresh_token") or None,
            token_url=extra.get("token_url") or DEFAULT_TOKEN_URL,
            minorversion=int(extra.get("minorversion") or DEFAULT_MINORVERSION),
            timeout=float(extra.get("timeout") or DEFAULT_TIMEOUT_S),
        )
