"""BEY-07: the reconciliation, the preflight and the connection check with several QBO companies,
run with ``dag.test()`` on the sandbox's ``multi-company`` seed (``qbo_default`` the demo US
company, ``qbo_au`` an Australian GST company, ``qbo_manual`` a US company with manual sales tax).
Each company's books are read with its own connection; a company whose token is revoked is
reported as such and the others are still checked."""

from __future__ import annotations

import csv
import io
import logging

import pytest

from tests.dags.companies_support import au_customer, books, realms, route_settings, run, use_settings
from tests.dags.dag_support import load_dag, outcome_state, task_states
from tests.dags.preflight_support import run_preflight

pytestmark = pytest.mark.integration

SUBJECT = "[atqbo] reconciliation"


def au_route(sb, **settings) -> dict:
    return {
        "qbo_conn_id": "qbo_au",
        "company_ids": [au_customer(sb)],
        "settings": {**route_settings("qbo_au"), **settings},
    }


def manual_route(**settings) -> dict:
    return {
        "qbo_conn_id": "qbo_manual",
        "company_ids": [999999],  # none of the demo's: the company is checked, nothing goes there
        "settings": {**route_settings("qbo_manual"), **settings},
    }


def sync(sb, monkeypatch) -> None:
    """The invoice and void syncs, the Australian customer's invoices routed to qbo_au (INV-1005,
    sent before and voided in Autotask since, is voided in QBO by the void sync)."""
    use_settings(monkeypatch, [au_route(sb)], void_sync_enabled=True, void_lookback_days=45)
    run("atqbo_invoices")
    run("atqbo_invoice_voids")


def hook(conn_id: str):
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger

    return QuickBooksOnlineHook(conn_id, ledger=Ledger.from_conn_id("atqbo_state"))


def reconcile(sb) -> tuple[dict, dict]:
    """Run atqbo_reconcile from a clean request log and mailbox: its email and its dagrun."""
    sb.requests.clear()
    sb.mail.clear()
    dagrun = run("atqbo_reconcile")
    mails = [m for m in sb.mail.messages() if m["subject"].startswith(SUBJECT)]
    assert len(mails) == 1, [m["subject"] for m in sb.mail.messages()]
    return mails[0], dagrun


def documents(mail: dict) -> dict[tuple[str, int], dict]:
    found = [a for a in mail["attachments"] if a["filename"].endswith("-documents.csv")]
    assert len(found) == 1
    rows = csv.DictReader(io.StringIO(found[0]["text"].lstrip("\ufeff")))
    return {(r["document"], int(r["autotask_id"])): r for r in rows}


def ast_taxed(sb, default_docs: dict[int, dict]) -> set[int]:
    """The default company's invoices whose QBO total is not Autotask's: the us-ast company's
    automated sales tax computed their tax (a total drift the reconciliation reports, TAX-04)."""
    from decimal import Decimal

    invoices = {i["id"]: i for i in sb.state()["autotask"]["Invoices"]}
    return {
        i for i, d in default_docs.items() if Decimal(str(d["TotalAmt"])) != Decimal(str(invoices[i]["invoiceTotal"]))
    }


def agree_but_ast(sb, rows, default_docs: dict[int, dict]) -> None:
    """Every row agrees, but total drifts of the default company's invoices that its automated
    sales tax computed (QBO's total is not Autotask's), each saying so."""
    taxed = ast_taxed(sb, default_docs)
    rows = list(rows)
    for row in rows:
        if row["result"] != "agrees":
            assert row["document"] == "invoice" and int(row["autotask_id"]) in taxed, row
            assert row["qbo_company"] == "qbo_default" and "automated sales tax" in row["details"] + row["drift"], row
    assert any(row["result"] == "agrees" for row in rows)


def text(mail: dict) -> str:
    return mail["text"] if mail.get("text") else mail["html"]


