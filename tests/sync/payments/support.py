"""Seeds and look-ups shared by the payment sync's tests (logic and DAG): Autotask invoices atqbo
sent, their QBO copies (PrivateNote "Autotask invoice {id} ..."), a QBO invoice atqbo did not
create, and QBO payments made through the sandbox's API (or seeded, to date their last change).

CDC works on the wall clock (it reaches back 30 real days), so these tests use real "now";
payment dates (TxnDate) are fixed. ``seed_four`` is the books most logic tests start from;
``make_run`` and ``run_payments`` run the tasks as the DAG chains them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.payments.tasks import advance_payment_watermark, apply_payments, find_payment_changes
from tests.sync.voids import support as vs

COMPANY_ID = vs.COMPANY_ID
COMPANY_NAME = vs.COMPANY_NAME
QBO_CUSTOMER_ID = vs.QBO_CUSTOMER_ID
INVOICE_DAY = "2026-02-20"
AT_1, AT_2, AT_3, AT_4 = 29686101, 29686102, 29686103, 29686104

reset_sandbox = vs.reset_sandbox
writes = vs.writes


def autotask_invoice(
    invoice_id: int, number: str, *, total: float = 250.0, paid_date: str | None = None, voided: bool = False
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "companyID": COMPANY_ID,
        "invoiceNumber": number,
        "invoiceDateTime": f"{INVOICE_DAY}T00:00:00Z",
        "invoiceTotal": total,
        "totalTaxValue": 0,
        "isVoided": voided,
        "paidDate": f"{paid_date}T00:00:00Z" if paid_date else None,
        "webServiceDate": f"{INVOICE_DAY}T01:00:00Z",
    }


def qbo_invoice(qbo_id: str, doc_number: str, autotask_id: int | None, *, amount: float = 250.0) -> dict[str, Any]:
    """A QBO invoice; atqbo's when ``autotask_id`` is given (its PrivateNote), else typed in by hand."""
    note = f"Autotask invoice {autotask_id} - sent by atqbo" if autotask_id else "typed in by the bookkeeper"
    return vs.qbo_invoice(qbo_id, doc_number, note, amount=amount)


def payment(
    payment_id: str, txn_date: str, applied: Iterable[tuple[str, float]], *, updated: datetime | None = None
) -> dict[str, Any]:
    """A QBO Payment applying ``amount`` to each ``(invoice Id, amount)``; ``updated`` dates its last change."""
    lines = [
        {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]} for invoice_id, amount in applied
    ]
    record: dict[str, Any] = {
        "TxnDate": txn_date,
        "CustomerRef": {"value": QBO_CUSTOMER_ID},
        "TotalAmt": sum(line["Amount"] for line in lines),
        "Line": lines,
    }
    if payment_id:
        record["Id"] = payment_id
    if updated is not None:
        stamp = updated.astimezone(UTC).isoformat(timespec="seconds")
        record["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
    return record


def seed_books(sandbox, autotask_invoices: list[dict], qbo_invoices: list[dict], payments: Iterable[dict] = ()) -> None:
    """Load one customer on each side plus the given documents (after ``reset_sandbox``)."""
    vs.seed_books(sandbox, autotask_invoices, qbo_invoices, list(payments))


def record_payment(qbo, txn_date: str, applied: Iterable[tuple[str, float]]) -> dict[str, Any]:
    """Record a payment in QBO through its API, as a bookkeeper's QBO would."""
    return qbo.create("Payment", payment("", txn_date, applied))


def paid_dates(sandbox) -> dict[int, str | None]:
    """Autotask invoice id -> paidDate's day (None when not paid)."""
    return {inv["id"]: (inv.get("paidDate") or "")[:10] or None for inv in sandbox.state()["autotask"]["Invoices"]}


def qbo_balances(sandbox) -> dict[str, float]:
    return {inv["Id"]: inv["Balance"] for inv in sandbox.state()["qbo"]["Invoice"]}


def paid_date_writes(sandbox) -> list[dict[str, Any]]:
    """Autotask invoice updates the sandbox served (PATCH/PUT .../Invoices)."""
    return [
        r
        for r in sandbox.requests.list("autotask")
        if r["method"] in ("PATCH", "PUT") and r["path"].lower().rstrip("/").endswith("/invoices")
    ]


def cdc_requests(sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests.list("qbo") if r["path"].lower().endswith("/cdc")]


def changed_since(request: dict[str, Any]) -> datetime:
    """The ``changedSince`` a CDC request asked for."""
    from urllib.parse import parse_qs

    return datetime.fromisoformat(parse_qs(request["query"])["changedSince"][0])


# -- the books of the logic tests, and the tasks run as the DAG chains them --------------------------


def seed_four(sandbox, ledger, payments_=()) -> None:
    """Four Autotask invoices atqbo sent: 501-503 known by their PrivateNote, 504 by the ledger only
    (its note was edited away); plus 509, a QBO invoice atqbo did not create."""
    seed_books(
        sandbox,
        [
            autotask_invoice(AT_1, "INV-3001"),
            autotask_invoice(AT_2, "INV-3002", total=100.0),
            autotask_invoice(AT_3, "INV-3003", total=120.0),
            autotask_invoice(AT_4, "INV-3004", total=80.0),
        ],
        [
            qbo_invoice("501", "1101", AT_1),
            qbo_invoice("502", "1102", AT_2, amount=100.0),
            qbo_invoice("503", "1103", AT_3, amount=120.0),
            qbo_invoice("504", "1104", None, amount=80.0),
            qbo_invoice("509", "1109", None, amount=75.0),
        ],
        payments_,
    )
    ledger.set_sync_status("invoice", AT_4, "SYNCED", qbo_id="504", qbo_number="1104")


def make_run(run_id: str, **settings) -> RunInfo:
    doc = Settings.from_dict({"payment_sync_enabled": True, **settings}).to_dict()
    now = datetime.now(UTC)
    return RunInfo(
        dag_id="atqbo_payments",
        run_id=run_id,
        run_key=f"atqbo_payments/{run_id}",
        settings=doc,
        window_start=(now - timedelta(hours=1)).isoformat(),
        window_end=now.isoformat(),
    )


def run_payments(run: RunInfo, rescan_days: int | None = None) -> tuple[list[dict], dict]:
    """The DAG's find -> apply -> watermark chain (XCom-shaped data in between); rows and the scan."""
    scan = find_payment_changes(run, rescan_days)
    rows = apply_payments(run, scan)
    advance_payment_watermark(run, scan)
    return rows, scan
