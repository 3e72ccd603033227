"""StorageActor: the only writer of the database.

Owns: the TradeWriter (each symbol's stored-id ranges and exchange gaps) and the trades and book snapshots whose
write failed.
Messages:
- ``StoreTrades`` (tell from the BufferActor, ask from the BackfillActor -> trades written): one atomic
  WriteBatch, duplicates dropped; logs ``Stored N trades for SYMBOL at timestamp X``. A write that opens a new
  hole in the ids logs ``Gap found`` and tells the BackfillActor ``HolesFound``.
- ``GetHoles`` (ask) -> missing id ranges. ``GetLastId`` (ask) -> the highest stored id or None. ``RecordExchangeGap`` (ask): ids REST confirms do not exist.
- ``StoreSnapshots`` (tell, from the BufferActor): book snapshots, one WriteBatch; a summary line per minute.
  Failed snapshot writes are kept and retried like trades (bounded by ``MAX_PENDING_SNAPSHOTS``; beyond it the
  oldest are dropped and counted in ``snapshots_lost``: unlike trades, REST cannot give a past book back).
- ``StoreSymbolInfo`` (tell, from the SnapshotActor): a symbol's tick and step sizes, cached in ``meta``.
- ``DeleteBefore`` (ask, from the CleanupActor) -> {symbol: first id kept}: retention as one range delete.
- ``RetryPending`` (tell, from its ticker): retries failed writes. ``GetStatus`` (ask): counters.
- ``InjectFailure`` (tell): raises, for drills and tests of the restart path.
Write failures: logged at ERROR; the trades stay in memory (bounded by ``MAX_PENDING_TRADES``, with a WARN near
the bound) and are retried every second. RocksDB refuses every write after an I/O error ("Writer has previous
error", or the first error again) until it is reopened, so the actor reopens the database before retrying,
once the file system has room again (until then the old handle keeps serving reads).
on_start: loads the id ranges. on_stop: one last try to write what is pending. on_failure: pending trades are
lost with the actor; their ids become holes that the BackfillActor fills from REST.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable, Generic, TypeVar

import msgpack
import pykka

from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import (
    DeleteBefore, GetHoles, GetLastId, GetStatus, HolesFound, InjectFailure, RecordExchangeGap, RetryPending,
    StoreSnapshots, StoreSymbolInfo, StoreTrades,
)
from tradeactors.actors.ticker import Ticker
from tradeactors.history import TradeWriter, symbol_info_key, write_snapshots
from tradeactors.metrics import Metrics
from tradeactors.store import Database, StorageError

log = logging.getLogger(__name__)

REOPEN_ON = ("IO error", "previous error", "closed")
"""After an I/O error RocksDB refuses every write (repeating the error, or "Writer has previous error") until
the database is reopened; the data written before is intact."""
MIN_FREE_BYTES_TO_REOPEN = 8 * 1024 * 1024
"""Reopening needs room for a new WAL and MANIFEST; until then the old handle keeps serving reads."""
MAX_PENDING_TRADES = 2_000_000
"""Trades kept in memory across failed writes before the oldest are dropped (REST backfill recovers them)."""
MAX_PENDING_SNAPSHOTS = 36_000
"""Book snapshots kept across failed writes (~0.5 KB each: an hour of 10 symbols) before the oldest are lost."""
RETRY_SECONDS = 1.0
SNAPSHOT_SUMMARY_SECONDS = 60.0
"""Snapshots are logged as one summary line per symbol per minute: a line per second would drown the log."""


M = TypeVar("M", StoreTrades, StoreSnapshots)


class PendingWrites(Generic[M]):
    """Messages whose write failed, oldest first, kept until storage recovers. ``count`` is their size in items
    (trades, snapshots); past ``bound`` items the oldest messages are handed to ``on_drop`` and forgotten."""

    def __init__(self, bound: int, size: Callable[[M], int], on_drop: Callable[[M], None]):
        self.bound, self.size, self.on_drop = bound, size, on_drop
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


class StorageActor(pykka.ThreadingActor):
    def __init__(self, db: Database, symbols, directory: Directory, metrics: Metrics):
        super().__init__()
        self.db = db
        self.symbols = list(symbols)
        self.directory = directory
        self.metrics = metrics
        self.writer: TradeWriter | None = None
        self.pending_trades = PendingWrites(MAX_PENDING_TRADES, lambda m: len(m.trades), self._dropped_trades)
        self.pending_snapshots = PendingWrites(MAX_PENDING_SNAPSHOTS, lambda m: len(m.snapshots),
                                               self._dropped_snapshots)
        self.batches = 0
        self.errors = 0
        self.known_holes: dict[str, set[tuple[int, int]]] = {}
        self.snapshots_written: dict[str, int] = {}
        self._snapshot_summary: dict[str, tuple[float, int]] = {}
        self._warned_full = False
        self._ticker: Ticker | None = None

    def on_start(self) -> None:
        threading.current_thread().name = "Storage"
        self.writer = TradeWriter(self.db, self.symbols)
        for symbol in self.symbols:
            self._check_holes(symbol)
        self._ticker = Ticker(self.actor_ref, RetryPending(), RETRY_SECONDS, "Storage-ticker").start()

    def on_stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
        self._retry()
        if self.pending_trades:
            log.error("stopping with %d trades not written (the next start refills them from REST)",
                      self.pending_trades.count)
        if self.pending_snapshots:
            log.error("stopping with %d book snapshots not written: lost", self.pending_snapshots.count)
            for message in self.pending_snapshots.messages:
                self.metrics.snapshots_lost.labels(message.symbol).inc(len(message.snapshots))

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        if self._ticker:
            self._ticker.stop()

    def on_receive(self, message):
        if isinstance(message, StoreTrades):
            if self.pending_trades:  # behind older failed writes, in order
                self._keep_trades(message)
                self._retry()
                return 0
            written = self._write(message)
            if written is None:
                self._keep_trades(message)
            return written or 0
        if isinstance(message, StoreSnapshots):
            if self.pending_snapshots:
                self.pending_snapshots.keep(message)
                self._retry()
            elif not self._store_snapshots(message):
                self.pending_snapshots.keep(message)
        elif isinstance(message, RetryPending):
            self._retry()
        elif isinstance(message, GetHoles):
            return self.writer.holes(message.symbol)
        elif isinstance(message, GetLastId):
            ranges = self.writer.ranges.get(message.symbol)
            return ranges.last if ranges is not None else None
        elif isinstance(message, RecordExchangeGap):
            self.writer.record_exchange_gap(message.symbol, message.lo, message.hi)
            self.metrics.gaps_unfillable.labels(message.symbol).inc()
            log.warning("Exchange gap recorded for %s: ids %d..%d do not exist at the exchange",
                        message.symbol, message.lo, message.hi)
            self._check_holes(message.symbol)
        elif isinstance(message, StoreSymbolInfo):
            self.db.write({"meta": [(symbol_info_key(message.symbol), msgpack.packb(message.info))]})
            log.info("exchange filters of %s cached: tick %s, step %s", message.symbol, message.info["tickSize"],
                     message.info["stepSize"])
        elif isinstance(message, DeleteBefore):
            return self.writer.delete_before(message.cutoff_ms)
        elif isinstance(message, GetStatus):
            return {
                "batches_written": self.batches,
                "write_errors": self.errors,
                "pending_trades": self.pending_trades.count,
                "pending_snapshots": self.pending_snapshots.count,
                "size_on_disk": self.db.size_on_disk(),
                "holes": {s: self.writer.holes(s) for s in self.symbols},
                "exchange_gaps": {s: self.writer.exchange_gaps[s].to_list() for s in self.symbols},
                "stored_ids": {s: self.writer.ranges[s].to_list()[-3:] for s in self.symbols},
                "snapshots_written": dict(self.snapshots_written),
            }
        elif isinstance(message, InjectFailure):
            raise RuntimeError(message.reason)
        return None

    def _write(self, message: StoreTrades) -> int | None:
        """One WriteBatch for one flush; the number written, or None (logged; reopened if needed) on failure."""
        try:
            written, nbytes = self.writer.write(message.symbol, message.trades)
        except StorageError as exc:
            error = str(exc)
        else:
            error = None
        if error is not None:
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
                log.info("Stored %d trades for %s at timestamp %d", written, message.symbol, message.flushed_at_ms)
            else:
                log.info("Stored %d %s trades for %s", written, message.source, message.symbol)
            self._check_holes(message.symbol)
        return written

    def _store_snapshots(self, message: StoreSnapshots) -> bool:
        """One WriteBatch of a flush's snapshots; False (logged; reopened if needed) on failure."""
        try:
            written = write_snapshots(self.db, message.symbol, message.snapshots)
        except StorageError as exc:
            error = str(exc)
        else:
            error = None
        if error is not None:
            self._failed(f"writing {len(message.snapshots)} snapshots for {message.symbol}", error)
            return False
        self.metrics.snapshots_stored.labels(message.symbol).inc(written)
        total = self.snapshots_written.get(message.symbol, 0) + written
        self.snapshots_written[message.symbol] = total
        now = time.monotonic()
        since, count_then = self._snapshot_summary.setdefault(message.symbol, (now, 0))
        if now - since >= SNAPSHOT_SUMMARY_SECONDS:
            last = message.snapshots[-1]
            log.info("Stored %d snapshots for %s in the last %.0fs (last at %d, update id %d)", total - count_then,
                     message.symbol, now - since, last.second, last.update_id)
            self._snapshot_summary[message.symbol] = (now, total)
        return True

    def _dropped_snapshots(self, dropped: StoreSnapshots) -> None:
        self.metrics.snapshots_lost.labels(dropped.symbol).inc(len(dropped.snapshots))
        log.error("pending-snapshot bound reached: dropped %d book snapshots of %s", len(dropped.snapshots),
                  dropped.symbol)

    def _check_holes(self, symbol: str) -> None:
        holes = set(self.writer.holes(symbol))
        new = holes - self.known_holes.get(symbol, set())
        self.known_holes[symbol] = holes
        for lo, hi in sorted(new):
            self.metrics.gaps_found.labels(symbol).inc()
            log.info("Gap found for %s: ids %d..%d (%d trades missing); filling from REST", symbol, lo, hi, hi - lo + 1)
        if holes:
            self.directory.tell("backfill", HolesFound(symbol))

    def _keep_trades(self, message: StoreTrades) -> None:
        self.pending_trades.keep(message)
        count = self.pending_trades.count
        if count > 0.8 * MAX_PENDING_TRADES and not self._warned_full:
            self._warned_full = True
            log.warning("%d trades waiting for storage to recover (bound %d)", count, MAX_PENDING_TRADES)
        self.metrics.storage_pending.set(count)

    @staticmethod
    def _dropped_trades(dropped: StoreTrades) -> None:
        log.error("pending-write bound reached: dropped %d trades of %s from memory (REST backfill recovers them)",
                  len(dropped.trades), dropped.symbol)

    def _retry(self) -> None:
        """Write what failed before, trades first, each kind oldest first; stop at the first failure."""
        if self.pending_trades:
            done = self.pending_trades.write(lambda m: self._write(m) is not None)
            self.metrics.storage_pending.set(self.pending_trades.count)
            if not done:
                return
            self._warned_full = False
            log.info("storage recovered: every pending trade is written")
        if self.pending_snapshots:
            if not self.pending_snapshots.write(self._store_snapshots):
                return
            log.info("storage recovered: every pending book snapshot is written")

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
