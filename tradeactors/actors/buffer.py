"""BufferActor: collects live trades per symbol and flushes them to the StorageActor once a second.

Owns: one list of trades per symbol.
Messages: ``Trades`` (tell), ``TradeBatch`` (tell, from the connections' readers: one drain's ``Trades`` of many
symbols): appended; a symbol reaching ``flush_max_trades`` is flushed at
once. ``BookSecondClosed`` (tell, from StreamActors): a book second, written with the next flush. ``Flush`` (tell,
from its ticker every ``flush_interval``): every non-empty symbol is flushed. ``SymbolsChanged`` (tell, from the
Service): an added symbol gets its buffers; a removed one (its StreamActor has stopped and handed over everything)
is flushed and forgotten.
``GetStatus`` (ask): buffered counts. ``InjectFailure`` (tell): raises (drills and tests).
A symbol without any trade for ``QUIET_WARN_SECONDS`` gets a WARN, repeated at most every ``QUIET_WARN_SECONDS``;
every ``SUMMARY_SECONDS`` each symbol gets an INFO summary (trades/min, store lag, gaps, reconnects, resyncs).
Tells: ``StoreFlush`` to the StorageActor, one per flush (a ``StoreTrades`` and a ``StoreBookSeconds`` per symbol in
it), or of one symbol when its buffer reaches ``flush_max_trades``.
on_start: starts the ticker. on_stop: stops the ticker and flushes everything (the Supervisor stops the
StreamActors first, so every trade they handed over is in the mailbox before the stop). on_failure: the
buffered trades are lost with the actor; the id-continuity check refills them from REST.
"""

from __future__ import annotations

import logging
import time

from tradeactors.actors.base import Actor, handles
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import (
    BookSecondClosed,
    Flush,
    GetStatus,
    StoreBookSeconds,
    StoreFlush,
    StoreTrades,
    SymbolsChanged,
    TradeBatch,
    Trades,
)
from tradeactors.actors.ticker import Ticker
from tradeactors.config import Config
from tradeactors.metrics import Metrics

log = logging.getLogger(__name__)

QUIET_WARN_SECONDS = 60.0
SUMMARY_SECONDS = 60.0
"""One summary line per symbol per minute: enough to judge collection from the log alone."""
SUMMARY_LINES_MAX = 20
"""Above this many symbols (a whole market), the summary and the quiet-symbol warning are one line each, naming the
symbols to look at first: 1,500 lines a minute would bury everything else in the log."""


