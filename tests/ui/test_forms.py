"""BEY-10 in the Airflow UI: the trigger forms in a real headless Chromium against a real
``airflow api-server`` with atqbo's DAGs parsed (Playwright driving the system's /usr/bin/chromium,
as ``test_page.py``; skipped with the reason where it is missing: scripts/install-browser.sh).

Checks what an operator sees when triggering: the human labels (a Param's ``title``) instead of
the keys, no required mark on the optional email fields, and the syncs' three-way ``dry_run`` that
can be set back to "Use the setting" after being changed.
"""

from __future__ import annotations

import pytest

from tests.ui.ui_support import NEEDS_CHROMIUM

pytestmark = [pytest.mark.integration, NEEDS_CHROMIUM]

FORM_DAGS = ("atqbo_copy_invoice", "atqbo_invoices")


@pytest.fixture(scope="module", autouse=True)
def forms_parsed(dags_loaded, ui_server):
    missing = [d for d in FORM_DAGS if ui_server.get(f"/api/v2/dags/{d}").status_code != 200]
    assert not missing, f"not parsed: {missing}"


def open_trigger_form(page, ui_server, dag_id: str):
    """The DAG page, then its Trigger button: the dialog with the form under "Run Parameters"."""
    page.goto(f"{ui_server.base}/dags/{dag_id}")
    page.get_by_test_id("trigger-dag-button").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    return dialog


def form_rows(dialog, names) -> dict[str, dict]:
    """Each field's row as shown: its label and whether it carries the required mark."""
    rows = {}
    for name in names:
        field = f'[id="element_{name}"], [name="element_{name}"]'
        dialog.locator(field).first.wait_for()
        row = dialog.locator('[data-scope="field"][data-part="root"]').filter(has=dialog.page.locator(field))
        assert row.count() == 1, f"{name}: {row.count()} rows"
        label = row.locator('[data-part="label"]').first
        rows[name] = {
            "label": label.inner_text().replace("*", "").strip(),
            "required": label.locator(".chakra-field__requiredIndicator").count() > 0,  # the asterisk
        }
    return rows


def dry_run_shown(dialog) -> tuple[str, str]:
    """What the dry_run drop-down shows, and the value the form holds (``__null__``: null)."""
    control = dialog.locator("#element_dry_run")
    return control.locator("div").first.inner_text().strip(), control.locator(
        'input[name="element_dry_run"]'
    ).input_value()


def choose_dry_run(page, dialog, label: str) -> None:
    dialog.locator("#element_dry_run").locator('[role="combobox"]').click(force=True)
    page.get_by_text(label, exact=True).last.click()


def test_bey10_a_tools_form_shows_human_labels_and_only_the_id_is_required(page, ui_server, tmp_path):
    """BEY-10: atqbo_copy_invoice's form, as the operator sees it."""
    dialog = open_trigger_form(page, ui_server, "atqbo_copy_invoice")
    rows = form_rows(dialog, ("autotask_invoice_id", "overwrite", "email"))
    page.screenshot(path=str(tmp_path / "copy_invoice_form.png"), full_page=True)
    assert rows == {
        "autotask_invoice_id": {"label": "Autotask invoice id", "required": True},
        "overwrite": {"label": "Overwrite (make a second copy)", "required": False},
        "email": {"label": "Also email the report to", "required": False},
    }
    assert dialog.get_by_text("Also send the report to these addresses", exact=False).count() == 1  # the description


def test_bey10_the_invoice_syncs_form_labels_and_a_dry_run_that_goes_back_to_the_setting(page, ui_server, tmp_path):
    """BEY-10: atqbo_invoices' form: human labels, nothing required, and dry_run "Use the setting" /
    yes / no, set back to "Use the setting" from the list and by clearing it; the run triggered
    from the form gets dry_run null (the setting decides)."""
    dialog = open_trigger_form(page, ui_server, "atqbo_invoices")
    rows = form_rows(dialog, ("invoice_lookback_days", "dry_run", "report_to"))
    assert rows == {
        "invoice_lookback_days": {"label": "Look back (days)", "required": False},
        "dry_run": {"label": "Dry run", "required": False},
        "report_to": {"label": "Also email the report to", "required": False},
    }
    assert dry_run_shown(dialog) == ("Use the setting", "__null__")

    choose_dry_run(page, dialog, "Yes: plan only, write nothing")
    assert dry_run_shown(dialog) == ("Yes: plan only, write nothing", "yes")
    choose_dry_run(page, dialog, "Use the setting")  # back from the list
    assert dry_run_shown(dialog) == ("Use the setting", "__null__")

    choose_dry_run(page, dialog, "No: send for real")
    assert dry_run_shown(dialog) == ("No: send for real", "no")
    dialog.locator("#element_dry_run").get_by_label("Clear selected options").click(force=True)  # back by clearing
    assert dry_run_shown(dialog) == ("Use the setting", "__null__")
    page.screenshot(path=str(tmp_path / "invoices_form.png"), full_page=True)

    before = {r["dag_run_id"] for r in ui_server.dag_runs("atqbo_invoices")}
    dialog.get_by_test_id("trigger-dag-submit").click()
    page.get_by_text("Dag run has been successfully triggered.").first.wait_for()  # the toast may render twice
    runs = [r for r in ui_server.dag_runs("atqbo_invoices") if r["dag_run_id"] not in before]
    assert len(runs) == 1 and runs[0]["conf"]["dry_run"] is None, runs
    assert runs[0]["conf"]["report_to"] in ([], None)
