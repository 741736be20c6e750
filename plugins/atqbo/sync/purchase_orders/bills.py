"""PO-02: the bills. One QBO Bill per PO, credited to the A/P account of its currency
(``po_ap_account``, or QBO's own for a foreign bill: CUR-03), its PO items as item lines, numbered
per PO-04, in the currency PO-06 says; no tax for a US company, the ``purchase_tax_code`` on every
line of a non-US company's bill, its amounts before tax (TAX-03).

Bills are created by QBO batches of 30. Exactly once (BEY-01): each PO's intent and the batch's
requestid are recorded in the ledger *before* the batch is sent, and the requestid is derived
from the POs and their (generation, attempt), so a batch sent again after an interruption is
answered by QBO with its first answer, while a PO sent again after a refusal gets a new key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atqbo.hooks.qbo import MAX_BATCH_ITEMS, QboFault
from atqbo.money import cents_text, json_number
from atqbo.qbo_docs import BILL_NOTE
from atqbo.qbo_names import PLANNED_ID, chunks
from atqbo.records import PURCHASE_ORDER, short_digest
from atqbo.sync.purchase_orders.bill_numbers import bill_doc_number, bill_number
from atqbo.sync.purchase_orders.failures import RETRY_HINT
from atqbo.sync.purchase_orders.model import PurchaseOrder
from atqbo.sync.purchase_orders.taxes import TAX_EXCLUDED
from atqbo.transform.values import MAX_AMOUNT_DIGITS, UNIT_PRICE_PLACES, digits_past_qbo

if TYPE_CHECKING:
    from atqbo.sync.purchase_orders.accounts import ApAccounts
    from atqbo.sync.purchase_orders.currency import BillCurrency
    from atqbo.sync.purchase_orders.state import LoadState


def bill_payload(
    po: PurchaseOrder,
    vendor_id: str,
    ap_account_id: str | None,
    item_ids: dict[str, str],
    currency: BillCurrency,
    number_source: str,
    tax_code_id: str | None = None,
) -> dict[str, Any]:
    """The QBO Bill for a PO (PO-02): item lines on the A/P account (None: QBO's own for the bill's
    currency, CUR-03); ``item_ids`` by QBO item name. ``tax_code_id`` (a non-US company, TAX-03): the
    tax code of every line, the amounts before tax; None: nothing about tax."""
    lines = [
        {
            "DetailType": "ItemBasedExpenseLineDetail",
            "Amount": json_number(line.amount),
            "Description": line.description,
            "ItemBasedExpenseLineDetail": {
                "ItemRef": {"value": item_ids[line.item_name.lower()]},
                "Qty": json_number(line.quantity),
                "UnitPrice": json_number(line.unit_cost),
            },
        }
        for line in po.lines
    ]
    payload: dict[str, Any] = {"VendorRef": {"value": vendor_id}}
    if ap_account_id:
        payload["APAccountRef"] = {"value": ap_account_id}
    payload.update({"TxnDate": po.txn_date.isoformat(), "PrivateNote": BILL_NOTE.text(po.autotask_id), "Line": lines})
    if tax_code_id:
        for line in lines:  # whatever the line's detail (item- or account-based), it names the code
            line[line["DetailType"]]["TaxCodeRef"] = {"value": tax_code_id}
        payload["GlobalTaxCalculation"] = TAX_EXCLUDED
    doc_number = bill_doc_number(po, number_source)
    if doc_number:
        payload["DocNumber"] = doc_number
    if currency.currency:
        payload["CurrencyRef"] = {"value": currency.currency}
    if currency.exchange_rate is not None:
        payload["ExchangeRate"] = json_number(currency.exchange_rate)
    return payload


def bill_batch_requestid(versions: dict[int, tuple[int, int]]) -> str:
    """The requestid of one batch of bill creates, derived from its POs' ids with each one's
    (generation, attempt): the same batch sent again after an interruption is answered by QBO with
    its first answer, while a PO sent again after a refusal gets a new key."""
    key = ",".join(f"{a}-g{g}-a{n}" for a, (g, n) in sorted(versions.items()))
    return f"atqbo-pobills-{short_digest(key, 20)}"


# -- what a PO must have before its bill is sent ------------------------------------------------------


def check_lines(state: LoadState, po: PurchaseOrder) -> bool:
    """A QBO bill needs at least one line, each with a quantity and unit cost QBO can hold, and a
    total that is not negative: a PO that breaks one of these fails before anything is written.
    Control characters taken out of a description are a warning."""
    problem = _line_problem(po)
    if problem:
        reason, fix = problem
        state.out.fail(po, reason, fix + "; " + RETRY_HINT)
        return False
    for line in po.lines:
        if line.removed:
            state.out.warn(
                po,
                f"the memo of PO item {line.item_id} on {po.label()} holds control characters QBO cannot store "
                f"({', '.join(line.removed)}); they were removed from the bill line",
            )
    return True


def _line_problem(po: PurchaseOrder) -> tuple[str, str] | None:
    """(reason, fix) of the first thing that stops the PO's bill, or None."""
    if not po.lines:
        return f"{po.label()} has no items; a QBO bill needs at least one line", "add the items to the PO in Autotask"
    for line in po.lines:
        where = f"PO item {line.item_id} ({line.product_name}) of {po.label()}"
        if line.unusable:
            return (
                f"{where} {line.unusable}, so what the bill line costs is not known; no bill was created",
                f"correct the quantity and unit cost of PO item {line.item_id} in Autotask",
            )
        for what, value, places in (
            ("quantity", line.quantity, UNIT_PRICE_PLACES),
            ("unit cost", line.unit_cost, UNIT_PRICE_PLACES),
            ("amount", line.amount, None),
        ):
            why = digits_past_qbo(value, places)
            if why:
                return (
                    f"the {what} of {where} ({value}) has {why}; no bill was created",
                    f"correct PO item {line.item_id} in Autotask (QBO amounts have at most {MAX_AMOUNT_DIGITS} "
                    f"digits before the decimal point and {UNIT_PRICE_PLACES} after)",
                )
    if po.total < 0:
        return (
            f"the items of {po.label()} add up to {po.total}, a negative bill, which QBO refuses; no bill was created",
            "record the vendor's credit as a vendor credit in QBO, or correct the PO's items in Autotask",
        )
    return None


