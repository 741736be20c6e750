"""How both hooks retry a call that may succeed later: one policy, run by ``tenacity``.

An attempt that failed in a way a later attempt may not (throttling, a gateway error, no answer)
raises :class:`RetryLater`, carrying the error the caller gets once no attempt is left.
:func:`call_with_retries` runs the attempts; :class:`Backoff` says how long to wait between them:
exponential with jitter, a server's ``Retry-After`` honoured up to a cap, and a longer climb after
throttling that came without one. Every wait goes through the hook's injected ``sleep`` and every
jitter through its ``rng``, so tests neither wait nor guess.

What is worth retrying, and what may not be retried at all (a create that may have applied), is
the hook's business: it decides by raising :class:`RetryLater` or not.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NoReturn, TypeVar

import requests
import tenacity

T = TypeVar("T")


class RetryLater(Exception):
    """An attempt failed in a way a later attempt may not.

    ``give_up`` is the error the caller gets when no attempt is left; ``reason`` names the failure
    in the retry log line ("HTTP 503", "ConnectionError"); ``retry_after`` is the server's
    ``Retry-After`` in seconds when the hook honours it; ``throttled`` asks for the longer climb
    when there is none.
    """

    def __init__(
        self,
        give_up: BaseException,
        reason: str,
        *,
        retry_after: float | None = None,
        throttled: bool = False,
    ):
        super().__init__(reason)
        self.give_up = give_up
        self.reason = reason
        self.retry_after = retry_after
        self.throttled = throttled


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter; ``cap`` bounds every computed wait.

    The wait after failed attempt ``n`` (0 = the first) is drawn between half and all of
    ``base * 2**n``, so that workers that failed together do not retry together. A server's
    ``Retry-After`` is honoured up to ``retry_after_cap`` (``cap`` when not given). After
    throttling without ``Retry-After`` the climb starts ``throttle_head_start`` doublings higher:
    a throttled service needs longer than a failed request. ``rng`` is the source of the jitter.
    """

    base: float = 1.0
    cap: float = 60.0
    retry_after_cap: float | None = None
    throttle_head_start: int = 2
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (0 = the first)."""
        return self._jittered(self.base * (2**attempt))

    def throttle_delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait after throttling: the server's ``Retry-After`` (capped), else the longer climb."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.cap if self.retry_after_cap is None else self.retry_after_cap)
        return self._jittered(self.base * (2 ** (attempt + self.throttle_head_start)))

    def wait_after(self, attempt: int, failure: BaseException) -> float:
        """The wait after failed attempt ``attempt``, as ``failure`` (a :class:`RetryLater`) asks."""
        if isinstance(failure, RetryLater) and (failure.retry_after is not None or failure.throttled):
            return self.throttle_delay(attempt, failure.retry_after)
        return self.delay(attempt)

    def _jittered(self, ceiling: float) -> float:
        ceiling = min(self.cap, ceiling)
        return self.rng.uniform(ceiling / 2, ceiling)


def call_with_retries(
    attempt: Callable[[int], T],
    *,
    retries: int,
    wait: Callable[[int, BaseException], float],
    sleep: Callable[[float], None],
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = RetryLater,
    before_retry: Callable[[BaseException, int, float], None] | None = None,
) -> T:
    """What ``attempt`` returns, trying again after each ``retry_on`` failure, at most ``retries`` times.

    ``attempt(n)`` gets the number of attempts made before it (0 for the first). After a
    ``retry_on`` failure, ``before_retry(failure, retry_number, seconds)`` (for the log) and
    ``sleep(wait(n, failure))`` run before the next attempt. Once ``retries`` retries have failed
    too, the last failure's ``give_up`` error is raised (for a :class:`RetryLater`) or the failure
    itself. Any other exception ends the attempts at once.
    """
    attempts = itertools.count()

    def failure_of(state: tenacity.RetryCallState) -> BaseException:
        exc = state.outcome.exception() if state.outcome is not None else None
        assert exc is not None  # tenacity only waits, logs or gives up after a failed attempt
        return exc

    def log_retry(state: tenacity.RetryCallState) -> None:
        if before_retry is not None:
            before_retry(failure_of(state), state.attempt_number, state.upcoming_sleep)

    def give_up(state: tenacity.RetryCallState) -> NoReturn:
        failure = failure_of(state)
        if isinstance(failure, RetryLater):
            raise failure.give_up from None
        raise failure

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(retry_on),
        stop=tenacity.stop_after_attempt(retries + 1),
        wait=lambda state: wait(state.attempt_number - 1, failure_of(state)),
        sleep=lambda seconds: sleep(float(seconds)),  # tenacity hands over a float subclass
        before_sleep=log_retry,
        retry_error_callback=give_up,
    )
    return retrying(lambda: attempt(next(attempts)))


def retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), or ``None``."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
