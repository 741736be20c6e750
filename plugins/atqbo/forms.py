"""Trigger forms of the operator tools: each field declared once, as an Airflow ``Param`` (the UI
builds the form from its JSON schema and refuses bad input there) and as a check the tool's first
task runs again (a run triggered through the REST API or the CLI with a hand-written conf, or a
value the schema cannot judge, such as 30 February), so bad input never reaches an API.

A DAG declares its fields, each with the label the form shows (``title``) and a description::

    FIELDS = (
        autotask_id("autotask_invoice_id", "The Autotask invoice's id.", title="Autotask invoice id"),
        emails("email", "...", title="Also email the report to"),
    )

    @dag(..., params=form_params(FIELDS))
    ...
    values = read_form(params, FIELDS)  # in the first task: clean values, or AtqboConfigError naming the field

How Airflow 3.3's trigger form reads a field's schema (airflow-core/src/airflow/ui, FlexibleForm):
the label is ``title`` (else the key); a field is marked required (the asterisk, and an empty value
refused before the run starts) unless its ``type`` is a list holding ``"null"``; a boolean is a
switch, on or off, that cannot be emptied again; a ``string`` with an ``enum`` is a drop-down whose
items are labelled by ``values_display`` (``"null"`` labels the ``null`` item) and which can be
cleared back to ``null``. So every field a person may leave empty allows ``null`` here (BEY-10), and a
"yes / no / the setting decides" choice (``setting_flag``) is such a drop-down, not a switch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from atqbo.exceptions import AtqboConfigError

# Something@domain.tld without spaces: what a report can be mailed to. (JSON schema's "email"
# format alone only asks for an "@".)
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_EMAIL = re.compile(EMAIL_PATTERN)
_DATE = re.compile(DATE_PATTERN)


class FormError(AtqboConfigError):
    """A trigger-form field holds a value the tool cannot use; the message names the field."""


@dataclass(frozen=True)
class Field:
    name: str
    description: str
    schema: Mapping[str, Any]
    clean: Callable[[str, Any], Any]
    default: Any = None
    required: bool = False
    title: str = ""  # the label the trigger form shows instead of the key

    def param(self) -> Any:
        from airflow.sdk import Param

        schema = {**self.schema, **({"title": self.title} if self.title else {})}
        if self.required and self.default is None:  # nothing preset: the form asks for it
            return Param(description=self.description, **schema)
        return Param(self.default, description=self.description, **schema)

    @property
    def may_be_empty(self) -> bool:
        """The form may leave it empty (its schema allows null): every field but the required ones."""
        kinds = self.schema.get("type")
        return isinstance(kinds, list) and "null" in kinds


def form_params(fields: Iterable[Field]) -> dict[str, Any]:
    """The ``params`` of a tool DAG: one ``Param`` per field, in order."""
    return {f.name: f.param() for f in fields}


def sync_run_fields(lookback: Field) -> tuple[Field, ...]:
    """A sync's trigger form: its look-back override, dry run and extra report recipients."""
    return (
        lookback,
        setting_flag(
            "dry_run",
            "Plan only: read everything, write nothing, report the plan. 'Use the setting' follows dry_run in "
            "the atqbo_settings Variable.",
            title="Dry run",
            yes="Yes: plan only, write nothing",
            no="No: send for real",
        ),
        emails(
            "report_to",
            "More email addresses for this run's report (added to report_to), one per line. Optional.",
            title="Also email the report to",
        ),
    )


def read_form(params: Mapping[str, Any] | None, fields: Iterable[Field]) -> dict[str, Any]:
    """Every field's clean value; one ``FormError`` naming every bad field and what it takes.

    A key the form does not have (a hand-written conf, a typo such as ``dry_rn``) is refused too,
    as the ``atqbo_settings`` Variable refuses one: ignored, it would do silently what was not asked.
    """
    params = params or {}
    fields = tuple(fields)
    values: dict[str, Any] = {}
    problems: list[str] = [_unknown_field(key, fields) for key in sorted(set(params) - {f.name for f in fields})]
    for f in fields:
        raw = params.get(f.name, f.default)
        if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
            if f.required:
                problems.append(f"{f.name}: required ({f.description})")
                continue
            raw = f.default
        try:
            values[f.name] = None if raw is None else f.clean(f.name, raw)
        except FormError as exc:
            problems.append(str(exc))
    if problems:
        raise FormError(
            "the trigger form has bad input, so nothing was done: "
            + "; ".join(problems)
            + ". Fix: trigger the DAG again with the field corrected"
        )
    return values


def _unknown_field(key: str, fields: tuple[Field, ...]) -> str:
    """The problem of a key the form does not have, with the field it was probably meant to be."""
    import difflib

    names = [f.name for f in fields]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    known = ", ".join(names) or "none"
    return f"{key}: not a field of this form ({hint}its fields: {known})"


# -- field kinds ----------------------------------------------------------------------------------


def autotask_id(name: str, description: str, *, title: str = "") -> Field:
    """A required Autotask record id (a positive integer)."""
    return Field(name, description, {"type": "integer", "minimum": 1}, _clean_id, required=True, title=title)


def autotask_ids(name: str, description: str, *, title: str = "") -> Field:
    """A list of Autotask record ids (empty: all)."""
    schema = {"type": ["null", "array"], "items": {"type": "integer", "minimum": 1}}
    return Field(name, description, schema, _clean_ids, default=[], title=title)


def emails(name: str, description: str, *, title: str = "") -> Field:
    """Email addresses (empty: none). The form shows one address per line."""
    schema = {"type": ["null", "array"], "items": {"type": "string", "format": "email", "pattern": EMAIL_PATTERN}}
    return Field(name, description, schema, _clean_emails, default=[], title=title)