def warn_unsent_freight(state: LoadState, orders: list[PurchaseOrder]) -> None:
    """Freight is not an item and has no account setting: the report says what to add by hand."""
    for po in orders:
        if po.freight:
            state.out.warn(
                po,
                f"freight of {cents_text(po.freight)} on {po.label()} is not sent (the bill holds the PO items "
                "only): add it to the bill in QBO if the vendor charges it",
            )


# -- the create ---------------------------------------------------------------------------------------


def create_bills(
    state: LoadState,
    orders: list[PurchaseOrder],
    ap_accounts: ApAccounts,
    tax_code: dict[str, Any] | None,
    vendors: dict[str, dict[str, Any]],
    items: dict[str, dict[str, Any]],
    plans: dict[int, BillCurrency],
) -> None:
    """PO-02: the bills, by batch of 30, each PO's intent and requestid in the ledger first (BEY-01),
    each on the A/P account of its currency (CUR-03), with ``tax_code`` on every line (TAX-03; None:
    a US company). A dry run reports each bill it would create instead."""
    payloads: dict[int, dict[str, Any]] = {}
    for po in orders:
        vendor = vendors[po.vendor_display_name.lower()]
        item_ids = {line.item_name.lower(): str(items[line.item_name.lower()]["Id"]) for line in po.lines}
        plan = plans[po.autotask_id]
        payloads[po.autotask_id] = bill_payload(
            po,
            str(vendor["Id"]),
            ap_accounts.for_currency(plan.currency),
            item_ids,
            plan,
            state.settings.po_number_source,
            str(tax_code["Id"]) if tax_code else None,
        )
    if state.dry_run:
        report_planned_bills(state, orders, payloads, vendors, items, tax_code)
        return
    by_id = {po.autotask_id: po for po in orders}
    versions = bill_versions(state, orders)
    for chunk in chunks(sorted(by_id), MAX_BATCH_ITEMS):
        requestid = bill_batch_requestid({a: versions[a] for a in chunk})
        for autotask_id in chunk:
            state.ledger.record_intent(
                PURCHASE_ORDER,
                autotask_id,
                payload_hash=short_digest(repr(payloads[autotask_id])),
                request_id=requestid,
                run_id=state.run.run_id,
                realm_id=state.qbo.realm_id,
                generation=versions[autotask_id][0],
            )
        batch = [{"bId": str(a), "operation": "create", "Bill": payloads[a]} for a in chunk]
        # each attempt's going out is recorded: no run sends these POs again while QBO may commit it
        results = state.qbo.batch(
            batch,
            requestid=requestid,
            before_send=lambda chunk=chunk: state.ledger.mark_sent(PURCHASE_ORDER, chunk, state.run.run_id),
        )
        for autotask_id, result in zip(chunk, results, strict=True):
            record_bill_result(state, by_id[autotask_id], result)


