"""
### atqbo tool: copy missing items to QuickBooks Online (TOOL-02)

Creates in QuickBooks Online (QBO) the items that active Autotask billing codes match but QBO does
not have, exactly as the invoice sync would create them: a Service item named by the match field,
with the billing code's description (or name), its unit price and External Number (as SKU), on the
income account `new_item_income_account` (default "Services"). Then reports what it did.

Safe to run again: a second run finds every item and creates nothing; an item someone created in
QBO meanwhile is used as it is, never duplicated. Existing items are never changed (run
`atqbo_compare_items` to see how they differ). With `dry_run` on in `atqbo_settings` it reports what
it would create and creates nothing.

**Trigger form.**
- `match_field`: the billing code field matched to the QBO item name. `settings` (default) uses
  `item_match_field` from `atqbo_settings`; `name`, `external_number` or `external_number_or_name`
  override it for this run. Copy with the field the invoice sync uses, or the sync will not find
  the copied items.
- `qbo_company` (only with several QBO companies, `qbo_routes`): the QBO company to copy into, by
  its Airflow connection id, or `all` (default): every company, each with its own settings (its
  route's `new_item_income_account`, `item_match_field`, ...). Each report row names its company; a
  company that cannot be used (its connection, its token, no such income account) fails in one row
  naming it and the others are copied into (BEY-07).
- `email`: extra recipients for this run's report (added to `report_to`), one address per line.

**Tasks.**
1. `start`: checks the form and `atqbo_settings`, and that QBO has the `new_item_income_account`
   account. Without it the run fails here naming the setting and the fix, and creates nothing.
2. `compare`: the active billing codes (one bulk Autotask query per 500) and every QBO item
   (one query per 1,000), kept in the state database.
3. `copy`: looks the missing names up again, then creates them by QBO batches of 30.
4. `report`: by email to `report_to` + the form's addresses (always), in this task's log and the
   run history.

**Report.** One row per billing code: *transferred* (created, with its QBO Id), *matched* (QBO had it
already, or it was created meanwhile), *warning* (no match key, or the QBO item is inactive: the
invoice sync cannot use it), *failed* (QBO refused it, with QBO's reason). Excerpt:

```
Counts: 6 transferred, 6 matched, 1 warning
Transferred (6)
  - Onsite Support (Autotask id 29682804) -> QBO Onsite Support (id 507): created Service item 'Onsite Support'
    on income account 'Services'
  ...
Matched (already in QBO) (6)
  - Remote Support (Autotask id 29682803) -> QBO Remote Support (id 3): already in QBO as item 'Remote Support';
    nothing to copy
  ...
Warnings (1)
  - Firewall Subscription (Autotask id 29682809) -> QBO Firewall Subscription (id 502): already in QBO as item
    'Firewall Subscription', but the item is inactive; not copied (its name stays taken in QBO)
    Fix: make the QBO item active (Sales > Products and services), or the invoice sync cannot use it
```
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo.dags import tool_dag
from atqbo.outcome import outcome_task
from atqbo.tools.items.form import configured_qbo_conn_ids, item_tool_fields

FIELDS = item_tool_fields(configured_qbo_conn_ids(), copy=True)  # BEY-07: a company drop-down with several


@tool_dag("atqbo_copy_missing_items", __doc__, FIELDS)
def atqbo_copy_missing_items():
    @task
    def start(params: dict | None = None) -> dict:
        """Check the form, the settings and the income account new items go to (nothing is created without it)."""
        from airflow.sdk import get_current_context

        from atqbo.forms import read_form
        from atqbo.runs import start_tool_run
        from atqbo.tools.items.companies import income_accounts
        from atqbo.tools.items.copy_missing import income_account_id
        from atqbo.tools.items.form import MATCH_FIELD_LABELS, chosen_companies, match_field_overrides

        form = read_form(params, FIELDS)
        run = start_tool_run(
            get_current_context(), match_field_overrides(form["match_field"]), extra_recipients=form["email"]
        )
        ledger = run.ledger()
        ledger.create_schema()
        if len(run.qbo_conn_ids) > 1:  # BEY-07: each chosen company's own income account
            companies = list(chosen_companies(form.get("qbo_company"), run.qbo_conn_ids))
            ids, problems = income_accounts(run, ledger, companies)
            for conn_id, account_id in ids.items():
                account = run.for_company(conn_id).parsed_settings.new_item_income_account
                print(f"QBO company {conn_id}: new items go to income account {account!r} (Id {account_id})")
            for problem in problems.values():
                print(f"{problem}; nothing is copied into it")
            return {"run": run.to_xcom(), "qbo_companies": companies, "income_account_ids": ids, "problems": problems}
        account_id = income_account_id(run.qbo(ledger), run.parsed_settings)
        print(
            f"Matching billing codes to QBO items by {MATCH_FIELD_LABELS[run.parsed_settings.item_match_field]}; "
            f"new items go to income account {run.parsed_settings.new_item_income_account!r} (Id {account_id})"
            f"{' (DRY RUN: nothing will be created)' if run.dry_run else ''}"
        )
        return {"run": run.to_xcom(), "income_account_id": account_id}

    @task
    def compare(started: dict) -> dict:
        """Read the active billing codes and every QBO item, in bulk, into the state database."""
        from atqbo.runs import RunInfo
        from atqbo.tools.items.companies import extract_by_company
        from atqbo.tools.items.read import extract_codes_and_items

        info = RunInfo.from_xcom(started["run"])
        ledger = info.ledger()
        if "qbo_companies" in started:
            wanted = [c for c in started["qbo_companies"] if c in started["income_account_ids"]]
            return extract_by_company(info, info.autotask(), ledger, wanted)
        return extract_codes_and_items(info, info.autotask(), info.qbo(ledger), ledger)

    @task
    def copy(started: dict, compared: dict) -> dict:
        """Create the missing items by batch (TOOL-02); adopt any that exist by now."""
        from atqbo.runs import RunInfo
        from atqbo.tools.items.companies import copy_by_company
        from atqbo.tools.items.copy_missing import copy_missing_items

        info = RunInfo.from_xcom(started["run"])
        ledger = info.ledger()
        if "qbo_companies" in started:
            return copy_by_company(info, ledger, started["qbo_companies"], started["income_account_ids"])
        return copy_missing_items(info, info.qbo(ledger), ledger, started["income_account_id"])

    @task
    def report(started: dict, copied: dict) -> dict:
        """Email, log and record what the copy did."""
        from atqbo.runs import RunInfo
        from atqbo.tools.items.companies import report_company_copies
        from atqbo.tools.items.copy_report import report_copy

        info = RunInfo.from_xcom(started["run"])
        if "qbo_companies" in started:
            return report_company_copies(info, info.ledger(), started["qbo_companies"], started["problems"])
        return report_copy(info, info.ledger())

    started = start()
    report(started, copy(started, compare(started))) >> outcome_task()


atqbo_copy_missing_items()
