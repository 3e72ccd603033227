"""StreamActor: one per symbol; owns that symbol's WebSocket connection and its local order book.

Owns: the combined-stream connection ``/stream?streams=<s>@aggTrade/<s>@depth@100ms``, run by a reader thread
(blocking I/O never runs inside ``on_receive``), the symbol's ``BookSync`` (book + Binance's sync procedure),
and the symbol's connection statistics.

Reader thread: connects with websocket-client (tenacity backoff, 1 s doubling to ``backoff_max`` with jitter,
reset after a healthy connection), reads the socket in large blocks cut into frames by ``wsframes`` (pings
answered through websocket-client; after a short read it lets frames gather for 100 ms, since at usual rates a
wake-up per frame costs more CPU than the frame), parses them with ``protocol.parse_frame``, drops trades already seen
(id <= the last id) and hands trades to the BufferActor in lists (a tell per frame costs as much as a tell of a
hundred trades); depth diffs go to this actor, one tell each (10 per second). A data watchdog reconnects when
nothing arrives for ``stream_timeout``: a stalled server still answers pings. Malformed frames are logged (cut
short), counted and skipped. Planned reconnects (``connection_lifetime`` reached, ``serverShutdown``) open the
new connection before closing the old one; the depth sequence continues across them. Connection attempts of the
whole process share one limit (Binance: 300 per 5 minutes per IP). On each connection, and while the stream is
down, the reader tells the BackfillActor ``CatchUp``: what was published meanwhile is fetched from REST even if
no later live trade comes to reveal the hole.

Actor thread (the book): ``Depth`` -> ``BookSync.on_diff``; a needed snapshot is asked of the SnapshotActor
(``FetchSnapshot``) and arrives as ``SnapshotFetched``; ``ConnectionLost`` discards the book (the diff stream
has a hole) until it resyncs. ``TakeSnapshot`` (its ticker, on each wall-clock second) sends the top
``snapshot_levels`` to the BufferActor while synced; a second out of sync is counted, never stored.

Messages: ``Depth``, ``SnapshotFetched``, ``ConnectionLost``, ``TakeSnapshot`` (tells, see above);
``GetBook`` (ask) -> live top levels, update id, age, sync state; ``GetStatus`` (ask) -> dict;
``WatchBook`` (ask): a diagnostic observer of every applied diff; ``InjectFailure`` (tell): raises.
Tells: ``Trades`` and ``Snapshot`` to the BufferActor, ``FetchSnapshot`` to the SnapshotActor.
on_start: starts the reader thread and the snapshot ticker. on_stop: stops them (closing the socket at once,
not waiting on a select timeout) after the reader has handed over every trade it holds, then sends a final
snapshot. on_failure: the reader and the ticker are stopped; the restarted actor resyncs its book.
"""

from __future__ import annotations

import logging
import threading
import time

import pykka

from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import (
    ConnectionLost, Depth, FetchSnapshot, GetBook, GetStatus, InjectFailure, Snapshot, SnapshotFetched, TakeSnapshot,
    WatchBook,
)
from tradeactors.actors.reader import StreamReader
from tradeactors.actors.ticker import Ticker
from tradeactors.booksync import Applied, BookSync, NeedSnapshot, Resync, Synced
from tradeactors.codec import BookSnapshot
from tradeactors.config import Config
from tradeactors.connlimit import SlidingWindowLimit
from tradeactors.metrics import Metrics

log = logging.getLogger(__name__)


