"""The ``atqbo_settings`` contract: every key, its type, its default, and their validation.

The vendor apps had a Settings page; atqbo has one JSON Airflow Variable. This module is the only
place a setting's default lives. ``load_settings()`` reads the Variable (missing = all defaults),
applies per-run overrides from a DAG's trigger form, and rejects anything wrong with one message
naming every bad key and what it allows, before any API call is made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from atqbo.exceptions import AtqboConfigError
from atqbo.routes import Route, check_routes, route_problems

VARIABLE_NAME = "atqbo_settings"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# A checker returns (normalised value, None) or (None, "what is allowed").
Checker = Callable[[Any], "tuple[Any, str | None]"]


def _str(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and value.strip():
        return value, None
    return None, "a non-empty string"


def _opt_str(value: Any) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        return (value or None), None
    return None, "a string or null"


def _bool(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return value, None
    return None, "true or false"


def _int_range(low: int, high: int) -> Checker:
    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value, None
        return None, f"a whole number from {low} to {high}"

    return check


def _opt_int(value: Any) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if isinstance(value, int) and not isinstance(value, bool):
        return value, None
    return None, "a whole number or null"


def _float_range(low: float, high: float) -> Checker:
    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high:
            return float(value), None
        return None, f"a number from {low} to {high}"

    return check


def _decimal(value: Any) -> tuple[Any, str | None]:
    allowed = "a non-negative amount such as 0.01 (a number or a string)"
    if isinstance(value, bool):
        return None, allowed
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None, allowed
    if not amount.is_finite() or amount < 0:
        return None, allowed
    return amount, None


def _choice(*options: str) -> Checker:
    def check(value: Any) -> tuple[Any, str | None]:
        if value in options:
            return value, None
        return None, "one of " + ", ".join(repr(o) for o in options)

    return check


def _opt_date(value: Any) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value), None
        except ValueError:
            pass
    return None, "a date as YYYY-MM-DD, or null"


def _emails(value: Any) -> tuple[Any, str | None]:
    allowed = "a list of email addresses"
    if isinstance(value, str):  # a single address is a common slip; accept it as a list of one
        value = [value]
    if not isinstance(value, list):
        return None, allowed
    bad = [v for v in value if not isinstance(v, str) or not _EMAIL.match(v)]
    if bad:
        return None, f"{allowed} (not an address: {', '.join(map(repr, bad))})"
    return list(value), None


def _name_map(value: Any) -> tuple[Any, str | None]:
    allowed = "an object of Autotask tax category name -> QBO tax code name pairs (non-empty strings)"
    if not isinstance(value, dict):
        return None, allowed
    for key, code in value.items():
        if not isinstance(key, str) or not key.strip() or not isinstance(code, str) or not code.strip():
            return None, f"{allowed} (bad pair {key!r}: {code!r})"
    return dict(value), None


def _lob_map(value: Any) -> tuple[Any, str | None]:
    allowed = 'an object of at most 10 "Division:Line of business" -> QBO class name pairs'
    if not isinstance(value, dict) or len(value) > 10:
        return None, allowed
    for key, cls in value.items():
        if not isinstance(key, str) or ":" not in key or not isinstance(cls, str) or not cls.strip():
            return None, f"{allowed} (bad pair {key!r}: {cls!r})"
    return dict(value), None


# key -> (default, checker). The contract documented in docs/settings.md: names never change.
SPEC: dict[str, tuple[Any, Checker]] = {
    # general
    "autotask_conn_id": ("autotask_default", _str),
    "qbo_conn_id": ("qbo_default", _str),
    "state_conn_id": ("atqbo_state", _str),
    "smtp_conn_id": ("smtp_default", _str),
    "report_to": ([], _emails),
    "qbo_edition": ("US", _choice("US", "non-US")),
    "autotask_budget_share": (0.5, _float_range(0.05, 1.0)),
    "earliest_sync_date": (None, _opt_date),
    "dry_run": (False, _bool),
    # invoices
    "invoice_sync_enabled": (True, _bool),
    "invoice_lookback_days": (14, _int_range(0, 3650)),
    "invoice_marker_field": ("webServiceDate", _choice("webServiceDate", "invoiceNumber")),
    "invoice_numbering": ("qbo", _choice("qbo", "autotask_number", "autotask_id")),
    "item_match_field": ("name", _choice("name", "external_number", "external_number_or_name")),
    "missing_item_action": ("create", _choice("create", "default_item", "error")),
    "default_item_name": (None, _opt_str),
    "new_item_income_account": ("Services", _str),
    "payment_terms_match": ("name", _choice("name")),
    "default_class": (None, _opt_str),
    "lob_class_map": ({}, _lob_map),
    "po_number_custom_field": (None, _opt_str),
    "date_format": ("MM/DD/YYYY", _choice("MM/DD/YYYY", "DD/MM/YYYY", "YYYY-MM-DD")),
    "empty_customer_message": (False, _bool),
    "suppress_rounding_warnings": (False, _bool),
    "rounding_tolerance": (Decimal("0.01"), _decimal),
    "skip_zero_invoices": (False, _bool),
    "blended_rate": (False, _bool),
    "allow_credit_card": (False, _bool),
    "credit_card_only_with_default_method": (False, _bool),
    "allow_ach": (False, _bool),
    "email_invoices": (False, _bool),
    "ast_shipping_address": ("company", _choice("company", "bill_to")),
    # tax and currency (real tenants: TAX-01..05, CUR-01..03)
    "tax_mode": ("qbo", _choice("qbo", "autotask")),
    "sales_tax_code": (None, _opt_str),
    "exempt_sales_tax_code": (None, _opt_str),
    "purchase_tax_code": (None, _opt_str),
    "tax_code_map": ({}, _name_map),
    # voids and payments
    "void_sync_enabled": (False, _bool),
    "void_lookback_days": (14, _int_range(0, 3650)),
    "payment_sync_enabled": (False, _bool),
    "payment_lookback_days": (7, _int_range(0, 30)),
    # purchase orders
    "po_lookback_days": (14, _int_range(0, 3650)),
    "po_number_source": ("qbo", _choice("qbo", "autotask")),
    "po_missing_item_action": ("create", _choice("create", "error")),
    "po_new_item_expense_account": ("Cost of Goods Sold", _str),
    "po_ap_account": ("Accounts Payable (A/P)", _str),
    "todo_action_type": (None, _opt_int),
    "todo_resource_id": (None, _opt_int),
    # several QBO companies (BEY-07)
    "qbo_routes": ([], check_routes),
}


@dataclass(frozen=True)
class Settings:
    """Validated settings. Attribute names are the Variable's keys."""

    autotask_conn_id: str
    qbo_conn_id: str
    state_conn_id: str
    smtp_conn_id: str
    report_to: list[str]
    qbo_edition: str
    autotask_budget_share: float
    earliest_sync_date: date | None
    dry_run: bool
    invoice_sync_enabled: bool
    invoice_lookback_days: int
    invoice_marker_field: str
    invoice_numbering: str
    item_match_field: str
    missing_item_action: str
    default_item_name: str | None
    new_item_income_account: str
    payment_terms_match: str
    default_class: str | None
    lob_class_map: dict[str, str]
    po_number_custom_field: str | None
    date_format: str
    empty_customer_message: bool
    suppress_rounding_warnings: bool
    rounding_tolerance: Decimal
    skip_zero_invoices: bool
    blended_rate: bool
    allow_credit_card: bool
    credit_card_only_with_default_method: bool
    allow_ach: bool
    email_invoices: bool
    ast_shipping_address: str
    tax_mode: str
    sales_tax_code: str | None
    exempt_sales_tax_code: str | None
    purchase_tax_code: str | None
    tax_code_map: dict[str, str]
    void_sync_enabled: bool
    void_lookback_days: int
    payment_sync_enabled: bool
    payment_lookback_days: int
    po_lookback_days: int
    po_number_source: str
    po_missing_item_action: str
    po_new_item_expense_account: str
    po_ap_account: str
    todo_action_type: int | None
    todo_resource_id: int | None
    qbo_routes: list[dict[str, Any]]

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> Settings:
        """Validate ``doc`` (missing keys take their defaults); raise one error naming every bad key."""
        doc = dict(doc or {})
        problems: list[str] = []
        unknown = sorted(set(doc) - set(SPEC))
        for key in unknown:
            problems.append(f"{key}: unknown setting (known settings: see the atqbo README, 'Settings')")
        values: dict[str, Any] = {}
        for key, (default, check) in SPEC.items():
            if key not in doc:
                values[key] = default() if callable(default) else _copy(default)
                continue
            value, allowed = check(doc[key])
            if allowed is not None:
                problems.append(f"{key}: got {json.dumps(doc[key], default=str)}, expected {allowed}")
            values[key] = value
        if not problems:
            problems.extend(_cross_key_problems(values))
        if problems:
            raise AtqboConfigError(
                f"the {VARIABLE_NAME} Variable has {len(problems)} problem(s); fix them in Admin > Variables:\n  - "
                + "\n  - ".join(problems)
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as YYYY-MM-DD, amounts as strings), e.g. for a report."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            out[f.name] = value
        return out

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Settings:
        """These settings with per-run overrides (e.g. from a trigger form) applied and re-validated.

        ``None`` values in ``overrides`` mean "not given" and are ignored.
        """
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        if not given:
            return self
        return Settings.from_dict({**self.to_dict(), **given})

    @property
    def routes(self) -> tuple[Route, ...]:
        """``qbo_routes`` (BEY-07), in order: the first matching route wins."""
        return tuple(Route.from_doc(r) for r in self.qbo_routes)

    @property
    def qbo_conn_ids(self) -> tuple[str, ...]:
        """Every QBO company of this database: the default connection, then each route's."""
        return (self.qbo_conn_id, *(r["qbo_conn_id"] for r in self.qbo_routes))

    def for_company(self, qbo_conn_id: str) -> Settings:
        """The settings one QBO company's documents are made with: these, with its route's own
        ``settings`` applied, ``qbo_conn_id`` its connection and no routes (BEY-07)."""
        return Settings.from_dict(company_settings(self.to_dict(), qbo_conn_id))

    @property
    def non_us(self) -> bool:
        """The QBO company is not a US one: every line carries a tax code of its own (TAX-01..03)."""
        return self.qbo_edition == "non-US"

    def require_purchase_order_settings(self) -> None:
        """PO-08: to-dos need an action type and a resource, and (TAX-03) a non-US company's bills a
        purchase tax code; say so before syncing any PO."""
        missing = [k for k in ("todo_action_type", "todo_resource_id") if getattr(self, k) is None]
        for conn_id in self.qbo_conn_ids:  # BEY-07: each QBO company its own
            company = self if not self.qbo_routes else self.for_company(conn_id)
            if company.non_us and not company.purchase_tax_code:
                missing.append("purchase_tax_code" + (f" (of QBO company {conn_id})" if self.qbo_routes else ""))
        if missing:
            raise AtqboConfigError(
                f"the purchase order sync needs {' and '.join(missing)} in the {VARIABLE_NAME} Variable "
                "(the Autotask action type and resource id for error to-dos; for a non-US QBO company, the "
                "QBO tax code every bill line carries); set them, or set po_lookback_days to 0 to pause the PO sync"
            )


