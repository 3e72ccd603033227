"""Binance's snapshot + diff sync procedure for one symbol's book, as a state machine. Pure code: no I/O.

The owner (the StreamActor) feeds it every depth diff and every REST snapshot it fetched when asked; every method
returns the events it caused (``NeedSnapshot``, ``Synced``, ``Applied``, ``Resync``, ``Dropped``). The book itself
is ``book.OrderBook``; the edge-of-snapshot re-base and pruning rules are described in ``book.py``.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from tradeactors.book import OrderBook
from tradeactors.protocol import DepthUpdate


class NeedSnapshot(NamedTuple):
    """The owner must fetch ``/api/v3/depth?symbol=..&limit=L`` (L at most ``depth_limit``) and call
    ``on_snapshot`` with that L (or ``snapshot_failed``). At most one is outstanding at a time."""

    reason: str


class Synced(NamedTuple):
    """The book is (again) in sync with the stream, based on the snapshot with this ``lastUpdateId`` (first
    sync, after a Resync, or after re-basing on a fresh snapshot while synced)."""

    update_id: int


class Applied(NamedTuple):
    """One diff, ending at update id ``update_id``, was applied. Several in one returned list were applied in
    one call: the book then shows the state after the last of them."""

    update_id: int


class Resync(NamedTuple):
    """The book was discarded (sequence gap, crossed book, buffer overflow or ``reset``); syncing starts over."""

    reason: str


class Dropped(NamedTuple):
    """``diffs`` buffered diffs were older than the snapshot (``u <= lastUpdateId``) and were dropped."""

    diffs: int


Event = NeedSnapshot | Synced | Applied | Resync | Dropped


def edge_for(limit: int, keep_levels: int = 0) -> int:
    """Known levels below which a full side asks for a fresh snapshot: a tenth of the snapshot (at most 50), but
    never fewer than ``keep_levels`` (the levels the owner stores) plus 10, so that the re-base is asked for while
    the stored levels are still known; at most half the snapshot, or a full side would ask at once."""
    return max(1, min(limit // 2, max(min(50, limit // 10), keep_levels + 10 if keep_levels else 0)))


class BookSync:
    """Binance's documented local-book procedure as a state machine. No I/O: the owner performs the REST fetch
    and feeds results back. States: "buffering" (need/awaiting a snapshot, diffs buffered), "synced".

    Every method returns the events it caused, in order. Every ``NeedSnapshot`` must be answered by one
    ``on_snapshot`` or ``snapshot_failed``; none is emitted while one is outstanding, so a ``Resync`` during a
    fetch is not followed by a second request: that fetch's snapshot is checked like any other.
    """

    def __init__(self, symbol: str, depth_limit: int = 1000, max_buffered: int = 10_000,
                 edge_levels: int | None = None, prune: bool = False, keep_levels: int = 0):
        self.symbol = symbol
        self._wire_symbol = symbol.upper()
        self.prune = prune
        """Keep books without the levels beyond the snapshot's boundary (see the module docstring)."""
        self.depth_limit = depth_limit
        self.max_buffered = max_buffered
        self.keep_levels = keep_levels
        """Levels per side the owner reads as exact (stored book seconds): a re-base is asked for before a full
        side's known levels fall below them (see ``edge_levels``)."""
        self._fixed_edge = edge_levels
        self.edge_levels = edge_for(depth_limit, keep_levels) if edge_levels is None else edge_levels
        """Ask for a fresh snapshot when a full side has fewer known levels than this; follows the limit of the
        snapshot the book is based on."""
        self.state = "buffering"
        self.book: OrderBook | None = None
        """The book, only while synced."""
        self.counters = dict.fromkeys((
            "resyncs", "snapshots_requested", "snapshots_received", "snapshots_rejected", "rebases",
            "diffs_applied", "diffs_dropped"), 0)
        self._buffer: deque[DepthUpdate] = deque()
        """Buffering: diffs since connect, contiguous. Synced: diffs applied since a re-base was requested."""
        self._snapshot: OrderBook | None = None
        """The book of a snapshot waiting for the stream: buffering and no diff after it yet, or synced and newer than
        the book."""
        self._outstanding = False
        self._rebasing = False
        self._snapshot_limit = depth_limit
        """The limit of the last snapshot received: the book in use (or about to be) is based on it."""

    # --- owner calls -----------------------------------------------------------------------------------------

    def on_diff(self, diff: DepthUpdate) -> list[Event]:
        """One depth diff from the stream, in the order received. Raises ValueError for another symbol's."""
        if diff.symbol and diff.symbol != self._wire_symbol:
            raise ValueError(f"{diff.symbol} diff fed to the {self.symbol} book")
        if self.state == "synced":
            return self._on_synced_diff(diff)
        if self._snapshot is not None:
            if diff.u <= self._snapshot.update_id:
                self.counters["diffs_dropped"] += 1
                return [Dropped(1)]
            snapshot, self._snapshot = self._snapshot, None
            self._buffer.append(diff)
            return self._sync(snapshot)
        buffer = self._buffer
        if buffer and buffer[-1].u + 1 != diff.U:
            if diff.u <= buffer[-1].u:
                self.counters["diffs_dropped"] += 1
                return []
            buffer.clear()  # a gap: no snapshot older than this diff could be completed by what is buffered
        if len(buffer) >= self.max_buffered:
            self._outstanding = False  # the fetch is overdue: ask again
            events = self._resync("buffer overflow")
            self._buffer.append(diff)
            return events
        buffer.append(diff)
        return [] if self._outstanding else [self._request("initial snapshot")]

    def on_snapshot(self, last_update_id: int, bids: list[list[str]], asks: list[list[str]],
                    limit: int | None = None) -> list[Event]:
        """A ``/api/v3/depth`` result: ``lastUpdateId``, ``bids``, ``asks`` as in the body, and the ``limit`` it
        was asked with (default ``depth_limit``): a side with ``limit`` levels has unknown levels beyond them, so a
        smaller snapshot than ``depth_limit`` must say so. A malformed one is answered with a new NeedSnapshot."""
        self._outstanding = False
        self.counters["snapshots_received"] += 1
        limit = self.depth_limit if limit is None else limit
        try:
            snapshot = OrderBook.from_snapshot(last_update_id, bids, asks, limit)
        except (ValueError, TypeError) as exc:
            self.counters["snapshots_rejected"] += 1
            return [self._request(f"malformed snapshot: {exc}")]
        snapshot.keep_unknown = not self.prune
        self._snapshot_limit = limit
        if self.state == "synced":
            if not self._rebasing:
                return []  # unsolicited, and no diffs kept to bring it up to date
            self._snapshot = snapshot
            return self._try_rebase()
        return self._sync(snapshot)

    def snapshot_failed(self, reason: str) -> list[Event]:
        """The fetch asked for failed: returns a new NeedSnapshot; the owner decides when to fetch again."""
        self._outstanding = False
        return [self._request(reason)]

    @property
    def awaiting_snapshot(self) -> bool:
        """A NeedSnapshot is outstanding: the owner asked for a snapshot that has not arrived yet."""
        return self._outstanding

    def reset(self, reason: str) -> list[Event]:
        """Discard the book and everything buffered (e.g. the connection was lost): start over. The next diff
        asks for a snapshot, so that it is taken after the new stream started."""
        self.counters["resyncs"] += 1
        self._discard()
        return [Resync(reason)]

    # --- the procedure ---------------------------------------------------------------------------------------

    def _on_synced_diff(self, diff: DepthUpdate) -> list[Event]:
        book = self.book
        assert book is not None  # synced
        if diff.u <= book.update_id:
            self.counters["diffs_dropped"] += 1  # a duplicate frame or reconnect overlap, not a gap
            return []
        if book.update_id + 1 != diff.U:
            events = self._resync(f"gap: expected U={book.update_id + 1}, got U={diff.U} u={diff.u}")
            self._buffer.append(diff)
            return events
        book.apply(diff.bids, diff.asks, diff.u)
        self.counters["diffs_applied"] += 1
        if book.is_crossed():
            return self._resync("crossed book")
        if self._rebasing:
            self._buffer.append(diff)
            if self._snapshot is not None and book.update_id >= self._snapshot.update_id:
                return [Applied(diff.u), *self._try_rebase()]
        elif not self._outstanding and book._near_edge(self.edge_levels):
            self._rebasing = True
            self._buffer = deque(maxlen=self.max_buffered)
            return [Applied(diff.u), self._request("book near the edge of the snapshot")]
        return [Applied(diff.u)]

    def _sync(self, book: OrderBook) -> list[Event]:
        """Buffering, a snapshot at hand: drop what it already covers, check the rest continues it, apply."""
        last_update_id = book.update_id
        events: list[Event] = []
        buffer = self._buffer
        dropped = 0
        while buffer and buffer[0].u <= last_update_id:
            buffer.popleft()
            dropped += 1
        if dropped:
            self.counters["diffs_dropped"] += dropped
            events.append(Dropped(dropped))
        if not buffer:
            self._snapshot = book  # the first diff after it will be checked
            return events
        if last_update_id + 1 < buffer[0].U:
            # Binance: "if lastUpdateId < the first buffered U, fetch again". At lastUpdateId == U - 1 the
            # snapshot is still continued without a gap, so it is used.
            self.counters["snapshots_rejected"] += 1
            return [*events, self._request("snapshot older than the first buffered diff")]
        applied: list[Event] = [Synced(last_update_id)]
        for diff in buffer:  # contiguous: on_diff restarts the buffer at a gap
            book.apply(diff.bids, diff.asks, diff.u)
            self.counters["diffs_applied"] += 1
            applied.append(Applied(diff.u))
            if book.is_crossed():
                return [*events, *self._resync("crossed book")]
        self.book, self.state, self._buffer = book, "synced", deque()
        self._adopt_edge()
        return [*events, *applied]

    def _try_rebase(self) -> list[Event]:
        """Synced, a fresh snapshot at hand: rebuild the book from it and the diffs applied since it was asked
        for. A snapshot newer than the book waits until the stream catches up with it."""
        book, fresh = self.book, self._snapshot
        assert book is not None and fresh is not None  # synced, a snapshot at hand
        last_update_id = fresh.update_id
        if last_update_id > book.update_id:
            return []
        self._snapshot = None
        diffs = [diff for diff in self._buffer if diff.u > last_update_id]
        if (diffs and last_update_id + 1 < diffs[0].U) or (not diffs and last_update_id != book.update_id):
            self.counters["snapshots_rejected"] += 1
            return [self._request("snapshot older than the first buffered diff")]
        for diff in diffs:
            fresh.apply(diff.bids, diff.asks, diff.u)
        if fresh.is_crossed():
            return self._resync("crossed book")
        self.counters["rebases"] += 1
        self.book, self._rebasing, self._buffer = fresh, False, deque()
        self._adopt_edge()
        return [Synced(last_update_id)]

    def _adopt_edge(self) -> None:
        if self._fixed_edge is None:
            self.edge_levels = edge_for(self._snapshot_limit, self.keep_levels)

    def _request(self, reason: str) -> NeedSnapshot:
        self._outstanding = True
        self.counters["snapshots_requested"] += 1
        return NeedSnapshot(reason)

    def _discard(self) -> None:
        self.state, self.book, self._snapshot, self._rebasing = "buffering", None, None, False
        self._buffer = deque()

    def _resync(self, reason: str) -> list[Event]:
        self.counters["resyncs"] += 1
        self._discard()
        return [Resync(reason)] if self._outstanding else [Resync(reason), self._request(reason)]
