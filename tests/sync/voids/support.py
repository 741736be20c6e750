"""Seeds and look-ups shared by the void sync's tests (logic and DAG): a small Autotask tenant with
voided invoices and a QBO company holding invoices atqbo created (PrivateNote) and others it did not;
and the find and void tasks run as the DAG chains them (``make_run``, ``run_voids``).

All dates are fixed: the DAG tests run at ``LOGICAL_DATE`` (data interval 11:45-12:00 UTC that
day), the logic tests use ``WINDOW_START``/``WINDOW_END``, the same window with the default
14-day look-back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.voids.tasks import apply_voids, find_void_targets

LOGICAL_DATE = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
INTERVAL_START = LOGICAL_DATE - timedelta(minutes=15)  # CronDataIntervalTimetable's interval before it
WINDOW_END = LOGICAL_DATE
WINDOW_START = INTERVAL_START - timedelta(days=14)

VOIDED_AT = "2026-03-01T10:00:00Z"  # inside the window
OLD_VOIDED_AT = "2026-02-10T10:00:00Z"  # 20 days before the interval: outside a 14-day look-back
INVOICE_DAY = "2026-02-20"
OLD_INVOICE_DAY = "2026-01-30"

COMPANY_ID = 29683501
COMPANY_NAME = "Contoso Dental"
QBO_CUSTOMER_ID = "58"
QBO_ITEM_ID = "7"


def autotask_invoice(
    invoice_id: int,
    number: str,
    *,
    voided_at: str | None = VOIDED_AT,
    day: str = INVOICE_DAY,
    total: float = 250.0,
) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "companyID": COMPANY_ID,
        "invoiceNumber": number,
        "invoiceDateTime": f"{day}T00:00:00Z",
        "invoiceTotal": total,
        "totalTaxValue": 0,
        "isVoided": voided_at is not None,
        "voidedDate": voided_at,
        "webServiceDate": f"{day}T01:00:00Z",
    }


def qbo_invoice(
    qbo_id: str, doc_number: str, private_note: str | None, *, day: str = INVOICE_DAY, amount: float = 250.0
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "Id": qbo_id,
        "DocNumber": doc_number,
        "TxnDate": day,
        "CustomerRef": {"value": QBO_CUSTOMER_ID},
        "Line": [
            {
                "Amount": amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": QBO_ITEM_ID}, "Qty": 1, "UnitPrice": amount},
            }
        ],
    }
    if private_note is not None:
        record["PrivateNote"] = private_note
    return record


def voided_qbo_invoice(qbo_id: str, doc_number: str, private_note: str, *, day: str = INVOICE_DAY) -> dict[str, Any]:
    """As QBO shows an invoice voided there: zeroed, note "Voided - <note>"."""
    record = qbo_invoice(qbo_id, doc_number, f"Voided - {private_note}", day=day, amount=0)
    record["Line"][0]["SalesItemLineDetail"]["Qty"] = 0
    return record


def payment(invoice_id: str, amount: float, payment_id: str = "900") -> dict[str, Any]:
    return {
        "Id": payment_id,
        "TxnDate": "2026-02-25",
        "CustomerRef": {"value": QBO_CUSTOMER_ID},
        "TotalAmt": amount,
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
    }


def reset_sandbox(sandbox, monkeypatch) -> None:
    """Reset the sandbox and point the connections at it again: a reset brings back the initial
    QBO refresh token, so the one a previous test rotated to is dead."""
    sandbox.reset()
    for conn_id, conn in sandbox.connections().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def seed_books(sandbox, autotask_invoices: list[dict], qbo_invoices: list[dict], payments: list[dict] = ()) -> None:
    """Load one customer on each side plus the given documents (after ``reset_sandbox``)."""
    sandbox.seed(
        {
            "autotask": {
                "Companies": [{"id": COMPANY_ID, "companyName": COMPANY_NAME, "companyType": 1}],
                "Invoices": autotask_invoices,
            },
            "qbo": {
                "Customer": [{"Id": QBO_CUSTOMER_ID, "DisplayName": COMPANY_NAME}],
                "Item": [
                    {
                        "Id": QBO_ITEM_ID,
                        "Name": "Managed Services",
                        "Type": "Service",
                        "IncomeAccountRef": {"value": "1"},
                    }
                ],
                "Invoice": qbo_invoices,
                "Payment": list(payments),
            },
        }
    )
    sandbox.requests.clear()


def qbo_invoices_by_id(sandbox) -> dict[str, dict[str, Any]]:
    return {inv["Id"]: inv for inv in sandbox.state()["qbo"]["Invoice"]}


def is_voided(record: dict[str, Any]) -> bool:
    return record["TotalAmt"] == 0 and str(record.get("PrivateNote", "")).startswith("Voided")


def void_requests(sandbox) -> list[dict[str, Any]]:
    """QBO void calls the sandbox served (``POST .../invoice?operation=void``)."""
    return [
        r
        for r in sandbox.requests.list("qbo")
        if r["method"] == "POST" and r["path"].lower().endswith("/invoice") and "operation=void" in r["query"]
    ]


def writes(sandbox) -> list[dict[str, Any]]:
    """Every request that could change Autotask or QBO: anything but reads, queries and token refreshes."""
    out = []
    for r in sandbox.requests.list():
        path = r["path"].lower().rstrip("/")
        if r["method"] in ("GET", "HEAD"):
            continue
        if r["method"] == "POST" and (
            path.endswith("/query") or "/query/next" in path or path.endswith("/tokens/bearer")
        ):
            continue  # Autotask queries are POSTs; QBO takes long queries as POST; OAuth refresh
        out.append(r)
    return out


# -- running the void sync's tasks ---------------------------------------------------------------


def make_run(run_id: str, lookback_days: int = 14, **settings) -> RunInfo:
    doc = Settings.from_dict({"void_sync_enabled": True, "void_lookback_days": lookback_days, **settings}).to_dict()
    return RunInfo(
        dag_id="atqbo_invoice_voids",
        run_id=run_id,
        run_key=f"atqbo_invoice_voids/{run_id}",
        settings=doc,
        window_start=(INTERVAL_START - timedelta(days=lookback_days)).isoformat(),
        window_end=WINDOW_END.isoformat(),
    )


def run_voids(run: RunInfo) -> list[dict]:
    """The find and void tasks, as the DAG chains them (XCom-shaped data in between)."""
    return apply_voids(run, find_void_targets(run))


# -- two QBO companies (BEY-07) ----------------------------------------------------------------------

REALM_B = "4620816365300000001"
CONN_B = "qbo_b"
COMPANY_B_ID = 29683502  # the Autotask company whose invoices go to QBO company B
COMPANY_B_NAME = "Fabrikam Hardware"


def two_company_settings(**values) -> dict[str, Any]:
    """Settings routing Autotask company ``COMPANY_B_ID`` to QBO company B (``qbo_b``)."""
    return {"qbo_routes": [{"qbo_conn_id": CONN_B, "company_ids": [COMPANY_B_ID]}], **values}


def _books(customer: str, invoices: list[dict], payments: list[dict]) -> dict[str, Any]:
    return {
        "Customer": [{"Id": QBO_CUSTOMER_ID, "DisplayName": customer}],
        "Item": [
            {"Id": QBO_ITEM_ID, "Name": "Managed Services", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
        ],
        "Invoice": invoices,
        "Payment": list(payments),
    }


def seed_two_companies(
    sandbox,
    monkeypatch,
    autotask_invoices: list[dict],
    qbo_a: list[dict],
    qbo_b: list[dict],
    payments_a: list[dict] = (),
    payments_b: list[dict] = (),
) -> None:
    """The default QBO company (A) and company B (realm ``REALM_B``, connection ``qbo_b``, its own
    app) served by the one sandbox, both with a customer and an item of the same Ids; the Autotask
    companies A and B (after ``reset_sandbox``). Exports the connections again: B's is new."""
    sandbox.seed(
        {
            "autotask": {
                "Companies": [
                    {"id": COMPANY_ID, "companyName": COMPANY_NAME, "companyType": 1},
                    {"id": COMPANY_B_ID, "companyName": COMPANY_B_NAME, "companyType": 1},
                ],
                "Invoices": autotask_invoices,
            },
            "qbo": {
                **_books(COMPANY_NAME, qbo_a, list(payments_a)),
                "companies": [
                    {
                        "realm_id": REALM_B,
                        "conn_id": CONN_B,
                        "client": "own",
                        **_books(COMPANY_B_NAME, qbo_b, list(payments_b)),
                    }
                ],
            },
        }
    )
    for conn_id, conn in sandbox.connections().items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    sandbox.requests.clear()


def company_b_invoices_by_id(sandbox) -> dict[str, dict[str, Any]]:
    (company,) = [c for c in sandbox.state()["qbo"]["companies"] if c["realm_id"] == REALM_B]
    return {inv["Id"]: inv for inv in company["Invoice"]}
