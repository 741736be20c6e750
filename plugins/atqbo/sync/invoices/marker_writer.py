"""The write-back pipelined with the load (BEY-05): an invoice's Autotask marker is PATCHed as soon as
QBO has the invoice and the ledger says so, while the next QBO batches go out.

The load step (``load.load_invoices``) hands the invoices it adopted, then each batch's created
ones, to a ``MarkerWriter``: ``MAX_CONCURRENT_PER_ENDPOINT`` threads (Autotask's thread limit, 3)
take markers from a queue and PATCH them with the run's ``AutotaskHook`` (thread safe; its pacing
against the tenant's budget share and its retries of 429s and 5xx apply to every PATCH). Each
marker written is recorded at once in the run's staging ("written"), as the ``write_back`` task
does; at its end the load waits for the queue to drain. The ``write_back`` task
(``write_back.write_back_markers``) then writes only what is left: ERROR markers, markers Autotask
refused here (it tries them once more and reports a refusal), and whatever the load did not get
to (a load that died; a writer that stopped because Autotask could not be reached: a marker never
fails the load, whose work is QBO).

Exactly once (BEY-01): a marker is queued only after the invoice's SYNCED record (with its QBO id)
is in the ledger, so no marker names an invoice QBO may not have. A load killed in the middle
leaves the markers written so far staged and at most three PATCHes whose answer was lost; its
retry adopts what QBO has and queues every marker not staged as written (writing a marker twice
is harmless: the same fields again).

Threads: the writer's threads use only the hook (shared, thread safe) and the ledger (one
connection per thread, which each closes when it ends); the load's ``Outcomes`` stay in the load's
thread, which computes each marker's fields before queueing them.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from atqbo.hooks.autotask import MAX_CONCURRENT_PER_ENDPOINT, AutotaskError, record_refused
from atqbo.sync.invoices.write_back import marker_fields

if TYPE_CHECKING:
    from atqbo.hooks.autotask import AutotaskHook
    from atqbo.ledger import Ledger
    from atqbo.runs import RunInfo

log = logging.getLogger(__name__)

_DONE = None  # what a thread takes from the queue to end
_WARM_UP = "warm up"  # what one thread takes first once the load has something to send


class MarkerWriter:
    """The load's background writer of "synced" markers; a dry run's writes nothing.

    Use it as a context manager: leaving the block normally waits for every queued marker; leaving
    it with an exception drops the queued ones (the ``write_back`` task or the retry writes them)
    and waits only for the PATCHes in flight.
    """

    def __init__(
        self,
        run: RunInfo,
        ledger: Ledger,
        autotask: AutotaskHook | None = None,
        workers: int = MAX_CONCURRENT_PER_ENDPOINT,
    ):
        self.run = run
        self.ledger = ledger
        self.enabled = not run.dry_run
        self.autotask = autotask if autotask is not None or not self.enabled else run.autotask()
        self.settings = run.parsed_settings
        # written by an earlier attempt of this load (a retried task) or of this run: not again
        self._seen: set[str] = set(ledger.stage_get(run.run_key, "written")) if self.enabled else set()
        self._queue: queue.Queue[tuple[int, dict[str, Any]] | str | None] = queue.Queue()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.written = 0
        self.refused: dict[int, str] = {}
        self.gave_up: str | None = None  # why the writer stopped early, if it did
        self._threads = [
            threading.Thread(target=self._work, name=f"atqbo-invoice-marker-{n}", daemon=True)
            for n in range(workers if self.enabled else 0)
        ]

    # -- the load's side -----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def warm_up(self) -> None:
        """Have a writer thread find Autotask's zone and check the budget now, while QBO is being
        prepared, rather than when the first marker comes (a run with nothing to send never calls)."""
        if self._threads and not self._stopped.is_set():
            self._queue.put(_WARM_UP)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self._stopped.set()  # the load failed: only the PATCHes in flight are waited for
        for _ in self._threads:
            self._queue.put(_DONE)
        for thread in self._threads:
            thread.join()
        if self.enabled:
            log.info(
                "Wrote %d Autotask invoice marker(s) during the load; %d refused (left to the write-back)%s",
                self.written,
                len(self.refused),
                f"; stopped early: {self.gave_up}" if self.gave_up else "",
            )

    def submit(self, rows: Iterable[dict[str, Any]]) -> int:
        """Queue the "synced" marker of each outcome row whose invoice QBO has (transferred or
        matched: its ledger record is SYNCED already) and that is not written or queued yet;
        returns how many were queued."""
        if not self.enabled or self._stopped.is_set():
            return 0
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        queued = 0
        for row in rows:
            key = str(row["autotask_id"])
            if row.get("marker") != "synced" or row["outcome"] not in ("transferred", "matched") or key in self._seen:
                continue
            fields = marker_fields(row, self.settings, now)
            if not fields:
                continue  # nothing to write (the write_back task records it so)
            self._seen.add(key)
            self._queue.put((int(row["autotask_id"]), fields))
            queued += 1
        return queued

    # -- the writer's threads --------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while (item := self._queue.get()) is not _DONE:
                if item is _WARM_UP:
                    self._warm_up()
                elif not self._stopped.is_set():
                    self._write(*item)
        finally:
            self.ledger.close()  # this thread's own connection

    def _warm_up(self) -> None:
        try:
            self.autotask.warm_up()
        except Exception as exc:  # noqa: BLE001 - the first PATCH meets it again, and decides
            log.info("Autotask not ready for the markers yet (the first one tries again): %s", exc)

    def _write(self, autotask_id: int, fields: dict[str, Any]) -> None:
        try:
            self.autotask.update("Invoices", autotask_id, fields)
        except AutotaskError as exc:
            if record_refused(exc):
                with self._lock:
                    self.refused[autotask_id] = str(exc)
                return
            self._give_up(exc)
            return
        except Exception as exc:  # noqa: BLE001 - whatever it is, the write_back task writes the rest
            self._give_up(exc)
            return
        try:
            self.ledger.stage_put(self.run.run_key, "written", {str(autotask_id): True})
        except Exception as exc:  # noqa: BLE001 - the write_back task writes it again (harmless)
            self._give_up(exc)
            return
        with self._lock:
            self.written += 1

    def _give_up(self, exc: BaseException) -> None:
        """Anything that concerns every marker (credentials, Autotask down or throttling past the
        hook's retries, the budget used up): stop writing; the ``write_back`` task writes the rest,
        and fails there if Autotask is still unreachable. The load itself goes on."""
        with self._lock:
            first = self.gave_up is None
            if first:
                self.gave_up = f"{type(exc).__name__}: {exc}"
        self._stopped.set()
        if first:
            log.warning("Stopped writing Autotask markers during the load (the write_back task writes them): %s", exc)