def writes(sb) -> list[dict]:
    return [
        r
        for r in sb.requests.list()
        if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
        and r["api"] in ("autotask", "qbo")
        and not r["path"].lower().endswith(("/query", "/query/count", "/query/next", "/tokens/bearer"))
        and "query" not in (r["query"] or "")
    ]


def atqbo_invoices_of(book: dict) -> dict[int, dict]:
    from atqbo.qbo_docs import INVOICE_NOTE

    out = {}
    for inv in book.get("Invoice", []):
        autotask_id = INVOICE_NOTE.autotask_id(inv.get("PrivateNote"))
        if autotask_id is not None:
            out[autotask_id] = inv
    return out


# -- reconciliation ------------------------------------------------------------------------------------------


def test_bey07_reconcile_compares_each_document_in_its_company_and_never_matches_an_id_across_companies(
    multi_company, monkeypatch
):
    """After the invoice sync sent the Australian customer's invoices to qbo_au and the rest to
    qbo_default, every document agrees, each compared in its own company (the CSV and the rows name
    it). Then drift in qbo_au only: its invoice deleted (while qbo_default has an invoice of the same
    QBO Id, which still agrees) and a copy of a qbo_default invoice made in qbo_au: each reported
    naming the company; nothing written anywhere."""
    sb = multi_company
    sync(sb, monkeypatch)
    default_docs, au_docs = atqbo_invoices_of(books(sb)["qbo_default"]), atqbo_invoices_of(books(sb)["qbo_au"])
    assert au_docs and default_docs

    mail, _ = reconcile(sb)
    docs = documents(mail)
    assert {i for kind, i in docs if kind == "invoice"} == set(default_docs) | set(au_docs)
    agree_but_ast(sb, docs.values(), default_docs)
    for autotask_id in au_docs:
        assert docs[("invoice", autotask_id)]["qbo_company"] == "qbo_au"
        assert docs[("invoice", autotask_id)]["qbo_id"] == au_docs[autotask_id]["Id"]
    for autotask_id in default_docs:
        assert docs[("invoice", autotask_id)]["qbo_company"] == "qbo_default"
    assert writes(sb) == []

    # drift in qbo_au: one of its invoices deleted, one of qbo_default's copied into it
    deleted = sorted(au_docs)[0]
    # QBO Ids are per company: qbo_default gets an invoice (typed in by hand) of the deleted one's Id
    twin = {**default_docs[sorted(default_docs)[-1]], "Id": au_docs[deleted]["Id"], "DocNumber": "BY-HAND-1"}
    twin["PrivateNote"] = "typed in by hand"
    sb.seed({"qbo": {"Invoice": [twin]}})
    assert au_docs[deleted]["Id"] in {d["Id"] for d in books(sb)["qbo_default"]["Invoice"]}
    au = hook("qbo_au")
    au.delete("Invoice", au_docs[deleted]["Id"])
    copied = sorted(default_docs)[0]
    customer = next(c for c in books(sb)["qbo_au"]["Customer"] if c.get("Active", True))
    item = next(
        line["SalesItemLineDetail"]
        for line in au_docs[deleted]["Line"]
        if line.get("DetailType") == "SalesItemLineDetail"
    )
    copy = au.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TxnDate": default_docs[copied]["TxnDate"],
            "PrivateNote": default_docs[copied]["PrivateNote"],
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [
                {
                    "Amount": 10.0,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": item["ItemRef"],
                        "Qty": 1,
                        "UnitPrice": 10.0,
                        "TaxCodeRef": item["TaxCodeRef"],
                    },
                }
            ],
        },
    )

    mail, _ = reconcile(sb)
    docs = documents(mail)
    row = docs[("invoice", deleted)]
    assert row["result"] == "drift" and row["qbo_company"] == "qbo_au"
    assert "missing in QBO" in row["drift"] and f"invoice Id {au_docs[deleted]['Id']} deleted" in row["details"]
    assert row["qbo_total"] == "" and row["qbo_id"] == au_docs[deleted]["Id"]  # not qbo_default's invoice of that Id
    row = docs[("invoice", copied)]
    assert row["qbo_company"] == "qbo_default" and row["qbo_id"] == default_docs[copied]["Id"]
    assert row["drift"] == "in another QBO company", row
    assert f"qbo_au: invoice {copy.get('DocNumber')} (Id {copy['Id']})" in row["details"] or (
        f"qbo_au: invoice Id {copy['Id']}" in row["details"]
    )
    others = [r for k, r in docs.items() if k not in {("invoice", deleted), ("invoice", copied)}]
    agree_but_ast(sb, others, default_docs)
    body = text(mail).replace("&#x27;", "'")
    assert "qbo_au" in body and "qbo_default" in body
    assert "QBO company qbo_au: " in body and "QBO company qbo_default: " in body  # the counts per company
    assert writes(sb) == []


