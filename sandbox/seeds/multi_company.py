"""The named seed ``multi-company`` (BEY-07): the demo tenant, whose Autotask invoices atqbo routes
to one of several QBO companies, each its own Airflow connection.

The Autotask half and the default QBO company (``qbo_default``) are the ``demo`` seed's. Two more
companies are served beside it (``qbo.companies``), each started from a QBO company profile
(``qbo_profiles/``: CompanyInfo, tax and currency preferences, tax agencies, rates and codes, and the
profile's few records) plus the demo's payment terms, classes and sales-form preferences, so that
atqbo's invoice sync finds what it looks up by name; customers and items it may create:

- ``qbo_au``: realm ``AU_REALM_ID``, profile ``au-gst`` (an Australian company, GST codes,
  multi-currency off), its own app (client ``"own"``: its own client id and secret);
- ``qbo_manual``: realm ``MANUAL_REALM_ID``, profile ``us-manual-tax`` (a US company without
  automated sales tax), authorized through the default company's app (client ``"shared"``).

``COMPANY_SETTINGS`` holds the atqbo tax settings a user would set for each connection
(``sandbox.seeds.profiles.PROFILE_SETTINGS`` of its profile; the US defaults for ``qbo_default``).
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.seeds.profiles import PROFILE_SETTINGS

NAME = "multi-company"

DEFAULT_CONN_ID = "qbo_default"
AU_REALM_ID = "4620816365212676461"
AU_CONN_ID = "qbo_au"
AU_PROFILE = "au-gst"
MANUAL_REALM_ID = "4620816365212676462"
MANUAL_CONN_ID = "qbo_manual"
MANUAL_PROFILE = "us-manual-tax"

# conn_id -> (realm id, profile, client) of each extra company.
EXTRA_COMPANIES: dict[str, tuple[str, str, str]] = {
    AU_CONN_ID: (AU_REALM_ID, AU_PROFILE, "own"),
    MANUAL_CONN_ID: (MANUAL_REALM_ID, MANUAL_PROFILE, "shared"),
}

# conn_id -> the atqbo tax and currency settings of that company (docs/settings.md, "Tax and currency").
COMPANY_SETTINGS: dict[str, dict[str, Any]] = {
    DEFAULT_CONN_ID: dict(PROFILE_SETTINGS["us-ast"]),  # the demo company: the US defaults
    AU_CONN_ID: dict(PROFILE_SETTINGS[AU_PROFILE]),
    MANUAL_CONN_ID: dict(PROFILE_SETTINGS[MANUAL_PROFILE]),
}


def build(demo: dict[str, Any]) -> dict[str, Any]:
    """The ``multi-company`` seed from the ``demo`` one (both halves): the extra companies added to
    its ``qbo`` part."""
    seed = copy.deepcopy(demo)
    qbo = seed["qbo"]
    shared_lists = {key: copy.deepcopy(qbo[key]) for key in ("Term", "Class") if qbo.get(key)}
    sales_forms = copy.deepcopy((qbo.get("Preferences") or {}).get("SalesFormsPrefs"))
    qbo["companies"] = [
        {
            "realm_id": realm_id,
            "conn_id": conn_id,
            "client": client,
            "profile": profile,
            **({"Preferences": {"SalesFormsPrefs": copy.deepcopy(sales_forms)}} if sales_forms else {}),
            **copy.deepcopy(shared_lists),
        }
        for conn_id, (realm_id, profile, client) in EXTRA_COMPANIES.items()
    ]
    return seed