def bill_versions(state: LoadState, orders: list[PurchaseOrder]) -> dict[int, tuple[int, int]]:
    """Each PO's (generation, attempt) from its ledger record, for the batch requestid.

    The generation grows when a bill atqbo sent is gone and a new one is made; the attempt when a
    create QBO refused is sent again. An interrupted create (IN_PROGRESS) is sent again as the same
    attempt, so QBO replays it if it went through.
    """
    versions: dict[int, tuple[int, int]] = {}
    for po in orders:
        record = state.ledger.get_sync_record(PURCHASE_ORDER, po.autotask_id) or {}
        generation = int(record.get("generation") or 0)
        if record.get("status") == "SYNCED":  # it existed once and is gone: a new document
            generation += 1
        tries = int(record.get("attempts") or 0)
        versions[po.autotask_id] = (generation, tries if record.get("status") == "IN_PROGRESS" else tries + 1)
    return versions


def report_planned_bills(
    state: LoadState,
    orders: list[PurchaseOrder],
    payloads: dict[int, dict[str, Any]],
    vendors: dict[str, dict[str, Any]],
    items: dict[str, dict[str, Any]],
    tax_code: dict[str, Any] | None,
) -> None:
    """Dry run: a "planned" row per bill, naming the vendors and items it would create too, and the
    purchase tax code QBO would add tax from (TAX-03)."""
    for po in orders:
        new = (
            [f"vendor {po.vendor_display_name!r}"]
            if vendors[po.vendor_display_name.lower()]["Id"] == PLANNED_ID
            else []
        )
        new += [f"item {line.item_name!r}" for line in po.lines if items[line.item_name.lower()]["Id"] == PLANNED_ID]
        number = payloads[po.autotask_id].get("DocNumber")
        taxed = f" before tax, at tax code {tax_code['Name']!r}" if tax_code else ""
        state.out.set(
            po,
            "planned",
            f"would create a QBO bill{f' number {number}' if number else ''} for {po.vendor_display_name} "
            f"({cents_text(po.total)}{taxed}, {len(po.lines)} line(s))"
            + (f", creating {', '.join(new)}" if new else ""),
        )


def record_bill_result(state: LoadState, po: PurchaseOrder, result: dict[str, Any] | QboFault) -> None:
    """One bill's answer in the batch: created (SYNCED), busy (sent by the next run) or refused (failed)."""
    if isinstance(result, QboFault) and result.retryable:
        # Throttled or busy after the hook's own retries: nothing is wrong with the PO; no ERROR,
        # no to-do, the next run sends it (adopting the bill if this one went through after all).
        state.ledger.set_sync_status(
            PURCHASE_ORDER, po.autotask_id, "PENDING", last_error=result.summary(), run_id=state.run.run_id
        )
        state.out.set(po, "skipped", f"QBO was busy ({result.message}); the next run sends it", transient=True)
        return
    if isinstance(result, QboFault):
        state.out.fail(
            po,
            f"{po.label()} was refused by QBO: {result.summary()}",
            (result.hint or "fix what QBO names") + "; " + RETRY_HINT,
        )
        return
    bill = result["Bill"]
    state.record_bill(po, bill, run_id=state.run.run_id)
    state.out.set(po, "transferred", f"created QBO bill {bill_number(bill)}", marker="synced", bill=bill)
