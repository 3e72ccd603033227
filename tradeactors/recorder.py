"""``Recorder``: the StorageActor's behaviour as a plain class (the actor is a thin wrapper that owns a ticker).

It writes what the service records and keeps every promise about it:

- each flush of trades is one atomic WriteBatch, duplicates dropped (``storage.TradeWriter``); the log line
  ``Stored N trades for SYMBOL at timestamp X``; a write that opens a new hole in the ids logs ``Gap found`` and
  calls ``on_holes(symbol)`` (the actor tells the BackfillActor);
- book seconds are written one WriteBatch per flush, summarised in one log line per symbol per minute;
- a failed write is logged at ERROR and kept in memory, in order (trades bounded by ``MAX_PENDING_TRADES``, with a
  WARN near the bound: beyond it REST backfill recovers them; book seconds bounded by ``MAX_PENDING_BOOK_SECONDS``:
  beyond it they are lost and counted, as REST cannot give a past book back), and written again by ``retry``;
- RocksDB refuses every write after an I/O error until it is reopened, so the recorder reopens the database
  before retrying, once the file system has room again (until then the old handle keeps serving reads).

Not thread-safe: one caller at a time (the StorageActor's thread).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from tradeactors.metrics import Metrics
from tradeactors.protocol import AggTrade
from tradeactors.records import BookSecond
from tradeactors.storage import Database, StorageError, TradeWriter, stored_symbols

log = logging.getLogger(__name__)

REOPEN_ON = ("IO error", "previous error", "closed")
"""After an I/O error RocksDB refuses every write (repeating the error, or "Writer has previous error") until
the database is reopened; the data written before is intact."""
MIN_FREE_BYTES_TO_REOPEN = 8 * 1024 * 1024
"""Reopening needs room for a new WAL and MANIFEST; until then the old handle keeps serving reads."""
MAX_PENDING_TRADES = 2_000_000
"""Trades kept in memory across failed writes before the oldest are dropped (REST backfill recovers them)."""
MAX_PENDING_BOOK_SECONDS = 36_000
"""Book seconds kept across failed writes (~0.5 KB each: an hour of 10 symbols) before the oldest are lost."""
LOG_EACH_UP_TO = 20
"""Up to this many symbols, each flush and each symbol's minute of book seconds get a line; beyond (a whole
market), one line a minute for all."""
BOOK_SECOND_SUMMARY_SECONDS = 60.0
"""Book seconds are logged as one summary line per symbol per minute: a line per second would drown the log."""


class TradeBatch(NamedTuple):
    """Trades of one symbol to write as one WriteBatch."""

    symbol: str
    trades: Sequence[AggTrade]
    flushed_at_ms: int
    """Wall-clock time of the flush, for the log line."""
    source: str = "live"
    """"live" or "backfill"."""


class BookBatch(NamedTuple):
    """Book seconds of one symbol to write as one WriteBatch."""

    symbol: str
    books: Sequence[BookSecond]


M = TypeVar("M", TradeBatch, BookBatch)


class PendingWrites(Generic[M]):
    """Messages whose write failed, oldest first, kept until storage recovers. ``count`` is their size in items
    (trades, book seconds); past ``bound`` items the oldest messages are handed to ``on_drop`` and forgotten."""

    def __init__(self, bound: int, size: Callable[[M], int], on_drop: Callable[[M], None]):
        self.bound = bound
        self.size: Callable[[M], int] = size
        self.on_drop: Callable[[M], None] = on_drop
        self.messages: deque[M] = deque()
        self.count = 0

    def __bool__(self) -> bool:
        return bool(self.messages)

    def keep(self, message: M) -> None:
        self.messages.append(message)
        self.count += self.size(message)
        while self.count > self.bound and len(self.messages) > 1:
            dropped = self.messages.popleft()
            self.count -= self.size(dropped)
            self.on_drop(dropped)

    def write(self, write: Callable[[M], bool]) -> bool:
        """Write the kept messages oldest first until one fails; True once none is left."""
        while self.messages:
            if not write(self.messages[0]):
                return False
            self.count -= self.size(self.messages.popleft())
        return True


class Recorder:
    def __init__(self, db: Database, symbols: Sequence[str], metrics: Metrics,
                 on_holes: Callable[[str], None] = lambda symbol: None):
        self.db = db
        # Symbols with stored history but no longer recorded are tracked too: retention must reach them.
        self.symbols = list(symbols) + [s for s in stored_symbols(db) if s not in symbols]
        self.metrics = metrics
        self.on_holes = on_holes
        self.writer = TradeWriter(db, self.symbols)
        self.pending_trades: PendingWrites[TradeBatch] = PendingWrites(
            MAX_PENDING_TRADES, lambda m: len(m.trades), self._dropped_trades)
        self.pending_books: PendingWrites[BookBatch] = PendingWrites(
            MAX_PENDING_BOOK_SECONDS, lambda m: len(m.books), self._dropped_books)
        self.batches = 0
        self.errors = 0
        self.known_holes: dict[str, set[tuple[int, int]]] = {}
        self.book_seconds_written: dict[str, int] = {}
        self.book_seconds_total = 0
        """Book seconds written in this run, every symbol."""
        self._book_counters: dict[str, Any] = {}
        self._book_summary: dict[str, tuple[float, int]] = {}
        self._warned_full = False
        for symbol in self.symbols:
            self._check_holes(symbol)

    # --- what the StorageActor's messages do ---------------------------------------------------------------

    def store_trades(self, message: TradeBatch) -> int:
        """Write a flush (in order behind older failed ones); the number written now (0 if kept for later)."""
        if self.pending_trades:
            self._keep_trades(message)
            self.retry()
            return 0
        written = self._write_trades(message)
        if written is None:
            self._keep_trades(message)
        return written or 0

    def store_book_seconds(self, message: BookBatch) -> None:
        self.store_book_seconds_of([message])

    def store_book_seconds_of(self, messages: Sequence[BookBatch]) -> None:
        """Several symbols' book seconds of one flush, as one WriteBatch (behind older failed ones, if any)."""
        if self.pending_books:
            for message in messages:
                self.pending_books.keep(message)
            self.retry()
        elif not self._write_books_of(messages):
            for message in messages:
                self.pending_books.keep(message)

    def add_symbols(self, symbols: Sequence[str]) -> None:
        """Symbols that start recording at runtime: their stored ids are loaded (and any hole reported)."""
        for symbol in symbols:
            if symbol not in self.symbols:
                self.symbols.append(symbol)
                self.writer.track(symbol)
                self._check_holes(symbol)

    def record_exchange_gap(self, symbol: str, lo: int, hi: int) -> None:
        self.writer.record_exchange_gap(symbol, lo, hi)
        self.metrics.gaps_unfillable.labels(symbol).inc()
        log.warning("Exchange gap recorded for %s: ids %d..%d do not exist at the exchange", symbol, lo, hi)
        self._check_holes(symbol)

    def store_symbol_info(self, symbol: str, info: dict[str, str]) -> None:
        self.writer.store_symbol_info(symbol, info)
        log.info("exchange filters of %s cached: tick %s, step %s", symbol, info["tickSize"], info["stepSize"])

    def retry(self) -> None:
        """Write what failed before, trades first, each kind oldest first; stop at the first failure."""
        if self.pending_trades:
            done = self.pending_trades.write(lambda m: self._write_trades(m) is not None)
            self.metrics.storage_pending.set(self.pending_trades.count)
            if not done:
                return
            self._warned_full = False
            log.info("storage recovered: every pending trade is written")
        if self.pending_books:
            if not self.pending_books.write(self._write_books):
                return
            log.info("storage recovered: every pending book second is written")

    def close(self) -> None:
        """One last try to write what is pending (an orderly stop); what still fails is logged."""
        self.retry()
        if self.pending_trades:
            log.error("stopping with %d trades not written (the next start refills them from REST)",
                      self.pending_trades.count)
        if self.pending_books:
            log.error("stopping with %d book seconds not written: lost", self.pending_books.count)
            for message in self.pending_books.messages:
                self.metrics.book_seconds_lost.labels(message.symbol).inc(len(message.books))

    def status(self) -> dict[str, Any]:
        writer = self.writer
        return {
            "batches_written": self.batches,
            "write_errors": self.errors,
            "pending_trades": self.pending_trades.count,
            "pending_book_seconds": self.pending_books.count,
            "size_on_disk": self.db.size_on_disk(),
            "holes": {s: writer.holes(s) for s in self.symbols},
            "exchange_gaps": {s: writer.exchange_gaps[s].to_list() for s in self.symbols},
            "stored_ids": {s: writer.ranges[s].to_list()[-3:] for s in self.symbols},
            "book_seconds_written": dict(self.book_seconds_written),
        }

    # --- writes ------------------------------------------------------------------------------------------

    def _write_trades(self, message: TradeBatch) -> int | None:
        """One WriteBatch for one flush; the number written, or None (logged; reopened if needed) on failure."""
        error: str | None = None
        try:
            written, nbytes = self.writer.write(message.symbol, message.trades)
        except StorageError as exc:
            error = str(exc)
        if error is not None:  # handled outside the except block: see _failed
            self._failed(f"writing {len(message.trades)} trades for {message.symbol}", error)
            return None
        self.batches += 1
        self.metrics.batches_written.inc()
        self.metrics.bytes_written.inc(nbytes)
        if written:
            self.metrics.trades_stored.labels(message.symbol).inc(written)
            if message.source == "live":
                newest = max(t.T for t in message.trades)
                self.metrics.store_lag.labels(message.symbol).set(max(0.0, time.time() - newest / 1000))
                # One line per symbol per flush helps with a few symbols; a whole market's would be hundreds a
                # second (the BufferActor's minute summary says it in one line then).
                log.log(logging.DEBUG if len(self.writer.ranges) > LOG_EACH_UP_TO else logging.INFO,
                        "Stored %d trades for %s at timestamp %d", written, message.symbol, message.flushed_at_ms)
            else:
                log.info("Stored %d %s trades for %s", written, message.source, message.symbol)
            self._check_holes(message.symbol)
        return written

    def _write_books(self, message: BookBatch) -> bool:
        """One WriteBatch of a flush's book seconds; False (logged; reopened if needed) on failure."""
        return self._write_books_of([message])

    def _write_books_of(self, messages: Sequence[BookBatch]) -> bool:
        """One WriteBatch of several symbols' book seconds; False (logged; reopened if needed) on failure."""
        error: str | None = None
        try:
            counts = self.writer.write_book_seconds_of([(m.symbol, m.books) for m in messages])
        except StorageError as exc:
            error = str(exc)
        if error is not None:
            what = messages[0].symbol if len(messages) == 1 else f"{len(messages)} symbols"
            self._failed(f"writing {sum(len(m.books) for m in messages)} book seconds for {what}", error)
            return False
        for message, written in zip(messages, counts, strict=True):
            self._books_written(message, written)
        return True

    def _books_written(self, message: BookBatch, written: int) -> None:
        counter = self._book_counters.get(message.symbol)
        if counter is None:  # labels() costs microseconds: a whole market's flush calls it 1,500 times a second
            counter = self._book_counters[message.symbol] = self.metrics.book_seconds_stored.labels(message.symbol)
        counter.inc(written)
        total = self.book_seconds_written.get(message.symbol, 0) + written
        self.book_seconds_written[message.symbol] = total
        self.book_seconds_total += written
        now = time.monotonic()
        many = len(self.writer.ranges) > LOG_EACH_UP_TO
        key = "*" if many else message.symbol
        since, count_then = self._book_summary.setdefault(key, (now, self.book_seconds_total if many else 0))
        if now - since >= BOOK_SECOND_SUMMARY_SECONDS:
            if many:
                log.info("Stored %d book seconds of %d symbols in the last %.0fs", self.book_seconds_total - count_then,
                         len(self.writer.ranges), now - since)
                self._book_summary[key] = (now, self.book_seconds_total)
            else:
                last = message.books[-1]
                log.info("Stored %d book seconds for %s in the last %.0fs (last at %d, update id %d)",
                         total - count_then, message.symbol, now - since, last.second, last.update_id)
                self._book_summary[key] = (now, total)

    def _check_holes(self, symbol: str) -> None:
        holes = set(self.writer.holes(symbol))
        new = holes - self.known_holes.get(symbol, set())
        self.known_holes[symbol] = holes
        for lo, hi in sorted(new):
            self.metrics.gaps_found.labels(symbol).inc()
            log.info("Gap found for %s: ids %d..%d (%d trades missing); filling from REST", symbol, lo, hi, hi - lo + 1)
        if holes:
            self.on_holes(symbol)

    def _keep_trades(self, message: TradeBatch) -> None:
        self.pending_trades.keep(message)
        count = self.pending_trades.count
        if count > 0.8 * MAX_PENDING_TRADES and not self._warned_full:
            self._warned_full = True
            log.warning("%d trades waiting for storage to recover (bound %d)", count, MAX_PENDING_TRADES)
        self.metrics.storage_pending.set(count)

    @staticmethod
    def _dropped_trades(dropped: TradeBatch) -> None:
        log.error("pending-write bound reached: dropped %d trades of %s from memory (REST backfill recovers them)",
                  len(dropped.trades), dropped.symbol)

    def _dropped_books(self, dropped: BookBatch) -> None:
        self.metrics.book_seconds_lost.labels(dropped.symbol).inc(len(dropped.books))
        log.error("pending-write bound reached: dropped %d book seconds of %s", len(dropped.books), dropped.symbol)

    def _failed(self, what: str, error: str) -> None:
        """Count and log a failed write; reopen the database if RocksDB will refuse writes until then.

        Called outside the ``except`` block: its traceback would keep the old handle (and its LOCK) alive."""
        self.errors += 1
        self.metrics.storage_errors.inc()
        log.error("%s failed: %s", what, error)
        if any(sign in error for sign in REOPEN_ON):
            self._reopen()

    def _reopen(self) -> None:
        free = self.db.free_bytes()
        if not self.db.closed and free < MIN_FREE_BYTES_TO_REOPEN:
            log.error("database needs reopening after a write error, waiting for free space (%d bytes free)", free)
            return
        try:
            self.db.reopen()
        except StorageError as exc:
            log.error("reopening the database failed: %s", exc)
