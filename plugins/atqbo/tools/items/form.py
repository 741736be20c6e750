"""The match field (which billing code field names the QBO item) and the trigger form both item
tools share: the vendor's "Match Item Using" and the report's extra recipients. Imported when the
DAG files are parsed, so it imports nothing heavy."""

from __future__ import annotations

from typing import Any

from atqbo.exceptions import AtqboConfigError
from atqbo.forms import choice, emails

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
