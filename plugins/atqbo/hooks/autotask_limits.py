"""Autotask PSA's limits and fixed facts (REST API v1.0): one home for each.

The hook pages, chunks and paces its calls by these; flows import them (through
``atqbo.hooks.autotask``) to size their own chunks and writer pools instead of re-declaring them.
"""

from __future__ import annotations

DEFAULT_DISCOVERY_HOST = "https://webservices.autotask.net"
API_VERSION_PATH = "v1.0"
ZONE_CACHE_TTL_S = 12 * 3600  # as django-autotask does; zones move rarely, a 401 triggers a re-lookup anyway
ZONE_DISCOVERY_TIMEOUT_S = 10.0  # zoneInformation is a tiny anonymous GET; do not wait the full call timeout
DEFAULT_TIMEOUT_S = 60.0

MAX_PAGE_SIZE = 500  # Autotask returns at most 500 records per page (MaxRecords 1..500)
# An ``in`` filter is expanded into OR conditions server side; the SOAP-era limit of 500 OR
# conditions per query may still apply, and 500 ids also fill exactly one page, so each chunk
# is one request and one page.
MAX_IN_VALUES = 500
# Autotask's thread limit per (integration code, endpoint): the hook never has more calls in flight
# to one endpoint, so this is also how many concurrent writers a flow may usefully run.
MAX_CONCURRENT_PER_ENDPOINT = 3

# Pacing: how many calls may pass between two ThresholdInformation checks. The gap shrinks as the
# budget fills (a fifth of the remaining headroom, so that even several workers sharing the tenant
# cannot overshoot much between checks) and never exceeds this.
MAX_CALLS_BETWEEN_BUDGET_CHECKS = 200
