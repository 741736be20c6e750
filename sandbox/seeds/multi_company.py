"""The named seed ``multi-company``: the demo tenant with several QBO companies, each its own Airflow
connection, for routing Autotask invoices to one of them.

The Autotask half is the ``demo`` seed's, with one Australian customer (``AU_CUSTOMER_NAME``) billed
in AUD (a currency added, active) with Australian GST (10% on every billable line) on its invoices;
the default QBO company (``qbo_default``) is the demo's. Two more
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
from collections import defaultdict
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
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

# The Australian customer of the MSP (BEY-07 routes it to qbo_au by its Autotask company id): billed
# in AUD in Autotask, the AU company's home currency (its profile has multi-currency off, and QBO
# would book USD amounts as AUD: CUR-02). The demo's amounts stand as AUD amounts.
AU_CUSTOMER_NAME = "O'Brien & Sons: Plumbing"
AUD_CURRENCY_ID = 3

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
    autotask = seed["autotask"]
    autotask["Currencies"].append(
        {
            "id": AUD_CURRENCY_ID,
            "name": "AUD",
            "description": "Australian Dollar",
            "displaySymbol": "A$",
            "exchangeRate": 1.52,
            "isActive": True,
            "isInternalCurrency": False,
            "currencyPositiveFormat": "A$X",
            "currencyNegativeFormat": "(A$X)",
        }
    )
    for company in autotask["Companies"]:
        if company.get("companyName") == AU_CUSTOMER_NAME:
            company["currencyID"] = AUD_CURRENCY_ID
            _charge_gst(autotask, company["id"])
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


GST_RATE = Decimal("10")
CENT = Decimal("0.01")


def _charge_gst(autotask: dict[str, Any], company_id: int) -> None:
    """The Australian customer's invoices as an Australian MSP bills them: GST (10%) on every billable
    line (services and goods alike), rounded once per invoice and spread over its lines by the cent,
    then ``totalTaxValue`` and ``invoiceTotal``. The demo has no Autotask tax tables, so nothing else
    recomputes them (the US customers keep the demo's taxes)."""
    invoices = [i for i in autotask["Invoices"] if i["companyID"] == company_id]
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in autotask["BillingItems"]:
        lines[item.get("invoiceID")].append(item)
    for invoice in invoices:
        items = lines[invoice["id"]]
        taxed = [i for i in items if not i.get("nonBillable")]
        exact = [Decimal(str(i["totalAmount"])) * GST_RATE / 100 for i in taxed]
        total = sum(exact, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)
        cents = [(e / CENT).to_integral_value(ROUND_FLOOR) * CENT for e in exact]
        for index in sorted(range(len(exact)), key=lambda k: exact[k] - cents[k], reverse=True)[
            : int((total - sum(cents, Decimal(0))) / CENT)
        ]:
            cents[index] += CENT
        for item in items:
            item["taxDollars"] = 0.0
        for item, tax in zip(taxed, cents, strict=True):
            item["taxDollars"] = float(tax)
        subtotal = sum((Decimal(str(i["totalAmount"])) for i in items), Decimal(0))
        invoice["totalTaxValue"] = float(total)
        invoice["invoiceTotal"] = float(subtotal + total)


def example_routes(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``qbo_routes`` a user of this tenant sets (``make run SEED=multi-company`` stores them;
    the README's example): the Australian customer to ``qbo_au`` by its Autotask company id, the
    Professional Services division to ``qbo_manual``, each with its company's tax settings; the rest
    goes to ``qbo_default``. ``state``: the sandbox's state (or this seed), for the customer's id."""
    au_id = next(c["id"] for c in state["autotask"]["Companies"] if c.get("companyName") == AU_CUSTOMER_NAME)
    return [
        {"qbo_conn_id": AU_CONN_ID, "company_ids": [au_id], "settings": dict(COMPANY_SETTINGS[AU_CONN_ID])},
        {
            "qbo_conn_id": MANUAL_CONN_ID,
            "divisions": ["Professional Services"],
            "settings": dict(COMPANY_SETTINGS[MANUAL_CONN_ID]),
        },
    ]
