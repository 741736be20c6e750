"""Tests of ``atqbo.hooks.retry``: the backoff's waits, Retry-After, and the retry loop both hooks use.

The hooks' own retry behaviour over HTTP (which failures are retried, the log lines, creates that
may have applied) is tested in ``test_autotask_client.py`` and ``test_qbo_client.py``.
"""

from __future__ import annotations

import random

import pytest
import requests

from atqbo.hooks.retry import Backoff, RetryLater, call_with_retries, retry_after_seconds


class GaveUp(Exception):
    """The error a test's attempt asks to be raised when no attempt is left."""


def failing(times: int, **failure: object):
    """An attempt that raises ``RetryLater`` ``times`` times, then returns the attempts it saw."""
    seen: list[int] = []

    def attempt(number: int) -> list[int]:
        seen.append(number)
        if len(seen) <= times:
            raise RetryLater(GaveUp(f"after {number + 1} attempts"), f"failure {number}", **failure)
        return seen

    return attempt


def test_backoff_grows_is_jittered_and_capped():
    backoff = Backoff(base=1.0, cap=60.0)
    assert 0.5 <= backoff.delay(0) <= 1.0
    assert 4.0 <= backoff.delay(3) <= 8.0
    assert 30.0 <= backoff.delay(20) <= 60.0
    assert backoff.throttle_delay(0, retry_after=7) == 7
    assert backoff.throttle_delay(0, retry_after=600) == 60.0  # never past Intuit's 60 s guidance
    assert 2.0 <= backoff.throttle_delay(0, retry_after=None) <= 4.0


def test_backoff_waits_as_the_failure_asks():
    backoff = Backoff(base=1.0, cap=60.0, retry_after_cap=30.0, throttle_head_start=2)
    assert 0.5 <= backoff.wait_after(0, RetryLater(GaveUp(), "HTTP 503")) <= 1.0
    assert 2.0 <= backoff.wait_after(0, RetryLater(GaveUp(), "HTTP 429", throttled=True)) <= 4.0
    assert backoff.wait_after(0, RetryLater(GaveUp(), "HTTP 503", retry_after=-5.0)) == 0.0
    assert backoff.wait_after(0, RetryLater(GaveUp(), "HTTP 429", retry_after=45.0, throttled=True)) == 30.0
    assert 4.0 <= backoff.wait_after(3, GaveUp()) <= 8.0  # any other failure: the plain climb


def test_backoff_jitter_comes_from_the_injected_source():
    first = Backoff(base=4.0, rng=random.Random(7))
    second = Backoff(base=4.0, rng=random.Random(7))
    waits = [first.delay(n) for n in range(4)]
    assert waits == [second.delay(n) for n in range(4)]
    assert len(set(waits)) == 4 and all(2.0 * 2**n <= w <= 4.0 * 2**n for n, w in enumerate(waits))


def test_retry_after_header_is_read_as_seconds_or_http_date():
    response = requests.Response()
    response.headers["Retry-After"] = "7"
    assert retry_after_seconds(response) == 7.0
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: no wait
    assert retry_after_seconds(response) == 0.0
    del response.headers["Retry-After"]
    assert retry_after_seconds(response) is None


def test_each_retry_sleeps_the_wait_and_is_announced_first():
    events: list[tuple] = []
    result = call_with_retries(
        failing(2),
        retries=5,
        wait=lambda number, failure: 10.0 + number,
        sleep=lambda seconds: events.append(("sleep", seconds, type(seconds))),
        before_retry=lambda failure, retry, seconds: events.append(("retry", str(failure), retry, seconds)),
    )
    assert result == [0, 1, 2]  # each attempt learns how many came before it
    assert events == [
        ("retry", "failure 0", 1, 10.0),
        ("sleep", 10.0, float),  # a plain float, not tenacity's own type
        ("retry", "failure 1", 2, 11.0),
        ("sleep", 11.0, float),
    ]


def test_max_retries_means_retries_after_the_first_attempt_then_the_give_up_error():
    waits: list[float] = []
    attempt = failing(10)
    with pytest.raises(GaveUp, match="after 4 attempts") as raised:
        call_with_retries(attempt, retries=3, wait=lambda number, failure: 1.0, sleep=waits.append)
    assert waits == [1.0, 1.0, 1.0]
    assert raised.value.__cause__ is None and raised.value.__suppress_context__

    with pytest.raises(GaveUp, match="after 1 attempts"):
        call_with_retries(failing(10), retries=0, wait=lambda number, failure: 1.0, sleep=waits.append)
    assert waits == [1.0, 1.0, 1.0]  # no retry, no wait


def test_other_failures_end_the_attempts_at_once():
    calls: list[int] = []

    def attempt(number: int) -> None:
        calls.append(number)
        raise KeyError("not worth retrying")

    with pytest.raises(KeyError):
        call_with_retries(attempt, retries=5, wait=lambda number, failure: 1.0, sleep=lambda s: None)
    assert calls == [0]


def test_retrying_another_failure_type_raises_that_failure_itself_when_it_persists():
    waits: list[float] = []
    failures = [LookupError(f"busy {n}") for n in range(3)]

    def attempt(number: int) -> None:
        raise failures[number]

    with pytest.raises(LookupError) as raised:
        call_with_retries(
            attempt, retries=2, retry_on=LookupError, wait=lambda number, failure: 0.5, sleep=waits.append
        )
    assert raised.value is failures[2] and waits == [0.5, 0.5]
