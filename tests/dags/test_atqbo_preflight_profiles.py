"""atqbo_preflight (BEY-08) on every named real-tenant seed of the sandbox (US automated sales tax,
US manual tax, UK VAT, Canada GST/HST, Australia GST; each with a customer in a foreign currency,
a tax-exempt customer, covered and non-billable lines), under the settings a user of that country
sets (``sandbox.seeds.profiles.PROFILE_SETTINGS``), and as the API user restricted to some lines of
business. A well-configured tenant has no blocking check; what the runs will meet is a warning
naming the records; nothing is ever written (``run_preflight`` checks it on every run)."""

from __future__ import annotations

import json

import pytest

from tests.dags.preflight_support import run_preflight, seed

pytestmark = pytest.mark.integration

RESTRICTED_USER = ("helpdesk-api@northstar-it.example", "helpdesk-secret")


@pytest.fixture
def sb(airflow_db, sandbox_connections):
    return sandbox_connections


def _seed_profile(sb, monkeypatch, name: str, **changes):
    from sandbox.seeds import load_seed
    from sandbox.seeds.profiles import PROFILE_SETTINGS

    seed(sb, monkeypatch, load_seed(name), **{**PROFILE_SETTINGS[name], **changes})


@pytest.mark.parametrize("name", ["us-ast", "us-manual-tax", "uk-vat", "ca-gst", "au-gst"])
def test_bey08_each_country_profile_set_up_as_its_users_would_has_no_blocking_check(sb, monkeypatch, name):
    from sandbox.seeds.profiles import PROFILES

    _seed_profile(sb, monkeypatch, name)
    run = run_preflight(sb)
    assert run.verdicts("blocking") == {}, run.describe()
    assert run.dagrun.state == "success", run.states
    profile = PROFILES[name]
    edition = run.row("Company and edition")
    assert edition["verdict"] == "ok" and f"country {profile.country}" in edition["finding"]
    currency = run.row("Currency")["finding"]
    assert f"home currency {profile.home.code}" in currency or f"every document is in {profile.home.code}" in currency
    foreign = run.row("Companies billed in another currency (CUR-01)")
    assert f"Lucerne Publishing ({profile.foreign.code})" in foreign["finding"]
    assert foreign["verdict"] == ("warning" if not profile.qbo_multi_currency else "ok"), foreign
    if profile.country != "US":
        assert run.row("Tax codes named in the settings")["verdict"] == "ok"
        assert run.row("Purchase tax code")["verdict"] == "ok"


def test_bey08_the_restricted_api_user_is_named_with_the_lines_it_cannot_see(sb, monkeypatch):
    _seed_profile(sb, monkeypatch, "uk-vat")
    conn = json.loads(json.dumps(sb.connections()["autotask_default"]))
    conn["login"], conn["password"] = RESTRICTED_USER
    monkeypatch.setenv("AIRFLOW_CONN_AUTOTASK_DEFAULT", json.dumps(conn))
    run = run_preflight(sb)
    warnings = run.verdicts("warning")
    assert run.verdicts("blocking") == {}, run.describe()
    assert "Managed Services:" in warnings["API user's lines of business"]["finding"]
    seen = warnings["Billing items the API user sees"]
    assert seen["detail"].startswith("visible vs all billing items of the window's invoices:")
