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


# -- BEY-07: by QBO company -------------------------------------------------------------------------


def test_bey07_select_entries_by_qbo_company_and_only_a_company_known_to_the_install_or_the_log(ledger):
    import pytest

    from atqbo.forms import FormError
    from atqbo.settings import Settings
    from atqbo.tools.errors.entries import chosen_company, describe_filters, known_companies

    au = ledger.log_error("invoice", 5, "no QBO item for 'Travel'", qbo_company="qbo_au")
    us = ledger.log_error("invoice", 6, "no QBO item for 'Travel'", qbo_company="qbo_default")
    old = ledger.log_error("invoice", 7, "no QBO item for 'Travel'", qbo_company="qbo_gone")  # a route removed
    assert [e["id"] for e in select_entries(ledger, qbo_company="qbo_au")] == [au]
    assert {e["id"] for e in select_entries(ledger, qbo_company="all")} == {au, us, old}
    assert [e["id"] for e in select_entries(ledger, "invoice", autotask_ids=[5, 6], qbo_company="qbo_default")] == [us]

    settings = Settings.from_dict({"qbo_routes": [{"qbo_conn_id": "qbo_au", "company_ids": [1]}]})
    known = known_companies(ledger, settings)
    assert known == ["qbo_default", "qbo_au", "qbo_gone"]  # the install's, in its order, then the log's
    assert chosen_company("qbo_gone", ledger, settings) == "qbo_gone"
    assert chosen_company(None, ledger, settings) is None and chosen_company("all", ledger, settings) is None
    with pytest.raises(FormError, match=r"qbo_company: 'qbo_aus' is not one of qbo_default, qbo_au, qbo_gone; pick"):
        chosen_company("qbo_aus", ledger, settings)
    assert describe_filters("invoice", None, "qbo_au") == "entity invoice, QBO company qbo_au"
