"""atqbo is an Airflow provider: its connection types and fields appear in the UI."""

from __future__ import annotations

import json
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema

from atqbo import get_provider_info


def test_provider_info_is_valid_against_airflows_schema():
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_entry_point_is_installed():
    eps = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value == "atqbo:get_provider_info"]
    assert eps, "pip install -e . registers the apache_airflow_provider entry point"
    assert eps[0].load()()["package-name"] == "atqbo"


def test_connection_types_point_at_real_hooks():
    for conn in get_provider_info()["connection-types"]:
        module, _, cls_name = conn["hook-class-name"].rpartition(".")
        hook_cls = getattr(import_module(module), cls_name)
        assert hook_cls.conn_type == conn["connection-type"]
        assert conn["conn-fields"], "custom fields shown in the connection form"


def test_providers_manager_registers_the_connection_types():
    from airflow.providers_manager import ProvidersManager

    pm = ProvidersManager()
    assert "atqbo" in pm.providers
    hooks = pm.hooks
    assert hooks["autotask"].hook_class_name == "atqbo.hooks.autotask.AutotaskHook"
    assert hooks["quickbooks_online"].hook_class_name == "atqbo.hooks.qbo.QuickBooksOnlineHook"
    widgets = pm.connection_form_widgets
    assert "extra__autotask__integration_code" in widgets
    assert widgets["extra__quickbooks_online__refresh_token"].is_sensitive
