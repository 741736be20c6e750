"""Where an Autotask tenant lives: its zone's API base URL, cached for the whole process.

Each tenant lives in one zone (``webservicesN.autotask.net``). The hook asks ``zoneInformation``
once per API user and keeps the answer for 12 hours in :data:`ZONES`, shared by every hook of the
process; one lookup runs at a time, not one per thread. A call refused with 401 asks again (the
tenant may have moved zones). The asking itself is an HTTP call, so the hook makes it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from atqbo.hooks.autotask_limits import API_VERSION_PATH, ZONE_CACHE_TTL_S

# (discovery host, user name in lower case)
ZoneKey = tuple[str, str]


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
