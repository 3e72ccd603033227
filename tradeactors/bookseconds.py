"""Which book seconds are stored, keyed by exchange time (pure: a BookSync and diffs in, book seconds out).

The book stored for second S is the book after the last diff whose event time ``E`` falls in S. S is closed when
the next diff continues the update-id chain with an ``E`` in a later second: no diff of S can follow, whatever the
local lag or clock. A second with no diff gets no row (the book did not change). A second during which the book
lost its sync is never stored (``discard``), nor one whose top ``levels`` would reach beyond the levels a smaller
snapshot left known (counted in ``skipped``), so every stored row is exact.

The StreamActor stores what this closes; ``bench analytics`` rebuilds the real captures' book seconds with it.
"""

from __future__ import annotations

from tradeactors.booksync import BookSync, Event
from tradeactors.protocol import DepthUpdate
from tradeactors.records import BookSecond


class BookSeconds:
    def __init__(self, symbol: str, levels: int):
        self.symbol = symbol
        self.levels = levels
        self.open_second: int | None = None
        """The exchange second of the last applied diff: its book is stored once a later second begins."""
        self.open_event_ms = 0
        """Event time E of the last applied diff."""
        self.last_stored_second = 0
        self.skipped = 0
        """Seconds not stored because their rows would reach levels the snapshot left unknown."""

    def on_diff(self, sync: BookSync, update: DepthUpdate) -> tuple[list[Event], BookSecond | None]:
        """Apply ``update`` through ``sync``; the book second it closes, if any, was closed before it applied."""
        book, second, closed = sync.book, update.E // 1000, None
        if book is not None and self.open_second is not None and second > self.open_second \
                and book.update_id + 1 == update.U:
            closed = self.close(sync)
        events = sync.on_diff(update)
        now = sync.book
        if now is not None and (now is not book or now.update_id == update.u):  # the diff was applied
            self.open(update.E)
        return events, closed

    def open(self, event_ms: int) -> None:
        """The book is at the diff of ``event_ms`` (also after a snapshot: the book at the last diff received)."""
        self.open_second, self.open_event_ms = event_ms // 1000, event_ms

    def discard(self) -> None:
        """The book lost its sync: diffs of the open second may be missing, so it is never stored."""
        self.open_second = None

    def close(self, sync: BookSync) -> BookSecond | None:
        """The open second's book (the book after its last applied diff), or None when there is none to store."""
        second, book = self.open_second, sync.book
        self.open_second = None
        if second is None or book is None or sync.state != "synced" or second <= self.last_stored_second:
            return None
        if any(book.is_bounded(side) and book.known_levels(side) < self.levels for side in ("bids", "asks")):
            self.skipped += 1
            return None
        bids, asks, p_dec, q_dec = book.top_scaled(self.levels)
        self.last_stored_second = second
        return BookSecond(self.symbol, second, book.update_id, self.open_event_ms, bids, asks, p_dec, q_dec)
