"""DepthSnapshotActor: fetches REST order-book snapshots (``/api/v3/depth``) for the StreamActors' books.

One per process, so that resyncs of many symbols at once are paced by the process-wide weight ledger instead of
racing each other into a 429. The order, the size of each snapshot and the accounting of books out of sync are
``snapshotschedule.SnapshotSchedule`` (pure); this actor owns it, a worker thread, and the waiting.

Owns: a worker thread and the schedule (the queue of symbols waiting for a snapshot, by activity, one entry per
symbol; the depth of each symbol's last snapshot; the books out of sync). The worker sleeps on a condition until
a request is queued, the weight of the next one fits in the ledger's minute, a 429/418 ``Retry-After`` has passed
or a failed symbol's backoff ends: a deadline, never a poll. Only weight the ledger reserved is spent, so the queue
never draws a 429, however many books wait.
At start it ranks the books by their trades stored in the last minutes (until each StreamActor has measured its
book for 10 s); it also fetches, once, the exchangeInfo filters (tick and step sizes) of every symbol not cached in
the database yet, and has the StorageActor cache them (``StoreSymbolInfo``): analytics then know the tick even
after a restart without network.

Messages: ``FetchDepthSnapshot`` (tell, from a StreamActor): queue the symbol (or refresh its queued request).
``BookActivity`` (tell): a waiting book's activity, which moves it in the queue. ``BookState`` (tell): a book lost
or regained its sync. ``SymbolsChanged`` (tell, from the symbol lifecycle): added symbols have their filters
fetched if not cached; removed ones are forgotten (queued request, sync state). ``GetStatus`` (ask).
``ThreadDied`` and ``InjectFailure`` (tell): see ``worker.py``.
Tells: ``DepthSnapshotFetched`` (with the limit used) to ``stream:<symbol>``; at every start
``DepthSnapshotRequestsLost`` to every StreamActor (a restart loses the queue, and requests told while it restarted
were dropped: books still waiting ask again, synced ones answer ``BookState``). A failed fetch goes back to the
queue with the symbol's own backoff (``backoff_initial`` doubling to ``backoff_max``, with jitter) while the others
go on; a 429/418 ``Retry-After`` holds every request (the ledger). A symbol stays queued until it succeeds, is
forgotten or the actor stops.
Metrics: ``books_unsynced``, ``books_sync_seconds`` (each time every book is synced again, also logged),
``depth_snapshot_queue``, ``depth_snapshots{limit}``, ``depth_snapshot_weight``.
on_start: starts the worker, registers itself (so the books' answers are not dropped before the Supervisor
registers it), tells ``DepthSnapshotRequestsLost``. on_stop/on_failure: stops the worker.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from tradeactors.actors.base import handles
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import (
    BookActivity,
    BookState,
    DepthSnapshotFetched,
    DepthSnapshotRequestsLost,
    FetchDepthSnapshot,
    StoreSymbolInfo,
    SymbolsChanged,
)
from tradeactors.actors.worker import RestWorker, WorkerThreadActor
from tradeactors.metrics import Metrics
from tradeactors.rest import RestClient, RestError
from tradeactors.snapshotschedule import Pending, SnapshotSchedule, depth_weight
from tradeactors.storage import Database, load_symbol_info, recent_trade_count

log = logging.getLogger(__name__)

NAME = "depth_snapshots"
"""The name the actor is registered under; the StreamActors tell it by this name."""
INFO_RETRY_SECONDS = 600.0
QUEUE_HEAD = 10
"""Symbols of the queue's head named in the status."""
STORED_ACTIVITY_MINUTES = 10
"""At start, a symbol's activity until its StreamActor has measured it: its trades stored in these last minutes."""