class BufferActor(Actor):
    thread_name = "Buffer"

    def __init__(self, config: Config, directory: Directory, metrics: Metrics, symbols=()):
        super().__init__()
        self.config = config
        self.directory = directory
        self.metrics = metrics
        self.buffers: dict[str, list] = {}
        self.books: dict[str, list] = {}
        self.last_trade_at: dict[str, float] = {}
        self.warned_at: dict[str, float] = {}
        self.received_since_summary: dict[str, int] = {}
        self._depth_set: dict[str, bool] = {}
        """Symbols whose buffer-depth gauge is not 0: a flush resets only those (1,500 gauge writes a second
        otherwise)."""
        self.summary_at = time.monotonic()
        for symbol in symbols:
            self._add(symbol)
        self._ticker: Ticker | None = None

    def on_start(self) -> None:
        super().on_start()
        self._ticker = Ticker(self.actor_ref, Flush(), self.config.flush_interval, "Buffer-ticker").start()

    def on_stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
        self._flush_all()

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        if self._ticker:
            self._ticker.stop()

    @handles(TradeBatch)
    def _trade_batch(self, message: TradeBatch) -> None:
        for trades in message.batches:
            self._trades(trades)

    @handles(Trades)
    def _trades(self, message: Trades) -> None:
        buffer = self.buffers.setdefault(message.symbol, [])
        buffer.extend(message.trades)
        self.last_trade_at[message.symbol] = time.monotonic()
        self.received_since_summary[message.symbol] = (
            self.received_since_summary.get(message.symbol, 0) + len(message.trades))
        if len(buffer) >= self.config.flush_max_trades:
            self._flush(message.symbol)
        else:
            self.metrics.buffer_depth.labels(message.symbol).set(len(buffer))
            self._depth_set[message.symbol] = True

    @handles(SymbolsChanged)
    def _symbols_changed(self, message: SymbolsChanged) -> None:
        for symbol in message.added:
            self._add(symbol)
        for symbol in message.removed:
            self._flush(symbol)
            for table in (self.buffers, self.books, self.last_trade_at, self.warned_at, self.received_since_summary,
                          self._depth_set):
                table.pop(symbol, None)
            try:
                self.metrics.buffer_depth.remove(symbol)
            except KeyError:
                pass  # never set

    def _add(self, symbol: str) -> None:
        self.buffers.setdefault(symbol, [])
        self.books.setdefault(symbol, [])
        self.last_trade_at.setdefault(symbol, time.monotonic())
        self.warned_at.setdefault(symbol, 0.0)
        self.received_since_summary.setdefault(symbol, 0)

    @handles(BookSecondClosed)
    def _book_second(self, message: BookSecondClosed) -> None:
        self.books.setdefault(message.book.symbol, []).append(message.book)

    @handles(Flush)
    def _flush_tick(self, _message: Flush) -> None:
        self._flush_all()
        self._warn_quiet()
        self._summary()

    @handles(GetStatus)
    def _status(self, _message: GetStatus) -> dict:
        return {symbol: len(trades) for symbol, trades in self.buffers.items()}

    def _summary(self) -> None:
        now = time.monotonic()
        elapsed = now - self.summary_at
        if elapsed < SUMMARY_SECONDS:
            return
        self.summary_at = now
        values = self.metrics.by_symbol()  # one pass over the registry for every symbol
        names = ("store_lag_seconds", "gaps_found_total", "gaps_filled_total", "gaps_unfillable_total",
                 "reconnects_total", "book_resyncs_total")
        rows = {symbol: (count, *(values.get((f"tradeactors_{name}", symbol), 0.0) for name in names))
                for symbol, count in self.received_since_summary.items()}
        self.received_since_summary = dict.fromkeys(self.received_since_summary, 0)
        if len(rows) <= SUMMARY_LINES_MAX:
            for symbol, (count, lag, found, filled, unfillable, reconnects, resyncs) in rows.items():
                log.info("Summary %s: %.0f trades/min, store lag %.2fs, gaps found %d filled %d unfillable %d, "
                         "reconnects %d, book resyncs %d", symbol, count * 60 / elapsed, lag, found, filled,
                         unfillable, reconnects, resyncs)
            return
        # A whole market: one line, with the symbols to look at first named.
        total = sum(row[0] for row in rows.values())
        busiest = sorted(rows, key=lambda s: rows[s][0], reverse=True)[:5]
        laggiest = max(rows, key=lambda s: rows[s][1])
        sums = [sum(row[i] for row in rows.values()) for i in range(2, 7)]
        log.info("Summary of %d symbols: %.0f trades/min (busiest %s), store lag at most %.2fs (%s), gaps found %d "
                 "filled %d unfillable %d, reconnects %d, book resyncs %d (totals since start)", len(rows),
                 total * 60 / elapsed, ", ".join(f"{s} {rows[s][0] * 60 / elapsed:.0f}" for s in busiest),
                 rows[laggiest][1], laggiest, *sums)

    def _warn_quiet(self) -> None:
        now = time.monotonic()
        quiet = []
        for symbol, last in self.last_trade_at.items():
            if now - last >= QUIET_WARN_SECONDS and now - self.warned_at.get(symbol, 0.0) >= QUIET_WARN_SECONDS:
                self.warned_at[symbol] = now
                quiet.append((symbol, now - last))
        if len(quiet) <= SUMMARY_LINES_MAX:
            for symbol, silent in quiet:
                log.warning("No trades for %s for %.0fs (stream down, or a quiet market?)", symbol, silent)
        else:  # a whole market has many quiet symbols: one line, not one per symbol
            log.warning("No trades for %d symbols for %.0fs or more (streams down, or quiet markets?): %s, ...",
                        len(quiet), QUIET_WARN_SECONDS, ", ".join(symbol for symbol, _ in quiet[:10]))

    def _flush_all(self) -> None:
        """Every symbol with something buffered, in one message to the StorageActor."""
        flush = StoreFlush([], [])
        for symbol in list(self.buffers):
            self._flush(symbol, flush)
        if flush.trades or flush.books:
            self.directory.tell("storage", flush)

    def _flush(self, symbol: str, into: StoreFlush | None = None) -> None:
        """Hand the symbol's buffered trades and book seconds over: into ``into``, or in a message of its own."""
        flush = StoreFlush([], []) if into is None else into
        trades = self.buffers.get(symbol)
        if trades:
            self.buffers[symbol] = []
            flush.trades.append(StoreTrades(symbol, trades, int(time.time() * 1000)))
            if self._depth_set.get(symbol):
                self.metrics.buffer_depth.labels(symbol).set(0)
                self._depth_set[symbol] = False
        books = self.books.get(symbol)
        if books:
            self.books[symbol] = []
            flush.books.append(StoreBookSeconds(symbol, books))
        if into is None and (flush.trades or flush.books):
            self.directory.tell("storage", flush)
