"""TOOL-08: which error-log entries a run (or the UI) selects, and the ids asked for that no entry names."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from atqbo.tools.errors.entries import select_entries, since_datetime, unmatched_ids
from tests.tools.errors.errors_support import INVOICE, PO

# -- selecting --------------------------------------------------------------------------------------


def test_tool08_select_entries_filters_by_entity_since_and_ids(ledger, failures):
    every = {e["id"] for e in failures.values()}
    assert {e["id"] for e in select_entries(ledger)} == every
    assert {e["id"] for e in select_entries(ledger, "all")} == every
    assert {e["autotask_id"] for e in select_entries(ledger, "purchase_order")} == {PO, None}
    assert [e["autotask_id"] for e in select_entries(ledger, autotask_ids=[PO, INVOICE, 999])] in (
        [PO, INVOICE],
        [INVOICE, PO],
    )
    assert select_entries(ledger, "invoice", autotask_ids=[PO]) == []
    today = datetime.now(UTC).date()
    assert {e["id"] for e in select_entries(ledger, since=today)} == every  # a day: from its midnight UTC
    assert select_entries(ledger, since=today + timedelta(days=1)) == []
    ledger.resolve_errors("invoice", INVOICE)  # transferred meanwhile: the entry is closed, no longer listed
    assert select_entries(ledger, "invoice") == []
    entry = select_entries(ledger, "payment")[0]  # every column the list shows
    assert {
        "id",
        "entity",
        "autotask_id",
        "qbo_id",
        "message",
        "fix",
        "occurred_at",
        "attempts",
        "retry_requested_at",
    } <= set(entry)


def test_tool08_since_is_the_first_instant_of_the_day_in_utc():
    assert since_datetime(date(2026, 3, 2)) == datetime(2026, 3, 2, tzinfo=UTC)
    moment = datetime(2026, 3, 2, 12, 5, tzinfo=UTC)
    assert since_datetime(moment) is moment and since_datetime(None) is None


def test_tool08_unmatched_ids_are_the_ones_no_entry_names(failures):
    assert unmatched_ids([PO, 5, INVOICE, 5], [failures["purchase_order"], failures["invoice"], failures["run"]]) == [5]
