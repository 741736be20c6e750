"""The named seed ``multi-company``: one Autotask database with three QBO companies, each its own
Airflow connection, for routing Autotask invoices to one of them (BEY-07).

Built on the ``us-ast`` seed (the demo tenant as a US MSP: Autotask tax regions, categories and
taxes, a customer billed in CAD, contract-covered and non-billable lines, an API user restricted to
some lines of business), whose QBO company, with US automated sales tax, is the default company
(``qbo_default``). Its Autotask half gains an Australian customer (``AU_CUSTOMER_NAME``): billed in
AUD (a currency added, active), in the tax region "Australia" whose GST (10%) applies to every
category, its invoices' tax recomputed from the tables. Two more companies are served beside the
default (``qbo.companies``), each started from a QBO company profile (``qbo_profiles/``:
CompanyInfo, tax and currency preferences, tax agencies, rates and codes, and the profile's few
records) plus the default's payment terms, classes and sales-form preferences, so that atqbo's
invoice sync finds what it looks up by name; customers and items it may create:

- ``qbo_au``: realm ``AU_REALM_ID``, profile ``au-gst`` (an Australian company, GST codes,
  multi-currency off), its own app (client ``"own"``: its own client id and secret);
- ``qbo_manual``: realm ``MANUAL_REALM_ID``, profile ``us-manual-tax`` (a US company without
  automated sales tax), authorized through the default company's app (client ``"shared"``).

``COMPANY_SETTINGS`` holds the atqbo tax settings a user would set for each connection
(``sandbox.seeds.profiles.PROFILE_SETTINGS`` of its profile); ``example_routes`` the routes.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.seeds.profile_autotask import recompute_invoice_tax
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
AU_TAX_REGION = "Australia"

# conn_id -> (realm id, profile, client) of each extra company.
EXTRA_COMPANIES: dict[str, tuple[str, str, str]] = {
    AU_CONN_ID: (AU_REALM_ID, AU_PROFILE, "own"),
    MANUAL_CONN_ID: (MANUAL_REALM_ID, MANUAL_PROFILE, "shared"),
}

# The US company with manual sales tax bills customers of four states: besides its profile's
# "Columbus, OH" (Ohio's 5.75% and Franklin County's 1.5%), a code per other state of the Autotask
# tax regions (the rates of sandbox.seeds.profiles.US_REGIONS), and the map a user sets for them.
MANUAL_STATE_CODES = {"Pennsylvania": "PA State", "Indiana": "IN State", "Kentucky": "KY State"}
_MANUAL_STATE_TAXES = (
    ("3", "PA State", "Pennsylvania Department of Revenue", 6.0),
    ("4", "IN State", "Indiana Department of Revenue", 7.0),
    ("5", "KY State", "Kentucky Department of Revenue", 6.0),
)

# conn_id -> the atqbo tax and currency settings of that company (docs/settings.md, "Tax and currency").
COMPANY_SETTINGS: dict[str, dict[str, Any]] = {
    DEFAULT_CONN_ID: dict(PROFILE_SETTINGS["us-ast"]),  # the us-ast company: automated sales tax
    AU_CONN_ID: dict(PROFILE_SETTINGS[AU_PROFILE]),
    MANUAL_CONN_ID: {**PROFILE_SETTINGS[MANUAL_PROFILE], "tax_code_map": MANUAL_STATE_CODES},
}


def build(base: dict[str, Any]) -> dict[str, Any]:
    """The ``multi-company`` seed from the ``us-ast`` one (both halves): the Australian customer in
    an Australian tax region, billed in AUD, and the extra companies added to its ``qbo`` part."""
    seed = copy.deepcopy(base)
    _bill_the_australian_customer(seed["autotask"])
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
            **(_manual_state_taxes() if conn_id == MANUAL_CONN_ID else {}),
        }
        for conn_id, (realm_id, profile, client) in EXTRA_COMPANIES.items()
    ]
    return seed


def _manual_state_taxes() -> dict[str, list[dict[str, Any]]]:
    """The manual-tax company's agencies, rates and codes of the states other than Ohio (one rate
    each), beside its profile's (whose Ids are 1 and 2, and the code 3)."""
    agencies, rates, codes = [], [], []
    for index, (rate_id, name, agency, percent) in enumerate(_MANUAL_STATE_TAXES):
        agencies.append({"Id": rate_id, "DisplayName": agency})
        rates.append(
            {
                "Id": rate_id,
                "Name": name,
                "Description": "Sales Tax",
                "RateValue": percent,
                "AgencyRef": {"value": rate_id},
            }
        )
        codes.append(
            {
                "Id": str(4 + index),
                "Name": name,
                "Description": name,
                "SalesTaxRateList": {"TaxRateDetail": [{"TaxRateRef": {"value": rate_id}}]},
                "PurchaseTaxRateList": {"TaxRateDetail": []},
            }
        )
    return {"TaxAgency": agencies, "TaxRate": rates, "TaxCode": codes}


def _bill_the_australian_customer(autotask: dict[str, Any]) -> None:
    """The Australian customer as an Australian entity of the MSP bills it: in AUD (a currency
    added, active), in the tax region "Australia" whose GST (10%) applies to every tax category
    (services and goods alike), its invoices' tax recomputed from the tables as every invoice of
    the seed is (``profile_autotask.recompute_invoice_tax``)."""
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
    region_id = max(r["id"] for r in autotask["TaxRegions"]) + 1
    autotask["TaxRegions"].append({"id": region_id, "name": AU_TAX_REGION})
    next_tax = max(t["id"] for t in autotask["Taxes"]) + 1
    for offset, category in enumerate(autotask["TaxCategories"]):
        autotask["Taxes"].append(
            {
                "id": next_tax + offset,
                "taxRegionID": region_id,
                "taxCategoryID": category["id"],
                "taxName": "GST",
                "taxRate": 10.0,
                "isCompounded": False,
            }
        )
    customer = next(c for c in autotask["Companies"] if c.get("companyName") == AU_CUSTOMER_NAME)
    customer.update(currencyID=AUD_CURRENCY_ID, taxRegionID=region_id, isTaxExempt=False)
    recompute_invoice_tax(autotask)


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
