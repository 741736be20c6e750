"""The item comparison (TOOL-01) and what the copy (TOOL-02) would create, as pure logic: every match
field, discrepancies with both values, missing items, blank keys, duplicates, case-insensitive names
and the CSV."""

from __future__ import annotations

import csv
import io

import pytest

from atqbo.settings import Settings
from atqbo.tools.items.comparison import COMPARISON_COLUMNS, compare_billing_codes_to_items
from atqbo.transform.invoices import item_key_for_billing_code, item_payload


def _settings(match_field: str = "name", **more) -> Settings:
    return Settings.from_dict({"item_match_field": match_field, **more})


def _code(
    cid: int, name: str, external: str | None = None, description: str | None = None, price=None, active: bool = True
) -> dict:
    return {
        "id": cid,
        "name": name,
        "externalNumber": external,
        "description": description,
        "unitPrice": price,
        "isActive": active,
    }


def _item(iid: str, name: str, description: str | None = None, price=None, active: bool | None = None) -> dict:
    item = {"Id": iid, "Name": name, "Type": "Service"}
    if description is not None:
        item["Description"] = description
    if price is not None:
        item["UnitPrice"] = price
    if active is not None:
        item["Active"] = active
    return item


def _rows(comparison) -> dict:
    """Rows of billing codes by code id; QBO-only rows by "qbo:<Id>"."""
    return {(row.code["id"] if row.code else f"qbo:{row.item['Id']}"): row for row in comparison.rows}


def _csv(comparison) -> list[dict]:
    return list(csv.DictReader(io.StringIO(comparison.to_csv())))


REMOTE = _code(1, "Remote Support", "SUP-REM", "Remote Support", 125)
TRAVEL = _code(2, "Travel", None, "Travel", 75)


# -- match fields -----------------------------------------------------------------------------------


def test_tool01_name_match_is_case_insensitive_like_qbo_names():
    comparison = compare_billing_codes_to_items(
        [REMOTE], [_item("7", "REMOTE support", "Remote Support", 125)], _settings("name")
    )
    (row,) = comparison.rows
    assert (row.status, row.match_key, row.item["Id"]) == ("matched", "Remote Support", "7")
    assert row.differences == ()


def test_tool01_external_number_match_and_a_blank_external_number_has_no_key():
    items = [_item("3", "sup-rem", "Remote Support", 125), _item("4", "Travel", "Travel", 75)]
    rows = _rows(compare_billing_codes_to_items([REMOTE, TRAVEL], items, _settings("external_number")))
    assert (rows[1].status, rows[1].match_key, rows[1].item["Id"]) == ("matched", "SUP-REM", "3")
    # Travel has no External Number: no key, so it cannot match the QBO item named "Travel" either
    assert (rows[2].status, rows[2].match_key, rows[2].item) == ("no_match_key", "", None)
    assert "External Number is blank" in rows[2].notes[0] and "'Autotask Services'" in rows[2].notes[0]
    assert rows["qbo:4"].status == "only_in_qbo"


def test_tool01_external_number_or_name_falls_back_to_the_name_when_blank():
    items = [_item("3", "SUP-REM", "Remote Support", 125), _item("4", "travel", "Travel", 75)]
    rows = _rows(compare_billing_codes_to_items([REMOTE, TRAVEL], items, _settings("external_number_or_name")))
    assert (rows[1].status, rows[1].item["Id"]) == ("matched", "3")
    assert (rows[2].status, rows[2].match_key, rows[2].item["Id"]) == ("matched", "Travel", "4")


@pytest.mark.parametrize("match_field", ["name", "external_number", "external_number_or_name"])
def test_tool01_keys_are_the_invoice_syncs_item_names(match_field):
    """The key is item_key_for_billing_code's: ':' (QBO's sub-item separator) replaced, spaces squeezed,
    cut to 100 characters; a copy creates exactly the item_payload the invoice sync would."""
    odd = _code(5, "Backup:  Offsite " + "x" * 120, "BK:OFF", "Offsite backup", 10)
    comparison = compare_billing_codes_to_items([odd], [], _settings(match_field))
    (row,) = comparison.rows
    settings = _settings(match_field)
    assert row.status == "missing_in_qbo"
    assert row.match_key == item_key_for_billing_code(odd, settings)
    assert ":" not in row.match_key and len(row.match_key) <= 100
    assert comparison.to_create() == {row.match_key: odd}
    assert row.expected == item_payload(row.match_key, odd, "", settings)


