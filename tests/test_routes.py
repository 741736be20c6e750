"""BEY-07: ``qbo_routes`` validated with the settings, and which QBO company a document goes to."""

from __future__ import annotations

import pytest

from atqbo.exceptions import AtqboConfigError
from atqbo.routes import Route, route_of
from atqbo.settings import Settings

AU = {
    "qbo_conn_id": "qbo_au",
    "divisions": ["Managed Services"],
    "settings": {"qbo_edition": "non-US", "sales_tax_code": "GST", "new_item_income_account": "Sales"},
}
HARDWARE = {"qbo_conn_id": "qbo_hw", "company_ids": [29683560]}


def problems(doc: dict) -> str:
    with pytest.raises(AtqboConfigError) as info:
        Settings.from_dict(doc)
    return str(info.value)


def test_bey07_routes_give_each_company_its_own_settings():
    s = Settings.from_dict({"qbo_routes": [AU, HARDWARE], "default_class": "Managed"})
    assert s.qbo_conn_ids == ("qbo_default", "qbo_au", "qbo_hw")
    au = s.for_company("qbo_au")
    assert (au.qbo_conn_id, au.qbo_edition, au.sales_tax_code, au.new_item_income_account) == (
        "qbo_au",
        "non-US",
        "GST",
        "Sales",
    )
    assert au.default_class == "Managed" and au.qbo_routes == []  # global settings carry over; no routes inside
    default = s.for_company("qbo_default")
    assert default.qbo_edition == "US" and default.qbo_routes == [] and default.new_item_income_account == "Services"
    assert "not one of the QBO companies" in str(pytest.raises(AtqboConfigError, s.for_company, "qbo_x").value)


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        ("qbo_au", "expected a list of routes"),
        ([{"divisions": ["X"]}], "needs qbo_conn_id"),
        ([{"qbo_conn_id": "qbo_x"}], "neither divisions nor company_ids"),
        ([{"qbo_conn_id": "qbo_x", "company_ids": ["12"]}], "company_ids must be a list of whole numbers"),
        ([{"qbo_conn_id": "qbo_x", "divisions": "A"}], "divisions must be a list"),
        ([{"qbo_conn_id": "qbo_x", "company_ids": [1], "color": 1}], "unknown keys 'color'"),
        (
            [{"qbo_conn_id": "qbo_x", "company_ids": [1], "settings": {"invoice_marker_field": "invoiceNumber"}}],
            "invoice_marker_field cannot be set per company",
        ),
        ([{"qbo_conn_id": "qbo_default", "company_ids": [1]}], "already the default qbo_conn_id"),
        ([HARDWARE, {**HARDWARE, "qbo_conn_id": "qbo_y"}], "Autotask company 29683560 is in route 1 and route 2"),
        ([AU, {**AU, "qbo_conn_id": "qbo_y"}], "division 'Managed Services' is in route 1 and route 2"),
        ([HARDWARE, HARDWARE], "route 2 uses 'qbo_hw', already route 1's"),
    ],
)
def test_bey07_a_wrong_route_is_refused_naming_it(routes, expected):
    assert expected in problems({"qbo_routes": routes})


def test_bey07_each_company_obeys_the_rules_on_its_own_settings():
    no_code = {**AU, "settings": {"qbo_edition": "non-US"}}
    message = problems({"qbo_routes": [no_code]})
    assert 'qbo_routes (qbo_au), settings.sales_tax_code: required when qbo_edition is "non-US"' in message
    bad_value = {**AU, "settings": {"qbo_edition": "Canada"}}
    assert 'qbo_routes (qbo_au), settings.qbo_edition: got "Canada"' in problems({"qbo_routes": [bad_value]})


ROUTES = (Route("qbo_au", divisions=("Managed Services",)), Route("qbo_hw", company_ids=(7,), divisions=("Hardware",)))


@pytest.mark.parametrize(
    ("company_id", "divisions", "conn_id"),
    [
        (1, {"Managed Services"}, "qbo_au"),
        (7, set(), "qbo_hw"),  # by company id
        (7, {"Managed Services"}, "qbo_au"),  # the first matching route wins
        (1, {"Professional Services"}, "qbo_default"),  # no route: the default
        (1, set(), "qbo_default"),
        (1, {"Managed Services", "Professional Services"}, "qbo_au"),  # an unrouted division splits nothing
    ],
)
def test_bey07_first_matching_route_else_the_default(company_id, divisions, conn_id):
    assert route_of(ROUTES, "qbo_default", company_id, divisions, "Autotask invoice 1").qbo_conn_id == conn_id


def test_bey07_lines_in_two_routes_divisions_are_refused_naming_them():
    routing = route_of(ROUTES, "qbo_default", 1, {"Managed Services", "Hardware"}, "Autotask invoice 9 (INV-9) of X")
    assert routing.qbo_conn_id == "" and routing.error.startswith("Autotask invoice 9 (INV-9) of X has lines in")
    assert "'Managed Services' -> qbo_au" in routing.error and "'Hardware' -> qbo_hw" in routing.error
    assert "one invoice per division" in routing.fix and "qbo_routes" in routing.fix
