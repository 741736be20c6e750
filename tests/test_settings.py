"""The atqbo_settings contract (docs/settings.md): keys, defaults, one clear error."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.settings import SPEC, Settings, load_settings

CONTRACT_KEYS = {
    "autotask_conn_id",
    "qbo_conn_id",
    "state_conn_id",
    "smtp_conn_id",
    "report_to",
    "qbo_edition",
    "autotask_budget_share",
    "earliest_sync_date",
    "dry_run",
    "invoice_sync_enabled",
    "invoice_lookback_days",
    "invoice_marker_field",
    "invoice_numbering",
    "item_match_field",
    "missing_item_action",
    "default_item_name",
    "new_item_income_account",
    "payment_terms_match",
    "default_class",
    "lob_class_map",
    "po_number_custom_field",
    "date_format",
    "empty_customer_message",
    "suppress_rounding_warnings",
    "rounding_tolerance",
    "skip_zero_invoices",
    "blended_rate",
    "allow_credit_card",
    "credit_card_only_with_default_method",
    "allow_ach",
    "email_invoices",
    "ast_shipping_address",
    "void_sync_enabled",
    "void_lookback_days",
    "payment_sync_enabled",
    "payment_lookback_days",
    "po_lookback_days",
    "po_number_source",
    "po_missing_item_action",
    "po_new_item_expense_account",
    "po_ap_account",
    "todo_action_type",
    "todo_resource_id",
    "tax_mode",
    "sales_tax_code",
    "exempt_sales_tax_code",
    "purchase_tax_code",
    "tax_code_map",
    "qbo_routes",
}


def test_every_contract_key_is_implemented_with_its_default():
    assert set(SPEC) == CONTRACT_KEYS
    s = Settings.from_dict({})
    assert s.autotask_conn_id == "autotask_default" and s.qbo_conn_id == "qbo_default"
    assert s.state_conn_id == "atqbo_state" and s.smtp_conn_id == "smtp_default"
    assert s.report_to == [] and s.qbo_edition == "US" and s.autotask_budget_share == 0.5
    assert s.invoice_lookback_days == 14 and s.invoice_marker_field == "webServiceDate"
    assert s.rounding_tolerance == Decimal("0.01") and s.date_format == "MM/DD/YYYY"
    assert s.payment_lookback_days == 7 and s.po_ap_account == "Accounts Payable (A/P)"
    assert s.void_sync_enabled is False and s.payment_sync_enabled is False and s.invoice_sync_enabled is True
    assert s.qbo_routes == [] and s.routes == () and s.qbo_conn_ids == ("qbo_default",)


def test_defaults_are_not_shared_between_instances():
    a, b = Settings.from_dict({}), Settings.from_dict({})
    a.report_to.append("x@example.com")
    a.lob_class_map["A:B"] = "C"
    assert b.report_to == [] and b.lob_class_map == {}


def test_values_are_normalised():
    s = Settings.from_dict(
        {
            "earliest_sync_date": "2026-01-01",
            "rounding_tolerance": "0.02",
            "report_to": "billing@msp.example",
            "lob_class_map": {"Managed Services:Helpdesk": "Managed"},
            "autotask_budget_share": 1,
        }
    )
    assert s.earliest_sync_date == date(2026, 1, 1)
    assert s.rounding_tolerance == Decimal("0.02")
    assert s.report_to == ["billing@msp.example"]
    assert s.autotask_budget_share == 1.0
    assert json.loads(json.dumps(s.to_dict()))["earliest_sync_date"] == "2026-01-01"


def test_one_message_names_every_bad_key():
    with pytest.raises(AtqboConfigError) as err:
        Settings.from_dict(
            {
                "invoice_lookback_dayz": 3,
                "invoice_lookback_days": -1,
                "payment_lookback_days": 31,
                "qbo_edition": "UK",
                "dry_run": "yes",
                "autotask_budget_share": 0.01,
                "report_to": ["not-an-email"],
                "earliest_sync_date": "01/02/2026",
                "lob_class_map": {str(i): "C" for i in range(11)},
                "todo_action_type": True,
                "rounding_tolerance": "-1",
            }
        )
    message = str(err.value)
    for key in (
        "invoice_lookback_dayz: unknown setting",
        "invoice_lookback_days: got -1, expected a whole number from 0 to 3650",
        "payment_lookback_days: got 31, expected a whole number from 0 to 30",
        "qbo_edition: got \"UK\", expected one of 'US', 'non-US'",
        'dry_run: got "yes", expected true or false',
        "autotask_budget_share: got 0.01",
        "report_to:",
        'earliest_sync_date: got "01/02/2026", expected a date as YYYY-MM-DD',
        "lob_class_map:",
        "todo_action_type: got true",
        "rounding_tolerance:",
    ):
        assert key in message
    assert "11 problem(s)" in message and "Admin > Variables" in message


def test_cross_key_rules():
    with pytest.raises(AtqboConfigError, match="default_item_name: required"):
        Settings.from_dict({"missing_item_action": "default_item"})
    with pytest.raises(AtqboConfigError, match="needs allow_credit_card"):
        Settings.from_dict({"credit_card_only_with_default_method": True})
    assert Settings.from_dict({"missing_item_action": "default_item", "default_item_name": "Misc"}).default_item_name
    with pytest.raises(AtqboConfigError, match='needs invoice_numbering "qbo"'):
        Settings.from_dict({"invoice_marker_field": "invoiceNumber", "invoice_numbering": "autotask_number"})
    assert Settings.from_dict({"invoice_marker_field": "invoiceNumber"}).invoice_numbering == "qbo"


def test_po_settings_required_only_when_pos_sync():
    with pytest.raises(AtqboConfigError, match="todo_action_type and todo_resource_id"):
        Settings.from_dict({}).require_purchase_order_settings()
    Settings.from_dict({"todo_action_type": 4, "todo_resource_id": 29682885}).require_purchase_order_settings()


def test_overrides_are_validated_and_none_means_not_given():
    base = Settings.from_dict({"invoice_lookback_days": 30})
    assert base.with_overrides({"invoice_lookback_days": None, "dry_run": True}).invoice_lookback_days == 30
    assert base.with_overrides({"dry_run": True}).dry_run is True
    with pytest.raises(AtqboConfigError, match="invoice_lookback_days"):
        base.with_overrides({"invoice_lookback_days": "many"})


def test_load_settings_from_the_variable(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_ATQBO_SETTINGS", raising=False)
    assert load_settings().invoice_lookback_days == 14  # missing Variable = all defaults
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", json.dumps({"invoice_lookback_days": 21}))
    assert load_settings({"dry_run": True}).invoice_lookback_days == 21
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", "{not json")
    with pytest.raises(AtqboConfigError, match="not valid JSON"):
        load_settings()
    monkeypatch.setenv("AIRFLOW_VAR_ATQBO_SETTINGS", "[1, 2]")
    with pytest.raises(AtqboConfigError, match="must be a JSON object"):
        load_settings()
