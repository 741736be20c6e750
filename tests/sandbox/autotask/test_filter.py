"""The Autotask query grammar, over real HTTP against the sandbox: every operator, groups, UDFs,
typed comparisons, and the real API's failure semantics (unknown field -> 500, unknown
operator silently dropped, non-boolean value for a boolean field -> error)."""

from __future__ import annotations

import pytest

from sandbox.autotask.filter import EntityFields, FilterError, parse_query
from tests.sandbox.autotask_support import AT_RESOURCE_ID


def company(n: int, **fields) -> dict:
    return {
        "id": 1000 + n,
        "companyName": f"Company {n}",
        "companyType": 1,
        "phone": "555-0100",
        "ownerResourceID": AT_RESOURCE_ID,
        **fields,
    }


SEED = [
    company(
        1,
        companyName="Contoso Dental",
        city="Columbus",
        assetValue=10.5,
        isTaxExempt=True,
        createDate="2024-05-01T10:00:00Z",
        userDefinedFields=[{"name": "Invoice Email", "value": "ap@contoso.example"}],
    ),
    company(
        2,
        companyName="contoso labs",
        city="Dayton",
        assetValue=200,
        isTaxExempt=False,
        createDate="2024-05-02T23:30:00-04:00",
        userDefinedFields=[{"name": "Invoice Email", "value": None}],
    ),
    company(
        3,
        companyName="Fabrikam Legal",
        city=None,
        assetValue=None,
        isTaxExempt=False,
        createDate="2024-05-03T00:00:00Z",
        userDefinedFields=[{"name": "Tier", "value": "5"}],
    ),
    company(
        4,
        companyName="Northwind Traders",
        city="",
        companyType=7,
        assetValue=75,
        isActive=False,
        createDate="2024-06-01T00:00:00Z",
    ),
]
ALL = [1001, 1002, 1003, 1004]  # company 0 (the local company) is excluded by an id filter below
MINE = {"op": "gte", "field": "id", "value": 1000}


@pytest.fixture
def at(autotask):
    autotask.server.seed({"autotask": {"Companies": SEED}})
    return autotask


def ids(at, *filters) -> list[int]:
    return at.ids("Companies", MINE, *filters)


def test_eq_and_noteq_are_typed_and_case_insensitive(at):
    assert ids(at, {"op": "eq", "field": "companyName", "value": "CONTOSO DENTAL"}) == [1001]
    assert ids(at, {"op": "eq", "field": "companyType", "value": 7}) == [1004]
    assert ids(at, {"op": "eq", "field": "companyType", "value": "7"}) == [1004]  # numeric strings coerce
    assert ids(at, {"op": "eq", "field": "assetValue", "value": 10.5}) == [1001]
    # noteq never matches a null field (SQL semantics): company 1003 has no city
    assert ids(at, {"op": "noteq", "field": "city", "value": "columbus"}) == [1002]


def test_eq_and_noteq_with_null_value_test_for_null(at):
    assert ids(at, {"op": "eq", "field": "city", "value": None}) == [1003, 1004]  # "" is stored as null
    assert ids(at, {"op": "noteq", "field": "city", "value": None}) == [1001, 1002]


def test_gt_gte_lt_lte_on_numbers(at):
    assert ids(at, {"op": "gt", "field": "assetValue", "value": 75}) == [1002]
    assert ids(at, {"op": "gte", "field": "assetValue", "value": 75}) == [1002, 1004]
    assert ids(at, {"op": "lt", "field": "assetValue", "value": 75}) == [1001]
    assert ids(at, {"op": "lte", "field": "assetValue", "value": "75"}) == [1001, 1004]


def test_date_comparisons_are_instants_whatever_the_offset(at):
    # 2024-05-02T23:30-04:00 is 2024-05-03T03:30Z, after midnight UTC on the 3rd
    assert ids(at, {"op": "gte", "field": "createDate", "value": "2024-05-03"}) == [1002, 1003, 1004]
    assert ids(at, {"op": "lt", "field": "createDate", "value": "2024-05-02T00:00:00+02:00"}) == [1001]
    assert ids(at, {"op": "eq", "field": "createDate", "value": "2024-05-03T03:30:00Z"}) == [1002]
    assert ids(at, {"op": "lte", "field": "createDate", "value": "2024-05-01T10:00:00.000Z"}) == [1001]


def test_string_comparisons_order_case_insensitively(at):
    assert ids(at, {"op": "gt", "field": "companyName", "value": "CONTOSO LABS"}) == [1003, 1004]


def test_begins_ends_contains_ignore_case(at):
    assert ids(at, {"op": "beginsWith", "field": "companyName", "value": "CONTOSO"}) == [1001, 1002]
    assert ids(at, {"op": "endsWith", "field": "companyName", "value": "LEGAL"}) == [1003]
    assert ids(at, {"op": "contains", "field": "companyName", "value": "toso"}) == [1001, 1002]


def test_exist_and_not_exist(at):
    assert ids(at, {"op": "exist", "field": "city"}) == [1001, 1002]
    assert ids(at, {"op": "notExist", "field": "city"}) == [1003, 1004]
    assert ids(at, {"op": "notExist", "field": "assetValue"}) == [1003]


def test_in_and_not_in(at):
    assert ids(at, {"op": "in", "field": "id", "value": [1001, 1003, 99]}) == [1001, 1003]
    assert ids(at, {"op": "in", "field": "city", "value": ["DAYTON", "Nowhere"]}) == [1002]
    assert ids(at, {"op": "notIn", "field": "companyType", "value": [7]}) == [1001, 1002, 1003]
    assert ids(at, {"op": "notIn", "field": "city", "value": ["Dayton"]}) == [1001]  # nulls never match


