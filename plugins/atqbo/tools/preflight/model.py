"""What the preflight (BEY-08) finds: one ``Check`` per thing it looked at, with a verdict and, where
the verdict is not ok, the fix. No I/O.

A check belongs to one part of the report (``PARTS``) and, with several QBO companies (BEY-07), may
be about one of them (``company``): the settings, Autotask, QuickBooks Online,
or the window's data as the next runs would see it. Its verdict is one of ``VERDICTS``:

- ``ok``: as atqbo needs it;
- ``warning``: the runs will work, but a person should know (records that will fail or be skipped,
  objects atqbo will create, a budget nearly used);
- ``blocking``: the first live run would go wrong or stop; fix it before turning the syncs on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Verdict = Literal["ok", "warning", "blocking"]
VERDICTS: tuple[str, ...] = ("blocking", "warning", "ok")  # worst first: the report's order

# part -> title in the report, in report order
PARTS: dict[str, str] = {
    "settings": "Settings",
    "autotask": "Autotask",
    "qbo": "QuickBooks Online",
    "data": "The window's data",
}


@dataclass(frozen=True)
class Check:
    """One thing the preflight looked at.

    ``topic`` names it for a person ("PurchaseOrders.status picklist", "A/P account"); ``finding``
    says what was found, with the names and numbers; ``fix`` says what to change where (required
    unless the verdict is ok); ``detail`` may list the records concerned (the CSV's last column).
    """

    part: str
    topic: str
    verdict: Verdict
    finding: str
    fix: str = ""
    detail: str = ""
    company: str = ""  # BEY-07: the QBO company (connection id) it is about, with several; else ""

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise ValueError(f"unknown preflight part {self.part!r}; expected one of {sorted(PARTS)}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; expected one of {VERDICTS}")
        if self.verdict != "ok" and not self.fix.strip():
            raise ValueError(f"the {self.verdict} check {self.topic!r} needs a fix")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def where(self) -> str:
        """Its part, and its QBO company when it is about one of several: "QuickBooks Online, QBO company qbo_au"."""
        return PARTS[self.part] + (f", QBO company {self.company}" if self.company else "")

    def of_company(self, conn_id: str) -> Check:
        """This check about the QBO company ``conn_id`` (BEY-07)."""
        return replace(self, company=conn_id)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Check:
        return cls(**doc)


def ok(part: str, topic: str, finding: str, detail: str = "") -> Check:
    return Check(part, topic, "ok", finding, detail=detail)


def warning(part: str, topic: str, finding: str, fix: str, detail: str = "") -> Check:
    return Check(part, topic, "warning", finding, fix, detail)


def blocking(part: str, topic: str, finding: str, fix: str, detail: str = "") -> Check:
    return Check(part, topic, "blocking", finding, fix, detail)


def worst(checks: Iterable[Check]) -> str:
    """The worst verdict among ``checks`` (``ok`` for none)."""
    verdicts = {c.verdict for c in checks}
    return next((v for v in VERDICTS if v in verdicts), "ok")


def counts(checks: Iterable[Check]) -> dict[str, int]:
    """Checks per verdict, worst first, zeros included."""
    out = dict.fromkeys(VERDICTS, 0)
    for check in checks:
        out[check.verdict] += 1
    return out


def to_docs(checks: Iterable[Check]) -> list[dict[str, Any]]:
    return [c.to_dict() for c in checks]


def from_docs(docs: Iterable[dict[str, Any]]) -> list[Check]:
    return [Check.from_dict(d) for d in docs]


def listed(names: Iterable[Any], limit: int = 10) -> str:
    """``a, b, c and 4 more``: a short list for a finding (the CSV's detail has them all)."""
    names = [str(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"
