"""The match field (which billing code field names the QBO item) and the trigger form both item
tools share: the vendor's "Match Item Using" and the report's extra recipients. Imported when the
DAG files are parsed, so it imports nothing heavy.

With several QBO companies (BEY-07: ``qbo_routes``) the form has one more field, ``qbo_company``: a
drop-down of the configured connection ids, or all of them. The DAG file learns them when it is
parsed (``configured_qbo_conn_ids``: the one read of the ``atqbo_settings`` Variable a DAG file
makes, docs/airflow.md 1.8); with one company, or when the Variable cannot be read, the form is
exactly the one-company form. The first task checks the choice again against the settings of the run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from atqbo.exceptions import AtqboConfigError
from atqbo.forms import Field, choice, emails

log = logging.getLogger(__name__)

MATCH_FIELDS: tuple[str, ...] = ("name", "external_number", "external_number_or_name")  # item_match_field values
USE_SETTINGS = "settings"
MATCH_FIELD_LABELS: dict[str, str] = {
    "name": "the billing code name",
    "external_number": "the billing code External Number",
    "external_number_or_name": "the billing code External Number, or its name when that is blank",
}

FIELDS = (
    choice(
        "match_field",
        "Match items using: 'settings' (item_match_field in atqbo_settings), 'name' (billing code name), "
        "'external_number' (billing code External Number) or 'external_number_or_name' (External Number, "
        "or the name when it is blank).",
        (USE_SETTINGS, *MATCH_FIELDS),
        USE_SETTINGS,
        title="Match items using",
        labels={
            USE_SETTINGS: "Use the setting (item_match_field)",
            "name": "Billing code name",
            "external_number": "Billing code External Number",
            "external_number_or_name": "External Number, else the name",
        },
    ),
    emails(
        "email",
        "Extra report recipients for this run (added to report_to), one address per line. Optional.",
        title="Also email the report to",
    ),
)


def match_field_overrides(match_field: str) -> dict[str, Any]:
    """The settings overrides of the form's ``match_field``: none for "settings"."""
    if match_field == USE_SETTINGS:
        return {}
    if match_field not in MATCH_FIELDS:
        raise AtqboConfigError(
            f"match_field: {match_field!r} is not one of {', '.join(repr(m) for m in (USE_SETTINGS, *MATCH_FIELDS))}"
        )
    return {"item_match_field": match_field}


ALL_COMPANIES = "all"  # the qbo_company choice "every QBO company"
SETTINGS_VARIABLE = "atqbo_settings"  # atqbo.settings.VARIABLE_NAME (not imported: parse time stays light)


def company_field(conn_ids: Sequence[str], *, copy: bool) -> Field:
    """The drop-down of the QBO companies (BEY-07): "all" (the default), or one connection id."""
    what = (
        "Copy the missing items into: 'all' (every QBO company, each with its own new_item_income_account), "
        "or one QBO company (its Airflow connection id)."
        if copy
        else "Compare the billing codes with the items of: 'all' (every QBO company, each under its own settings), "
        "or one QBO company (its Airflow connection id)."
    )
    labels = {ALL_COMPANIES: "All QBO companies", conn_ids[0]: f"{conn_ids[0]} (the default company)"}
    return choice(
        "qbo_company",
        what,
        (ALL_COMPANIES, *conn_ids),
        ALL_COMPANIES,
        title="Copy into QBO company" if copy else "QBO company",
        labels=labels,
    )


def item_tool_fields(conn_ids: Sequence[str], *, copy: bool) -> tuple[Field, ...]:
    """The form of an item tool: ``FIELDS``, with the QBO company drop-down after the match field
    when there are several companies."""
    if len(conn_ids) < 2:
        return FIELDS
    return (FIELDS[0], company_field(conn_ids, copy=copy), *FIELDS[1:])


def configured_qbo_conn_ids() -> tuple[str, ...]:
    """The QBO connection ids ``atqbo_settings`` names (``qbo_conn_id``, then each route's), read when
    the DAG file is parsed; () when it cannot be read or names one company (the form stays the
    one-company form; the first task validates the settings for real)."""
    try:
        from airflow.sdk import Variable

        raw = Variable.get(SETTINGS_VARIABLE, default=None)
        doc = json.loads(raw) if isinstance(raw, str) and raw.strip() else raw
        if not isinstance(doc, dict) or not doc.get("qbo_routes"):
            return ()
        ids = [doc.get("qbo_conn_id") or "qbo_default"]
        ids += [r["qbo_conn_id"] for r in doc["qbo_routes"] if isinstance(r, dict) and r.get("qbo_conn_id")]
        if not all(isinstance(i, str) and i for i in ids) or len(set(ids)) != len(ids):
            return ()
        return tuple(ids)
    except Exception as exc:  # parse time: a form without the drop-down rather than no DAG
        log.debug("atqbo item tools: the QBO companies could not be read at parse time: %s", exc)
        return ()


def chosen_companies(qbo_company: str | None, conn_ids: Sequence[str]) -> tuple[str, ...]:
    """The companies a run works on: the chosen one, or every one (``all``, or no choice); a choice
    the settings of the run do not name (they changed since the form was built) is refused."""
    if not qbo_company or qbo_company == ALL_COMPANIES:
        return tuple(conn_ids)
    if qbo_company not in conn_ids:
        raise AtqboConfigError(
            f"qbo_company: {qbo_company!r} is not one of the QBO companies in {SETTINGS_VARIABLE} "
            f"({', '.join(conn_ids)}); nothing was done. Fix: trigger the tool again choosing one of them, or 'all'"
        )
    return (qbo_company,)
