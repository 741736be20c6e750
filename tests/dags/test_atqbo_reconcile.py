"""atqbo_reconcile (BEY-04) run with dag.test() against the sandbox: the demo tenant's invoices and
purchase orders sent by the real syncs (atqbo_invoices, atqbo_invoice_voids, atqbo_purchase_orders),
then drift made through the sandbox's APIs and seeds, and the report checked document by document
in the mailbox, its CSV, the request log (bulk reads, no writes) and the run history."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.dags import tenant_support as st
from tests.dags.dag_support import load_dag

pytestmark = pytest.mark.integration

SUBJECT = "[atqbo] reconciliation"


class ReconcileTenant(st.Tenant):
    def reconcile(self, conf: dict | None = None) -> dict:
        """Run atqbo_reconcile from a clean request log and mailbox; its email."""
        self.sb.requests.clear()
        self.sb.mail.clear()
        self.run("atqbo_reconcile", conf)
        mails = [m for m in self.sb.mail.messages() if m["subject"].startswith(SUBJECT)]
        assert len(mails) == 1, [m["subject"] for m in self.sb.mail.messages()]
        return mails[0]


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch, tmp_path) -> ReconcileTenant:
    base = st.synced_tenant(sandbox_connections, monkeypatch, tmp_path)
    return ReconcileTenant(base.sb, base.monkeypatch, base.state_db)


def _csv(mail: dict, suffix: str) -> list[dict]:
    found = [a for a in mail["attachments"] if a["filename"].endswith(suffix)]
    assert len(found) == 1, [a["filename"] for a in mail["attachments"]]
    return list(csv.DictReader(io.StringIO(found[0]["text"].lstrip("\ufeff"))))


def _documents(mail: dict) -> dict[tuple[str, int], dict]:
    return {(r["document"], int(r["autotask_id"])): r for r in _csv(mail, "-documents.csv")}


def _drift_rows(mail: dict) -> dict[int, dict]:
    rows = [r for r in mail["attachments"] if not r["filename"].endswith("-documents.csv")]
    assert len(rows) == 1
    return {int(r["autotask_id"]): r for r in csv.DictReader(io.StringIO(rows[0]["text"].lstrip("\ufeff")))}


# -- no drift ----------------------------------------------------------------------------------------------


def test_bey04_after_the_syncs_every_document_agrees_read_only_and_in_bulk(tenant):
    """All the demo's invoices atqbo sent (and the six sent before it took over, one voided on both
    sides) and its bills agree; the report says so, by email with a CSV line per document; the run
    reads in bulk (a bounded number of calls for ~40 documents) and writes nothing to either system."""
    at = tenant.at_invoices()
    invoices = {i for i, inv in at.items() if inv.get("webServiceDate")}
    assert invoices == set(tenant.qbo_invoices())  # what the syncs left: every marked invoice has its QBO twin
    bills = set(tenant.bills())
    assert len(invoices) >= 35 and len(bills) == 3

    mail = tenant.reconcile()

    assert mail["subject"] == f"{SUBJECT}: 43 checked, all agree"
    assert mail["envelope_to"] == [st.REPORT_TO]
    documents = _documents(mail)
    assert set(documents) == {("invoice", i) for i in invoices} | {("bill", b) for b in bills}
    assert {r["result"] for r in documents.values()} == {"agrees"}
    assert _drift_rows(mail) == {}
    n = len(invoices) + len(bills)
    assert (
        f"{n} document(s) checked ({len(invoices)} invoice(s), 3 bill(s) from purchase orders): {n} in agreement, "
        "0 with drift: all agree between Autotask and QBO"
    ) in mail["html"]
    voided = [i for i in invoices if at[i]["isVoided"]]
    assert len(voided) == 1 and documents[("invoice", voided[0])]["qbo_voided"] == "yes"  # INV-1005, both voided

    assert tenant.writes() == []  # read-only: not one write to Autotask or QBO
    autotask_calls = [r for r in tenant.sb.requests.list("autotask") if "zoneInformation" not in r["path"]]
    qbo_calls = [r for r in tenant.sb.requests.list("qbo") if not r["path"].endswith("/tokens/bearer")]
    # Invoices in the window, a few outside it, companies, POs, PO items, the PO status picklist, vendors, the
    # budget check: a handful of calls whatever the number of documents, never one per document.
    assert len(autotask_calls) <= 10 < n, [r["path"] for r in autotask_calls]
    assert len(qbo_calls) <= 5 < n, [(r["path"], r["query"]) for r in qbo_calls]  # invoices, bills, preferences

    runs = tenant.ledger().list_runs("atqbo_reconcile")
    assert runs[0]["counts"]["warning"] == 0


def test_bey12_invoices_dated_where_no_run_reaches_are_named_with_the_fix(tenant):
    """An invoice dated 1900 or 2999 (a typo in Autotask) is in no sync's window: the daily reconciliation
    names each one that is neither sent nor voided, with the fix, in one more Autotask query."""
    company = next(iter(tenant.at_invoices().values()))["companyID"]

    def typo(invoice_id: int, day: str, **extra) -> dict:
        return {
            "id": invoice_id,
            "companyID": company,
            "invoiceNumber": f"T-{invoice_id}",
            "invoiceDateTime": f"{day}T00:00:00Z",
            "invoiceTotal": 100.0,
            "totalTaxValue": 0.0,
            "isVoided": False,
            **extra,
        }

    tenant.sb.seed(
        {
            "autotask": {
                "Invoices": [
                    typo(39900001, "1900-01-31"),
                    typo(39900002, "2999-01-31"),
                    typo(39900003, "2999-02-28", isVoided=True),  # voided: nothing to do
                ]
            }
        }
    )
    html = tenant.reconcile()["html"].replace("&#x27;", "'")
    for invoice_id, day in ((39900001, "1900-01-31"), (39900002, "2999-01-31")):
        assert (
            f"Autotask invoice {invoice_id} (T-{invoice_id}) is dated {day}, which no atqbo run reaches (atqbo sends "
            "invoices dated 1990-01-01 to "
        ) in html
    assert "correct its date in Autotask" in html and "39900003" not in html
    assert tenant.writes() == []


# -- every kind of drift ---------------------------------------------------------------------------------------


def _atqbo_invoices(tenant) -> list[int]:
    """Autotask ids of the invoices atqbo itself sent (the ledger's SYNCED records), in id order."""
    return sorted(int(r["autotask_id"]) for r in tenant.ledger().list_sync_records(entity="invoice", status="SYNCED"))


def _sales_lines(invoice: dict) -> list[dict]:
    return [line for line in invoice["Line"] if line.get("DetailType") == "SalesItemLineDetail"]


def _add_line(qbo, invoice: dict, amount: float) -> None:
    """A bookkeeper adds a line to the QBO invoice (its total grows by ``amount``)."""
    item = _sales_lines(invoice)[0]["SalesItemLineDetail"]["ItemRef"]
    extra = {
        "Amount": amount,
        "DetailType": "SalesItemLineDetail",
        "Description": "added in QBO",
        "SalesItemLineDetail": {"ItemRef": item, "Qty": 1, "UnitPrice": amount},
    }
    qbo.update(
        "Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "Line": [*_sales_lines(invoice), extra]}
    )


def _money(value) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def test_bey04_every_drift_is_reported_exactly_with_both_values_and_the_fix(tenant):
    """Drift made through the sandbox on one document each: a QBO invoice deleted, voided, changed by
    25.00 (and another by 0.01, within the tolerance), an invoice voided in Autotask, marked paid in
    Autotask only, paid in QBO only, gone from Autotask, copied in QBO, one marked synced by hand that
    QBO never got; a PO canceled and a bill deleted. Each is one row with both values and the fix;
    every other document agrees; still not one write."""
    a_deleted, b_qbo_void, c_at_void, d_total, e_cent, f_at_paid, g_qbo_paid, h_gone, i_copied = _atqbo_invoices(
        tenant
    )[:9]
    at, qbo_docs = tenant.at_invoices(), tenant.qbo_invoices()
    bills = tenant.bills()
    p_canceled, p_deleted = sorted(bills)[:2]
    qbo = tenant.qbo()
    autotask = tenant.autotask()
    today = datetime.now(UTC).date()

    qbo.delete("Invoice", qbo_docs[a_deleted]["Id"])
    qbo.void_invoice(qbo_docs[b_qbo_void]["Id"])
    tenant.sb.seed(
        {
            "autotask": {
                "Invoices": [
                    {
                        **at[c_at_void],
                        "isVoided": True,
                        "voidedByResourceID": st.API_RESOURCE,
                        "voidedDate": f"{today}T08:00:00Z",
                    }
                ]
            }
        }
    )
    _add_line(qbo, qbo_docs[d_total], 25.0)
    _add_line(qbo, qbo_docs[e_cent], 0.01)
    autotask.update("Invoices", f_at_paid, {"paidDate": date(2026, 11, 2)})
    paid = qbo_docs[g_qbo_paid]
    qbo.create(
        "Payment",
        {
            "TxnDate": today.isoformat(),
            "CustomerRef": paid["CustomerRef"],
            "TotalAmt": paid["TotalAmt"],
            "Line": [{"Amount": paid["TotalAmt"], "LinkedTxn": [{"TxnId": paid["Id"], "TxnType": "Invoice"}]}],
        },
    )
    copied = qbo_docs[i_copied]
    copy = qbo.create(
        "Invoice",
        {
            "CustomerRef": copied["CustomerRef"],
            "TxnDate": copied["TxnDate"],
            "PrivateNote": copied["PrivateNote"],
            "Line": _sales_lines(copied)[:1],
        },
    )
    j_by_hand = 39990001
    tenant.sb.seed(
        {
            "autotask": {
                "Invoices": [
                    {
                        "id": j_by_hand,
                        "companyID": at[a_deleted]["companyID"],
                        "invoiceNumber": "INV-9001",
                        "invoiceDateTime": f"{today - timedelta(days=3)}T00:00:00Z",
                        "invoiceTotal": 125.0,
                        "totalTaxValue": 0.0,
                        "isVoided": False,
                        "webServiceDate": f"{today}T07:00:00Z",
                    }
                ]
            }
        }
    )
    autotask.update("PurchaseOrders", p_canceled, {"status": 5})
    qbo.delete("Bill", bills[p_deleted]["Id"])
    # An Autotask invoice is never deleted through the API: the sandbox is loaded again without it.
    state = tenant.sb.state()
    state["autotask"]["Invoices"] = [i for i in state["autotask"]["Invoices"] if i["id"] != h_gone]
    state["autotask"]["BillingItems"] = [i for i in state["autotask"]["BillingItems"] if i["invoiceID"] != h_gone]
    tenant.sb.reset()
    tenant.sb.seed(state)
    st.export_connections(tenant.sb, tenant.monkeypatch)

    mail = tenant.reconcile()

    assert re.fullmatch(rf"{re.escape(SUBJECT)}: \d+ checked, 11 with drift", mail["subject"]), mail["subject"]
    rows = _drift_rows(mail)
    invoice_drift = {a_deleted, b_qbo_void, c_at_void, d_total, f_at_paid, g_qbo_paid, h_gone, i_copied, j_by_hand}
    assert set(rows) == invoice_drift | {p_canceled, p_deleted}

    def reason(autotask_id: int) -> str:
        return rows[autotask_id]["reason"]

    def total(autotask_id: int) -> str:
        return _money(at[autotask_id]["invoiceTotal"])

    def tax(autotask_id: int) -> str:
        return _money(at[autotask_id]["totalTaxValue"] or 0)

    number = {i: at[i]["invoiceNumber"] for i in at}
    assert reason(a_deleted) == (
        f"the QBO invoice atqbo created was deleted: Autotask {number[a_deleted]} total {total(a_deleted)}, "
        f"QBO invoice Id {qbo_docs[a_deleted]['Id']} deleted"
    )
    assert rows[a_deleted]["fix"].startswith("Clear the Autotask invoice's webServiceDate and the next atqbo_invoices")
    assert reason(b_qbo_void) == "voided in QBO, not in Autotask: Autotask not voided, QBO voided"
    assert reason(c_at_void) == "voided in Autotask, not in QBO: Autotask voided, QBO not voided"
    assert rows[c_at_void]["fix"].startswith(f"Void QBO invoice {qbo_docs[c_at_void]['DocNumber']} (Id ")
    grown = _money(Decimal(total(d_total)) + 25)
    assert reason(d_total) == (
        f"total (with tax) differs by +25.00; the tax is Autotask's, sent as a sales tax line: "
        f"Autotask {total(d_total)} (tax {tax(d_total)}), QBO {grown} (tax {tax(d_total)})"
    )
    assert (rows[d_total]["autotask_total"], rows[d_total]["qbo_total"]) == (total(d_total), grown)
    assert reason(f_at_paid) == (
        f"paid in Autotask, money still owed in QBO: Autotask paid on 2026-11-02, "
        f"QBO balance {total(f_at_paid)} of {total(f_at_paid)}"
    )
    assert reason(g_qbo_paid) == (
        "paid in full in QBO, not paid in Autotask: Autotask no paid date, "
        f"QBO balance 0.00 of {total(g_qbo_paid)} (paid)"
    )
    assert f"atqbo_mark_invoice_paid with invoice number {number[g_qbo_paid]}" in rows[g_qbo_paid]["fix"]
    assert reason(h_gone) == (
        f"the Autotask invoice (id {h_gone}) no longer exists: Autotask no such record, "
        f"QBO invoice {qbo_docs[h_gone]['DocNumber']} (Id {qbo_docs[h_gone]['Id']})"
    )
    assert reason(i_copied) == (
        f"more than one QBO invoice carries PrivateNote 'Autotask invoice {i_copied}': Autotask one document, "
        f"QBO invoices Ids {copied['Id']}, {copy['Id']}"
    )
    assert reason(j_by_hand) == (
        "Autotask marks it sent (webServiceDate is set) but QBO has no invoice of atqbo's for it: Autotask INV-9001 "
        "marked synced, total 125.00, QBO no invoice with PrivateNote 'Autotask invoice 39990001'"
    )
    assert reason(p_canceled) == (
        f"canceled in Autotask, not in QBO: Autotask PO canceled, QBO bill Id {bills[p_canceled]['Id']} open"
    )
    assert reason(p_deleted) == (
        f"the QBO bill atqbo created was deleted: Autotask PO {p_deleted} "
        f"total {_money(bills[p_deleted]['TotalAmt'])}, "
        f"QBO bill Id {bills[p_deleted]['Id']} deleted"
    )
    assert all(r["outcome"] == "warning" and r["fix"] for r in rows.values())

    documents = _documents(mail)
    drifted = {k for k, r in documents.items() if r["result"] == "drift"}
    assert drifted == {("invoice", i) for i in invoice_drift} | {("bill", p_canceled), ("bill", p_deleted)}
    assert documents[("invoice", e_cent)]["result"] == "agrees"  # 0.01 is within rounding_tolerance
    assert documents[("invoice", e_cent)]["details"] == "total differs by +0.01 (within rounding_tolerance 0.01)"
    kinds = {k[1]: r["drift"] for k, r in documents.items() if r["result"] == "drift"}
    assert kinds == {
        a_deleted: "missing in QBO",
        b_qbo_void: "void state",
        c_at_void: "void state",
        d_total: "total",
        f_at_paid: "paid state",
        g_qbo_paid: "paid state",
        h_gone: "missing in Autotask",
        i_copied: "duplicate in QBO",
        j_by_hand: "marked synced, not in QBO",
        p_canceled: "void state",
        p_deleted: "missing in QBO",
    }
    n = len(documents)
    assert (
        f"{n} document(s) checked ({n - 3} invoice(s), 3 bill(s) from purchase orders): {n - 11} in agreement, "
        "11 with drift"
    ) in mail["html"]
    assert tenant.writes() == []


# -- schedule and form -------------------------------------------------------------------------------------


def test_bey04_runs_daily_at_six_utc_without_catchup_and_alerts_on_failure(airflow_db):
    from airflow.sdk import CronTriggerTimetable

    from atqbo.dags import DEFAULT_ARGS, on_sync_failure

    dag = load_dag("atqbo_reconcile")
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.timetable.expression == "0 6 * * *" and str(dag.timetable.timezone) == "UTC" and dag.catchup is False
    assert dag.on_failure_callback in (on_sync_failure, [on_sync_failure])
    assert dag.default_args["retries"] == DEFAULT_ARGS["retries"]
    assert dag.params["window_days"] == 30 and dag.params["email"] == []


def test_bey04_form_window_days_and_extra_recipients(tenant):
    """A bad window or address is refused by the trigger form before anything runs; a 7-day window
    leaves out what was sent before it (the six invoices sent before atqbo took over, dated earlier)
    and the report also goes to the form's address."""
    import pendulum
    from airflow.sdk.exceptions import ParamValidationError

    for bad in ({"window_days": 0}, {"window_days": 3651}, {"email": ["cfo"]}):
        with pytest.raises(ParamValidationError):
            load_dag("atqbo_reconcile").test(logical_date=pendulum.now("UTC"), run_conf=bad)
    assert tenant.sb.requests.list() == [] and tenant.sb.mail.messages() == []

    mail = tenant.reconcile({"window_days": 7, "email": ["cfo@msp.example"]})

    assert mail["envelope_to"] == [st.REPORT_TO, "cfo@msp.example"]
    week_ago = datetime.now(UTC) - timedelta(days=7)
    assert f"documents sent {week_ago:%Y-%m-%d}" in mail["html"]
    sent_by_atqbo = set(_atqbo_invoices(tenant))  # recorded minutes ago: inside any window
    at = tenant.at_invoices()
    before_atqbo = {i for i, inv in at.items() if inv.get("webServiceDate") and i not in sent_by_atqbo}
    assert len(before_atqbo) == 6
    old = {i for i in before_atqbo if at[i]["invoiceDateTime"] < f"{(week_ago - timedelta(days=1)):%Y-%m-%d}"}
    assert old  # the demo dates them over the last 30 days
    checked = {k[1] for k in _documents(mail) if k[0] == "invoice"}
    assert sent_by_atqbo <= checked and not (old & checked)
