"""QBO's refusal of a void (atqbo.sync.voids.refusals): a retry is a new request."""

from __future__ import annotations

from atqbo.sync.voids import refusals


def test_void02_retry_after_refusal_gets_a_new_requestid():
    assert refusals.void_requestid(29684101, 1) == "atqbo-void-29684101"
    assert refusals.void_requestid(29684101, 2) == "atqbo-void-29684101-2"
