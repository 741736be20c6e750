"""The name-list creates every sync and tool shares (atqbo.qbo_names), against the sandbox over HTTP."""

from __future__ import annotations

import json

import pytest

from sandbox.seeds.demo_qbo import ACCOUNT_SERVICES_INCOME

pytestmark = pytest.mark.integration


@pytest.fixture
def qbo(sandbox_connections, monkeypatch, tmp_path):
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from sandbox.seeds import load_seed

    sb = sandbox_connections
    sb.reset()
    sb.seed(load_seed("demo"))
    for conn_id, conn in sb.connections().items():  # after the reset: its refresh token is the valid one
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    ledger = Ledger.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    ledger.create_schema()
    return QuickBooksOnlineHook("qbo_default", ledger=ledger, sleep=lambda s: None)


def _service(name: str, income_account: str | None) -> dict:
    item = {"Name": name, "Type": "Service"}
    if income_account:
        item["IncomeAccountRef"] = {"value": income_account}
    return item


def test_bey01_a_refusal_fixed_before_the_next_run_is_not_replayed_by_qbo(qbo):
    """QBO answers a repeated requestid with its first answer: a later run must use a new one, or the
    item (vendor, customer) that was refused once would be refused forever."""
    from atqbo.qbo_names import create_names, find_names

    created, faults = create_names(
        qbo, "Item", "Name", {"Site Survey": _service("Site Survey", None)}, run_id="scheduled__1", dry_run=False
    )
    assert created == {} and "IncomeAccountRef" in faults["Site Survey"]

    fixed = {"Site Survey": _service("Site Survey", ACCOUNT_SERVICES_INCOME)}
    # the same run's retried task gets QBO's first answer again: nothing is created twice
    assert create_names(qbo, "Item", "Name", fixed, run_id="scheduled__1", dry_run=False)[0] == {}
    created, faults = create_names(qbo, "Item", "Name", fixed, run_id="scheduled__2", dry_run=False)
    assert faults == {} and created["site survey"]["Name"] == "Site Survey"
    # a third run finds the name taken and adopts the item instead of failing
    again, faults = create_names(qbo, "Item", "Name", fixed, run_id="scheduled__3", dry_run=False)
    assert faults == {} and again["site survey"]["Id"] == created["site survey"]["Id"]
    assert list(find_names(qbo, "Item", "Name", {"SITE SURVEY"})) == ["site survey"]


def test_bey03_a_dry_run_creates_nothing_and_returns_the_plan(qbo):
    from atqbo.qbo_names import create_names, find_names

    payloads = {"Site Survey": _service("Site Survey", ACCOUNT_SERVICES_INCOME)}
    planned, faults = create_names(qbo, "Item", "Name", payloads, run_id="manual__1", dry_run=True)
    assert faults == {} and planned["site survey"]["Id"] == "(new)"
    assert find_names(qbo, "Item", "Name", {"Site Survey"}) == {}


def test_bey08_recording_names_shows_what_a_dry_run_found_and_would_create_and_nothing_outside_it(qbo):
    from atqbo.qbo_names import create_names, find_names, recording_names

    payloads = {"Site Survey": _service("Site Survey", ACCOUNT_SERVICES_INCOME)}
    with recording_names() as decisions:
        found = find_names(qbo, "Customer", "DisplayName", {"Contoso Dental", "Nobody Yet"})
        create_names(qbo, "Item", "Name", payloads, run_id="manual__1", dry_run=True)
    assert list(found) == ["contoso dental"]
    assert decisions.asked == {"Customer": {"Contoso Dental", "Nobody Yet"}}
    assert list(decisions.found["Customer"]) == ["contoso dental"]
    assert decisions.missing("Customer") == ["Nobody Yet"]
    assert decisions.planned == {"Item": payloads}
    find_names(qbo, "Vendor", "DisplayName", {"Pax8"})  # outside the with: not recorded
    assert "Vendor" not in decisions.asked