def test_nested_and_or_groups_and_top_level_and(at):
    found = ids(
        at,
        {
            "op": "or",
            "items": [
                {
                    "op": "and",
                    "items": [
                        {"op": "beginsWith", "field": "companyName", "value": "contoso"},
                        {"op": "eq", "field": "isTaxExempt", "value": True},
                    ],
                },
                {"op": "eq", "field": "companyType", "value": 7},
            ],
        },
    )
    assert found == [1001, 1004]
    # The top-level list is ANDed: the same group plus one more condition
    assert ids(
        at,
        {"op": "or", "items": [{"op": "eq", "field": "id", "value": 1001}, {"op": "eq", "field": "id", "value": 1004}]},
        {"op": "eq", "field": "isActive", "value": True},
    ) == [1001]


def test_udf_filters_match_user_defined_fields_by_name(at):
    assert ids(at, {"op": "exist", "field": "invoice email", "udf": True}) == [1001]
    assert ids(at, {"op": "contains", "field": "Invoice Email", "value": "CONTOSO", "udf": True}) == [1001]
    assert ids(at, {"op": "gt", "field": "Tier", "value": 4, "udf": True}) == [1003]  # numeric when the value is
    assert ids(at, {"op": "notExist", "field": "Invoice Email", "udf": True}) == [1002, 1003, 1004]


def test_keys_are_case_insensitive(at):
    response = at.call(
        "POST",
        "Companies/query",
        json={
            "Filter": [{"OP": "EQ", "Field": "CITY", "Value": "columbus"}],
            "MAXRECORDS": 5,
            "includefields": ["COMPANYNAME"],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [{"id": 1001, "companyName": "Contoso Dental"}]
    assert response.json()["pageDetails"]["requestCount"] == 5


def test_unknown_field_is_500_with_the_real_message(at):
    response = at.call("POST", "Companies/query", json={"filter": [{"op": "eq", "field": "projectID", "value": 1}]})
    assert response.status_code == 500
    assert response.json() == {"errors": ["Unable to find projectID in the Company Entity"]}
    response = at.call(
        "POST",
        "Companies/query/count",
        json={"filter": [{"op": "or", "items": [{"op": "eq", "field": "nope", "value": 1}]}]},
    )
    assert response.status_code == 500 and "Unable to find nope" in response.json()["errors"][0]


def test_unknown_operator_is_silently_dropped(at):
    # "ne" is not an Autotask operator: the real API ignores the item and returns unfiltered data
    assert ids(at, {"op": "ne", "field": "companyType", "value": 7}) == ALL
    assert ids(at, {"op": "or", "items": [{"op": "isnull", "field": "city"}]}) == ALL
    assert ids(
        at, {"op": "ne", "field": "companyType", "value": 7}, {"op": "eq", "field": "companyType", "value": 7}
    ) == [1004]


def test_boolean_fields_take_only_true_or_false(at):
    assert ids(at, {"op": "eq", "field": "isTaxExempt", "value": "true"}) == [1001]
    for bad in (None, 1, "yes"):
        op = "gte" if bad is None else "eq"  # eq null is a null test, so use a comparison for null
        response = at.call("POST", "Companies/query", json={"filter": [{"op": op, "field": "isActive", "value": bad}]})
        assert response.status_code == 500, (bad, response.text)
        assert "isActive" in response.json()["errors"][0]


def test_values_must_fit_the_field_type(at):
    for item in (
        {"op": "eq", "field": "companyType", "value": "seven"},
        {"op": "gt", "field": "createDate", "value": "last tuesday"},
        {"op": "in", "field": "id", "value": 1001},
        {"op": "contains", "field": "companyName"},
    ):
        response = at.call("POST", "Companies/query", json={"filter": [item]})
        assert response.status_code == 500, item
        assert response.json()["errors"]


def test_filter_is_required_and_max_records_bounded(at):
    for body in (
        {},
        {"filter": []},
        {"filter": [MINE], "MaxRecords": 0},
        {"filter": [MINE], "MaxRecords": 501},
        {"filter": {"op": "eq"}},
    ):
        response = at.call("POST", "Companies/query", json=body)
        assert response.status_code == 500, body
        assert response.json()["errors"]


def test_non_queryable_field_is_refused(autotask):
    response = autotask.call(
        "POST", "Invoices/query", json={"filter": [{"op": "lt", "field": "dueDate", "value": "2024-01-01"}]}
    )
    assert response.status_code == 500 and "dueDate" in response.json()["errors"][0]


def test_parse_query_unit_rules():
    fields = EntityFields("Widget", {"id": "integer", "name": "string", "ok": "boolean"})
    query = parse_query({"filter": [{"op": "eq", "field": "NAME", "value": "a"}]}, fields)
    assert query.matches({"id": 1, "name": "A"}) and not query.matches({"id": 2, "name": None})
    assert query.max_records == 500 and query.include_fields is None
    include = parse_query({"filter": [{"op": "exist", "field": "id"}], "IncludeFields": ["name"]}, fields)
    assert include.include_fields == ("id", "name")
    with pytest.raises(FilterError, match="Unable to find colour in the Widget Entity"):
        parse_query({"filter": [{"op": "eq", "field": "colour", "value": 1}]}, fields)
    with pytest.raises(FilterError, match="ok"):
        parse_query({"filter": [{"op": "eq", "field": "ok", "value": "maybe"}]}, fields)