def test_bey07_reconcile_reports_a_company_it_cannot_reach_and_compares_the_others(multi_company, monkeypatch):
    """qbo_au's token is revoked after the sync: the reconciliation says qbo_au was not reached,
    naming the documents it could not compare and the fix (a failed row: the run's outcome fails),
    and compares every qbo_default document as usual."""
    from sandbox.seeds.multi_company import AU_REALM_ID

    sb = multi_company
    sync(sb, monkeypatch)
    default_docs, au_docs = atqbo_invoices_of(books(sb)["qbo_default"]), atqbo_invoices_of(books(sb)["qbo_au"])
    assert au_docs
    sb.qbo.revoke_realm(AU_REALM_ID)

    mail, dagrun = reconcile(sb)
    assert outcome_state(dagrun) == "failed"
    assert "QBO company qbo_au not reached" in mail["subject"]
    docs = documents(mail)
    assert {i for kind, i in docs if kind == "invoice"} == set(default_docs)  # nothing of qbo_au's compared
    agree_but_ast(sb, docs.values(), default_docs)
    assert {r["qbo_company"] for r in docs.values()} == {"qbo_default"}
    body = text(mail).replace("&#x27;", "'")
    assert "QBO company qbo_au could not be reached or used" in body
    for autotask_id in au_docs:
        assert f"(Autotask id {autotask_id})" in body
    assert "atqbo_check_connections" in body
    assert writes(sb) == []


# -- preflight ------------------------------------------------------------------------------------------------


