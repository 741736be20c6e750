"""The tools' trigger-form fields: the Param schema the UI validates with, and the first task's own
check, which names every bad field (ids are integers, dates are YYYY-MM-DD, emails are emails)."""

from __future__ import annotations

from datetime import date

import pytest

from atqbo import forms
from atqbo.exceptions import AtqboConfigError
from atqbo.forms import FormError, form_params, read_form

FIELDS = (
    forms.autotask_id("autotask_invoice_id", "The Autotask invoice's id"),
    forms.flag("overwrite", "Copy even if transferred"),
    forms.emails("email", "Extra recipients"),
    forms.optional_date("paid_date", "Paid on (empty: today)"),
    forms.whole_number("max_age_days", "Oldest invoice, in days", None, 0, 3650),
    forms.choice("match_field", "Match items by", ("settings", "name", "external_number"), "settings"),
    forms.autotask_ids("autotask_ids", "Records to retry"),
)


def test_good_input_comes_back_clean_with_defaults_filled_in():
    values = read_form(
        {
            "autotask_invoice_id": 29683650,
            "email": [" ap@msp.example ", "AP@msp.example", "cfo@msp.example"],
            "paid_date": "2026-11-20",
            "autotask_ids": "12, 7 12",
        },
        FIELDS,
    )
    assert values == {
        "autotask_invoice_id": 29683650,
        "overwrite": False,
        "email": ["ap@msp.example", "cfo@msp.example"],
        "paid_date": date(2026, 11, 20),
        "max_age_days": None,
        "match_field": "settings",
        "autotask_ids": [7, 12],
    }


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, "autotask_invoice_id: required"),
        ({"autotask_invoice_id": "12a"}, "autotask_invoice_id: '12a' is not a whole number"),
        ({"autotask_invoice_id": 0}, "autotask_invoice_id: 0 is less than 1"),
        ({"autotask_invoice_id": True}, "autotask_invoice_id: True is not a whole number"),
        ({"autotask_invoice_id": 1, "paid_date": "21/11/2026"}, "paid_date: '21/11/2026' is not a date in YYYY-MM-DD"),
        ({"autotask_invoice_id": 1, "paid_date": "2026-02-30"}, "paid_date: '2026-02-30' is not a real date"),
        ({"autotask_invoice_id": 1, "email": ["billing"]}, "email: 'billing' is not an email address"),
        ({"autotask_invoice_id": 1, "email": ["a@b"]}, "email: 'a@b' is not an email address"),
        ({"autotask_invoice_id": 1, "max_age_days": 4000}, "max_age_days: 4000 is more than 3650"),
        ({"autotask_invoice_id": 1, "match_field": "sku"}, "match_field: 'sku' is not one of"),
        ({"autotask_invoice_id": 1, "overwrite": "yes"}, "overwrite: 'yes' is not true or false"),
        ({"autotask_invoice_id": 1, "autotask_ids": [1, -3]}, "autotask_ids: -3 is less than 1"),
    ],
)
def test_bad_input_is_refused_naming_the_field(params, expected):
    with pytest.raises(FormError) as err:
        read_form(params, FIELDS)
    assert expected in str(err.value)
    assert "nothing was done" in str(err.value)
    assert isinstance(err.value, AtqboConfigError)  # not retried (atqbo.dags.NOT_RETRYABLE)


def test_every_bad_field_is_named_in_one_message():
    with pytest.raises(FormError) as err:
        read_form({"autotask_invoice_id": "x", "paid_date": "tomorrow", "email": ["nobody"]}, FIELDS)
    message = str(err.value)
    for name in ("autotask_invoice_id:", "paid_date:", "email:"):
        assert name in message


def test_the_params_carry_json_schemas_the_trigger_form_validates_with():
    from airflow.sdk import Param
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    params = form_params(FIELDS)
    assert all(isinstance(p, Param) for p in params.values())
    assert params["autotask_invoice_id"].schema == {"type": "integer", "minimum": 1}
    assert params["autotask_invoice_id"].description == "The Autotask invoice's id"
    assert params["email"].schema["items"]["format"] == "email"
    assert params["paid_date"].schema["format"] == "date"
    good = ParamsDict(params)
    good.update({"autotask_invoice_id": 5, "paid_date": "2026-11-20", "email": ["ap@msp.example"]})
    good.validate()
    for bad in (
        {"autotask_invoice_id": "five"},
        {"paid_date": "2026-02-30"},
        {"paid_date": "20.11.2026"},
        {"email": ["not-an-address"]},
        {"match_field": "sku"},
    ):
        trial = ParamsDict(form_params(FIELDS))
        with pytest.raises(ParamValidationError, match="Invalid input for param"):
            trial.update({"autotask_invoice_id": 5, **bad})  # assigning a value validates it
            trial.validate()


def test_a_syncs_form_is_its_look_back_dry_run_and_extra_recipients():
    """The sync DAGs' trigger form (atqbo_invoices and the others): empty values mean "the setting"."""
    fields = forms.sync_run_fields(forms.whole_number("invoice_lookback_days", "Override the look-back", None, 0, 3650))
    assert read_form({}, fields) == {"invoice_lookback_days": None, "dry_run": None, "report_to": []}
    assert read_form({"invoice_lookback_days": 45, "dry_run": True, "report_to": ["ap@msp.example"]}, fields) == {
        "invoice_lookback_days": 45,
        "dry_run": True,
        "report_to": ["ap@msp.example"],
    }
    with pytest.raises(FormError, match="dry_run: 'maybe' is not 'yes', 'no' or empty"):
        read_form({"dry_run": "maybe"}, fields)
    with pytest.raises(FormError, match="invoice_lookback_days: 4000 is more than 3650"):
        read_form({"invoice_lookback_days": 4000}, fields)


def test_bey10_dry_run_is_yes_no_or_the_setting_and_the_run_reads_true_false_or_none():
    """BEY-10: the form's three-way dry_run (a drop-down the form can set back to "Use the setting")
    comes to the run as True, False or None (None: the dry_run setting decides)."""
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    fields = forms.sync_run_fields(forms.whole_number("invoice_lookback_days", "Override the look-back", None, 0, 3650))
    assert read_form({"dry_run": "yes"}, fields)["dry_run"] is True
    assert read_form({"dry_run": "no"}, fields)["dry_run"] is False
    assert read_form({"dry_run": None}, fields)["dry_run"] is None
    assert read_form({}, fields)["dry_run"] is None
    assert read_form({"dry_run": True}, fields)["dry_run"] is True  # a run started from code with a bool
    schema = form_params(fields)["dry_run"].schema
    assert schema["type"] == ["null", "string"] and schema["enum"] == [None, "yes", "no"]
    assert schema["values_display"]["null"] == "Use the setting" and schema["title"] == "Dry run"
    for value in (None, "yes", "no"):  # what the trigger accepts: the three choices
        params = ParamsDict(form_params(fields))
        params.update({"dry_run": value})
        params.validate()
    with pytest.raises(ParamValidationError):
        ParamsDict(form_params(fields)).update({"dry_run": "maybe"})


def test_bey10_a_field_the_form_may_leave_empty_allows_null_and_takes_its_default():
    """BEY-10: optional fields carry no required mark in Airflow's form (their type allows null);
    left empty (null) they mean their default."""
    optional = [f for f in FIELDS if not f.required]
    assert optional and all(f.may_be_empty for f in optional)
    values = read_form({"autotask_invoice_id": 7, **{f.name: None for f in optional}}, FIELDS)
    assert {f.name: values[f.name] for f in optional} == {f.name: f.default for f in optional}
    assert not forms.autotask_id("x", "An id").may_be_empty
