"""The load step's state, shared by each of its checks and creates: what they read (the run, its
settings, the QBO hook, the ledger, the Autotask records ``extract`` staged) and what they write
(each PO's outcome, the run's notes, the problems that concern the whole run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atqbo.hooks.qbo import QboFault
from atqbo.qbo_names import create_names
from atqbo.records import PURCHASE_ORDER
from atqbo.sync.purchase_orders.bill_numbers import bill_number
from atqbo.sync.purchase_orders.currency import AutotaskCurrencies
from atqbo.sync.purchase_orders.model import PurchaseOrder
from atqbo.sync.purchase_orders.outcomes import Outcomes

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo
    from atqbo.settings import Settings


@dataclass
class LoadState:
    """One run's load step: the checks, then the creates, each PO's outcome recorded once."""

    run: RunInfo
    qbo: QuickBooksOnlineHook
    ledger: Ledger
    settings: Settings
    vendors: dict[str, dict[str, Any]]  # the Autotask vendor companies, by id as text
    products: dict[str, dict[str, Any]]  # the Autotask products, by id as text
    currencies: AutotaskCurrencies
    out: Outcomes = field(default_factory=Outcomes)
    notes: list[str] = field(default_factory=list)
    run_problems: dict[str, dict[str, str]] = field(default_factory=dict)  # by to-do key: message, fix
    decided_currency: bool = False  # the run got as far as the multi-currency decision
    # BEY-07: one of several QBO companies (qbo_routes): PO-06 judges each PO by its company's currency
    several_companies: bool = False

    @classmethod
    def for_run(cls, run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger, reference: dict[str, Any]) -> LoadState:
        """The state of a load step over the records ``extract`` staged (``reference``)."""
        return cls(
            run=run,
            qbo=qbo,
            ledger=ledger,
            settings=run.parsed_settings,
            vendors=reference.get("vendors", {}),
            products=reference.get("products", {}),
            currencies=AutotaskCurrencies.from_records(reference.get("currencies", [])),
        )

    @property
    def dry_run(self) -> bool:
        return self.run.dry_run

    def create_names(
        self, entity: str, name_field: str, payloads: dict[str, dict[str, Any]]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        """``qbo_names.create_names`` for this run: keyed by the run, nothing in a dry run, faults
        worded without their per-request ids (so the same refusal reads the same every run)."""
        return create_names(
            self.qbo,
            entity,
            name_field,
            payloads,
            run_id=self.run.run_id,
            dry_run=self.dry_run,
            describe_fault=QboFault.summary,
        )

    def record_bill(self, po: PurchaseOrder, bill: dict[str, Any], run_id: str | None = None) -> None:
        """The PO's bill in the ledger (SYNCED) and its open errors closed; ``run_id`` names the run
        that created the bill (None: the one the ledger names stays)."""
        self.ledger.set_sync_status(
            PURCHASE_ORDER,
            po.autotask_id,
            "SYNCED",
            qbo_id=str(bill["Id"]),
            qbo_number=bill_number(bill),
            run_id=run_id,
            realm_id=self.qbo.realm_id,
        )
        self.ledger.resolve_errors(PURCHASE_ORDER, po.autotask_id)

    def undecided(self, orders: list[PurchaseOrder]) -> list[PurchaseOrder]:
        """The POs without an outcome yet: what the next check or create works on."""
        return [po for po in orders if not self.out.decided(po)]