# -- discrepancies ------------------------------------------------------------------------------------


def test_tool01_discrepancies_name_each_field_and_both_values():
    code = _code(1, "Remote Support", "SUP-REM", "Remote support, per hour", "125.5")
    item = _item("3", "Remote Support", "Remote Support", 110, active=False)
    (row,) = compare_billing_codes_to_items([code], [item], _settings()).rows
    assert row.status == "discrepancy"
    assert [(d.field, d.autotask, d.qbo) for d in row.differences] == [
        ("description", "Remote support, per hour", "Remote Support"),
        ("unit price", "125.50", "110.00"),
        ("active", "yes", "no"),
    ]
    (line,) = _csv(compare_billing_codes_to_items([code], [item], _settings()))
    assert line["differences"] == "description; unit price; active"
    assert (line["autotask_description"], line["qbo_description"]) == ("Remote support, per hour", "Remote Support")
    assert (line["autotask_unit_price"], line["qbo_unit_price"]) == ("125.50", "110.00")
    assert (line["autotask_active"], line["qbo_active"]) == ("yes", "no")


def test_tool01_same_values_written_differently_are_no_discrepancy():
    """125 vs 125.0, surrounding blanks, QBO leaving out Active (= active); a code without a description
    is compared by its name (what item_payload writes); a code without a unit price skips the price."""
    codes = [_code(1, "Remote Support", None, " Remote Support ", 125), _code(2, "Travel", None, None, None)]
    items = [_item("3", "Remote Support", "Remote Support", 125.0), _item("4", "Travel", "Travel", 80)]
    rows = _rows(compare_billing_codes_to_items(codes, items, _settings()))
    assert (rows[1].status, rows[2].status) == ("matched", "matched")


def test_tool01_qbo_item_without_price_differs_from_a_priced_code():
    (row,) = compare_billing_codes_to_items(
        [REMOTE], [_item("3", "Remote Support", "Remote Support")], _settings()
    ).rows
    assert [(d.field, d.autotask, d.qbo) for d in row.differences] == [("unit price", "125.00", "0.00")]


def test_tool01_price_with_more_than_two_decimals_is_shown_in_full():
    code = _code(1, "Per GB", None, "Per GB", "0.125")
    (row,) = compare_billing_codes_to_items([code], [_item("3", "Per GB", "Per GB", 0.12)], _settings()).rows
    assert [(d.autotask, d.qbo) for d in row.differences] == [("0.125", "0.12")]


# -- missing, duplicates, QBO-only -----------------------------------------------------------------


def test_tool01_missing_item_says_which_other_match_field_would_find_one():
    (row, qbo_only) = compare_billing_codes_to_items(
        [REMOTE], [_item("3", "SUP-REM", "Remote Support", 125)], _settings("name")
    ).rows
    assert (row.status, row.match_key, row.item) == ("missing_in_qbo", "Remote Support", None)
    assert row.notes == (
        "QBO item 'SUP-REM' (Id 3) would match with match field 'external_number' or 'external_number_or_name'",
    )
    assert (qbo_only.status, qbo_only.item["Id"]) == ("only_in_qbo", "3")


def test_tool01_inactive_item_matches_because_its_name_stays_taken():
    (row,) = compare_billing_codes_to_items(
        [REMOTE], [_item("3", "Remote Support", "Remote Support", 125, False)], _settings()
    ).rows
    assert row.status == "discrepancy" and [d.field for d in row.differences] == ["active"]
    assert (
        compare_billing_codes_to_items([REMOTE], [_item("3", "Remote Support", active=False)], _settings()).to_create()
        == {}
    )


