"""Where an Autotask tenant lives: its zone's API base URL, asked of ``zoneInformation`` and cached.

Each tenant lives in one zone (``webservicesN.autotask.net``). The hook asks ``zoneInformation``
(anonymous, short timeout) once per API user and keeps the answer for 12 hours in :data:`ZONES`,
shared by every hook of the process; one lookup runs at a time, not one per thread. A call refused
with 401 asks again (the tenant may have moved zones). An unknown user name is answered with HTTP
500 here, and becomes one clear :class:`AutotaskAuthError` (ERR-06).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import requests

from atqbo.hooks.autotask_connection import AutotaskCredentials
from atqbo.hooks.autotask_errors import AutotaskAuthError, AutotaskServerError, errors_of, json_or_none
from atqbo.hooks.autotask_limits import API_VERSION_PATH, ZONE_CACHE_TTL_S, ZONE_DISCOVERY_TIMEOUT_S
from atqbo.hooks.retry import RetryLater, retry_after_seconds

log = logging.getLogger("atqbo.hooks.autotask")  # the hook's logger: its lines keep the name operators know

# (discovery host, user name in lower case)
ZoneKey = tuple[str, str]


def ask_zone_information(
    session: requests.Session, credentials: AutotaskCredentials, conn_id: str, attempt: int
) -> requests.Response:
    """One zoneInformation request for the API user; throttling, gateway errors and no answer raise
    :class:`RetryLater` (``attempt`` counts the requests before this one, for the give-up message)."""
    url = f"{credentials.discovery_host}/atservicesrest/{API_VERSION_PATH}/zoneInformation"
    try:
        response = session.get(url, params={"user": credentials.username}, timeout=ZONE_DISCOVERY_TIMEOUT_S)
    except requests.RequestException as exc:
        give_up = AutotaskServerError(
            f"Autotask zone discovery at {credentials.discovery_host} could not be reached for API user "
            f"{credentials.username!r} after {attempt + 1} attempts ({type(exc).__name__}); check the host "
            f"of Airflow connection {conn_id!r} and the network",
            method="GET",
            path="zoneInformation",
        )
        raise RetryLater(give_up, type(exc).__name__) from None
    log.debug("Autotask GET zoneInformation -> %s", response.status_code)
    if response.status_code in (429, 502, 503, 504):
        raise RetryLater(
            _unknown_user_error(response, credentials, conn_id),
            str(response.status_code),
            retry_after=retry_after_seconds(response),
            throttled=response.status_code == 429,
        )
    return response


def zone_of(response: requests.Response, credentials: AutotaskCredentials, conn_id: str) -> str:
    """The zone API base a zoneInformation answer names; without one, the user is unknown."""
    body = json_or_none(response)
    zone = body.get("url") if isinstance(body, dict) else None
    if response.status_code != 200 or not zone:
        raise _unknown_user_error(response, credentials, conn_id)
    return zone_api_base(zone)


def _unknown_user_error(
    response: requests.Response, credentials: AutotaskCredentials, conn_id: str
) -> AutotaskAuthError:
    errors = errors_of(json_or_none(response))
    detail = f": {'; '.join(errors)}" if errors else ""
    return AutotaskAuthError(
        credentials.scrub(
            f"Autotask zone discovery does not know API user {credentials.username!r} "
            f"(HTTP {response.status_code}{detail}). Fix: set the login of Airflow connection "
            f"{conn_id!r} to the user name (email) of an Autotask API-only user "
            f"(Admin > Resources/Users, security level 'API User')"
        ),
        status=response.status_code,
        errors=errors,
        method="GET",
        path="zoneInformation",
    )


def zone_api_base(zone_url: str) -> str:
    """``https://ws15.autotask.net/atservicesrest/`` -> ``https://ws15.autotask.net/atservicesrest/v1.0``."""
    base = zone_url.strip().rstrip("/")
    if not base.lower().endswith("/atservicesrest"):
        base = f"{base}/atservicesrest"
    return f"{base}/{API_VERSION_PATH}"


class ZoneCache:
    """Discovered zone API bases with their expiry (on the hooks' monotonic clock)."""

    def __init__(self) -> None:
        self._zones: dict[ZoneKey, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._discovery_lock = threading.Lock()  # one lookup at a time, not one per thread

    def clear(self) -> None:
        """Forget every discovered zone."""
        with self._lock:
            self._zones.clear()

    def url(self, key: ZoneKey, clock: Callable[[], float], discover: Callable[[], str]) -> str:
        """The zone API base of ``key``: cached while fresh, else from ``discover()`` (and cached)."""
        cached = self._fresh(key, clock)
        if cached:
            return cached
        with self._discovery_lock:
            cached = self._fresh(key, clock)
            if cached:
                return cached  # another thread just looked it up
            return self._discover(key, clock, discover)

    def rediscover(self, key: ZoneKey, old_base: str, clock: Callable[[], float], discover: Callable[[], str]) -> str:
        """After a 401 in zone ``old_base``: the zone now, unless another thread just found a new one."""
        with self._discovery_lock:
            with self._lock:
                cached = self._zones.get(key)
            if cached and cached[0] != old_base and cached[1] > clock():
                return cached[0]
            return self._discover(key, clock, discover)

    def _fresh(self, key: ZoneKey, clock: Callable[[], float]) -> str | None:
        with self._lock:
            cached = self._zones.get(key)
        return cached[0] if cached and cached[1] > clock() else None

    def _discover(self, key: ZoneKey, clock: Callable[[], float], discover: Callable[[], str]) -> str:
        base = discover()
        with self._lock:
            self._zones[key] = (base, clock() + ZONE_CACHE_TTL_S)
        return base


#: The process's zones, shared by every AutotaskHook.
ZONES = ZoneCache()
