"""TOOL-02: create in QBO the items the comparison says are missing, exactly as the invoice sync
would (``item_payload`` on the ``new_item_income_account``, by ``qbo_names.create_names``), and
stage what became of each billing code for the report. Existing items are never changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from atqbo.companies import company_row
from atqbo.exceptions import AtqboConfigError
from atqbo.money import as_decimal
from atqbo.notify import ReportRow
from atqbo.qbo_names import create_names, find_account, find_names
from atqbo.settings import VARIABLE_NAME, Settings
from atqbo.tools.items.comparison import ENTITY, INACTIVE_FIX, ItemMatch
from atqbo.tools.items.read import staged_comparison
from atqbo.tools.items.values import code_label, is_active, text
from atqbo.transform.invoices import item_payload

if TYPE_CHECKING:
    from atqbo.hooks.qbo import QuickBooksOnlineHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

STAGE_COPY = "item_copy"


def income_account_id(qbo: QuickBooksOnlineHook, settings: Settings) -> str:
    """The Id of the ``new_item_income_account`` account, or a config error saying how to fix it."""
    name = settings.new_item_income_account
    found = find_account(qbo, name)
    if found is None:
        raise AtqboConfigError(
            f"QBO has no account named {name!r}, the income account for new items (setting new_item_income_account "
            f"in the {VARIABLE_NAME} Variable), so no item can be copied; nothing was created. Fix: create an Income "
            f"account named {name!r} in QBO, or set new_item_income_account to the name of an existing income "
            "account, then trigger the tool again"
        )
    return str(found["Id"])


def copy_stage(company: str | None) -> str:
    """Where one QBO company's copy outcomes are staged (BEY-07); ``None``: the one company's."""
    return STAGE_COPY if company is None else f"{STAGE_COPY}:{company}"


def copy_missing_items(
    run: RunInfo, qbo: QuickBooksOnlineHook, ledger: Ledger, income_id: str, company: str | None = None
) -> dict[str, int]:
    """Create the QBO items the staged comparison says are missing (TOOL-02); stage one outcome per
    billing code. Safe to repeat: names are looked up again first (an item created since the
    comparison is used as it is), and a name QBO reports as taken is adopted by ``create_names``.
    ``company``: one of several QBO companies (BEY-07), ``qbo`` its hook, under its settings.
    """
    settings = run.parsed_settings if company is None else run.for_company(company).parsed_settings
    comparison = staged_comparison(run, ledger, company)
    wanted = comparison.to_create()
    # The comparison may be old (this task cleared and run again, someone at work in QBO): ask again.
    present = find_names(qbo, "Item", "Name", set(wanted), active_only=False) if wanted else {}
    payloads = {
        key: item_payload(key, code, income_id, settings) for key, code in wanted.items() if key.lower() not in present
    }
    created, faults = create_names(qbo, "Item", "Name", payloads, run_id=run.run_id, dry_run=run.dry_run)
    copy = _CopyDone(
        present=present,
        created=created,
        faults=faults,
        payloads=payloads,
        source_of={key.lower(): code for key, code in wanted.items()},
        account=settings.new_item_income_account,
        dry_run=run.dry_run,
    )
    outcomes = {
        str(row.code.get("id")): company_row(copy.outcome(row), company).to_dict()
        for row in comparison.rows
        if row.code is not None
    }
    ledger.stage_put(run.run_key, copy_stage(company), outcomes)
    counts: dict[str, int] = {}
    for doc in outcomes.values():
        counts[doc["outcome"]] = counts.get(doc["outcome"], 0) + 1
    log.info("Copy of missing items%s: %s", f" into QBO company {company}" if company else "", counts)
    return counts


@dataclass(frozen=True)
class _CopyDone:
    """What the copy found and created, by lower-cased item name: what it tells each billing code."""

    present: dict[str, dict[str, Any]]  # items found on the second look-up (created since the comparison)
    created: dict[str, dict[str, Any]]  # created (or adopted by create_names); planned in a dry run
    faults: dict[str, str]  # QBO's refusal, by item name as sent
    payloads: dict[str, dict[str, Any]]  # what was sent, by item name as sent
    source_of: dict[str, dict[str, Any]]  # the billing code each item is made from
    account: str  # new_item_income_account
    dry_run: bool

    def outcome(self, row: ItemMatch) -> ReportRow:
        """What the copy did for one billing code's row of the comparison."""
        code = row.code or {}
        base = {"entity": ENTITY, "autotask_id": code.get("id"), "reference": text(code.get("name"))}
        if row.status == "no_match_key":
            return ReportRow(
                outcome="warning",
                reason="not copied: " + "; ".join(row.notes),
                fix="fill in the field in Autotask, then run the tool again",
                **base,
            )
        if row.status in ("matched", "discrepancy"):
            item = row.item or {}
            return _existing_item_row(item, f"already in QBO as item {item.get('Name')!r}", base)
        lower = row.match_key.lower()
        if lower in self.present:
            item = self.present[lower]
            return _existing_item_row(
                item, f"now in QBO as item {item.get('Name')!r} (created since the comparison); used as it is", base
            )
        if row.match_key in self.faults or lower not in self.created:
            return self._refused(row.match_key, base)
        return self._created(row, base)

    def _refused(self, key: str, base: dict[str, Any]) -> ReportRow:
        lower = key.lower()
        source_key = next((k for k in self.faults if k.lower() == lower), key)
        return ReportRow(
            outcome="failed",
            reason=f"QBO item {key!r} could not be created: {self.faults.get(source_key, 'QBO gave no answer for it')}",
            fix="fix what QBO names (in the billing code or in QBO), then run atqbo_copy_missing_items again",
            **base,
        )

    def _created(self, row: ItemMatch, base: dict[str, Any]) -> ReportRow:
        key, lower = row.match_key, row.match_key.lower()
        record = self.created[lower]
        sent = next((p for k, p in self.payloads.items() if k.lower() == lower), {})
        if not self.dry_run and not _is_item_as_sent(record, sent):
            # QBO said the name was taken after the look-up and create_names adopted that item.
            return _existing_item_row(
                record, f"created in QBO meanwhile as item {record.get('Name')!r}, not by this run; used as it is", base
            )
        if not row.source_of_key:
            return ReportRow(
                outcome="matched",
                qbo_id=None if self.dry_run else text(record.get("Id")) or None,
                qbo_number=key,
                reason=f"uses QBO item {key!r}, {'to be ' if self.dry_run else ''}created from "
                f"{code_label(self.source_of.get(lower) or {})} (the same match key)",
                **base,
            )
        if self.dry_run:
            return ReportRow(
                outcome="planned",
                qbo_number=key,
                reason=f"would create Service item {key!r} on income account {self.account!r}",
                **base,
            )
        return ReportRow(
            outcome="transferred",
            qbo_id=text(record.get("Id")),
            qbo_number=text(record.get("Name")),
            reason=f"created Service item {key!r} on income account {self.account!r}",
            **base,
        )


def _existing_item_row(item: dict[str, Any], what: str, base: dict[str, Any]) -> ReportRow:
    ids = {"qbo_id": text(item.get("Id")) or None, "qbo_number": text(item.get("Name")) or None}
    if not is_active(item.get("Active")):
        return ReportRow(
            outcome="warning",
            reason=f"{what}, but the item is inactive; not copied (its name stays taken in QBO)",
            fix=INACTIVE_FIX,
            **ids,
            **base,
        )
    return ReportRow(outcome="matched", reason=f"{what}; nothing to copy", **ids, **base)


def _is_item_as_sent(record: dict[str, Any], payload: dict[str, Any]) -> bool:
    """Whether a QBO item is the one this run asked for (an item exactly like it is as good as ours)."""
    account = (payload.get("IncomeAccountRef") or {}).get("value")
    if text((record.get("IncomeAccountRef") or {}).get("value")) != text(account):
        return False
    if text(record.get("Description")).strip() != text(payload.get("Description")):
        return False
    if text(record.get("Sku")) != text(payload.get("Sku")):
        return False
    return "UnitPrice" not in payload or as_decimal(record.get("UnitPrice")) == as_decimal(payload["UnitPrice"])
