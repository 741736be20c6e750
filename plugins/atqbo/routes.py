"""Several QBO companies from one Autotask database (BEY-07): ``qbo_routes``, and which company an
Autotask invoice or purchase order goes to.

The vendor app connected one Autotask database to one QBO company. With ``qbo_routes`` each route
names a QBO connection (an Airflow connection of type ``quickbooks_online``: its own realm, token
and app) and what goes there: Autotask divisions (``OrganizationalLevel1`` names, from the lines'
lines of business) and Autotask company ids. A document goes to the first route that matches its
division or its company id, else to the default ``qbo_conn_id``. An invoice whose lines belong to
divisions of two different routes is refused: one QBO invoice cannot be in two companies, and
splitting it would make two documents of one.

This module is pure (no I/O): ``settings`` validates the routes with ``check_routes``, the syncs
route records with ``route_of``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# The settings a route may set for its own company: those that name a QBO object (accounts,
# classes, terms, tax codes, custom field, items) or describe the QBO company (edition, what it
# accepts). Autotask-side settings (markers, windows, numbering, connections, budget) are the
# database's and stay global.
ROUTE_SETTING_KEYS = frozenset(
    {
        "qbo_edition",
        "item_match_field",
        "missing_item_action",
        "default_item_name",
        "new_item_income_account",
        "payment_terms_match",
        "default_class",
        "lob_class_map",
        "po_number_custom_field",
        "allow_credit_card",
        "credit_card_only_with_default_method",
        "allow_ach",
        "email_invoices",
        "tax_mode",
        "sales_tax_code",
        "exempt_sales_tax_code",
        "purchase_tax_code",
        "tax_code_map",
        "po_missing_item_action",
        "po_new_item_expense_account",
        "po_ap_account",
    }
)
ROUTE_KEYS = ("qbo_conn_id", "divisions", "company_ids", "settings")


@dataclass(frozen=True)
class Route:
    """One entry of ``qbo_routes``."""

    qbo_conn_id: str
    divisions: tuple[str, ...] = ()
    company_ids: tuple[int, ...] = ()
    settings: tuple[tuple[str, Any], ...] = ()  # the route's own settings, as (key, value) pairs

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Route:
        return cls(
            qbo_conn_id=doc["qbo_conn_id"],
            divisions=tuple(doc.get("divisions") or ()),
            company_ids=tuple(doc.get("company_ids") or ()),
            settings=tuple(sorted((doc.get("settings") or {}).items())),
        )

    def matches(self, company_id: Any, divisions: Iterable[str]) -> bool:
        return company_id in self.company_ids or bool(set(self.divisions) & set(divisions))


@dataclass(frozen=True)
class Routing:
    """Where one document goes: ``qbo_conn_id``, or why it cannot go anywhere (``error``, ``fix``)."""

    qbo_conn_id: str
    error: str = ""
    fix: str = ""


def check_routes(value: Any) -> tuple[list[dict[str, Any]] | None, str | None]:
    """``qbo_routes`` normalised (divisions and company ids as lists, ``settings`` an object), or
    ``(None, "what is allowed")``. The merged per-company settings are checked by ``settings``."""
    allowed = (
        'a list of routes, each {"qbo_conn_id": "<Airflow connection>", "divisions": ["<Autotask division>"], '
        '"company_ids": [<Autotask company id>], "settings": {<per-company settings>}}'
    )
    if not isinstance(value, list):
        return None, allowed
    out: list[dict[str, Any]] = []
    for index, route in enumerate(value):
        where = f"route {index + 1}"
        if not isinstance(route, dict):
            return None, f"{allowed} ({where} is not an object)"
        unknown = sorted(set(route) - set(ROUTE_KEYS))
        if unknown:
            return None, f"{allowed} ({where} has unknown keys {', '.join(map(repr, unknown))})"
        conn = route.get("qbo_conn_id")
        if not isinstance(conn, str) or not conn.strip():
            return None, f"{allowed} ({where} needs qbo_conn_id, a non-empty string)"
        divisions = route.get("divisions") or []
        if not isinstance(divisions, list) or not all(isinstance(d, str) and d.strip() for d in divisions):
            return None, f"{allowed} ({where}: divisions must be a list of division names)"
        ids = route.get("company_ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            return None, f"{allowed} ({where}: company_ids must be a list of whole numbers)"
        if not divisions and not ids:
            return None, f"{allowed} ({where} ({conn}) has neither divisions nor company_ids: nothing would go there)"
        own = route.get("settings") or {}
        if not isinstance(own, dict):
            return None, f"{allowed} ({where}: settings must be an object)"
        refused = sorted(set(own) - ROUTE_SETTING_KEYS)
        if refused:
            return None, (
                f"{allowed} ({where} ({conn}): {', '.join(refused)} cannot be set per company; a route may set "
                f"{', '.join(sorted(ROUTE_SETTING_KEYS))})"
            )
        out.append({"qbo_conn_id": conn, "divisions": list(divisions), "company_ids": list(ids), "settings": dict(own)})
    return out, None


def route_problems(routes: Sequence[dict[str, Any]], default_conn_id: str) -> list[str]:
    """What is wrong across routes: a connection used twice (or the default's), a division or an
    Autotask company id claimed by two routes (the second could never match)."""
    problems = []
    seen_conns = {default_conn_id: "the default qbo_conn_id"}
    seen: dict[tuple[str, Any], str] = {}  # ("division", name) or ("company", id) -> the route naming it
    for index, route in enumerate(routes):
        conn = route["qbo_conn_id"]
        if conn in seen_conns:
            problems.append(
                f"qbo_routes: route {index + 1} uses {conn!r}, already {seen_conns[conn]}; each QBO company is one "
                "connection, named once (a company's documents go to one route)"
            )
        seen_conns.setdefault(conn, f"route {index + 1}'s")
        claims = [("division", d) for d in route["divisions"]] + [("company", i) for i in route["company_ids"]]
        for claim in claims:
            if claim in seen:
                what = f"division {claim[1]!r}" if claim[0] == "division" else f"Autotask company {claim[1]}"
                problems.append(
                    f"qbo_routes: {what} is in {seen[claim]} and route {index + 1}; name it in one route only"
                )
            seen.setdefault(claim, f"route {index + 1}")
    return problems


def division_of(line_of_business: str | None) -> str | None:
    """The division of a "Division:Line of business" name."""
    if not line_of_business:
        return None
    return line_of_business.split(":", 1)[0]


def route_of(
    routes: Sequence[Route], default_conn_id: str, company_id: Any, divisions: Iterable[str], what: str
) -> Routing:
    """The company a document goes to: the first route matching its Autotask company id or one of
    its lines' divisions, else the default. Lines in divisions of two different routes: refused,
    naming them (``what`` names the document, e.g. "Autotask invoice 29684001 (INV-1001) of Contoso")."""
    divisions = sorted({d for d in divisions if d})
    if not routes:
        return Routing(default_conn_id)
    owners: dict[str, list[str]] = {}
    for division in divisions:
        owner = next((r for r in routes if division in r.divisions), None)
        if owner is not None:
            owners.setdefault(owner.qbo_conn_id, []).append(division)
    if len(owners) > 1:
        spans = "; ".join(f"{', '.join(repr(d) for d in ds)} -> {conn}" for conn, ds in owners.items())
        return Routing(
            "",
            error=f"{what} has lines in divisions that go to different QBO companies ({spans})",
            fix=(
                "bill each company's work on its own invoice in Autotask (one invoice per division), or change "
                "qbo_routes in atqbo_settings so these divisions go to one QBO company"
            ),
        )
    chosen = next((r for r in routes if r.matches(company_id, divisions)), None)
    return Routing(chosen.qbo_conn_id if chosen else default_conn_id)