def company_settings(doc: dict[str, Any], qbo_conn_id: str) -> dict[str, Any]:
    """``doc`` (settings as a dict) as one QBO company's: its route's settings applied, no routes."""
    if qbo_conn_id == doc.get("qbo_conn_id"):
        return {**doc, "qbo_routes": []}
    route = next((r for r in doc.get("qbo_routes") or () if r["qbo_conn_id"] == qbo_conn_id), None)
    if route is None:
        raise AtqboConfigError(
            f"{qbo_conn_id!r} is not one of the QBO companies in {VARIABLE_NAME} (qbo_conn_id and qbo_routes name "
            f"{', '.join([doc.get('qbo_conn_id') or '?', *(r['qbo_conn_id'] for r in doc.get('qbo_routes') or ())])})"
        )
    return {**doc, **route.get("settings", {}), "qbo_conn_id": qbo_conn_id, "qbo_routes": []}


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


def _cross_key_problems(values: dict[str, Any]) -> list[str]:
    problems = []
    if values["missing_item_action"] == "default_item" and not values["default_item_name"]:
        problems.append('default_item_name: required when missing_item_action is "default_item"')
    if values["invoice_marker_field"] == "invoiceNumber" and values["invoice_numbering"] != "qbo":
        # "unsynced" would mean "invoiceNumber blank", which an Autotask-numbered invoice never is
        problems.append(
            'invoice_marker_field: "invoiceNumber" needs invoice_numbering "qbo" (Autotask-numbered invoices '
            'always have a number, so none would look unsynced); use "webServiceDate"'
        )
    if values["credit_card_only_with_default_method"] and not values["allow_credit_card"]:
        problems.append("credit_card_only_with_default_method: needs allow_credit_card to be true as well")
    if values["qbo_edition"] == "non-US" and values["invoice_sync_enabled"] and not values["sales_tax_code"]:
        problems.append(
            'sales_tax_code: required when qbo_edition is "non-US" (every invoice line needs a QBO tax code: '
            'the name of the one for taxable sales, e.g. "20.0% S", "HST ON", "GST")'
        )
    problems.extend(route_problems(values["qbo_routes"], values["qbo_conn_id"]))
    for route in values["qbo_routes"] if not problems else ():
        problems.extend(_route_settings_problems(values, route))
    return problems


