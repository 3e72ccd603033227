"""StorageActor: the only writer of the database.

Owns: the TradeWriter (per-symbol stored-id ranges) and the trades whose write failed.
Messages: ``StoreTrades`` (tell, from the BufferActor): written as one atomic WriteBatch, duplicates dropped;
logs ``Stored N trades for SYMBOL at timestamp X``. ``RetryPending`` (tell, from its ticker): retries failed
writes. ``GetStatus`` (ask): counters.
Write failures: logged at ERROR; the trades stay in memory (bounded by ``MAX_PENDING_TRADES``, with a WARN near
the bound) and are retried every second. RocksDB refuses every write after an I/O error ("Writer has previous
error") until reopened, so the actor reopens the database before retrying.
on_start: loads the stored-id ranges. on_stop: one last try to write what is pending. on_failure: pending
trades are lost with the actor; the id-continuity check refills them from REST.
"""

from __future__ import annotations

import logging
import threading
import time

import pykka

from tradeactors.actors.messages import GetStatus, RetryPending, StoreTrades
from tradeactors.actors.ticker import Ticker
from tradeactors.history import TradeWriter
from tradeactors.metrics import Metrics
from tradeactors.store import Database, StorageError

log = logging.getLogger(__name__)

MAX_PENDING_TRADES = 2_000_000
"""Trades kept in memory across failed writes before the oldest are dropped (REST backfill recovers them)."""
RETRY_SECONDS = 1.0


class StorageActor(pykka.ThreadingActor):
    def __init__(self, db: Database, symbols, metrics: Metrics):
        super().__init__()
        self.db = db
        self.symbols = list(symbols)
        self.metrics = metrics
        self.writer: TradeWriter | None = None
        self.pending: list[StoreTrades] = []
        self.pending_trades = 0
        self.batches = 0
        self.errors = 0
        self._warned_full = False
        self._ticker: Ticker | None = None

    def on_start(self) -> None:
        threading.current_thread().name = "Storage"
        self.writer = TradeWriter(self.db, self.symbols)
        self._ticker = Ticker(self.actor_ref, RetryPending(), RETRY_SECONDS, "Storage-ticker").start()

    def on_stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
        if self.pending:
            self._retry()
        if self.pending:
            log.error("stopping with %d trades not written (the next start refills them from REST)", self.pending_trades)

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        if self._ticker:
            self._ticker.stop()

    def on_receive(self, message):
        if isinstance(message, StoreTrades):
            if self.pending:
                self._keep(message)
                self._retry()
            else:
                self._store(message)
        elif isinstance(message, RetryPending):
            if self.pending:
                self._retry()
        elif isinstance(message, GetStatus):
            return {
                "batches_written": self.batches,
                "write_errors": self.errors,
                "pending_trades": self.pending_trades,
                "size_on_disk": self.db.size_on_disk(),
            }
        return None

    def _store(self, message: StoreTrades) -> None:
        if not self._write(message):
            self._keep(message)

    def _write(self, message: StoreTrades) -> bool:
        """One WriteBatch for one flush; False (logged, database reopened if needed) when it failed."""
        try:
            written, nbytes = self.writer.write(message.symbol, message.trades)
        except StorageError as exc:
            self.errors += 1
            self.metrics.storage_errors.inc()
            log.error("writing %d trades for %s failed: %s", len(message.trades), message.symbol, exc)
            if "previous error" in str(exc) or "closed" in str(exc):
                self._reopen()
            return False
        self.batches += 1
        self.metrics.batches_written.inc()
        self.metrics.bytes_written.inc(nbytes)
        if written:
            self.metrics.trades_stored.labels(message.symbol).inc(written)
            newest = max(t.T for t in message.trades)
            self.metrics.store_lag.labels(message.symbol).set(max(0.0, time.time() - newest / 1000))
            log.info("Stored %d trades for %s at timestamp %d", written, message.symbol, message.flushed_at_ms)
        return True

    def _keep(self, message: StoreTrades) -> None:
        if message not in self.pending:
            self.pending.append(message)
            self.pending_trades += len(message.trades)
        while self.pending_trades > MAX_PENDING_TRADES and len(self.pending) > 1:
            dropped = self.pending.pop(0)
            self.pending_trades -= len(dropped.trades)
            log.error("pending-write bound reached: dropped %d trades of %s from memory (REST backfill recovers them)",
                      len(dropped.trades), dropped.symbol)
        if self.pending_trades > 0.8 * MAX_PENDING_TRADES and not self._warned_full:
            self._warned_full = True
            log.warning("%d trades waiting for storage to recover (bound %d)", self.pending_trades, MAX_PENDING_TRADES)
        self.metrics.storage_pending.set(self.pending_trades)

    def _retry(self) -> None:
        while self.pending:
            message = self.pending[0]
            if not self._write(message):
                return
            self.pending.pop(0)
            self.pending_trades -= len(message.trades)
            self.metrics.storage_pending.set(self.pending_trades)
        self._warned_full = False
        log.info("storage recovered: every pending trade is written")

    def _reopen(self) -> None:
        try:
            self.db.reopen()
        except StorageError as exc:
            log.error("reopening the database failed: %s", exc)