def optional_date(name: str, description: str, *, title: str = "") -> Field:
    """A date as YYYY-MM-DD, or empty."""
    schema = {"type": ["null", "string"], "format": "date", "pattern": DATE_PATTERN}
    return Field(name, description, schema, _clean_date, title=title)


def whole_number(
    name: str, description: str, default: int | None, minimum: int, maximum: int, *, title: str = ""
) -> Field:
    """An integer in [minimum, maximum]; empty means the default (None: "use the setting")."""
    schema = {"type": ["null", "integer"], "minimum": minimum, "maximum": maximum}

    def clean(field: str, value: Any) -> int:
        number = _clean_id(field, value, minimum=minimum)
        if number > maximum:
            raise FormError(f"{field}: {value!r} is more than {maximum}")
        return number

    return Field(name, description, schema, clean, default=default, title=title)


def choice(
    name: str,
    description: str,
    options: Iterable[str],
    default: str,
    *,
    title: str = "",
    labels: Mapping[str, str] | None = None,
) -> Field:
    """One of ``options`` (a drop-down; ``labels``: what the form shows for each). It always holds
    one (``default`` until changed), so the form marks it required: an emptied drop-down is refused
    at the trigger rather than run with a value nobody chose."""
    options = tuple(options)

    def clean(field: str, value: Any) -> str:
        if value not in options:
            raise FormError(f"{field}: {value!r} is not one of {', '.join(repr(o) for o in options)}")
        return value

    schema: dict[str, Any] = {"type": "string", "enum": list(options)}
    if labels:
        schema["values_display"] = {o: labels.get(o, o) for o in options}
    return Field(name, description, schema, clean, default=default, required=True, title=title)


def flag(name: str, description: str, default: bool = False, *, title: str = "") -> Field:
    """On or off (a switch; empty: ``default``)."""

    def clean(field: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise FormError(f"{field}: {value!r} is not true or false")
        return value

    return Field(name, description, {"type": ["null", "boolean"]}, clean, default=default, title=title)


# The values of a ``setting_flag`` (null: the setting decides).
YES, NO = "yes", "no"
USE_THE_SETTING = "Use the setting"


def setting_flag(name: str, description: str, *, title: str = "", yes: str = "Yes", no: str = "No") -> Field:
    """Yes, no, or empty = the setting of the same name decides; read as True, False or None.

    A drop-down of three (``null`` "Use the setting", ``"yes"``, ``"no"``), not a boolean: Airflow's
    form shows a boolean as a switch, which once touched cannot go back to "the setting". A
    hand-written conf may give true or false as well (read the same as yes and no), where the
    trigger accepts them."""

    def clean(field: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in (YES, NO):
            return value.strip().lower() == YES
        raise FormError(f"{field}: {value!r} is not {YES!r}, {NO!r} or empty (use the setting)")

    schema = {
        "type": ["null", "string"],
        "enum": [None, YES, NO],
        "values_display": {"null": USE_THE_SETTING, YES: yes, NO: no},
    }
    return Field(name, description, schema, clean, title=title)


def text(name: str, description: str, max_length: int, *, title: str = "") -> Field:
    """A required short text (say an invoice number), surrounding blanks removed."""

    def clean(field: str, value: Any) -> str:
        return _clean_text(field, value, max_length)

    schema = {"type": "string", "minLength": 1, "maxLength": max_length}
    return Field(name, description, schema, clean, required=True, title=title)


def optional_text(name: str, description: str, max_length: int, *, title: str = "") -> Field:
    """A short text the form may leave empty (None), surrounding blanks removed."""

    def clean(field: str, value: Any) -> str | None:
        return None if value is None else _clean_text(field, value, max_length) or None

    schema = {"type": ["null", "string"], "maxLength": max_length}
    return Field(name, description, schema, clean, title=title)


# -- checks -----------------------------------------------------------------------------------------


def _clean_text(field: str, value: Any, max_length: int) -> str:
    if not isinstance(value, str):
        raise FormError(f"{field}: {value!r} is not text")
    value = value.strip()
    if len(value) > max_length:
        raise FormError(f"{field}: longer than {max_length} characters")
    return value


def _clean_id(field: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FormError(f"{field}: {value!r} is not a whole number")
    if isinstance(value, str):
        if not re.fullmatch(r"\s*\d+\s*", value):
            raise FormError(f"{field}: {value!r} is not a whole number")
        value = int(value)
    if value < minimum:
        raise FormError(f"{field}: {value} is less than {minimum}")
    return value


def _clean_ids(field: str, value: Any) -> list[int]:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        value = [v for v in re.split(r"[\s,]+", str(value)) if v]
    if not isinstance(value, list):
        raise FormError(f"{field}: {value!r} is not a list of ids")
    return sorted({_clean_id(field, v) for v in value})


def _clean_emails(field: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,;]+", value) if v]
    if not isinstance(value, list):
        raise FormError(f"{field}: {value!r} is not a list of email addresses")
    out = []
    for address in value:
        if not isinstance(address, str) or not _EMAIL.match(address.strip()):
            raise FormError(f"{field}: {address!r} is not an email address (name@example.com)")
        if address.strip().lower() not in {a.lower() for a in out}:
            out.append(address.strip())
    return out


def _clean_date(field: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        raise FormError(f"{field}: {value!r} is not a date in YYYY-MM-DD form (e.g. {date.today().isoformat()})")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FormError(f"{field}: {value!r} is not a real date (YYYY-MM-DD)") from None