def test_bey07_preflight_checks_every_company_with_its_settings_and_names_it(multi_company, monkeypatch):
    """The QBO checks run for each company with its own settings: the AU company's GST codes are
    found there (and would not be in the US company), a class missing in the manual-tax company only
    is blocking for that company only; every QBO finding names its company, the settings part lists
    each company's settings. Then qbo_manual's token is revoked: that company is one blocking check,
    the other two are still checked. Nothing is written."""
    from sandbox.seeds.multi_company import MANUAL_REALM_ID

    sb = multi_company
    use_settings(monkeypatch, [au_route(sb), manual_route(default_class="No Such Class")])
    result = run_preflight(sb, {"window_days": 45})
    rows = result.rows
    qbo_rows = [r for r in rows if r["part"] == "QuickBooks Online"]
    assert {r["qbo_company"] for r in qbo_rows} == {"qbo_default", "qbo_au", "qbo_manual"}, result.describe()

    def of(company: str, topic: str) -> dict:
        found = [r for r in qbo_rows if r["qbo_company"] == company and r["topic"] == topic]
        assert len(found) == 1, (company, topic, result.describe())
        return found[0]

    for company in ("qbo_default", "qbo_au", "qbo_manual"):
        assert of(company, "Company and edition")["verdict"] == "ok"  # each with its own qbo_edition
    assert "'GST'" in of("qbo_au", "Tax codes named in the settings")["finding"]
    assert of("qbo_au", "Tax codes named in the settings")["verdict"] == "ok"
    assert of("qbo_manual", "Classes")["verdict"] == "blocking"
    assert "'No Such Class' (default_class)" in of("qbo_manual", "Classes")["finding"]
    assert of("qbo_default", "Classes")["verdict"] == "ok" and of("qbo_au", "Classes")["verdict"] == "ok"
    assert result.states["check_qbo"] == "failed"
    settings_rows = {r["qbo_company"]: r for r in rows if r["topic"] == "QBO company settings"}
    assert set(settings_rows) == {"qbo_default", "qbo_au", "qbo_manual"}
    assert "qbo_edition non-US" in settings_rows["qbo_au"]["finding"]
    assert f"Autotask company {au_customer(sb)}" in settings_rows["qbo_au"]["finding"]
    html = result.mail["html"]
    assert "QuickBooks Online, QBO company qbo_manual" in html

    sb.qbo.revoke_realm(MANUAL_REALM_ID)
    result = run_preflight(sb, {"window_days": 45})
    qbo_rows = [r for r in result.rows if r["part"] == "QuickBooks Online"]
    manual = [r for r in qbo_rows if r["qbo_company"] == "qbo_manual"]
    assert [(r["verdict"], r["topic"]) for r in manual] == [("blocking", "QBO company could not be checked")]
    assert "QBO company qbo_manual could not be reached or used" in manual[0]["finding"]
    for company in ("qbo_default", "qbo_au"):
        assert [r for r in qbo_rows if r["qbo_company"] == company and r["topic"] == "Company and edition"]


def test_bey07_preflight_without_routes_has_no_company_column(multi_company, monkeypatch):
    """One QBO company (no qbo_routes): the report is as it always was, no company named."""
    sb = multi_company
    use_settings(monkeypatch, [])
    result = run_preflight(sb, {"window_days": 45})
    assert "qbo_company" not in result.rows[0]
    assert not [r for r in result.rows if r["topic"] == "QBO company settings"]


# -- connection check -------------------------------------------------------------------------------------------


def test_bey07_check_connections_checks_every_company_and_one_revoked_token_hides_no_other(
    multi_company, monkeypatch, caplog, capfd
):
    """Every QBO connection of the settings is checked: each company's realm and name are logged and
    returned. With qbo_au's token revoked the QBO check fails naming qbo_au and its failure, and
    still says qbo_default and qbo_manual work (each company's token endpoint and company read)."""
    from sandbox.seeds.multi_company import AU_REALM_ID

    sb = multi_company
    use_settings(monkeypatch, [au_route(sb), manual_route()])
    ids = realms(sb)
    with caplog.at_level(logging.INFO):
        dagrun = load_dag("atqbo_check_connections").test()
    assert dagrun.state == "success", task_states(dagrun)
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    names = {conn_id: book["CompanyInfo"]["CompanyName"] for conn_id, book in books(sb).items()}
    for conn_id in ("qbo_default", "qbo_au", "qbo_manual"):
        assert f"QBO company {conn_id} (realm {ids[conn_id]}): ok, {names[conn_id]!r}" in logged, logged[-3000:]
    company_reads = {r["path"].split("/")[3] for r in sb.requests.list("qbo") if "/companyinfo/" in r["path"].lower()}
    assert company_reads == set(ids.values())

    sb.qbo.revoke_realm(AU_REALM_ID)
    with caplog.at_level(logging.INFO):
        dagrun = load_dag("atqbo_check_connections").test()
    states = task_states(dagrun)
    assert states["check_quickbooks_online"] == "failed" and states["check_autotask"] == "success", states
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert f"QBO company qbo_au (realm {AU_REALM_ID}): FAILED" in logged
    assert "1 of 3 QBO companies failed the check (qbo_au)" in logged
    for conn_id in ("qbo_default", "qbo_manual"):
        assert f"QBO company {conn_id} (realm {ids[conn_id]}): ok" in logged
