"""Tests of ``atqbo.hooks.autotask_filters``: the builders and the gate that refuses what Autotask would misread."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from atqbo.hooks import autotask as at


def test_filter_builders_produce_autotask_items():
    when = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert at.eq("isActive", True) == {"op": "eq", "field": "isActive", "value": True}
    assert at.gte("invoiceDateTime", when) == {"op": "gte", "field": "invoiceDateTime", "value": "2024-05-01T16:30:00Z"}
    assert at.in_("id", (1, 2)) == {"op": "in", "field": "id", "value": [1, 2]}
    assert at.not_exist("webServiceDate") == {"op": "notExist", "field": "webServiceDate"}
    assert at.eq("QBO Id", "58", udf=True) == {"op": "eq", "field": "QBO Id", "value": "58", "udf": True}
    assert at.or_(at.begins_with("companyName", "A"), at.exist("phone")) == {
        "op": "or",
        "items": [
            {"op": "beginsWith", "field": "companyName", "value": "A"},
            {"op": "exist", "field": "phone"},
        ],
    }


def test_normalize_filters_accepts_raw_dicts_and_fixes_operator_spelling():
    raw = [{"OP": "BEGINSWITH", "Field": "companyName", "Value": "Con"}, {"op": "or", "items": [at.eq("id", 1)]}]
    assert at.normalize_filters(raw) == [
        {"op": "beginsWith", "field": "companyName", "value": "Con"},
        {"op": "or", "items": [{"op": "eq", "field": "id", "value": 1}]},
    ]
    # A single item is a one-item filter; no filter selects everything (Autotask requires one).
    assert at.normalize_filters(at.eq("id", 3)) == [{"op": "eq", "field": "id", "value": 3}]
    assert at.normalize_filters(None) == [{"op": "gte", "field": "id", "value": 0}]


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"op": "ne", "field": "id", "value": 1}, "unknown operator 'ne'"),  # Autotask would silently drop it
        ({"op": "eq", "field": "paidDate", "value": None}, "exist()"),
        ({"op": "in", "field": "id", "value": []}, "non-empty list"),
        ({"op": "or", "items": []}, "non-empty 'items'"),
        ({"op": "eq", "value": 1}, "needs a 'field'"),
        ({"op": "eq", "field": "id"}, "needs a 'value'"),
    ],
)
def test_normalize_filters_refuses_what_autotask_would_misread(bad, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        at.normalize_filters([at.eq("isActive", True), bad])
