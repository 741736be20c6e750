"""A QBO company's tax codes and their rates, found by the names the settings give them
(``sales_tax_code``, ``exempt_sales_tax_code``, ``purchase_tax_code``, ``tax_code_map``).

QBO serves TaxCode and TaxRate as read-only lists: a code names one or more sales rates and one or
more purchase rates, a rate has a percentage (``RateValue``). A US company's lines use the two
pseudo codes ``TAX`` and ``NON``; any other code is the company's own (a non-US company's VAT/GST
codes, or a US company's manual sales tax). docs/api-facts.md, Part 5. The flows read the two lists
(``TaxCodes.from_records(qbo.query_all("TaxCode"), qbo.query_all("TaxRate"))``); nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

PSEUDO_CODES = ("TAX", "NON")
RateList = Literal["SalesTaxRateList", "PurchaseTaxRateList"]


def _folded(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip().casefold()


@dataclass(frozen=True)
class TaxCodes:
    """The company's active tax codes (by Id) and the percentage of each tax rate (by Id)."""

    codes: dict[str, dict[str, Any]]
    percents: dict[str, Decimal] = field(default_factory=dict)

    @classmethod
    def from_records(cls, codes: Iterable[dict[str, Any]], rates: Iterable[dict[str, Any]] = ()) -> TaxCodes:
        """From QBO's TaxCode and TaxRate records (QBO's queries return the active ones only)."""
        return cls(
            {str(c["Id"]): c for c in codes},
            {str(r["Id"]): Decimal(str(r.get("RateValue") or 0)) for r in rates},
        )

    @property
    def has_own_codes(self) -> bool:
        """The company has tax codes of its own (not only the US pseudo codes TAX and NON)."""
        return any(str(c.get("Name")) not in PSEUDO_CODES for c in self.codes.values())

    def find(self, name: str) -> dict[str, Any] | None:
        """The code named ``name``: exactly, else ignoring case and runs of spaces; None if none."""
        for code in self.codes.values():
            if code.get("Name") == name:
                return code
        wanted = _folded(name)
        return next((c for c in self.codes.values() if _folded(str(c.get("Name", ""))) == wanted), None)

    def ids(self, names: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """(name -> Id of each name found, the names not found)."""
        found: dict[str, str] = {}
        missing: list[str] = []
        for name in dict.fromkeys(names):
            code = self.find(name)
            if code is None:
                missing.append(name)
            else:
                found[name] = str(code["Id"])
        return found, missing

    def describe(self) -> str:
        """The company's codes for a message: "20.0% S (20%), Exempt (0%), No VAT"."""
        names = []
        for code in self.codes.values():
            if str(code.get("Name")) in PSEUDO_CODES:
                continue
            percent = self.percent(code, "SalesTaxRateList")
            names.append(f"{code['Name']} ({percent.normalize():f}%)" if percent is not None else str(code["Name"]))
        return ", ".join(names) or "none"

    def rate_percents(self, code: dict[str, Any], rate_list: RateList) -> dict[str, Decimal] | None:
        """Rate Id -> percentage of a code's sales or purchase rates; None when a rate is unknown."""
        out: dict[str, Decimal] = {}
        for detail in (code.get(rate_list) or {}).get("TaxRateDetail") or []:
            rate_id = str((detail.get("TaxRateRef") or {}).get("value"))
            if rate_id not in self.percents:
                return None
            out[rate_id] = self.percents[rate_id]
        return out

    def percent(self, code: dict[str, Any], rate_list: RateList) -> Decimal | None:
        """The code's total percentage (GST + PST = 12), or None when a rate is unknown."""
        rates = self.rate_percents(code, rate_list)
        return None if rates is None else sum(rates.values(), Decimal(0))
