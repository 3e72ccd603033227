"""DepthSnapshotActor: fetches REST order-book snapshots (``/api/v3/depth``) for the StreamActors' books.

One per process, so that resyncs of many symbols at once are paced by the process-wide weight ledger (weight
50 at limit 1000) instead of racing each other into a 429; requests for a symbol already queued are merged.

Owns: a worker thread and the queue of symbols waiting for a snapshot.
At start it also fetches, once, the exchangeInfo filters (tick and step sizes) of every symbol not cached in
the database yet, and has the StorageActor cache them (``StoreSymbolInfo``): analytics then know the tick even
after a restart without network.

Messages: ``FetchDepthSnapshot`` (tell, from a StreamActor): queue the symbol. ``GetStatus`` (ask).
``SymbolsChanged`` (tell, from the Service): added symbols have their filters fetched if not cached; a removed
symbol's queued request is dropped.
``ThreadDied`` and ``InjectFailure`` (tell): see ``worker.py``.
Tells: ``DepthSnapshotFetched`` to ``stream:<symbol>``; at every start ``DepthSnapshotRequestsLost`` to every
StreamActor (a restart loses the queue, and requests told while it restarted were dropped: books still waiting
ask again). REST failures back off 1 s doubling to 60 s with jitter (429/418 Retry-After is held by the ledger);
the symbol stays queued until it succeeds or the actor stops.
on_start: starts the worker, tells ``DepthSnapshotRequestsLost``. on_stop/on_failure: stops the worker.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from tradeactors.actors.base import handles
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import (
    DepthSnapshotFetched,
    DepthSnapshotRequestsLost,
    FetchDepthSnapshot,
    StoreSymbolInfo,
    SymbolsChanged,
)
from tradeactors.actors.worker import RestWorker, WorkerThreadActor
from tradeactors.metrics import Metrics
from tradeactors.rest import RestClient, RestError
from tradeactors.storage import Database, load_symbol_info

log = logging.getLogger(__name__)

INFO_RETRY_SECONDS = 600.0


class DepthSnapshotWorker(RestWorker):
    def __init__(self, directory: Directory, rest: RestClient, metrics: Metrics, backoff_initial: float,
                 backoff_max: float, db: Database | None = None, symbols=()):
        super().__init__(directory, rest, metrics, backoff_initial, backoff_max)
        self.db = db
        self.symbols = list(symbols)
        self.queue: collections.OrderedDict[str, FetchDepthSnapshot] = collections.OrderedDict()
        self.cond = threading.Condition()
        self.fetched = 0
        self._info_tried_at = 0.0

    def submit(self, request: FetchDepthSnapshot) -> None:
        with self.cond:
            self.queue[request.symbol] = request  # a newer request for the same symbol replaces the queued one
            self.cond.notify()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify()

    def change_symbols(self, added, removed) -> None:
        """Filters are fetched for ``added`` at once (if not cached); ``removed`` are no longer fetched."""
        with self.cond:
            for symbol in removed:
                self.queue.pop(symbol, None)
            self.symbols = [s for s in self.symbols if s not in removed] + [s for s in added if s not in self.symbols]
            if added:
                self._info_tried_at = 0.0
            self.cond.notify()

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

    def run(self) -> None:
        self._fetch_symbol_info()
        while True:
            with self.cond:
                while not self.queue and not self.stopping.is_set() and not self.crash:
                    if self.symbols and time.monotonic() - self._info_tried_at > INFO_RETRY_SECONDS:
                        break
                    self.cond.wait(INFO_RETRY_SECONDS)
                self.check_crash()
                if self.stopping.is_set():
                    return
                if not self.queue:
                    request = None
                else:
                    symbol, request = self.queue.popitem(last=False)
            if request is None:
                self._fetch_symbol_info()
                continue
            try:
                last, bids, asks = self._fetch(request)
            except RestError:
                return  # only once stopping: every other failure is retried until it succeeds
            self.fetched += 1
            self.metrics.depth_snapshot_requests.labels(symbol, "ok").inc()
            log.info("depth snapshot for %s (%s): lastUpdateId %d, %d bids, %d asks", symbol, request.reason, last,
                     len(bids), len(asks))
            self.directory.tell(f"stream:{symbol}", DepthSnapshotFetched(symbol, last, bids, asks))

    def _fetch(self, request: FetchDepthSnapshot):
        # Even a non-retryable answer (e.g. 400 for a symbol the exchange dropped) is retried, at the long end of
        # the backoff: the book cannot sync without a snapshot, and the log says why every time.
        return self.retrying(lambda: self.rest.depth(request.symbol, request.limit, self.stopping),
                             f"depth snapshot for {request.symbol}", retry_any=True,
                             on_retry=self.metrics.depth_snapshot_requests.labels(request.symbol, "retry").inc)


class DepthSnapshotActor(WorkerThreadActor):
    thread_name = "DepthSnapshots"
    worker: DepthSnapshotWorker

    def __init__(self, directory: Directory, rest: RestClient, metrics: Metrics, backoff_initial: float = 1.0,
                 backoff_max: float = 60.0, db: Database | None = None, symbols=()):
        super().__init__()
        self.worker = DepthSnapshotWorker(directory, rest, metrics, backoff_initial, backoff_max, db, symbols)

    def on_start(self) -> None:
        super().on_start()
        for name in self.worker.directory.names():
            if name.startswith("stream:"):
                self.worker.directory.tell(name, DepthSnapshotRequestsLost())

    @handles(SymbolsChanged)
    def _symbols_changed(self, message: SymbolsChanged) -> None:
        self.worker.change_symbols(message.added, message.removed)

    @handles(FetchDepthSnapshot)
    def _fetch(self, message: FetchDepthSnapshot) -> None:
        self.worker.submit(message)

    def status(self) -> dict:
        return {"fetched": self.worker.fetched, "queued": list(self.worker.queue)}
