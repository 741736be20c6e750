"""The named real-tenant seeds: ``us-ast``, ``us-manual-tax``, ``uk-vat``, ``ca-gst`` and ``au-gst``.

Each is a whole tenant, both halves built from the ``demo`` one (so every flow has the demo's data)
and turned into an MSP of one country: the QBO company profile of that country (``qbo_profiles/``:
CompanyInfo, tax and currency preferences, tax agencies, rates and codes), Autotask tax regions,
categories and taxes of that country with every invoice's tax recomputed from them, a customer
billed in a foreign currency, contract-covered and non-billable lines, an API user restricted to
some lines of business. ``PROFILES`` says what each one holds; ``PROFILE_SETTINGS`` the atqbo
settings a user of that country would set (docs/settings.md, "Tax and currency").

The tax rates are the countries' standard ones (UK VAT 20%, Ontario HST 13%, Australian GST 10%);
the US state and county rates are illustrative. Sources and guesses: sandbox/README.md, "Named
real-tenant seeds".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QBO_PROFILES_DIR = Path(__file__).parent / "qbo_profiles"

# Categories of the US profiles: hardware is taxed, services are not (the demo's rule).
US_SERVICES, US_HARDWARE = "Services", "Hardware"
US_CODE_CATEGORIES = {"HW-WS": US_HARDWARE, "HW-SW": US_HARDWARE}
# Region -> category -> the taxes (name, percentage) of that pair.
US_REGIONS: dict[str, dict[str, list[tuple[str, float]]]] = {
    "Ohio": {US_HARDWARE: [("Ohio State", 5.75), ("County", 1.5)]},
    "Pennsylvania": {US_HARDWARE: [("Pennsylvania", 6.0)]},
    "Indiana": {US_HARDWARE: [("Indiana", 7.0)]},
    "Kentucky": {US_HARDWARE: [("Kentucky", 6.0)]},
}
US_REGION_OF_STATE = {"OH": "Ohio", "PA": "Pennsylvania", "IN": "Indiana", "KY": "Kentucky"}


@dataclass(frozen=True)
class Currency:
    """An Autotask currency record's essentials."""

    code: str
    description: str
    symbol: str


@dataclass(frozen=True)
class Profile:
    """What a named seed changes in the demo tenant."""

    name: str
    country: str  # ISO 3166 alpha-2, as QBO's CompanyInfo.Country
    home: Currency  # Autotask's internal currency and QBO's home currency
    foreign: Currency  # the currency one Autotask company is billed in
    foreign_rate: float  # home units per foreign unit (QBO ExchangeRate.Rate)
    qbo_multi_currency: bool
    keep_empty_strings: bool
    categories: tuple[str, ...]  # Autotask tax categories; the first is every billing code's default
    code_categories: dict[str | None, str]  # billing code externalNumber -> another category
    regions: dict[str, dict[str, list[tuple[str, float]]]]  # region -> category -> taxes
    region_of_state: dict[str | None, str]  # a company's state -> its tax region (None: any state)
    foreign_region: str | None = None  # the foreign company's region, when not its state's
    cities: tuple[tuple[str, str | None, str], ...] = ()  # (city, state, postal code); () keeps the demo's
    address_country: str = "USA"  # QBO BillAddr.Country
    phone_prefix: str | None = None  # replaces the demo's US phone numbers
    msp_address: dict[str, Any] = field(default_factory=dict)  # the MSP's own (company 0) address, non-US


# The Autotask company billed in a foreign currency (a QBO customer without transactions, with
# unsynced Autotask invoices only), the one that gets a contract-covered line, the one that gets a
# non-billable line, and the extra API user's lines of business (the Managed Services division).
FOREIGN_COMPANY = "Lucerne Publishing"
COVERED_INVOICE_INDEX = 8
NON_BILLABLE_INVOICE_INDEX = 9
RESTRICTED_DIVISION = "Managed Services"

