"""BEY-07: atqbo_compare_items and atqbo_copy_missing_items with several QBO companies, run with
dag.test() on the sandbox's ``multi-company`` seed: the trigger form's ``qbo_company`` drop-down (only
when ``qbo_routes`` names several companies), each company compared and copied into under its own
settings, the report naming each row's company, and one company that cannot be used failing alone."""

from __future__ import annotations

import csv
import io
import re

import pendulum
import pytest

from tests.dags.companies_support import books, report_html, route_settings, use_settings
from tests.dags.dag_support import load_dag, outcome_state, task_states, work_state

pytestmark = pytest.mark.integration

COMPARE, COPY = "atqbo_compare_items", "atqbo_copy_missing_items"
AU_INCOME = "Sales of Product Income"  # qbo_au's route sets its own new_item_income_account


def routes(**au_settings) -> list[dict]:
    """qbo_au and qbo_manual as routes (by an Autotask company id; the item tools do not route)."""
    return [
        {"qbo_conn_id": "qbo_au", "company_ids": [1], "settings": {**route_settings("qbo_au"), **au_settings}},
        {"qbo_conn_id": "qbo_manual", "company_ids": [2], "settings": route_settings("qbo_manual")},
    ]


def run(dag_id: str, conf: dict | None = None, expect: str = "success"):
    dagrun = load_dag(dag_id).test(logical_date=pendulum.now("UTC"), run_conf=conf)
    assert work_state(dagrun) == expect, task_states(dagrun)
    return dagrun


def active_codes(sb) -> dict[str, dict]:
    return {c["name"].lower(): c for c in sb.state()["autotask"]["BillingCodes"] if c.get("isActive", True)}


def items(book: dict) -> dict[str, dict]:
    return {i["Name"].lower(): i for i in book.get("Item", [])}


def accounts(book: dict) -> dict[str, str]:
    return {a["Name"]: a["Id"] for a in book.get("Account", [])}


def comparison_csv(sb) -> list[dict]:
    mail = [m for m in sb.mail.messages() if m["subject"].startswith("[atqbo] compare billing codes")][-1]
    text = next(a["text"] for a in mail["attachments"] if a["filename"].startswith("atqbo-item-comparison-"))
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_bey07_the_item_tools_forms_offer_the_qbo_companies_only_when_there_are_several(multi_company, monkeypatch):
    use_settings(monkeypatch, routes())
    for dag_id in (COMPARE, COPY):
        param = load_dag(dag_id).params.get_param("qbo_company")
        assert param.value == "all" and param.schema["enum"] == ["all", "qbo_default", "qbo_au", "qbo_manual"]
        assert param.schema["values_display"]["qbo_default"] == "qbo_default (the default company)"
        assert list(load_dag(dag_id).params) == ["match_field", "qbo_company", "email"]
    use_settings(monkeypatch, [])  # one company: the form as it always was
    for dag_id in (COMPARE, COPY):
        assert list(load_dag(dag_id).params) == ["match_field", "email"]


def test_bey07_compare_all_companies_reports_each_companys_items_naming_it(multi_company, monkeypatch):
    sb = multi_company
    use_settings(monkeypatch, routes())
    run(COMPARE)
    rows = comparison_csv(sb)
    assert {r["qbo_company"] for r in rows} == {"qbo_default", "qbo_au", "qbo_manual"}
    codes = active_codes(sb)
    for conn_id, book in books(sb).items():
        mine = [r for r in rows if r["qbo_company"] == conn_id]
        by_code = {r["billing_code_name"].lower(): r for r in mine if r["billing_code_id"]}
        assert set(by_code) == set(codes), conn_id  # every active code, in every company
        names = items(book)
        for name, row in by_code.items():  # matched exactly where that company has the item
            assert (row["status"] in ("matched", "discrepancy")) == (name in names), (conn_id, name, row["status"])
            if name in names:
                assert row["qbo_item_id"] == names[name]["Id"], (conn_id, name)
    html = report_html(sb, "[atqbo] compare billing codes")
    for conn_id in ("qbo_default", "qbo_au", "qbo_manual"):
        assert f"QBO company {conn_id}:" in html

    # one company chosen: only its items are read and compared
    sb.requests.clear()
    run(COMPARE, {"qbo_company": "qbo_au"})
    assert {r["qbo_company"] for r in comparison_csv(sb)} == {"qbo_au"}
    realms = {b["realm_id"] for b in books(sb).values()}
    read = {m.group(1) for r in sb.requests.list("qbo") if (m := re.search(r"/company/(\d+)/", r["path"]))}
    assert read == {books(sb)["qbo_au"]["realm_id"]} and read <= realms


def test_bey07_copy_into_all_companies_creates_each_companys_missing_items_on_its_own_income_account(
    multi_company, monkeypatch
):
    sb = multi_company
    use_settings(monkeypatch, routes(new_item_income_account=AU_INCOME))
    before = {conn_id: items(book) for conn_id, book in books(sb).items()}
    codes = active_codes(sb)
    dagrun = run(COPY)
    assert outcome_state(dagrun) in ("success", "skipped")
    after = books(sb)
    for conn_id, book in after.items():
        now = items(book)
        created = set(now) - set(before[conn_id])
        assert created == {n for n in codes if n not in before[conn_id]}, conn_id  # exactly the missing ones
        account = accounts(book)[AU_INCOME if conn_id == "qbo_au" else "Services"]
        assert all(now[n]["IncomeAccountRef"]["value"] == account for n in created), conn_id
    csv_text = [m for m in sb.mail.messages() if m["subject"].startswith("[atqbo] copy missing items")][-1]
    report = csv_text["attachments"][0]["text"]
    for conn_id in ("qbo_default", "qbo_au", "qbo_manual"):
        assert conn_id in report

    # again: every company has every item; nothing is created anywhere
    sb.requests.clear()
    run(COPY)
    assert {c: items(b) for c, b in books(sb).items()} == {c: items(b) for c, b in after.items()}
    assert not [r for r in sb.requests.list("qbo") if r["method"] == "POST" and "/batch" in r["path"].lower()]


def test_bey07_copy_a_company_without_its_income_account_fails_alone_and_the_others_are_copied_into(
    multi_company, monkeypatch
):
    sb = multi_company
    use_settings(monkeypatch, routes(new_item_income_account="Consulting Income"))  # qbo_au has no such account
    before = {conn_id: items(book) for conn_id, book in books(sb).items()}
    dagrun = run(COPY)
    assert outcome_state(dagrun) == "failed"  # the AU company's row failed
    after = {conn_id: items(book) for conn_id, book in books(sb).items()}
    assert after["qbo_au"] == before["qbo_au"]
    assert set(after["qbo_default"]) > set(before["qbo_default"])
    assert set(after["qbo_manual"]) > set(before["qbo_manual"])
    html = report_html(sb, "[atqbo] copy missing items")
    assert "QBO company qbo_au could not be reached or used" in html and "'Consulting Income'" in html

    # chosen alone, it stops the run at start, as one company does
    run(COPY, {"qbo_company": "qbo_au"}, expect="failed")


def test_bey07_a_company_the_settings_do_not_name_is_refused_at_start(multi_company, monkeypatch):
    use_settings(monkeypatch, routes())
    dag = load_dag(COMPARE)
    use_settings(monkeypatch, routes()[:1])  # qbo_manual's route removed after the form was built
    dagrun = dag.test(logical_date=pendulum.now("UTC"), run_conf={"qbo_company": "qbo_manual"})
    assert task_states(dagrun)["start"] == "failed"
