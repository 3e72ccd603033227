"""BackfillActor: fills every hole in each symbol's stored aggregate ids from REST.

A hole is any id missing between a symbol's first and last stored id: a disconnect, a reconnect, a crashed actor
that lost its mailbox, a killed process (the first live trade after the restart opens the hole). The StorageActor
knows them (its id ranges) and tells ``HolesFound``; the actor also polls every ``POLL_SECONDS``.

Owns: a worker thread (REST is blocking I/O, never run inside ``on_receive``).
Worker: asks the StorageActor for the holes, fetches ``/api/v3/aggTrades?fromId=`` (<= 1000 per request,
weight 4, through the process-wide weight ledger), and asks the StorageActor to store them. Ids that REST
shows do not exist (the next id it returns is past them) are recorded as exchange gaps, not retried forever.
REST failures back off 1 s doubling to 60 s with jitter; 429/418 Retry-After is honoured by the ledger.
Messages: ``HolesFound`` (tell): wake the worker. ``GetStatus`` (ask). ``InjectFailure`` (tell): raises.
on_start: starts the worker. on_stop / on_failure: stops it (an in-flight request finishes or times out).
"""

from __future__ import annotations

import logging
import threading
import time

from tradeactors.actors.directory import ActorUnavailable, Directory
from tradeactors.actors.messages import GetHoles, GetStatus, HolesFound, InjectFailure, RecordExchangeGap, StoreTrades
from tradeactors.actors.worker import RestWorker, WorkerThreadActor
from tradeactors.metrics import Metrics
from tradeactors.rest import AGG_TRADES_LIMIT, RestClient, RestError

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
ASK_TIMEOUT = 30.0


class BackfillWorker(RestWorker):
    def __init__(self, symbols, directory: Directory, rest: RestClient, metrics: Metrics,
                 backoff_initial: float = 1.0, backoff_max: float = 60.0):
        super().__init__(directory, rest, metrics, backoff_initial, backoff_max)
        self.symbols = list(symbols)
        self.wake = threading.Event()
        self.filled: dict[str, int] = {s: 0 for s in self.symbols}
        self.last_gap: dict[str, dict] = {}

    def run(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(POLL_SECONDS)
            self.wake.clear()
            for symbol in self.symbols:
                if self.stopping.is_set():
                    return
                try:
                    holes = self.directory.ask("storage", GetHoles(symbol), ASK_TIMEOUT)
                except (ActorUnavailable, TimeoutError) as exc:
                    log.warning("cannot read the holes of %s now: %s", symbol, exc)
                    continue
                for lo, hi in holes:
                    if not self._fill(symbol, lo, hi):
                        break

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def _fetch(self, symbol: str, cursor: int, limit: int):
        return self.retrying(lambda: self.rest.agg_trades(symbol, cursor, limit, self.stopping),
                             f"backfill of {symbol} from id {cursor}")

    def _fill(self, symbol: str, lo: int, hi: int) -> bool:
        """Fetch and store ids lo..hi. False if it had to give up for now (stopping, storage unavailable)."""
        cursor, fetched, missing = lo, 0, 0
        while cursor <= hi:
            try:
                trades = self._fetch(symbol, cursor, min(AGG_TRADES_LIMIT, hi - cursor + 1))
            except RestError as exc:
                if not self.stopping.is_set():
                    log.error("backfill of %s ids %d..%d stopped: %s", symbol, cursor, hi, exc)
                return False
            if not trades:
                # No trade at or after cursor although later ids are stored: not proof of absence. Try later.
                log.warning("REST returned no trades for %s from id %d; will retry", symbol, cursor)
                return False
            wanted = [t for t in trades if cursor <= t.a <= hi]
            try:
                expected = cursor
                for trade in wanted:
                    if trade.a > expected:
                        missing += self._exchange_gap(symbol, expected, trade.a - 1)
                    expected = trade.a + 1
                if expected <= hi and trades[-1].a > hi:
                    # The exchange's next id after expected - 1 is past the hole: the rest does not exist.
                    missing += self._exchange_gap(symbol, expected, hi)
                    expected = hi + 1
                if wanted:
                    self.directory.ask(
                        "storage", StoreTrades(symbol, wanted, int(time.time() * 1000), "backfill"), ASK_TIMEOUT)
            except (ActorUnavailable, TimeoutError) as exc:
                log.warning("cannot store backfill results of %s now: %s", symbol, exc)
                return False
            if expected == cursor:
                log.warning("REST made no progress for %s at id %d; will retry", symbol, cursor)
                return False
            fetched += len(wanted)
            self.metrics.trades_backfilled.labels(symbol).inc(len(wanted))
            cursor = expected
        self.filled[symbol] += fetched
        self.metrics.gaps_filled.labels(symbol).inc()
        self.last_gap[symbol] = {"from_id": lo, "to_id": hi, "fetched": fetched, "missing": missing,
                                 "filled_at": int(time.time() * 1000)}
        log.info("Gap filled for %s: ids %d..%d (%d trades from REST, %d missing at the exchange)",
                 symbol, lo, hi, fetched, missing)
        return True

    def _exchange_gap(self, symbol: str, lo: int, hi: int) -> int:
        self.directory.ask("storage", RecordExchangeGap(symbol, lo, hi), ASK_TIMEOUT)
        return hi - lo + 1


class BackfillActor(WorkerThreadActor):
    thread_name = "Backfill"

    def __init__(self, symbols, directory: Directory, rest: RestClient, metrics: Metrics,
                 backoff_initial: float = 1.0, backoff_max: float = 60.0):
        super().__init__()
        self.worker = BackfillWorker(symbols, directory, rest, metrics, backoff_initial, backoff_max)

    def on_start(self) -> None:
        super().on_start()
        self.worker.wake.set()  # holes left by a previous run are filled at once

    def on_receive(self, message):
        if isinstance(message, HolesFound):
            self.worker.wake.set()
        elif isinstance(message, GetStatus):
            return {"trades_backfilled": dict(self.worker.filled), "last_gap": dict(self.worker.last_gap),
                    "worker_alive": self.worker_alive}
        elif isinstance(message, InjectFailure):
            raise RuntimeError(message.reason)
        return None
