"""Emulator of the Autotask PSA REST API v1.0 (see ``sandbox/README.md``, section "Autotask", for
every rule and every guess, and for which module holds what).

This package re-exports what the server and tests use: ``AutotaskApi`` and the tenant a reset
leaves (API user credentials, zone, the API resource and the local company).
"""

from sandbox.autotask.api import AutotaskApi
from sandbox.autotask.tenant import (
    API_RESOURCE_ID,
    DEFAULT_INTEGRATION_CODE,
    DEFAULT_SECRET,
    DEFAULT_USERNAME,
    DEFAULT_ZONE,
    LOCAL_COMPANY_ID,
)

__all__ = [
    "API_RESOURCE_ID",
    "DEFAULT_INTEGRATION_CODE",
    "DEFAULT_SECRET",
    "DEFAULT_USERNAME",
    "DEFAULT_ZONE",
    "LOCAL_COMPANY_ID",
    "AutotaskApi",
]
