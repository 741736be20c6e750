"""atqbo_mark_invoice_paid (TOOL-06) run with dag.test() against the sandbox, on the demo tenant after
the real syncs: the Autotask paid date checked in the sandbox's state, every write in its request
log, the report in its mailbox; and the hourly payment sync afterwards, which must not undo a manual
mark of an invoice QBO still shows unpaid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest

from tests.dags import tenant_support as st
from tests.dags.dag_support import load_dag, task_states

pytestmark = pytest.mark.integration

DAG_ID = "atqbo_mark_invoice_paid"
SUBJECT = "[atqbo] mark invoice paid"


class PaidTenant(st.Tenant):
    def mark(self, conf: dict, expect: str = "success") -> dict:
        """Trigger the tool from a clean request log and mailbox; its report email."""
        self.sb.requests.clear()
        self.sb.mail.clear()
        self.run(DAG_ID, conf, expect=expect)
        mails = [m for m in self.sb.mail.messages() if m["subject"].startswith(SUBJECT)]
        assert len(mails) == 1, [m["subject"] for m in self.sb.mail.messages()]
        return mails[0]

    def paid_date(self, autotask_id: int) -> str | None:
        return (self.at_invoices()[autotask_id].get("paidDate") or "")[:10] or None

    def paid_date_writes(self) -> list[dict]:
        return [r for r in self.writes() if r["api"] == "autotask" and r["path"].lower().endswith("/invoices")]


@pytest.fixture
def tenant(airflow_db, sandbox_connections, monkeypatch, tmp_path) -> PaidTenant:
    base = st.synced_tenant(sandbox_connections, monkeypatch, tmp_path)
    return PaidTenant(base.sb, base.monkeypatch, base.state_db)


def _sent_by_atqbo(tenant) -> list[int]:
    return sorted(int(r["autotask_id"]) for r in tenant.ledger().list_sync_records(entity="invoice", status="SYNCED"))


def _csv_row(mail: dict) -> dict:
    import csv
    import io

    (attachment,) = mail["attachments"]
    (row,) = csv.DictReader(io.StringIO(attachment["text"].lstrip("\ufeff")))
    return row


# -- good numbers ------------------------------------------------------------------------------------------


def test_tool06_marks_the_invoice_paid_on_the_date_given_then_changes_nothing_then_moves_the_date(tenant):
    invoice_id = _sent_by_atqbo(tenant)[0]
    invoice = tenant.at_invoices()[invoice_id]
    number = invoice["invoiceNumber"]
    qbo_invoice = tenant.qbo_invoices()[invoice_id]
    assert invoice["paidDate"] is None and qbo_invoice["Balance"] > 0
    before = tenant.at_invoices()

    mail = tenant.mark({"invoice_number": number, "paid_date": "2026-11-18"})

    assert tenant.paid_date(invoice_id) == "2026-11-18"
    after = tenant.at_invoices()
    assert {i for i in after if after[i] != before[i]} == {invoice_id}  # no other invoice touched
    (write,) = tenant.paid_date_writes()
    assert write["method"] == "PATCH" and tenant.writes() == [write]  # one Autotask write, nothing in QBO
    assert mail["subject"] == f"{SUBJECT}: 1 transferred"
    assert mail["envelope_to"] == [st.REPORT_TO]
    row = _csv_row(mail)
    assert (row["outcome"], row["autotask_id"], row["reference"]) == ("transferred", str(invoice_id), number)
    assert row["reason"] == "marked paid on 2026-11-18 in Autotask (it had no paid date)"
    # What QBO shows, and that the payment sync will not undo the mark while money is owed there.
    assert f"QBO invoice {qbo_invoice['DocNumber']} (Id {qbo_invoice['Id']}) still shows a balance of" in mail["html"]
    assert "does not undo this paid date" in mail["html"]
    assert tenant.ledger().list_runs(DAG_ID)[0]["counts"]["transferred"] == 1

    mail = tenant.mark({"invoice_number": number, "paid_date": "2026-11-18"})
    assert tenant.paid_date_writes() == [] and tenant.writes() == []
    assert mail["subject"] == f"{SUBJECT}: 1 skipped"
    assert _csv_row(mail)["reason"] == "already paid on that date: nothing changed (paid on 2026-11-18 in Autotask)"

    mail = tenant.mark({"invoice_number": number, "paid_date": "2026-11-20"})
    assert tenant.paid_date(invoice_id) == "2026-11-20"
    assert len(tenant.paid_date_writes()) == 1
    assert _csv_row(mail)["reason"] == "paid date changed from 2026-11-18 to 2026-11-20 in Autotask"


def test_tool06_an_empty_date_means_today_in_utc(tenant):
    invoice_id = _sent_by_atqbo(tenant)[1]
    number = tenant.at_invoices()[invoice_id]["invoiceNumber"]

    mail = tenant.mark({"invoice_number": f"  {number} "})  # blanks around the number are dropped

    today = datetime.now(UTC).date().isoformat()
    assert tenant.paid_date(invoice_id) == today
    assert _csv_row(mail)["reason"] == f"marked paid on {today} in Autotask (it had no paid date)"
    assert f"no date was given: today&#x27;s date ({today}, UTC) was used" in mail["html"]


def test_tool06_dry_run_in_the_settings_reports_the_mark_and_writes_nothing(tenant):
    invoice_id = _sent_by_atqbo(tenant)[3]
    number = tenant.at_invoices()[invoice_id]["invoiceNumber"]
    tenant.settings(dry_run=True)

    mail = tenant.mark({"invoice_number": number, "paid_date": "2026-11-18"})

    assert tenant.paid_date(invoice_id) is None and tenant.writes() == []
    assert mail["subject"] == f"{SUBJECT}: 1 planned (dry run)"
    assert _csv_row(mail)["reason"] == "would mark it paid on 2026-11-18 in Autotask (it had no paid date)"


# -- refused: nothing written -------------------------------------------------------------------------------


def test_tool06_an_unknown_number_fails_the_run_naming_it_and_the_fix(tenant, capfd):
    before = tenant.at_invoices()

    mail = tenant.mark({"invoice_number": "INV-0000", "paid_date": "2026-11-18"}, expect="failed")

    assert tenant.writes() == [] and tenant.at_invoices() == before
    row = _csv_row(mail)
    assert (row["outcome"], row["reference"]) == ("failed", "INV-0000")
    assert row["reason"] == "no Autotask invoice has invoice number 'INV-0000'"
    assert row["fix"].startswith("check the number on the invoice in Autotask")
    task_log = capfd.readouterr().out
    assert "MarkPaidRefused: no Autotask invoice has invoice number 'INV-0000'. Nothing was changed. Fix:" in task_log


def test_tool06_two_invoices_with_the_number_are_refused(tenant):
    first, second = _sent_by_atqbo(tenant)[:2]
    at = tenant.at_invoices()
    number = at[first]["invoiceNumber"]
    tenant.sb.seed({"autotask": {"Invoices": [{**at[second], "invoiceNumber": number}]}})
    before = tenant.at_invoices()

    mail = tenant.mark({"invoice_number": number}, expect="failed")

    assert tenant.writes() == [] and tenant.at_invoices() == before
    assert _csv_row(mail)["reason"] == (
        f"2 Autotask invoices have invoice number '{number}' (ids {first}, {second}), so atqbo cannot tell which one "
        "was paid"
    )


def test_tool06_a_voided_invoice_is_refused(tenant):
    voided = [i for i in tenant.at_invoices().values() if i["isVoided"]]
    assert len(voided) == 1  # the demo's INV-1005
    before = tenant.at_invoices()

    mail = tenant.mark({"invoice_number": voided[0]["invoiceNumber"], "paid_date": "2026-11-18"}, expect="failed")

    assert tenant.writes() == [] and tenant.at_invoices() == before
    row = _csv_row(mail)
    assert row["reason"] == (
        f"Autotask invoice {voided[0]['invoiceNumber']} (id {voided[0]['id']}) is voided (on "
        f"{voided[0]['voidedDate'][:10]}), so it cannot be marked paid"
    )
    assert row["autotask_id"] == str(voided[0]["id"])


@pytest.mark.parametrize("bad_date", ["2026-02-30", "21/11/2026", "2026-11-5", "tomorrow"])
def test_tool06_a_bad_date_is_rejected_by_the_trigger_form_and_nothing_runs(tenant, bad_date):
    from airflow.sdk.exceptions import ParamValidationError

    number = tenant.at_invoices()[_sent_by_atqbo(tenant)[0]]["invoiceNumber"]
    with pytest.raises(ParamValidationError, match="paid_date"):
        load_dag(DAG_ID).test(
            logical_date=pendulum.now("UTC"), run_conf={"invoice_number": number, "paid_date": bad_date}
        )
    assert tenant.sb.requests.list() == [] and tenant.sb.mail.messages() == []


def test_tool06_a_missing_or_too_long_number_and_a_date_after_today_are_refused_before_any_call(tenant, capfd):
    from airflow.sdk.exceptions import ParamValidationError

    for bad in ({"paid_date": "2026-11-18"}, {"invoice_number": ""}, {"invoice_number": "X" * 51}):
        with pytest.raises(ParamValidationError, match="invoice_number"):
            load_dag(DAG_ID).test(logical_date=pendulum.now("UTC"), run_conf=bad)
    number = tenant.at_invoices()[_sent_by_atqbo(tenant)[0]]["invoiceNumber"]
    later = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    dagrun = tenant.run(DAG_ID, {"invoice_number": number, "paid_date": later}, expect="failed")
    assert task_states(dagrun)["start"] == "failed"
    assert tenant.sb.requests.list() == [] and tenant.sb.mail.messages() == []
    assert f"FormError: the trigger form has bad input, so nothing was done: paid_date: {later} is after today" in (
        capfd.readouterr().out
    )


# -- the payment sync afterwards ------------------------------------------------------------------------------


def test_tool06_the_hourly_payment_sync_does_not_undo_a_manual_mark_while_qbo_shows_it_unpaid(tenant):
    """PAY-01 runs after the mark: a partial payment in QBO makes it look at the invoice; QBO still
    shows money owed, so it reports the difference and leaves the manual paid date as it is."""
    invoice_id = _sent_by_atqbo(tenant)[2]
    number = tenant.at_invoices()[invoice_id]["invoiceNumber"]
    qbo_invoice = tenant.qbo_invoices()[invoice_id]
    tenant.mark({"invoice_number": number, "paid_date": "2026-11-18"})
    half = round(qbo_invoice["TotalAmt"] / 2, 2)
    tenant.qbo().create(
        "Payment",
        {
            "TxnDate": "2026-11-19",
            "CustomerRef": qbo_invoice["CustomerRef"],
            "TotalAmt": half,
            "Line": [{"Amount": half, "LinkedTxn": [{"TxnId": qbo_invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    tenant.settings(payment_sync_enabled=True)
    tenant.sb.requests.clear()
    tenant.sb.mail.clear()

    tenant.run("atqbo_payments")

    assert tenant.paid_date(invoice_id) == "2026-11-18"
    assert [r for r in tenant.writes() if r["api"] == "autotask"] == []
    (mail,) = [m for m in tenant.sb.mail.messages() if m["subject"].startswith("[atqbo] payments")]
    assert "Autotask shows it paid on 2026-11-18; the paid date was left as is" in mail["html"]