class StreamActor(pykka.ThreadingActor):
    def __init__(self, symbol: str, config: Config, directory: Directory, metrics: Metrics,
                 connect_limit: SlidingWindowLimit):
        super().__init__()
        self.symbol = symbol
        self.config = config
        self.directory = directory
        self.metrics = metrics
        self.reader = StreamReader(symbol, config, directory, metrics, connect_limit)
        # ~100 s of diffs at 10/s: enough to wait for a paced snapshot; each buffered diff costs kilobytes.
        self.sync = BookSync(symbol, depth_limit=config.depth_limit, max_buffered=1000)
        self.last_diff_at: float | None = None
        self.last_event_ms = 0
        self.last_snapshot_second = 0
        self.observers: list = []
        self._thread: threading.Thread | None = None
        self._ticker: Ticker | None = None

    def on_start(self) -> None:
        threading.current_thread().name = f"Stream-{self.symbol}"
        self.reader.actor_ref = self.actor_ref
        self._thread = threading.Thread(target=self.reader.run, name=f"Reader-{self.symbol}", daemon=True)
        self._thread.start()
        self._ticker = Ticker(self.actor_ref, TakeSnapshot(), 1.0, f"Snapshot-{self.symbol}", align=True).start()

    def on_stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
        self._stop_reader()
        self._take_snapshot(final=True)

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        if self._ticker:
            self._ticker.stop()
        self._stop_reader()

    def _stop_reader(self) -> None:
        self.reader.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                log.error("reader thread of %s did not stop within 5s", self.symbol)

    def on_receive(self, message):
        if isinstance(message, Depth):
            self.last_diff_at = time.monotonic()
            self.last_event_ms = message.update.E
            self._handle(self.sync.on_diff(message.update))
        elif isinstance(message, SnapshotFetched):
            self._handle(self.sync.on_snapshot(message.last_update_id, message.bids, message.asks))
        elif isinstance(message, ConnectionLost):
            self._handle(self.sync.reset(f"connection lost: {message.reason}"))
        elif isinstance(message, TakeSnapshot):
            self._take_snapshot()
        elif isinstance(message, GetBook):
            return self._book_view(message.depth)
        elif isinstance(message, WatchBook):
            self.observers.append(message.callback)
        elif isinstance(message, GetStatus):
            r = self.reader
            return {
                "state": r.state,
                "connections": r.connections,
                "planned_reconnects": r.planned_reconnects,
                "trades_received": r.received,
                "duplicates_dropped": r.duplicates,
                "last_trade_id": r.last_id,
                "last_trade_time": r.last_trade_ms,
                "malformed_frames": r.malformed,
                "last_message_age_ms": (round((time.monotonic() - r.last_message_at) * 1000)
                                        if r.last_message_at is not None else None),
                "reader_alive": bool(self._thread and self._thread.is_alive()),
                "book": {"state": self.sync.state, "update_id": self.sync.book.update_id if self.sync.book else None,
                         "resyncs": self.sync.counters["resyncs"], "last_snapshot_second": self.last_snapshot_second,
                         "counters": dict(self.sync.counters)},
            }
        elif isinstance(message, InjectFailure):
            raise RuntimeError(message.reason)
        return None

    def _handle(self, events) -> None:
        for event in events:
            kind = type(event)
            if kind is Applied:
                if self.observers:
                    book = self.sync.book
                    for callback in self.observers:
                        callback(event.update_id, book.best_bid(), book.best_ask())
            elif kind is NeedSnapshot:
                self.directory.tell("snapshots", FetchSnapshot(self.symbol, self.config.depth_limit, event.reason))
            elif kind is Resync:
                self.metrics.book_resyncs.labels(self.symbol, event.reason.split(":")[0]).inc()
                log.info("Book resync for %s: %s", self.symbol, event.reason)
            elif kind is Synced:
                log.info("Book synced for %s at update id %d", self.symbol, event.update_id)

    def _take_snapshot(self, final: bool = False) -> None:
        second = int(time.time())
        book = self.sync.book
        if self.sync.state != "synced" or book is None:
            if not final:
                self.metrics.snapshots_skipped.labels(self.symbol).inc()
            return
        if second <= self.last_snapshot_second:
            if not final:
                return
            # The state at stop must not be lost to the ticker's snapshot of this second: it is stored under the
            # next second, which this process will not reach any more.
            second = self.last_snapshot_second + 1
        bids, asks, p_dec, q_dec = book.top_scaled(self.config.snapshot_levels)
        self.last_snapshot_second = second
        snap = BookSnapshot(self.symbol, second, book.update_id, self.last_event_ms, bids, asks, p_dec, q_dec)
        self.directory.tell("buffer", Snapshot(snap))

    def _book_view(self, depth: int) -> dict:
        book = self.sync.book
        view = {"symbol": self.symbol, "sync_state": self.sync.state, "update_id": None, "age_ms": None,
                "bids": [], "asks": []}
        if self.last_diff_at is not None:
            view["age_ms"] = round((time.monotonic() - self.last_diff_at) * 1000, 1)
        if self.sync.state == "synced" and book is not None:
            bids, asks = book.top(depth)
            view.update(update_id=book.update_id, bids=bids, asks=asks)
        return view
