"""The limit counters, without HTTP: rolling windows in sandbox time and concurrency gates."""

from __future__ import annotations

import time

from sandbox.core import Clock
from sandbox.limits import Gate, RollingWindow


def test_rolling_window_forgets_old_events():
    clock = Clock(scale=1000)
    window = RollingWindow(clock, window=20)  # 20 sandbox seconds = 20 ms real
    assert [window.add() for _ in range(3)] == [1, 2, 3]
    time.sleep(0.03)
    assert window.count() == 0


def test_gate_limits_concurrency_per_key():
    gate = Gate()
    assert gate.enter("k", 2) and gate.enter("k", 2)
    assert not gate.enter("k", 2)
    assert gate.enter("other", 2)
    gate.leave("k")
    assert gate.current("k") == 1 and gate.enter("k", 2)