def test_tool02_codes_sharing_a_key_are_duplicates_and_the_item_is_created_once_from_the_lowest_id():
    first, second = _code(20, "Support", "SUP", "Support A", 100), _code(10, "Support", "sup", "Support B", 90)
    comparison = compare_billing_codes_to_items([first, second], [], _settings("external_number"))
    rows = _rows(comparison)
    assert rows[10].status == rows[20].status == "missing_in_qbo"
    assert "billing code 'Support' (id 20) also matches 'sup'" in rows[10].notes[0]
    assert "a copy creates 'SUP' once, from billing code 'Support' (id 10)" in rows[20].notes
    assert comparison.to_create() == {"sup": second}
    assert (rows[10].source_of_key, rows[20].source_of_key) == (True, False)


def test_tool01_two_qbo_items_with_one_name_are_reported():
    items = [_item("9", "Remote Support", "Remote Support", 125), _item("3", "remote support", "Remote Support", 125)]
    comparison = compare_billing_codes_to_items([REMOTE], items, _settings())
    (row,) = comparison.rows
    assert row.item["Id"] == "9"  # the last by Id, as the invoice sync's name look-up keeps it
    assert "QBO has 2 items named 'Remote Support' (Ids 3, 9)" in row.notes[0]
    assert comparison.counts()["only_in_qbo"] == 0  # both are this code's, not "unmatched"


def test_tool01_qbo_only_rows_name_atqbos_own_generic_items():
    items = [_item("1", "Autotask Services"), _item("2", "Autotask Sales Tax"), _item("3", "Dell OptiPlex")]
    rows = _rows(compare_billing_codes_to_items([], items, _settings()))
    assert rows["qbo:1"].notes == ("atqbo's item for invoice lines without a billing code",)
    assert rows["qbo:2"].notes == ("atqbo's item for Autotask's sales tax",)
    assert rows["qbo:3"].notes == ("no active billing code matches this item",)
    custom = _rows(compare_billing_codes_to_items([], items, _settings(default_item_name="Misc")))
    assert custom["qbo:1"].notes == ("no active billing code matches this item",)


def test_tool01_blank_name_under_name_matching_has_no_key():
    (row,) = compare_billing_codes_to_items([_code(3, "  ", "X-1", "Something", 5)], [], _settings("name")).rows
    assert row.status == "no_match_key" and "its name is blank" in row.notes[0]


def test_tool01_rows_come_by_status_then_name_and_counts_add_up():
    codes = [_code(1, "b", None, "b", 1), _code(2, "a", None, "a", 1), _code(3, "c", None, "other", 1)]
    items = [_item("5", "A", "a", 1), _item("6", "c", "c", 1), _item("7", "zz")]
    comparison = compare_billing_codes_to_items(codes, items, _settings())
    assert [(r.status, r.match_key) for r in comparison.rows] == [
        ("matched", "a"),
        ("discrepancy", "c"),
        ("missing_in_qbo", "b"),
        ("only_in_qbo", "zz"),
    ]
    assert comparison.counts() == {
        "matched": 1,
        "discrepancy": 1,
        "missing_in_qbo": 1,
        "no_match_key": 0,
        "only_in_qbo": 1,
    }
    assert comparison.summary().startswith("3 active billing code(s) compared by the billing code name")


# -- the CSV ----------------------------------------------------------------------------------------


def test_tool01_csv_has_its_own_columns_and_defuses_formulas():
    code = _code(1, '=HYPERLINK("http://x")', None, "-5 off", 5)
    comparison = compare_billing_codes_to_items([code], [_item("2", "@sum")], _settings())
    text = comparison.to_csv()
    assert text.splitlines()[0] == ",".join(COMPARISON_COLUMNS)
    assert text.endswith("\r\n")
    missing, only = _csv(comparison)
    assert missing["status"] == "missing_in_qbo" and missing["billing_code_name"].startswith("'=")
    assert missing["autotask_description"] == "'-5 off" and missing["autotask_unit_price"] == "5.00"
    assert missing["qbo_item_id"] == "" and missing["qbo_description"] == ""
    assert only["status"] == "only_in_qbo" and only["qbo_item_name"] == "'@sum" and only["billing_code_id"] == ""
