"""StreamActor: one per symbol; owns that symbol's local order book, its id continuity and its state.

The wire is shared: a multiplexed connection (``mux.MuxReader``, run by a ``hub.ConnectionActor``) carries ~150
symbols' ``<s>@aggTrade`` and ``<s>@depth@100ms`` streams, drops trades already seen (the symbol's ``mux.Feed``
keeps the last id across connections), hands trades to the BufferActor and tells this actor the symbol's diffs in
batches (``Diffs``, one per reader drain). The actor runs on the shared actor pool (``pool.py``), not a thread of its
own: its handlers never block. It attaches to the ``StreamHub`` when it starts and detaches when it stops.

The book: ``Diffs`` / ``Depth`` -> ``BookSync.on_diff``; a needed REST depth snapshot is asked of the
DepthSnapshotActor (``FetchDepthSnapshot``, with the symbol's recent activity, its priority there; refreshed by
``BookActivity`` every few seconds while it waits) and arrives as ``DepthSnapshotFetched``, with the limit it was
taken at; ``ConnectionLost`` discards the book (the diff stream has a hole) until it resyncs. Each loss and regain of
the sync is told to the DepthSnapshotActor (``BookState``), which counts the books out of sync.

Stored book seconds are keyed by exchange time, not by the local clock: the book stored for second S is the book
after the last diff whose event time ``E`` falls in S. Second S is closed when the next diff continues the
update-id chain with an ``E`` in a later second (so the stored history does not depend on local lag or clock),
and sent to the BufferActor (``BookSecondClosed``). A second with no diff gets no row: the book did not change, so
the row before it holds. A second during which the book lost its sync is never stored (counted in
``book_seconds_skipped``); a diff that opens a gap closes nothing.

Messages: ``Diffs``, ``Depth``, ``DepthSnapshotFetched``, ``ConnectionLost`` (tells, see above);
``DepthSnapshotRequestsLost`` (tell, from a (re)started DepthSnapshotActor): ask again if one is awaited;
``GetBook`` (ask) -> live top levels, update id, age, sync state; ``GetStatus`` (ask) -> dict; ``WatchBook`` /
``WatchTrades`` (asks): diagnostic observers of every applied diff / every hand-over of live trades (the latter
in the reader's thread); ``InjectFailure`` (tell): raises, or with ``thread=True`` makes the reader of the
symbol's connection raise (its ConnectionActor is restarted).
Tells: ``Trades`` and ``BookSecondClosed`` to the BufferActor, ``FetchDepthSnapshot`` to the DepthSnapshotActor.
on_start: attaches to the hub. on_stop: detaches (the reader routes the symbol no more and has handed over every
trade it read; a retired symbol is unsubscribed), then sends the open second's book (the book at the last diff
received). on_failure: the feed stays; the restarted actor attaches again and resyncs its book.

A book based on a snapshot smaller than the whole book knows its levels only down to the snapshot's boundary
(``book.py``); a second whose stored ``book_second_levels`` would reach beyond the known levels of a full side is
not stored (counted in ``book_seconds_skipped``), so that every stored row is exact. ``BookSync`` asks for a fresh
snapshot before that happens (``booksync.edge_for``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from tradeactors.actors.base import PoolActor, handles
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import (
    BookActivity,
    BookSecondClosed,
    BookState,
    ConnectionLost,
    Depth,
    DepthSnapshotFetched,
    DepthSnapshotRequestsLost,
    Diffs,
    FetchDepthSnapshot,
    GetBook,
    GetStatus,
    InjectFailure,
    WatchBook,
    WatchTrades,
)
from tradeactors.bookseconds import BookSeconds
from tradeactors.booksync import Applied, BookSync, Event, NeedSnapshot, Resync, Synced
from tradeactors.config import Config
from tradeactors.metrics import Metrics
from tradeactors.records import BookSecond
from tradeactors.snapshotschedule import ActivityRate

if TYPE_CHECKING:
    from tradeactors.actors.hub import StreamHub

log = logging.getLogger(__name__)

ACTIVITY_REPORT_SECONDS = 5.0
"""While its book waits for a snapshot, the actor tells its activity this often (with a diff, never on a timer)."""
ACTIVITY_KNOWN_SECONDS = 10.0
"""A rate measured over less than this is sent as unknown (0): the DepthSnapshotActor then ranks the request by the
activity last reported for the symbol (a restarted actor), or by waiting time (a start)."""


class StreamActor(PoolActor):
    def __init__(self, symbol: str, config: Config, directory: Directory, metrics: Metrics, hub: StreamHub):
        super().__init__()
        self.symbol = symbol
        self.thread_name = f"Stream-{symbol}"
        self.config = config
        self.directory = directory
        self.metrics = metrics
        self.hub = hub
        self.feed = hub.place(symbol)
        # ~100 s of diffs at 10/s: enough to wait for a paced snapshot; each buffered diff costs kilobytes.
        self.sync = BookSync(symbol, depth_limit=config.depth_limit, max_buffered=1000,
                             keep_levels=config.book_second_levels)
        self.activity = ActivityRate()
        """Book levels changed plus trades, per minute: the priority of this book's snapshot requests."""
        self._trades_counted = 0
        self._activity_told = 0.0
        self.last_diff_at: float | None = None
        self.last_event_ms = 0
        """Event time E of the last diff received."""
        self.seconds = BookSeconds(symbol, config.book_second_levels)
        self.unsynced_since: float | None = time.monotonic()
        """Monotonic time since which the book has been out of sync; None while synced."""
        self._unsynced_second = 0
        self._skipped_told = 0
        self.observers: list = []

    def on_start(self) -> None:
        super().on_start()
        self.feed = self.hub.attach(self.symbol, self.actor_ref)
        self.directory.tell("depth_snapshots", BookState(self.symbol, False))

    def on_stop(self) -> None:
        self.hub.detach(self.symbol)
        self._close_second()

    @handles(Diffs)
    def _diffs(self, message: Diffs) -> None:
        for update in message.updates:
            self._on_diff(update, message.received)

    @handles(Depth)
    def _depth(self, message: Depth) -> None:
        self._on_diff(message.update, self.feed.received)

    @handles(DepthSnapshotFetched)
    def _depth_snapshot(self, message: DepthSnapshotFetched) -> None:
        self._handle(self.sync.on_snapshot(message.last_update_id, message.bids, message.asks, message.limit))
        if self.sync.state == "synced" and self.seconds.open_second is None:
            self.seconds.open(self.last_event_ms)  # the book is at the last diff received

    @handles(ConnectionLost)
    def _connection_lost(self, message: ConnectionLost) -> None:
        self._handle(self.sync.reset(f"connection lost: {message.reason}"))

    @handles(DepthSnapshotRequestsLost)
    def _depth_snapshot_requests_lost(self, _message: DepthSnapshotRequestsLost) -> None:
        if self.sync.awaiting_snapshot:
            self._handle(self.sync.snapshot_failed("the depth snapshot request was lost (its actor restarted)"))
        else:
            self.directory.tell("depth_snapshots", BookState(self.symbol, self.sync.state == "synced"))

    @handles(GetBook)
    def _get_book(self, message: GetBook) -> dict:
        return self._book_view(message.depth)

    @handles(WatchBook)
    def _watch_book(self, message: WatchBook) -> None:
        self.observers.append(message.callback)

    @handles(WatchTrades)
    def _watch_trades(self, message: WatchTrades) -> None:
        self.feed.trade_observers.append(message.callback)  # type: ignore[arg-type]

    @handles(InjectFailure)
    def _inject_failure(self, message: InjectFailure) -> None:
        if not message.thread:
            raise RuntimeError(message.reason)
        self.hub.crash(self.symbol, message.reason)

    @handles(GetStatus)
    def _status(self, _message: GetStatus) -> dict:
        f = self.feed
        reader = self.hub.reader_of(f.slot)
        return {
            "state": f.state,
            "connection": f.slot,
            "connections": f.connections,
            "planned_reconnects": f.planned_reconnects,
            "trades_received": f.received,
            "duplicates_dropped": f.duplicates,
            "last_trade_id": f.last_id,
            "last_trade_time": f.last_trade_ms,
            "malformed_frames": f.malformed,
            "drains": reader.drains if reader is not None else 0,
            "last_message_age_ms": (round((time.monotonic() - f.last_message_at) * 1000)
                                    if f.last_message_at is not None else None),
            "reader_alive": reader is None or reader.state not in ("stopped", "dead"),  # None: starts next
            "reader_died": reader.died if reader is not None else None,
            "down_for_s": round(f.down_for(), 1),
            "book": {"state": self.sync.state, "update_id": self.sync.book.update_id if self.sync.book else None,
                     "resyncs": self.sync.counters["resyncs"], "last_stored_second": self.seconds.last_stored_second,
                     "unsynced_for_s": round(self.unsynced_for(), 1), "counters": dict(self.sync.counters),
                     "activity_per_min": round(self._activity(time.monotonic()), 1)},
        }

    def unsynced_for(self) -> float:
        """Seconds the book has been out of sync (0 while synced)."""
        since = self.unsynced_since
        return 0.0 if since is None else time.monotonic() - since

    def _on_diff(self, update, received: int) -> None:
        self.last_diff_at = at = time.monotonic()
        self.activity.add(at, len(update.bids) + len(update.asks) + received - self._trades_counted)
        self._trades_counted = received
        if self.sync.awaiting_snapshot and at - self._activity_told >= ACTIVITY_REPORT_SECONDS:
            self._activity_told = at
            self.directory.tell("depth_snapshots", BookActivity(self.symbol, self._activity(at)))
        self.last_event_ms = update.E
        second = update.E // 1000
        if self.sync.book is None and second != self._unsynced_second:
            self._unsynced_second = second
            self.metrics.book_seconds_skipped.labels(self.symbol).inc()
        events, closed = self.seconds.on_diff(self.sync, update)
        self._store(closed)
        self._handle(events)

    def _activity(self, now: float) -> float:
        known = self.activity.observed_for(now) >= ACTIVITY_KNOWN_SECONDS
        return self.activity.per_minute(now) if known else 0.0

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Applied):
                book = self.sync.book
                if self.observers and book is not None:
                    for callback in self.observers:
                        callback(event.update_id, book.best_bid(), book.best_ask())
            elif isinstance(event, NeedSnapshot):
                self._activity_told = now = time.monotonic()
                # Synced, BookSync asks only to re-base: the price came near the edge of the snapshot.
                self.directory.tell("depth_snapshots", FetchDepthSnapshot(
                    self.symbol, self.config.depth_limit, event.reason, self._activity(now),
                    rebase=self.sync.state == "synced"))
            elif isinstance(event, Resync):
                self.seconds.discard()
                if self.unsynced_since is None:
                    self.unsynced_since = time.monotonic()
                    self.directory.tell("depth_snapshots", BookState(self.symbol, False))
                self.metrics.book_resyncs.labels(self.symbol, event.reason.split(":")[0]).inc()
                log.info("Book resync for %s: %s", self.symbol, event.reason)
            elif isinstance(event, Synced):
                if self.unsynced_since is not None:
                    self.directory.tell("depth_snapshots", BookState(self.symbol, True))
                self.unsynced_since = None
                log.info("Book synced for %s at update id %d", self.symbol, event.update_id)

    def _close_second(self) -> None:
        """Send the book of the open second (the book after its last applied diff) to the BufferActor."""
        self._store(self.seconds.close(self.sync))

    def _store(self, closed: BookSecond | None) -> None:
        skipped, self._skipped_told = self.seconds.skipped - self._skipped_told, self.seconds.skipped
        if skipped:  # its rows would reach levels the snapshot left unknown
            self.metrics.book_seconds_skipped.labels(self.symbol).inc(skipped)
        if closed is not None:
            self.directory.tell("buffer", BookSecondClosed(closed))

    def _book_view(self, depth: int) -> dict[str, Any]:
        book = self.sync.book
        view: dict[str, Any] = {"symbol": self.symbol, "sync_state": self.sync.state, "update_id": None, "age_ms": None,
                "bids": [], "asks": []}
        if self.last_diff_at is not None:
            view["age_ms"] = round((time.monotonic() - self.last_diff_at) * 1000, 1)
        if self.sync.state == "synced" and book is not None:
            bids, asks = book.top(depth)
            view.update(update_id=book.update_id, bids=bids, asks=asks)
        return view
