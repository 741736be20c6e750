"""The PO sync's steps run one by one as the DAG chains them, for the step tests: a run, hooks
that never wait, and the requests that carried bill batches."""

from __future__ import annotations

from atqbo.runs import RunInfo
from atqbo.settings import Settings
from atqbo.sync.purchase_orders.extract import extract_purchase_orders
from atqbo.sync.purchase_orders.load import load_purchase_orders
from atqbo.sync.purchase_orders.write_back import write_back_purchase_orders
from tests.sync import po_support as ps


def make_run(run_id: str, **settings) -> RunInfo:
    return RunInfo(
        dag_id="atqbo_purchase_orders",
        run_id=run_id,
        run_key=f"atqbo_purchase_orders/{run_id}",
        settings=Settings.from_dict({**ps.SETTINGS, **settings}).to_dict(),
        window_start=ps.WINDOW_START.isoformat(),
        window_end=ps.WINDOW_END.isoformat(),
    )


def hooks_for(ledger):
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.hooks.qbo import QuickBooksOnlineHook

    no_wait = lambda seconds: None  # noqa: E731 - the sandbox's faults need no real backoff
    return AutotaskHook("autotask_default", max_retries=1, sleep=no_wait), QuickBooksOnlineHook(
        "qbo_default", ledger=ledger, sleep=no_wait
    )


def run_sync(run: RunInfo, ledger) -> dict[int, dict]:
    """extract, load and write_back as the DAG chains them; the staged outcome per PO id."""
    autotask, qbo = hooks_for(ledger)
    extract_purchase_orders(run, autotask, ledger)
    load_purchase_orders(run, qbo, ledger)
    write_back_purchase_orders(run, autotask, ledger)
    return {int(k): v for k, v in ledger.stage_get(run.run_key, "outcome").items()}


def bill_batches(sandbox) -> list[dict]:
    return [
        r for r in sandbox.requests.list("qbo") if r["path"].endswith("/batch") and "pobills" in (r["requestid"] or "")
    ]
