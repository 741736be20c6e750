"""Tests of ``atqbo.hooks.autotask_pacing`` against the sandbox: the tenant's hourly budget (BEY-05)
and at most 3 calls in flight per endpoint.
"""

from __future__ import annotations

import threading

import pytest

from atqbo.hooks import autotask as at
from atqbo.hooks.autotask import AutotaskBudgetExhaustedError
from tests.hooks.autotask_support import SleepRecorder, autotask_hook, autotask_requests, control, seed_companies


def test_bey05_pacing_waits_while_budget_used_up_then_proceeds(box):
    control(box, "POST", "limits", {"autotask": {"request_threshold": 40, "used_requests": 25}})
    # While the hook waits, other integrations' requests age out of the rolling window.
    sleep = SleepRecorder(
        on_sleep=lambda n: n == 2 and control(box, "POST", "limits", {"autotask": {"used_requests": 0}})
    )
    hook = autotask_hook(budget_share=0.5, sleep=sleep, budget_poll_interval=60)
    assert hook.count("Companies") == 1
    assert sleep.waits == [60, 60] and hook.budget_waited_s == 120
    assert hook.calls_made["GET ThresholdInformation"] == 3
    paths = [r["path"].rsplit("/", 1)[-1] for r in autotask_requests(box)]
    assert paths == ["zoneInformation", "ThresholdInformation", "ThresholdInformation", "ThresholdInformation", "count"]


def test_bey05_pacing_gives_up_after_max_wait(box):
    control(box, "POST", "limits", {"autotask": {"request_threshold": 40, "used_requests": 25}})
    sleep = SleepRecorder()
    hook = autotask_hook(budget_share=0.5, sleep=sleep, budget_poll_interval=60, budget_max_wait=180)
    with pytest.raises(AutotaskBudgetExhaustedError) as info:
        hook.count("Companies")
    assert "20" in str(info.value) and "of 40" in str(info.value) and "autotask_budget_share" in str(info.value)
    assert sleep.waits == [60, 60, 60]
    assert not autotask_requests(box, "Companies/query")  # the call itself was never sent


def test_bey05_budget_checks_are_rare_far_from_the_limit(box):
    seed_companies(box, 1100)
    hook = autotask_hook()
    for _ in range(5):
        hook.query_all("Companies", at.gte("id", 0), include_fields=["companyName"])
    assert hook.total_calls == 1 + 1 + 15  # zone, one threshold check, 5 x 3 pages
    assert hook.calls_made["GET ThresholdInformation"] == 1


def test_at_most_three_concurrent_calls_per_endpoint(box):
    control(box, "POST", "limits", {"autotask": {"latency_ms": 120}})
    hook = autotask_hook()
    hook.count("Companies")  # zone and budget check out of the way
    control(box, "DELETE", "requests")
    errors: list[BaseException] = []

    def work(entity: str) -> None:
        try:
            for _ in range(2):
                hook.count(entity)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e,)) for e in ["Companies", "Invoices"] * 6]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    log = autotask_requests(box)
    assert len(log) == 24 and {r["status"] for r in log} == {200}  # the sandbox never had to refuse one
    peaks = {
        entity: _peak_overlap([r for r in log if f"/{entity}/" in r["path"]]) for entity in ("Companies", "Invoices")
    }
    assert peaks == {"Companies": 3, "Invoices": 3}
    assert _peak_overlap(log) > 3  # the two endpoints did run side by side


def _peak_overlap(entries: list[dict]) -> int:
    events = sorted([(r["start"], 1) for r in entries] + [(r["end"], -1) for r in entries])  # ends first on ties
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def test_bey05_in_lists_are_read_three_at_a_time_and_come_back_in_order(box):
    ids = [c["id"] for c in seed_companies(box, 1100)]
    control(box, "POST", "limits", {"autotask": {"latency_ms": 120}})
    hook = autotask_hook()
    hook.count("Companies")  # zone and budget check out of the way
    control(box, "DELETE", "requests")

    records = hook.get_many("Companies", list(reversed(ids)), include_fields=["companyName"])

    # three `id in [...]` chunks (500, 500, 100), read side by side; each chunk's records in id order
    assert [r["id"] for r in records] == sorted(ids[-500:]) + sorted(ids[100:600]) + sorted(ids[:100])
    reads = autotask_requests(box, "Companies/query")
    assert len(reads) == 3 and _peak_overlap(reads) == 3


def test_bey05_one_thread_checks_the_budget_while_the_others_go_on_when_there_is_room():
    from atqbo.hooks.autotask_pacing import RequestBudget

    checking, release = threading.Event(), threading.Event()
    checks: list[int] = []
    used = {"count": 0}

    def threshold_information() -> dict:
        checks.append(used["count"])
        if len(checks) == 2:  # the second check is slow: the others must not wait for it
            checking.set()
            assert release.wait(10)
        return {"externalRequestThreshold": 10_000, "currentTimeframeRequestCount": used["count"]}

    budget = RequestBudget(0.5, poll_interval=60, max_wait=600, sleep=lambda s: None)
    budget.before_call(threshold_information)  # the first check: 5,000 of room, so 200 calls until the next
    for _ in range(200):
        budget.before_call(threshold_information)
    checker = threading.Thread(target=budget.before_call, args=(threshold_information,))
    checker.start()
    assert checking.wait(10)
    went_on = threading.Event()
    other = threading.Thread(target=lambda: (budget.before_call(threshold_information), went_on.set()))
    other.start()
    assert went_on.wait(5)  # while the second check was still out
    release.set()
    checker.join(10)
    other.join(10)
    assert len(checks) == 2


def test_bey05_with_the_share_nearly_used_up_every_thread_waits_for_the_check():
    from atqbo.hooks.autotask_pacing import RequestBudget

    answers = iter([4_990, 5_000, 0])  # 10 calls of room, then used up, then the hour has moved on
    checks: list[int] = []
    sleeps: list[float] = []

    def threshold_information() -> dict:
        checks.append(1)
        return {"externalRequestThreshold": 10_000, "currentTimeframeRequestCount": next(answers)}

    budget = RequestBudget(0.5, poll_interval=60, max_wait=600, sleep=sleeps.append)
    budget.before_call(threshold_information)  # room for 10 // 5 = 2 calls: too little to go on without a check
    budget.before_call(threshold_information)
    budget.before_call(threshold_information)
    assert len(checks) == 1
    threads = [threading.Thread(target=budget.before_call, args=(threshold_information,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # one of them found the share used up and waited; the others waited for its answer, not past it
    assert sleeps == [60] and len(checks) == 3