PROFILES: dict[str, Profile] = {
    "us-ast": Profile(
        name="us-ast",
        country="US",
        home=Currency("USD", "US Dollar", "$"),
        foreign=Currency("CAD", "Canadian Dollar", "C$"),
        foreign_rate=0.74,
        qbo_multi_currency=True,
        keep_empty_strings=False,
        categories=(US_SERVICES, US_HARDWARE),
        code_categories=US_CODE_CATEGORIES,
        regions=US_REGIONS,
        region_of_state=US_REGION_OF_STATE,
    ),
    "us-manual-tax": Profile(
        name="us-manual-tax",
        country="US",
        home=Currency("USD", "US Dollar", "$"),
        foreign=Currency("CAD", "Canadian Dollar", "C$"),
        foreign_rate=0.74,
        qbo_multi_currency=True,
        keep_empty_strings=True,
        categories=(US_SERVICES, US_HARDWARE),
        code_categories=US_CODE_CATEGORIES,
        regions=US_REGIONS,
        region_of_state=US_REGION_OF_STATE,
    ),
    "uk-vat": Profile(
        name="uk-vat",
        country="GB",
        home=Currency("GBP", "Pound Sterling", "£"),
        foreign=Currency("EUR", "Euro", "€"),
        foreign_rate=0.85,
        qbo_multi_currency=True,
        keep_empty_strings=True,
        categories=("Standard rated", "Outside the scope of VAT"),
        code_categories={None: "Outside the scope of VAT"},  # Travel: disbursements recharged at cost
        regions={"United Kingdom": {"Standard rated": [("VAT", 20.0)]}},
        region_of_state={None: "United Kingdom"},
        cities=(
            ("Reading", None, "RG1 2HG"),
            ("London", None, "EC1A 1BB"),
            ("Oxford", None, "OX1 2JD"),
            ("Slough", None, "SL1 1XY"),
            ("Bristol", None, "BS1 4DJ"),
            ("Basingstoke", None, "RG21 7AW"),
        ),
        address_country="GB",
        phone_prefix="0118 496",
        msp_address={"address1": "12 King Street", "city": "Reading", "state": None, "postalCode": "RG1 2HG"},
    ),
    "ca-gst": Profile(
        name="ca-gst",
        country="CA",
        home=Currency("CAD", "Canadian Dollar", "$"),
        foreign=Currency("USD", "US Dollar", "US$"),
        foreign_rate=1.37,
        qbo_multi_currency=True,
        keep_empty_strings=True,
        categories=("Taxable supplies", "Exempt supplies"),
        code_categories={None: "Exempt supplies"},
        regions={"Ontario": {"Taxable supplies": [("HST", 13.0)]}, "Alberta": {"Taxable supplies": [("GST", 5.0)]}},
        region_of_state={None: "Ontario"},
        cities=(
            ("Toronto", "ON", "M5J 2J2"),
            ("Ottawa", "ON", "K1P 1J1"),
            ("Mississauga", "ON", "L5B 3C2"),
            ("Hamilton", "ON", "L8P 4R5"),
            ("London", "ON", "N6A 3N7"),
            ("Kingston", "ON", "K7L 2Z1"),
        ),
        address_country="CA",
        phone_prefix="416-555",
        msp_address={"address1": "200 Bay Street", "city": "Toronto", "state": "ON", "postalCode": "M5J 2J2"},
    ),
    "au-gst": Profile(
        name="au-gst",
        country="AU",
        home=Currency("AUD", "Australian Dollar", "$"),
        foreign=Currency("NZD", "New Zealand Dollar", "NZ$"),
        foreign_rate=0.91,
        qbo_multi_currency=False,
        keep_empty_strings=True,
        categories=("GST", "GST free"),
        code_categories={None: "GST free"},
        regions={"Australia": {"GST": [("GST", 10.0)]}, "Overseas": {}},
        region_of_state={None: "Australia"},
        foreign_region="Overseas",  # a New Zealand customer: an export, GST free
        cities=(
            ("Sydney", "NSW", "2000"),
            ("Parramatta", "NSW", "2150"),
            ("Newcastle", "NSW", "2300"),
            ("Wollongong", "NSW", "2500"),
            ("Melbourne", "VIC", "3000"),
            ("Brisbane", "QLD", "4000"),
        ),
        address_country="AU",
        phone_prefix="02 5550",
        msp_address={"address1": "1 Martin Place", "city": "Sydney", "state": "NSW", "postalCode": "2000"},
    ),
}

PROFILE_NAMES = tuple(PROFILES)

# The atqbo settings (docs/settings.md, "Tax and currency") a user of each profile's country sets.
PROFILE_SETTINGS: dict[str, dict[str, Any]] = {
    "us-ast": {
        "qbo_edition": "US",
        "tax_mode": "qbo",
        "sales_tax_code": None,
        "exempt_sales_tax_code": None,
        "purchase_tax_code": None,
        "tax_code_map": {},
    },
    "us-manual-tax": {
        "qbo_edition": "US",
        "tax_mode": "autotask",
        "sales_tax_code": "Columbus, OH",
        "exempt_sales_tax_code": None,
        "purchase_tax_code": None,
        "tax_code_map": {},
    },
    "uk-vat": {
        "qbo_edition": "non-US",
        "tax_mode": "qbo",
        "sales_tax_code": "20.0% S",
        "exempt_sales_tax_code": "Exempt",
        "purchase_tax_code": "20.0% S",
        "tax_code_map": {"Standard rated": "20.0% S", "Outside the scope of VAT": "No VAT"},
    },
    "ca-gst": {
        "qbo_edition": "non-US",
        "tax_mode": "qbo",
        "sales_tax_code": "HST ON",
        "exempt_sales_tax_code": "Exempt",
        "purchase_tax_code": "HST ON",
        "tax_code_map": {"Taxable supplies": "HST ON", "Exempt supplies": "Exempt"},
    },
    "au-gst": {
        "qbo_edition": "non-US",
        "tax_mode": "qbo",
        "sales_tax_code": "GST",
        "exempt_sales_tax_code": "GST free",
        "purchase_tax_code": "GST",
        "tax_code_map": {"GST": "GST", "GST free": "GST free"},
    },
}


def qbo_profile(name: str) -> dict[str, Any]:
    """The QBO company profile document of ``name`` (a seed document with a ``qbo`` part only:
    the company, its tax setup and a few records of its own, multi-currency off)."""
    if name not in PROFILES:
        raise ValueError(f"no profile {name!r}; the profiles are {', '.join(PROFILE_NAMES)}")
    return json.loads((QBO_PROFILES_DIR / f"{name}.json").read_text())
