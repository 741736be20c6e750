"""BEY-10 in the Airflow UI: a run of atqbo_invoices with a failed invoice is not green, and its
note says why (issue 14). In a real headless Chromium (Playwright driving the system's
/usr/bin/chromium, as ``test_forms.py``) against the session's real ``airflow api-server``.

The runs are real: ``dag.test()`` of atqbo_invoices in a subprocess on the server's metadata
database, against the sandbox over HTTP: one with a negative invoice (it fails: the run is failed,
the note has the counts) and one with nothing to send (success), for contrast.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.net_support import REPO
from tests.ui.ui_support import NEEDS_CHROMIUM

pytestmark = [pytest.mark.integration, NEEDS_CHROMIUM]

DAG_ID = "atqbo_invoices"
NEGATIVE = 39100001  # an Autotask invoice with a negative total: QBO refuses it, the invoice fails
CONTOSO, REMOTE_SUPPORT = 29683501, 29682803  # the demo's company already in QBO, a billing code
SETTINGS = {"invoice_lookback_days": 2, "report_to": ["billing@msp.example"]}


def negative_invoice_seed(today: date) -> dict:
    """One invoice of -50.00 for Contoso Dental, dated yesterday (inside the run's window)."""
    day = f"{today - timedelta(days=1)}T00:00:00Z"
    return {
        "autotask": {
            "Invoices": [
                {
                    "id": NEGATIVE,
                    "companyID": CONTOSO,
                    "invoiceNumber": f"E-{NEGATIVE}",
                    "invoiceDateTime": day,
                    "fromDate": day,
                    "toDate": day,
                    "dueDate": f"{today + timedelta(days=28)}T00:00:00Z",
                    "paymentTerm": 1,
                    "invoiceTotal": -50.0,
                    "totalTaxValue": 0.0,
                    "isVoided": False,
                }
            ],
            "BillingItems": [
                {
                    "id": 39200001,
                    "invoiceID": NEGATIVE,
                    "companyID": CONTOSO,
                    "billingCodeID": REMOTE_SUPPORT,
                    "billingItemType": 1,
                    "organizationalLevelAssociationID": 1,
                    "itemName": "Credit",
                    "description": "Goodwill credit",
                    "itemDate": day,
                    "quantity": 1.0,
                    "rate": -50.0,
                    "extendedPrice": -50.0,
                    "totalAmount": -50.0,
                    "taxDollars": 0.0,
                }
            ],
        }
    }


# Run in the subprocess: dag.test() of the DAG at each logical date given, one process for both
# runs; prints each run's id, state and note as JSON on its last line.
RUN_SCRIPT = """
import json, sys
from datetime import datetime
from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session

dag_id, dates = sys.argv[1], sys.argv[2:]
dag = DagBag(dag_folder=f"dags/{dag_id}.py").dags[dag_id]
for task in dag.tasks:
    task.retries = 0
out = []
for when in dates:
    run = dag.test(logical_date=datetime.fromisoformat(when))
    with create_session() as session:
        saved = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run.run_id).one()
        out.append({"run_id": saved.run_id, "state": str(saved.state), "note": saved.note})
print(json.dumps(out))
"""


@pytest.fixture
def runs(ui_server, dags_loaded, sandbox_server, tmp_path):
    """Two real runs of atqbo_invoices in the server's metadata DB, each as its run_id, state and
    note: ``failed`` (the demo's invoices of the last two days and a negative one, which fails) and
    ``clean``, the same DAG a moment later with nothing left to send (the failed invoice is not
    sent again until it changes: skipped)."""
    from sandbox.seeds import load_seed

    assert ui_server.get(f"/api/v2/dags/{DAG_ID}").status_code == 200, f"{DAG_ID} not parsed"
    today = date.today()
    sandbox_server.reset()
    sandbox_server.seed(load_seed("demo"))
    sandbox_server.seed(negative_invoice_seed(today))
    env = {**ui_server.env, "AIRFLOW_VAR_ATQBO_SETTINGS": json.dumps(SETTINGS)}
    for conn_id, conn in sandbox_server.connections().items():  # after the reset: its refresh token is valid
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
    env["AIRFLOW_CONN_ATQBO_STATE"] = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "atqbo_state.db")})
    now = datetime.now(UTC).replace(microsecond=0)
    dates = [now.isoformat(), (now + timedelta(seconds=1)).isoformat()]
    result = subprocess.run(
        [sys.executable, "-c", RUN_SCRIPT, DAG_ID, *dates],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    failed, clean = json.loads(result.stdout.strip().splitlines()[-1])
    return {"failed": failed, "clean": clean}


# The colour the browser paints, as sRGB: Airflow's theme gives oklch() colours, which the page
# converts on a 1x1 canvas.
TO_RGB = """css => {
    const ctx = Object.assign(document.createElement("canvas"), {width: 1, height: 1}).getContext("2d");
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    return Array.from(ctx.getImageData(0, 0, 1, 1).data.slice(0, 3));
}"""
COLOR = re.compile(r"(?:rgba?|oklch|oklab|hsla?|color)\([^()]*\)")


def rgb(element, prop: str = "backgroundColor") -> tuple[int, int, int]:
    """The element's computed ``prop`` (its first colour, for a gradient) in sRGB."""
    css = element.evaluate(f"e => getComputedStyle(e).{prop}")
    found = COLOR.search(css)
    assert found, css
    r, g, b = element.page.evaluate(TO_RGB, found.group(0))
    return r, g, b


def is_red(color: tuple[int, int, int]) -> bool:
    r, g, b = color
    return r > 150 and r > g + 80 and r > b + 80


def is_green(color: tuple[int, int, int]) -> bool:
    r, g, b = color
    return g > r + 40 and g > b + 40


def runs_list_row(page, run_id: str) -> dict:
    """A run's row in the DAG's run list: the state it shows, and its badge's colour."""
    link = page.locator(f'td[data-testid="table-cell-dag_run_id"] a[href$="/runs/{run_id}"]')
    row = page.locator("tbody tr").filter(has=link)
    assert row.count() == 1, f"{run_id}: {row.count()} rows"
    badge = row.locator('td[data-testid="table-cell-state"] [data-testid="state-badge"]')
    return {"state": badge.inner_text().strip(), "color": rgb(badge)}


def grid_bar_color(page, run_id: str) -> tuple[int, int, int]:
    """The colour of the run's bar in the grid (the column above its task squares)."""
    bar = page.locator(f'[data-run-id="{run_id}"] a[href$="/runs/{run_id}/"] > div').first
    return rgb(bar, "backgroundImage")


def run_page_header(page, ui_server, run_id: str) -> dict:
    """The run's details page: the state badge by its title, and the note's line under the header."""
    page.goto(f"{ui_server.base}/dags/{DAG_ID}/runs/{run_id}")
    header = page.get_by_test_id("header-card").filter(has=page.get_by_role("heading", name=run_id))
    header.wait_for()
    badge = header.get_by_test_id("state-badge")
    assert badge.count() == 1, f"{run_id}: {badge.count()} state badges in the header"
    note = page.get_by_role("button", name="Edit note").locator("xpath=..")  # the note's line, with its button
    return {
        "state": badge.inner_text().strip(),
        "color": rgb(badge),
        "note": note.inner_text().strip(),
    }


def test_bey10_a_run_with_a_failed_invoice_is_red_in_the_ui_with_its_counts_as_note(page, ui_server, runs, tmp_path):
    """Issue 14: a run in which an invoice failed is not green (the run list, the grid, the run's
    page) and its note, with the counts and the failed invoice and its fix, is on its page; the
    next run, with nothing left to send, is green."""
    failed, clean = runs["failed"], runs["clean"]
    assert (failed["state"], clean["state"]) == ("failed", "success"), runs  # in the server's database

    page.goto(f"{ui_server.base}/dags/{DAG_ID}/runs")
    page.get_by_text(f"{len(ui_server.dag_runs(DAG_ID))} Dag Runs").wait_for()
    page.locator(f'[data-run-id="{failed["run_id"]}"]').first.wait_for()
    page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
    red_row, green_row = runs_list_row(page, failed["run_id"]), runs_list_row(page, clean["run_id"])
    assert red_row["state"] == "Failed" and is_red(red_row["color"]), red_row
    assert green_row["state"] == "Success" and is_green(green_row["color"]), green_row
    assert is_red(grid_bar_color(page, failed["run_id"])) and is_green(grid_bar_color(page, clean["run_id"]))

    header = run_page_header(page, ui_server, failed["run_id"])
    page.screenshot(path=str(tmp_path / "failed_run.png"), full_page=True)
    assert header["state"] == "Failed" and is_red(header["color"]), header
    assert header["note"] == "1 transferred, 1 failed …", header  # the note's first line, as the page shows it

    page.get_by_role("button", name="Edit note").click()  # opens the note as Airflow renders it
    dialog = page.get_by_role("dialog").filter(has=page.get_by_role("heading", name="Dag Run Note"))
    dialog.get_by_text("1 transferred, 1 failed", exact=True).wait_for()
    page.screenshot(path=str(tmp_path / "failed_run_note.png"), full_page=True)
    item = dialog.get_by_role("listitem")
    assert item.count() == 1, item.all_inner_texts()
    text = item.inner_text()
    assert text.startswith(f"failed: E-{NEGATIVE}: The invoice total is negative."), text
    assert "(fix: credit the invoice in Autotask (or void it) instead of sending a negative invoice)" in text
    page.keyboard.press("Escape")

    header = run_page_header(page, ui_server, clean["run_id"])
    page.screenshot(path=str(tmp_path / "clean_run.png"), full_page=True)
    assert header["state"] == "Success" and is_green(header["color"]), header
    assert header["note"] == clean["note"] == "1 skipped", header  # the failed invoice, not sent twice
