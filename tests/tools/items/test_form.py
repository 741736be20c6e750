"""The trigger form both item tools share: the match field and the extra recipients."""

from __future__ import annotations

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.forms import FormError, read_form
from atqbo.tools.items.form import FIELDS, match_field_overrides

# -- the trigger form ------------------------------------------------------------------------------


def test_tool01_form_match_field_settings_keeps_the_setting_and_others_override_it():
    assert match_field_overrides("settings") == {}
    for field in ("name", "external_number", "external_number_or_name"):
        assert match_field_overrides(field) == {"item_match_field": field}
    with pytest.raises(AtqboConfigError, match="match_field: 'sku'"):
        match_field_overrides("sku")


def test_tool01_form_rejects_an_unknown_match_field_and_a_bad_email_naming_both():
    assert read_form({}, FIELDS) == {"match_field": "settings", "email": []}
    assert read_form({"match_field": "name", "email": " a@msp.example ; b@msp.example"}, FIELDS) == {
        "match_field": "name",
        "email": ["a@msp.example", "b@msp.example"],
    }
    with pytest.raises(FormError) as caught:
        read_form({"match_field": "sku", "email": ["not-an-address"]}, FIELDS)
    assert "match_field: 'sku' is not one of 'settings', 'name'" in str(caught.value)
    assert "email: 'not-an-address' is not an email address" in str(caught.value)
