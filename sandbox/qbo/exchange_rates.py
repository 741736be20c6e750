"""QBO's exchange rates: how many home-currency units one unit of a foreign currency is worth, by
currency and date (``GET/POST exchangerate``, ``select * from ExchangeRate``, a seed's ``ExchangeRate``).

QBO keeps a rate table fed daily from the market; the sandbox stands in for the feed with one fixed
rate per currency (``USD_VALUE``, never a market rate) and lets a seed or ``POST exchangerate`` set the
rate of a currency on a date, as a QBO user does in the Currency Center. A transaction without an
ExchangeRate takes the rate of its currency on its TxnDate: the set rate with the latest AsOfDate on
or before that date, else the fixed one. Only a company with multi-currency on has exchange rates.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from sandbox.qbo.books import Company
from sandbox.qbo.faults import business, invalid_property, required, stale_object
from sandbox.qbo.schema import CURRENCY_NAMES
from sandbox.qbo.times import stamp
from sandbox.qbo.values import dec, number_out, parse_date

# US dollars per unit: the sandbox's stand-in for QBO's rate feed (round, fixed figures).
USD_VALUE = {
    "USD": Decimal("1"),
    "CAD": Decimal("0.73"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "AUD": Decimal("0.66"),
    "NZD": Decimal("0.6"),
    "JPY": Decimal("0.0067"),
    "CHF": Decimal("1.13"),
    "SEK": Decimal("0.095"),
    "NOK": Decimal("0.093"),
    "DKK": Decimal("0.145"),
    "MXN": Decimal("0.058"),
    "INR": Decimal("0.012"),
    "SGD": Decimal("0.74"),
    "HKD": Decimal("0.128"),
    "ZAR": Decimal("0.054"),
}
# QBO reports rates to six decimals (e.g. 1.400374).
RATE_PLACES = Decimal("0.000001")


def feed_rate(source: str, home: str) -> Decimal:
    """The fixed rate of ``source`` in ``home`` units, crossed through the US dollar."""
    return (USD_VALUE[source] / USD_VALUE[home]).quantize(RATE_PLACES)


def rate_on(books: Company, code: str, day: str) -> Decimal:
    """The company's rate for ``code`` on ``day``: 1 for the home currency, else the latest rate set
    on or before ``day``, else the feed's."""
    if code == books.home_currency:
        return Decimal(1)
    dated = [record for (source, as_of), record in books.exchange_rates.items() if source == code and as_of <= day]
    if dated:
        return dec(max(dated, key=lambda r: r["AsOfDate"])["Rate"], "Rate")
    return feed_rate(code, books.home_currency)


def read_exchange_rate(books: Company, source: str | None, as_of: str | None) -> dict[str, Any]:
    """``GET exchangerate?sourcecurrencycode=CAD[&asofdate=...]``: the rate QBO would apply that day
    (today without a date); an unknown currency answers nothing, as QBO's does."""
    _check_multi_currency(books)
    if not source:
        raise required("sourcecurrencycode")
    code = source.strip().upper()
    day = parse_date(as_of, "asofdate") if as_of else books.today()
    if code not in CURRENCY_NAMES:
        return {}
    stored = books.exchange_rates.get((code, day))
    if stored is not None:
        return {"ExchangeRate": copy.deepcopy(stored)}
    record = _rate_record(books, code, day, rate_on(books, code, day))
    record["SyncToken"] = "0"
    return {"ExchangeRate": record}


def save_exchange_rate(books: Company, body: Any, *, seed: bool = False) -> dict[str, Any]:
    """``POST exchangerate`` (or a seed's record): set the rate of a foreign currency on a date.
    A SyncToken, when sent for a date that has a rate, must be the current one (5010)."""
    _check_multi_currency(books)
    if not isinstance(body, dict):
        raise invalid_property("ExchangeRate body specified is unsupported or invalid")
    code = str(body.get("SourceCurrencyCode") or "").strip().upper()
    if not code:
        raise required("SourceCurrencyCode")
    if code not in CURRENCY_NAMES:
        raise business(f"{code} is not a currency QuickBooks supports.", "SourceCurrencyCode")
    if code == books.home_currency:
        raise business(f"{code} is the home currency; its rate is always 1.", "SourceCurrencyCode")
    target = str(body.get("TargetCurrencyCode") or books.home_currency).upper()
    if target != books.home_currency:
        raise business(
            f"Rates are set against the home currency ({books.home_currency}), not {target}.", "TargetCurrencyCode"
        )
    if body.get("Rate") in (None, ""):
        raise required("Rate")
    rate = dec(body["Rate"], "Rate")
    if rate <= 0:
        raise business(f"The exchange rate of {code} must be more than 0.", "Rate")
    day = parse_date(body["AsOfDate"], "AsOfDate") if body.get("AsOfDate") else books.today()
    current = books.exchange_rates.get((code, day))
    token = body.get("SyncToken")
    if not seed and current is not None and token not in (None, "") and str(token) != current["SyncToken"]:
        raise stale_object()
    record = _rate_record(books, code, day, rate)
    if seed:  # a seed (or a dumped state loading back) keeps its version and times
        record["SyncToken"] = str(token) if str(token or "").isdigit() else "0"
        if isinstance(body.get("MetaData"), dict):
            record["MetaData"] = copy.deepcopy(body["MetaData"])
    else:
        record["SyncToken"] = "0" if current is None else str(int(current["SyncToken"]) + 1)
    books.exchange_rates[(code, day)] = record
    return copy.deepcopy(record)


def exchange_rate_rows(books: Company) -> list[dict[str, Any]]:
    """The rates set in the company (what ``select * from ExchangeRate`` searches)."""
    return [books.exchange_rates[key] for key in sorted(books.exchange_rates)]


def _rate_record(books: Company, code: str, day: str, rate: Decimal) -> dict[str, Any]:
    return {
        "SourceCurrencyCode": code,
        "TargetCurrencyCode": books.home_currency,
        "Rate": number_out(rate),
        "AsOfDate": day,
        "domain": "QBO",
        "sparse": False,
        "MetaData": {"LastUpdatedTime": stamp(books.now())},
    }


def _check_multi_currency(books: Company) -> None:
    if not books.multi_currency:
        raise business(
            "Multicurrency is not enabled for this company, so it has no exchange rates. "
            "Turn it on in Account and Settings > Advanced > Currency (Preferences.CurrencyPrefs.MultiCurrencyEnabled)."
        )