class DepthSnapshotWorker(RestWorker):
    def __init__(self, directory: Directory, rest: RestClient, metrics: Metrics, backoff_initial: float,
                 backoff_max: float, db: Database | None = None, symbols=(), depth_limit: int = 1000,
                 keep_levels: int = 20, clock: Callable[[], float] = time.monotonic):
        super().__init__(directory, rest, metrics, backoff_initial, backoff_max)
        self.db = db
        self.symbols = list(symbols)
        self.clock = clock
        """Monotonic seconds: waiting times, backoffs and sync times (the weight minutes are the ledger's clock)."""
        self.schedule = SnapshotSchedule(depth_limit, keep_levels, self.symbols, clock())
        self.cond = threading.Condition()
        self.fetched = 0
        self.weight_spent = 0
        self.by_limit: dict[int, int] = {}
        self.in_flight: str | None = None
        self.sleeping = False
        """The worker waits with requests queued: for weight, a Retry-After or a failed symbol's backoff."""
        self.request_seconds = 0.05
        """Seconds a snapshot request takes, smoothed: the drain estimate when weight is not what limits it."""
        self._info_tried_at = 0.0
        self._publish()
        rest.ledger.listeners.append(self.wake)

    # --- from the actor's thread ----------------------------------------------------------------------------

    def submit(self, request: FetchDepthSnapshot) -> None:
        with self.cond:
            self.schedule.request(request.symbol, request.limit, request.reason, request.activity, self.clock(),
                                  request.rebase)
            self._publish()
            self.cond.notify()

    def report(self, message: BookActivity) -> None:
        with self.cond:
            self.schedule.report(message.symbol, message.activity)

    def book_state(self, symbol: str, synced: bool) -> None:
        with self.cond:
            self._ended(self.schedule.book_state(symbol, synced, self.clock()))
            self._publish()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify()

    def _ended(self, episode: tuple[float, int] | None) -> None:
        if episode is None:
            return
        seconds, books = episode
        self.metrics.books_sync_seconds.set(seconds)
        log.log(logging.INFO if books > 1 else logging.DEBUG,
                "every book synced again: %d book%s out of sync, all synced %.1fs after the first lost its sync",
                books, "" if books == 1 else "s", seconds)

    def _publish(self) -> None:
        self.metrics.books_unsynced.set(len(self.schedule.unsynced))
        self.metrics.depth_snapshot_queue.set(len(self.schedule.queue))

    def status(self) -> dict:
        with self.cond:
            ledger, schedule = self.rest.ledger, self.schedule
            return {
                "fetched": self.fetched, "queued": len(schedule.queue),
                "queue_head": [pending.symbol for pending in schedule.ordered()[:QUEUE_HEAD]],
                "in_flight": self.in_flight, "sleeping": self.sleeping, "weight_queued": schedule.queued_weight(),
                "weight_spent": self.weight_spent, "snapshots_by_limit": {str(k): v for k, v in self.by_limit.items()},
                "estimated_drain_s": round(schedule.drain_seconds(ledger.used, ledger.limit, ledger.clock(),
                                                                  self.request_seconds), 1),
                "books_unsynced": len(schedule.unsynced),
                "last_all_synced": (None if schedule.last_episode is None else
                                    {"seconds": round(schedule.last_episode[0], 1),
                                     "books": schedule.last_episode[1]}),
            }

    def change_symbols(self, added, removed) -> None:
        """Filters are fetched for ``added`` at once (if not cached); ``removed`` are forgotten (queue entry, sync
        state) and no longer fetched."""
        with self.cond:
            for symbol in removed:
                self._ended(self.schedule.forget(symbol, self.clock()))
            self.symbols = [s for s in self.symbols if s not in removed] + [s for s in added if s not in self.symbols]
            if added:
                self._info_tried_at = 0.0
            self._publish()
            self.cond.notify()

    # --- the worker thread ----------------------------------------------------------------------------------

    def _fetch_symbol_info(self) -> None:
        """One attempt (books must not wait for it); repeated every INFO_RETRY_SECONDS while any is missing."""
        self._info_tried_at = time.monotonic()
        checked = list(self.symbols)
        missing = [s for s in checked if self.db is not None and load_symbol_info(self.db, s) is None]
        if not missing:
            with self.cond:  # symbols added meanwhile stay to be checked
                self.symbols = [s for s in self.symbols if s not in checked]
            return
        try:
            found = self.rest.symbol_filters(missing, self.stopping)
        except RestError as exc:
            log.error("exchangeInfo for %s failed: %s (analytics fall back to the finest step in the data; "
                      "next try in %.0fs)", ",".join(missing), exc, INFO_RETRY_SECONDS)
            return
        for symbol, info in found.items():
            if symbol in missing:
                self.directory.tell("storage", StoreSymbolInfo(symbol, info))

    def _next(self) -> tuple[Pending, int] | None:
        """Sleep until a request may be fetched; it and its limit, its weight reserved. None: exchangeInfo is
        due again (or the worker stops)."""
        with self.cond:
            while True:
                self.check_crash()
                if self.stopping.is_set():
                    return None
                info_in = INFO_RETRY_SECONDS - (time.monotonic() - self._info_tried_at) if self.symbols else None
                if info_in is not None and info_in <= 0:
                    return None
                taken = self.schedule.take(self.rest.ledger.reserve, self.clock())
                if isinstance(taken, tuple):
                    self.in_flight = taken[0].symbol
                    self._publish()
                    return taken
                waits = [w for w in (taken, info_in) if w is not None]
                self.sleeping = taken is not None
                self.cond.wait(min(waits) if waits else None)
                self.sleeping = False

    def activity_from_storage(self) -> None:
        """Rank the books at start by what the database says of their last minutes (a restart after a short stop);
        two point reads a symbol. A symbol with nothing stored ranks by waiting time until it is measured."""
        if self.db is None:
            return
        since_ms = int(time.time() * 1000) - STORED_ACTIVITY_MINUTES * 60_000
        for symbol in list(self.schedule.unsynced):
            trades = recent_trade_count(self.db, symbol, since_ms)
            if trades:
                with self.cond:
                    if symbol not in self.schedule.activity:
                        self.schedule.report(symbol, trades / STORED_ACTIVITY_MINUTES)

    def run(self) -> None:
        self.activity_from_storage()
        self._fetch_symbol_info()
        while True:
            taken = self._next()
            if self.stopping.is_set():
                return
            if taken is None:
                self._fetch_symbol_info()
                continue
            pending, limit = taken
            began = time.monotonic()
            try:
                # Even a non-retryable answer (e.g. 400 for a symbol the exchange dropped) is retried, at the
                # symbol's backoff: the book cannot sync without a snapshot, and the log says why every time.
                last, bids, asks = self.rest.depth(pending.symbol, limit, self.stopping, reserved=True)
            except RestError as exc:
                if self.stopping.is_set():
                    return
                self._failed(pending, exc)
                continue
            finally:
                self.weight_spent += depth_weight(limit)
                self.request_seconds += (time.monotonic() - began - self.request_seconds) * 0.2
            self._fetched(pending, limit, last, bids, asks)

    def _failed(self, pending: Pending, exc: RestError) -> None:
        delay = min(self.backoff_max, self.backoff_initial * 2 ** pending.failures)
        delay = delay / 2 + random.uniform(0, delay / 2)
        self.metrics.depth_snapshot_requests.labels(pending.symbol, "retry").inc()
        log.error("depth snapshot for %s failed: %s; retrying in %.1fs", pending.symbol, exc, delay)
        with self.cond:
            self.in_flight = None
            self.schedule.failed(pending, self.clock() + delay)
            self._publish()

    def _fetched(self, pending: Pending, limit: int, last: int, bids: list, asks: list) -> None:
        symbol = pending.symbol
        with self.cond:
            self.in_flight = None
            self.schedule.fetched(symbol, max(len(bids), len(asks)), limit)
            self.fetched += 1
            self.by_limit[limit] = self.by_limit.get(limit, 0) + 1
            self._publish()
        self.metrics.depth_snapshot_requests.labels(symbol, "ok").inc()
        self.metrics.depth_snapshots.labels(str(limit)).inc()
        log.info("depth snapshot for %s (%s; limit %d, activity %.0f/min, waited %.1fs): lastUpdateId %d, %d bids, "
                 "%d asks", symbol, pending.reason, limit, pending.activity, self.clock() - pending.since, last,
                 len(bids), len(asks))
        self.directory.tell(f"stream:{symbol}", DepthSnapshotFetched(symbol, last, bids, asks, limit))


