"""How reports name an outcome, a record, its QBO document and its totals; text capped to fit."""

from __future__ import annotations

from decimal import Decimal

from atqbo.notify import ReportRow
from atqbo.notify.wording import cap_text, count_phrase, describe_qbo, describe_record, describe_totals


def test_counts_say_warning_in_the_plural_only_when_there_are_several():
    assert [count_phrase("warning", n) for n in (1, 2)] == ["1 warning", "2 warnings"]
    assert count_phrase("failed", 2) == "2 failed"


def test_a_record_is_named_by_what_it_has():
    assert describe_record(ReportRow("skipped", "invoice", 7, "INV-7"), False) == "INV-7 (Autotask id 7)"
    assert describe_record(ReportRow("skipped", "invoice_void", None, "INV-7"), True) == "invoice void INV-7"
    assert describe_record(ReportRow("skipped", "payment", 8), False) == "Autotask id 8"
    assert describe_record(ReportRow("skipped", "payment", None), False) == "(no record)"
    assert describe_qbo(ReportRow("matched", "invoice", 1, qbo_id="145")) == "QBO id 145"
    assert describe_qbo(ReportRow("matched", "invoice", 1)) == ""


def test_totals_show_money_and_a_difference():
    row = ReportRow("transferred", "invoice", 1, autotask_total=Decimal("1142"), qbo_total=Decimal("1142.5"))
    assert describe_totals(row) == "Autotask total 1,142.00, QBO total 1,142.50 (differs by 0.50)"
    assert describe_totals(ReportRow("planned", "invoice", 1)) == ""


def test_capped_text_says_it_was_cut_and_fits():
    assert cap_text("short", 10) == "short"
    capped = cap_text("x" * 100, 40)
    assert len(capped) <= 40 and capped.endswith(" ... (cut)")
