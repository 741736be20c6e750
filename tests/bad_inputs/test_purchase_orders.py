"""The bad-input corpus, purchase orders (issue 11, item 2): a PO whose items atqbo knows would make a
wrong bill fails before anything is written to QBO, with the exact message naming the PO, its item
and the fix, while the other POs of the run get their bills. Run step by step against the sandbox,
whose state shows what was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.sync import po_support as ps
from tests.sync.purchase_orders.support import make_run, run_sync

PO = ps.PO_OK  # Ingram Micro, 2 x Dell OptiPlex 7020 at 899.00: a plain bill
ITEM = 39700001
WHERE = f"PO item {ITEM} (Dell OptiPlex 7020) of Autotask PO {PO} (vendor Ingram Micro)"
RETRY = "then clear ERROR from the PO's External PO Number in Autotask and the next run sends it again"
NUMBERS_FIX = f"correct the quantity and unit cost of PO item {ITEM} in Autotask; {RETRY}"
DIGITS_FIX = (
    f"correct PO item {ITEM} in Autotask (QBO amounts have at most 10 digits before the decimal point and 5 after); "
    + RETRY
)


@dataclass(frozen=True)
class Case:
    name: str
    item: dict[str, Any] = field(default_factory=dict)  # changes to the PO's one item
    more_items: tuple[dict[str, Any], ...] = ()
    reason: str = ""
    fix: str = ""


REFUSED = [
    Case(
        "quantity_null",
        item={"quantity": None},
        reason=f"{WHERE} has no quantity in Autotask (it is null), so what the bill line costs is not known; "
        "no bill was created",
        fix=NUMBERS_FIX,
    ),
    Case(
        "unit_cost_null",
        item={"unitCost": None},
        reason=f"{WHERE} has no unitCost in Autotask (it is null), so what the bill line costs is not known; "
        "no bill was created",
        fix=NUMBERS_FIX,
    ),
    Case(
        "amount_past_qbo_digits",
        item={"quantity": 1000, "unitCost": 99_999_999.5},
        reason=f"the amount of {WHERE} (99999999500.00) has more than the 10 digits before the decimal point QBO "
        "holds; no bill was created",
        fix=DIGITS_FIX,
    ),
    Case(
        "unit_cost_past_qbo_digits",
        item={"quantity": 1, "unitCost": 12_345_678_901.5},
        reason=f"the unit cost of {WHERE} (12345678901.5) has more than the 10 digits before the decimal point QBO "
        "holds; no bill was created",
        fix=DIGITS_FIX,
    ),
    Case(
        "unit_cost_with_six_decimals",
        item={"quantity": 1, "unitCost": 0.123456},
        reason=f"the unit cost of {WHERE} (0.123456) has 6 decimals, more than the 5 QBO keeps; no bill was created",
        fix=DIGITS_FIX,
    ),
    Case(
        "negative_bill",
        item={"quantity": -2},
        reason=f"the items of Autotask PO {PO} (vendor Ingram Micro) add up to -1798.00, a negative bill, which QBO "
        "refuses; no bill was created",
        fix=f"record the vendor's credit as a vendor credit in QBO, or correct the PO's items in Autotask; {RETRY}",
    ),
]


def _seed_items(sandbox, case: Case) -> None:
    items = [i for i in sandbox.state()["autotask"]["PurchaseOrderItems"] if i["id"] == ITEM]
    sandbox.seed({"autotask": {"PurchaseOrderItems": [{**items[0], **case.item}, *case.more_items]}})
    sandbox.requests.clear()


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_bey12_a_po_that_would_make_a_wrong_bill_fails_before_any_write(sandbox, ledger, case: Case):
    _seed_items(sandbox, case)
    outcome = run_sync(make_run(f"bad-{case.name}"), ledger)
    assert (outcome[PO]["outcome"], outcome[PO]["reason"], outcome[PO]["fix"]) == ("failed", case.reason, case.fix)
    bills = ps.bills(sandbox)
    assert PO not in bills  # nothing was written for it...
    assert ps.PO_NEW in bills  # ...while the rest of the run went on
    assert ps.external_numbers(sandbox)[PO] == "ERROR"
    todo = f"What failed: {case.reason}\nHow to fix: {case.fix}\n"  # the PO-08 to-do says the same
    assert sum(todo in (t.get("activityDescription") or "") for t in ps.todos(sandbox)) == 1


def test_bey12_control_characters_in_a_po_memo_are_removed_with_a_warning(sandbox, ledger):
    _seed_items(sandbox, Case("memo", item={"memo": "Dell\x0b for\x00 Dayton"}))
    outcome = run_sync(make_run("bad-memo"), ledger)
    assert outcome[PO]["outcome"] == "transferred"
    assert outcome[PO]["warnings"] == [
        f"the memo of PO item {ITEM} on Autotask PO {PO} (vendor Ingram Micro) holds control characters QBO cannot "
        "store (\\x00, \\x0b); they were removed from the bill line",
        "freight of 25.00 on Autotask PO 39600001 (vendor Ingram Micro) is not sent (the bill holds the PO items "
        "only): add it to the bill in QBO if the vendor charges it",
    ]
    assert ps.bills(sandbox)[PO]["Line"][0]["Description"] == "Dell for Dayton"
