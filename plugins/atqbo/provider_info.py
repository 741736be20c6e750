"""Provider metadata: makes the ``autotask`` and ``quickbooks_online`` connection types, with their
own fields, appear in the Airflow UI (Admin > Connections > Add)."""

from __future__ import annotations

from atqbo.version import VERSION

_AUTOTASK_FIELDS = {
    "integration_code": {
        "label": "API integration code",
        "description": "The tracking identifier of the Autotask API user (ApiIntegrationCode header).",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "impersonation_resource_id": {
        "label": "Impersonation resource id",
        "description": "Optional: write as this Autotask resource (ImpersonationResourceId header).",
        "schema": {"type": ["integer", "null"]},
    },
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Per-request timeout.",
        "schema": {"type": ["number", "null"], "default": 60},
    },
}

_QBO_FIELDS = {
    "realm_id": {
        "label": "Realm id (company id)",
        "description": "The QuickBooks Online company id, from the OAuth callback's realmId.",
        "schema": {"type": ["string", "null"]},
    },
    "refresh_token": {
        "label": "Refresh token",
        "description": "The refresh token from the OAuth consent. atqbo saves each rotated token in its "
        "state database; paste a new one here to reconnect.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "token_url": {
        "label": "Token endpoint",
        "description": "OAuth 2.0 token endpoint.",
        "schema": {"type": ["string", "null"], "default": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"},
    },
    "minorversion": {
        "label": "Minor version",
        "description": "QBO API minorversion sent on every call (75 is the floor since August 2025).",
        "schema": {"type": ["integer", "null"], "default": 75},
    },
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Per-request timeout.",
        "schema": {"type": ["number", "null"], "default": 60},
    },
}

PROVIDER_INFO = {
    "package-name": "atqbo",
    "name": "atqbo (Autotask PSA to QuickBooks Online)",
    "description": "Hooks and DAGs that move an MSP's billing from Autotask PSA to QuickBooks Online.",
    "versions": [VERSION],
    "connection-types": [
        {
            "connection-type": "autotask",
            "hook-class-name": "atqbo.hooks.autotask.AutotaskHook",
            "hook-name": "Autotask PSA",
            "ui-field-behaviour": {
                "hidden-fields": ["schema", "port"],
                "relabeling": {"host": "Zone discovery URL", "login": "API user name", "password": "Secret"},
                "placeholders": {"host": "https://webservices.autotask.net", "login": "api-user@example.com"},
            },
            "conn-fields": _AUTOTASK_FIELDS,
        },
        {
            "connection-type": "quickbooks_online",
            "hook-class-name": "atqbo.hooks.qbo.QuickBooksOnlineHook",
            "hook-name": "QuickBooks Online",
            "ui-field-behaviour": {
                "hidden-fields": ["schema", "port"],
                "relabeling": {"host": "API base URL", "login": "Client id", "password": "Client secret"},
                "placeholders": {"host": "https://quickbooks.api.intuit.com"},
            },
            "conn-fields": _QBO_FIELDS,
        },
    ],
}
