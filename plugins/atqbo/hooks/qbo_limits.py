"""QuickBooks Online's published limits and fixed facts (docs/api-facts.md 2.1, 2.3, 2.5, 2.6, 2.8): one home for each.

The hook paces and chunks its calls by these; flows import them (through ``atqbo.hooks.qbo``) to
size their own chunks and worker pools instead of re-declaring the numbers.
"""

from __future__ import annotations

DEFAULT_HOST = "https://quickbooks.api.intuit.com"
DEFAULT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
DEFAULT_MINORVERSION = 75  # the floor since Aug 2025: lower versions are ignored by Intuit
DEFAULT_TIMEOUT_S = 60.0

MAX_QUERY_RESULTS = 1000  # MAXRESULTS ceiling of one query page
MAX_BATCH_ITEMS = 30  # BatchItemRequest entries per batch call
# Values in one `IN (...)` condition: not a published limit, but 100 keeps a statement well under the
# URL and POST-body limits on the way.
MAX_IN_VALUES = 100
# A statement longer than this goes in a POST body: URLs have length limits on the way.
MAX_GET_STATEMENT_CHARS = 2000

MAX_CONCURRENT_CALLS = 10  # calls in flight per realm and app; the 11th is refused with a 429
CALLS_PER_MINUTE = 500  # per realm
# What one look-up or one create of many names sends at once (BEY-05): a few, so that the invoice
# load's customers and items, each looked up and created side by side, stay within the 10.
IN_QUERIES_AT_ONCE = 3
BATCHES_PER_MINUTE = 40  # per realm and app
THROTTLE_WAIT_S = 60.0  # Intuit's guidance after a 429: the longest the hook waits before a retry
# How long after a write was last sent it may still commit (docs/api-facts.md 2.8): QBO executes a
# request for up to 120 s after it arrives, the request arrives within the client's timeout (60 s
# by default), plus margin for queueing before execution and clock skew between workers.
WRITE_MAY_COMMIT_S = 300.0

CDC_MAX_DAYS = 30  # change data capture reaches back at most this many days
CDC_MAX_OBJECTS = 1000  # objects in one CDC answer, all entities together