def _route_settings_problems(values: dict[str, Any], route: dict[str, Any]) -> list[str]:
    """A route's settings checked as its company's whole settings (the keys' own rules and the
    cross-key ones, e.g. a non-US route needs its sales_tax_code)."""
    merged = {**values, "qbo_routes": []}
    problems: list[str] = []
    for key, raw in route["settings"].items():
        value, allowed = SPEC[key][1](raw)
        if allowed is not None:
            problems.append(f"{key}: got {json.dumps(raw, default=str)}, expected {allowed}")
        merged[key] = value
    if not problems:
        problems = _cross_key_problems(merged)
    where = f"qbo_routes ({route['qbo_conn_id']}), settings."
    return [where + problem for problem in problems]


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read and validate the ``atqbo_settings`` Variable (missing = all defaults), plus overrides."""
    from airflow.sdk import Variable

    return parse_settings(Variable.get(VARIABLE_NAME, default=None)).with_overrides(overrides)


def parse_settings(raw: Any) -> Settings:
    """The Variable's value (JSON text, an already-decoded object, or None/blank = all defaults) as Settings."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        doc: Any = {}
    elif isinstance(raw, str):
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise AtqboConfigError(
                f"the {VARIABLE_NAME} Variable is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                "fix it in Admin > Variables"
            ) from None
    else:
        doc = raw
    if not isinstance(doc, dict):
        raise AtqboConfigError(
            f"the {VARIABLE_NAME} Variable must be a JSON object of settings, not {type(doc).__name__}"
        )
    return Settings.from_dict(doc)
