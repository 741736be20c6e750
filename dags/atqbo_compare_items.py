"""
### atqbo tool: compare billing codes and items (TOOL-01)

Compares every active Autotask billing code with the QuickBooks Online (QBO) items, the way the
invoice sync will match them, and emails the result with a CSV attachment. Run it before the
first sync (or after changing `item_match_field`) to see which items invoices will use, which
differ, and which the sync would have to create. It reads both systems and writes nothing to either.

**Trigger form.**
- `match_field`: the billing code field matched to the QBO item name. `settings` (default) uses
  `item_match_field` from `atqbo_settings`; `name` the billing code name; `external_number` its
  External Number; `external_number_or_name` the External Number, or the name when that is blank.
  QBO names are case-insensitive, so "remote support" matches the item "Remote Support".
- `qbo_company` (only with several QBO companies, `qbo_routes`): the QBO company whose items are
  compared, by its Airflow connection id, or `all` (default): every company, each under its own
  settings (its route's `item_match_field`, ...). The report names each row's company, the CSV has a
  `qbo_company` column, and a company that cannot be read fails in one row naming it (BEY-07).
- `email`: extra recipients for this run's report (added to `report_to`), one address per line.

**Tasks.**
1. `start`: checks the form and `atqbo_settings` (bad input stops here, nothing is read).
2. `compare`: the active billing codes (one bulk Autotask query per 500) and every QBO item,
   active or inactive (one query per 1,000), kept in the state database for the report.
3. `report`: the comparison by email to `report_to` + the form's addresses (always, even when
   everything matches), in this task's log, and in the run history.

**Report.** One row per billing code: *matched*, matched with *discrepancies* (description, unit
price or active state differ; both values given), *missing in QBO* (with a hint when another match
field would find an item), or *no match key* (the field is blank). Duplicates are noted: codes
sharing one item name, and QBO items sharing a name. The attached `atqbo-item-comparison-<run>.csv`
also lists the QBO items no billing code matches. Its columns: `status, billing_code_id,
billing_code_name, external_number, match_key, qbo_item_id, qbo_item_name, differences,
autotask_description, qbo_description, autotask_unit_price, qbo_unit_price, autotask_active, qbo_active,
note`. Excerpt (the sandbox's demo tenant plus the tests' edge cases, `match_field` = `name`; values
shortened into fewer columns here):

| status | billing code (id) | QBO item (Id) | differences: Autotask / QBO | note |
|---|---|---|---|---|
| discrepancy | Firewall Subscription (29682809) | Firewall Subscription (502) | active: yes / no | |
| discrepancy | Printer Service (39800002) | printer service (501) | unit price: 60.00 / 55.00 | |
| discrepancy | Remote Support (29682803) | Remote Support (3) | description: Remote Support (labor) / Remote Support ||
| missing_in_qbo | Onsite Support (29682804) | | | QBO item 'SUP-ONS' (Id 4) would match by 'external_number' |
| only_in_qbo | | SUP-ONS (4) | | no active billing code matches this item |

The email (subject `[atqbo] compare billing codes and items: 13 warnings`) lists matched codes, and
as warnings each discrepancy, missing item and blank key with what to do about it. To create the
missing items, run `atqbo_copy_missing_items` with the same `match_field`.
"""

from __future__ import annotations

from airflow.sdk import task

from atqbo.dags import tool_dag
from atqbo.tools.items.form import configured_qbo_conn_ids, item_tool_fields

FIELDS = item_tool_fields(configured_qbo_conn_ids(), copy=False)  # BEY-07: a company drop-down with several


@tool_dag("atqbo_compare_items", __doc__, FIELDS)
def atqbo_compare_items():
    @task
    def start(params: dict | None = None) -> dict:
        """Check the form and the settings; the form's match field overrides item_match_field for this run."""
        from airflow.sdk import get_current_context

        from atqbo.forms import read_form
        from atqbo.runs import start_tool_run
        from atqbo.tools.items.form import MATCH_FIELD_LABELS, chosen_companies, match_field_overrides

        form = read_form(params, FIELDS)
        run = start_tool_run(
            get_current_context(), match_field_overrides(form["match_field"]), extra_recipients=form["email"]
        )
        run.ledger().create_schema()
        print(f"Matching billing codes to QBO items by {MATCH_FIELD_LABELS[run.parsed_settings.item_match_field]}")
        if len(run.qbo_conn_ids) == 1:
            return run.to_xcom()  # one QBO company: as always
        companies = chosen_companies(form.get("qbo_company"), run.qbo_conn_ids)
        print(f"QBO companies compared, each under its own settings: {', '.join(companies)}")
        return {**run.to_xcom(), "qbo_companies": list(companies)}

    @task
    def compare(run: dict) -> dict:
        """Read the active billing codes and every QBO item, in bulk, into the state database."""
        from atqbo.runs import RunInfo
        from atqbo.tools.items.companies import extract_by_company
        from atqbo.tools.items.read import extract_codes_and_items

        info = RunInfo.from_xcom({k: v for k, v in run.items() if k != "qbo_companies"})
        ledger = info.ledger()
        if "qbo_companies" in run:
            return extract_by_company(info, info.autotask(), ledger, run["qbo_companies"])
        return extract_codes_and_items(info, info.autotask(), info.qbo(ledger), ledger)

    @task
    def report(run: dict, compared: dict) -> dict:
        """Email (with the comparison CSV), log and record the comparison (TOOL-01)."""
        from atqbo.runs import RunInfo
        from atqbo.tools.items.companies import report_company_comparisons
        from atqbo.tools.items.comparison_report import report_comparison

        info = RunInfo.from_xcom({k: v for k, v in run.items() if k != "qbo_companies"})
        if "qbo_companies" in run:
            return report_company_comparisons(info, info.ledger(), run["qbo_companies"])
        return report_comparison(info, info.ledger())

    run = start()
    report(run, compare(run))


atqbo_compare_items()
