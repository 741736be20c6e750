"""The API-limit bound of an invoice sync: the least wall time the unavoidable calls need at the limits.

Pure functions, no I/O. The calls are counted **from first principles** (:func:`unavoidable_calls`),
not from what a run made, so the bound does not grow when atqbo makes a call it could have
avoided (a retry, a budget check, a look-up of its own documents, the zone discovery):

* Autotask reads, pages of 500 (docs/api-facts.md 1.3): the window's invoices ``ceil(N/500)``, their
  billing items ``ceil(N*lines/500)``, the companies ``ceil(C/500)`` and billing codes ``ceil(K/500)``;
* QBO reads, ``IN`` lists of 100: which of the C customers and K items exist, ``ceil(C/100) + ceil(K/100)``;
* QBO writes, batches of 30 (2.5): the missing customers and items ``ceil(c/30) + ceil(k/30)`` (the
  *name batches*), then the invoices ``ceil(N/30)``;
* Autotask writes: one ``PATCH Invoices`` per invoice, ``N``: Autotask REST has no bulk update (5.4).

The limits (1.6, 2.5, 2.8): Autotask runs at most ``a = 3`` calls at once per endpoint, each taking
the latency ``L_a`` plus the threshold's added latency (+0.5 s once the tenant has used 50% of its
hourly ``H = 10,000`` requests, +1 s from 75%), and atqbo may make ``B = share * H`` calls in any
rolling hour (``autotask_budget_share``); QBO runs at most ``q = 10`` calls at once, each taking
``L_q``, at most 40 batches and 500 calls in any rolling minute.

The schedule, every call as early as the limits let it start (times from the first call)::

    reads:        Autotask reads and QBO reads start at 0, a and q at a time;
                  T_r = the end of the last read (reads precede writes)
    QBO batch j:  s_j = max(ready_j, e_{j-q}, s_{j-40} + 60 s),  e_j = s_j + L_q
                  ready_j = T_r for a name batch, the end of the last name batch for an
                  invoice batch (an invoice needs its customer and items)
    PATCH i:      t_i = max(e_{batch(i)}, u_{i-a}, t_{i-B} + 3600 s),  u_i = t_i + L_a + p(i)
                  (an invoice's marker cannot be written before its batch is back; counted with
                  the reads for the hourly budget B and the threshold's added latency p)
    bound:        T = max(u_N, e_last)

so the write-back overlaps the QBO load, batch by batch. :func:`bound` computes it;
``overlap=False`` gives the same schedule with every PATCH after the last batch (the sync's
stages one after the other), for contrast. At the benchmark's latencies QBO releases
``40 * 30 = 1,200`` invoices a minute and Autotask takes ``3 / L_a = 20`` PATCHes a second (1,200
a minute), so past the first minute the two pipes are equally fast and the bound is about
``T_r + L_q + N * L_a / 3``, plus the hourly wait once ``N`` passes atqbo's budget.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass, field
from typing import Any

AUTOTASK_PAGE = 500  # records per Autotask query page (docs/api-facts.md 1.3)
QBO_IN_VALUES = 100  # values per QBO `IN` look-up (atqbo.hooks.qbo_limits.MAX_IN_VALUES)


@dataclass(frozen=True)
class Limits:
    """The limits the bound is computed at (defaults: the real ones, docs/api-facts.md 1.6, 2.5, 2.8)."""

    autotask_latency_s: float
    qbo_latency_s: float
    autotask_concurrent: int = 3
    autotask_threshold: int = 10_000
    autotask_window_s: float = 3600.0
    autotask_budget_share: float = 0.5
    autotask_used_before: int = 0  # the tenant's requests already in the rolling hour
    # (share of the threshold used, seconds added per call from then on)
    autotask_added_latency: tuple[tuple[float, float], ...] = ((0.5, 0.5), (0.75, 1.0))
    qbo_concurrent: int = 10
    qbo_batches_per_minute: int = 40
    qbo_calls_per_minute: int = 500
    qbo_batch_items: int = 30


@dataclass(frozen=True)
class Calls:
    """The unavoidable calls of one sync."""

    invoices: int  # one PATCH each, and ceil(invoices / 30) invoice batches
    autotask_reads: int
    qbo_reads: int
    qbo_name_batches: int  # customers and items to create, before the invoice batches
    batch_items: int = 30

    @property
    def invoice_batches(self) -> int:
        return math.ceil(self.invoices / self.batch_items)

    @property
    def autotask(self) -> int:
        return self.autotask_reads + self.invoices

    @property
    def qbo(self) -> int:
        return self.qbo_reads + self.qbo_name_batches + self.invoice_batches


@dataclass
class Bound:
    seconds: float
    reads_done_s: float
    last_batch_s: float
    last_patch_s: float
    autotask_calls: int
    qbo_calls: int
    budget_waits: int = 0  # Autotask calls that had to wait for the rolling hour
    calls: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def unavoidable_calls(
    invoices: int,
    lines: int,
    companies: int,
    codes: int,
    new_customers: int,
    new_items: int,
    batch_items: int = 30,
) -> Calls:
    """From first principles (module docstring): what any sync of these records must call."""
    pages = math.ceil
    autotask_reads = (
        pages(invoices / AUTOTASK_PAGE)
        + pages(invoices * lines / AUTOTASK_PAGE)
        + pages(companies / AUTOTASK_PAGE)
        + pages(codes / AUTOTASK_PAGE)
    )
    qbo_reads = pages(companies / QBO_IN_VALUES) + pages(codes / QBO_IN_VALUES)
    name_batches = pages(new_customers / batch_items) + pages(new_items / batch_items)
    return Calls(invoices, autotask_reads, qbo_reads, name_batches, batch_items)


class _Autotask:
    """Autotask calls at the limits: ``a`` slots, the rolling hour's budget, the threshold's added latency."""

    def __init__(self, limits: Limits):
        self.lim = limits
        self.slots = [0.0] * limits.autotask_concurrent  # when each slot is free again (a heap)
        self.starts: list[float] = []
        self.budget = max(
            1, int(limits.autotask_budget_share * limits.autotask_threshold) - limits.autotask_used_before
        )
        self.waits = 0

    def call(self, ready: float) -> float:
        start = max(ready, heapq.heappop(self.slots))
        n = len(self.starts)
        if n >= self.budget:
            earliest = self.starts[n - self.budget] + self.lim.autotask_window_s
            if earliest > start:
                start, self.waits = earliest, self.waits + 1
        self.starts.append(start)
        used = (self.lim.autotask_used_before + n + 1) / self.lim.autotask_threshold
        added = max((s for share, s in self.lim.autotask_added_latency if used >= share), default=0.0)
        end = start + self.lim.autotask_latency_s + added
        heapq.heappush(self.slots, end)
        return end


class _Qbo:
    """QBO calls at the limits: ``q`` slots, rolling minutes of calls and of batches."""

    def __init__(self, limits: Limits):
        self.lim = limits
        self.slots = [0.0] * limits.qbo_concurrent
        self._call_starts: list[float] = []
        self._batch_starts: list[float] = []

    def call(self, ready: float, is_batch: bool) -> float:
        start = max(ready, heapq.heappop(self.slots))
        if len(self._call_starts) >= self.lim.qbo_calls_per_minute:
            start = max(start, self._call_starts[-self.lim.qbo_calls_per_minute] + 60.0)
        if is_batch and len(self._batch_starts) >= self.lim.qbo_batches_per_minute:
            start = max(start, self._batch_starts[-self.lim.qbo_batches_per_minute] + 60.0)
        self._call_starts.append(start)
        if is_batch:
            self._batch_starts.append(start)
        end = start + self.lim.qbo_latency_s
        heapq.heappush(self.slots, end)
        return end


def bound(calls: Calls, limits: Limits, overlap: bool = True) -> Bound:
    """The least wall time of ``calls`` at ``limits`` (the schedule in the module docstring)."""
    autotask, qbo = _Autotask(limits), _Qbo(limits)
    reads_done = 0.0
    for _ in range(calls.autotask_reads):
        reads_done = max(reads_done, autotask.call(0.0))
    for _ in range(calls.qbo_reads):
        reads_done = max(reads_done, qbo.call(0.0, is_batch=False))
    names_done = reads_done
    for _ in range(calls.qbo_name_batches):
        names_done = max(names_done, qbo.call(reads_done, is_batch=True))
    batch_ends = [qbo.call(names_done, is_batch=True) for _ in range(calls.invoice_batches)]
    last_batch = max(batch_ends, default=names_done)
    last_patch = last_batch
    for i in range(calls.invoices):
        ready = batch_ends[i // calls.batch_items] if overlap else last_batch
        last_patch = max(last_patch, autotask.call(ready))
    return Bound(
        seconds=max(last_patch, last_batch),
        reads_done_s=reads_done,
        last_batch_s=last_batch,
        last_patch_s=last_patch,
        autotask_calls=calls.autotask,
        qbo_calls=calls.qbo,
        budget_waits=autotask.waits,
        calls={**asdict(calls), "invoice_batches": calls.invoice_batches},
    )