class DepthSnapshotActor(WorkerThreadActor):
    thread_name = "DepthSnapshots"
    worker: DepthSnapshotWorker

    def __init__(self, directory: Directory, rest: RestClient, metrics: Metrics, backoff_initial: float = 1.0,
                 backoff_max: float = 60.0, db: Database | None = None, symbols=(), depth_limit: int = 1000,
                 keep_levels: int = 20, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.worker = DepthSnapshotWorker(directory, rest, metrics, backoff_initial, backoff_max, db, symbols,
                                          depth_limit, keep_levels, clock)

    def on_start(self) -> None:
        super().on_start()
        # The Supervisor registers a restarted actor only once its start is confirmed; the books answer the tells
        # below at once, and their answers (requests asked again, BookState) must not be dropped meanwhile.
        self.worker.directory.register(NAME, self.actor_ref)
        for name in self.worker.directory.names():
            if name.startswith("stream:"):
                self.worker.directory.tell(name, DepthSnapshotRequestsLost())

    def _stop_worker(self) -> None:
        super()._stop_worker()
        if self.worker.wake in self.worker.rest.ledger.listeners:
            self.worker.rest.ledger.listeners.remove(self.worker.wake)

    @handles(SymbolsChanged)
    def _symbols_changed(self, message: SymbolsChanged) -> None:
        self.worker.change_symbols(message.added, message.removed)

    @handles(FetchDepthSnapshot)
    def _fetch(self, message: FetchDepthSnapshot) -> None:
        self.worker.submit(message)

    @handles(BookActivity)
    def _activity(self, message: BookActivity) -> None:
        self.worker.report(message)

    @handles(BookState)
    def _book_state(self, message: BookState) -> None:
        self.worker.book_state(message.symbol, message.synced)

    def status(self) -> dict:
        return self.worker.status()
