"""BackfillActor: fills every hole in each symbol's stored aggregate ids from REST.

A hole is any id missing between a symbol's first and last stored id: a disconnect, a reconnect, a crashed actor
that lost its mailbox, a killed process (the first live trade after the restart opens the hole). The StorageActor
knows them (its id ranges) and tells ``HolesFound``; the actor also polls every ``POLL_SECONDS``.

A hole only shows once a later trade is stored. So whenever a symbol's stream (re)connects, and before each
reconnection attempt while it is down, its reader tells ``CatchUp``: the worker fetches the trades after the last
stored id up to the present, or until it meets the trades the live stream stored since (what lies between is a
hole). Trades published while the stream was down are stored even if the symbol goes quiet, and during a
WebSocket outage that REST survives the store keeps up, a retry interval behind.

Owns: a worker thread (REST is blocking I/O, never run inside ``on_receive``).
Worker: asks the StorageActor for the holes, fetches ``/api/v3/aggTrades?fromId=`` (<= 1000 per request,
weight 4, through the process-wide weight ledger), and asks the StorageActor to store them. Ids that REST
shows do not exist (the next id it returns is past them) are recorded as exchange gaps, not retried forever.
REST failures back off 1 s doubling to 60 s with jitter; 429/418 Retry-After is honoured by the ledger.
Messages: ``HolesFound`` (tell): wake the worker. ``CatchUp`` (tell): fetch a symbol's tail. ``GetStatus`` (ask).
``SymbolsChanged`` (tell): added symbols are served from now on; a removed symbol gets one last catch-up and hole
fill (the trades it published before its stream stopped are all stored), then is dropped.
``ThreadDied`` and ``InjectFailure`` (tell): see ``worker.py``.
on_start: starts the worker and queues a catch-up of every symbol (a restart lost the queued ones).
on_stop / on_failure: stops it (an in-flight request finishes or times out).
"""

from __future__ import annotations

import logging
import threading
import time

from tradeactors.actors.base import handles
from tradeactors.actors.directory import ActorUnavailable, Directory
from tradeactors.actors.messages import (
    CatchUp,
    GetAllHoles,
    GetLastId,
    HolesFound,
    RecordExchangeGap,
    StoreTrades,
    SymbolsChanged,
)
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
        self.woken = threading.Event()
        self.filled: dict[str, int] = dict.fromkeys(self.symbols, 0)
        self.last_gap: dict[str, dict] = {}
        self.caught_up: dict[str, dict] = {}
        self._catch_ups: dict[str, CatchUp] = {}
        """Symbols whose tail to fetch at the next wake (set by the actor's thread)."""
        self._retiring: list[str] = []
        """Removed symbols still owed their last catch-up and hole fill."""
        self._lock = threading.Lock()

    def change_symbols(self, added, removed) -> None:
        """Serve ``added`` from now on; give each of ``removed`` a last catch-up, then drop it. The lists are
        replaced, never changed in place: the worker thread iterates them."""
        with self._lock:
            self.symbols = [s for s in self.symbols if s not in removed] + [s for s in added if s not in self.symbols]
            self._retiring = [s for s in self._retiring if s not in added] + [s for s in removed if s not in added]
            for symbol in added:
                self.filled.setdefault(symbol, 0)
            for symbol in removed:
                self._catch_ups.setdefault(symbol, CatchUp(symbol, "stopped recording"))
        self.woken.set()

    def catch_up(self, request: CatchUp) -> None:
        with self._lock:
            self._catch_ups[request.symbol] = request  # the latest: the reader's ids only grow
        self.woken.set()

    def wake(self) -> None:
        self.woken.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.woken.wait(POLL_SECONDS)
            self.woken.clear()
            self.check_crash()
            with self._lock:
                catch_ups, self._catch_ups = self._catch_ups, {}
                retiring, self._retiring = self._retiring, []
                symbols = self.symbols + retiring
            for symbol in symbols:
                if self.stopping.is_set():
                    return
                if symbol in catch_ups:
                    self._catch_up(catch_ups[symbol])
            try:  # after the catch-ups: a hole one of them left shows now
                every = self.directory.ask("storage", GetAllHoles(), ASK_TIMEOUT)
            except (ActorUnavailable, TimeoutError) as exc:
                log.warning("cannot read the holes now: %s", exc)
                continue
            for symbol in symbols:
                if self.stopping.is_set():
                    return
                for lo, hi in every.get(symbol, ()):
                    if not self._fill(symbol, lo, hi):
                        break

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
            try:
                expected, stored, gone = self._store_page(symbol, cursor, hi, trades)
            except (ActorUnavailable, TimeoutError) as exc:
                log.warning("cannot store backfill results of %s now: %s", symbol, exc)
                return False
            if expected == cursor:
                log.warning("REST made no progress for %s at id %d; will retry", symbol, cursor)
                return False
            fetched, missing, cursor = fetched + stored, missing + gone, expected
        self.filled[symbol] = self.filled.get(symbol, 0) + fetched
        self.metrics.gaps_filled.labels(symbol).inc()
        self.last_gap[symbol] = {"from_id": lo, "to_id": hi, "fetched": fetched, "missing": missing,
                                 "filled_at": int(time.time() * 1000), "via": "hole"}
        log.info("Gap filled for %s: ids %d..%d (%d trades from REST, %d missing at the exchange)",
                 symbol, lo, hi, fetched, missing)
        return True

    def _catch_up(self, request: CatchUp) -> None:
        """Fetch the trades after the last one we have (stored, or received and on its way to storage) up to the
        present, or until the live stream's stored trades are reached: what lies between is then a hole, filled
        by ``_fill``."""
        symbol, reason = request.symbol, request.reason
        try:
            last_stored = self.directory.ask("storage", GetLastId(symbol), ASK_TIMEOUT)
        except (ActorUnavailable, TimeoutError) as exc:
            log.warning("cannot read the last stored id of %s now: %s", symbol, exc)
            return
        known = [i for i in (last_stored, request.after_id) if i is not None]
        since_ms = request.since_ms
        if request.after_id is None and since_ms is not None:
            # Live since since_ms, then lost before the reader's first trade: what was published from then on is
            # ours, even if live trades after the reconnection are stored already (not a hole: nothing before them).
            try:
                first = self.retrying(lambda: self.rest.first_agg_trade_since(symbol, since_ms, self.stopping),
                                      f"catch-up of {symbol} from {since_ms}")
            except RestError as exc:
                if not self.stopping.is_set():
                    log.error("catch-up of %s from time %d stopped: %s", symbol, since_ms, exc)
                return
            if first is not None:
                known = [first - 1 if last_stored is None else min(last_stored, first - 1)]
        if not known:
            return  # nothing received yet: history before the symbol went live is not ours to fetch
        last = max(known)
        cursor, fetched, missing = last + 1, 0, 0
        while not self.stopping.is_set():
            try:
                trades = self._fetch(symbol, cursor, AGG_TRADES_LIMIT)
            except RestError as exc:
                if not self.stopping.is_set():
                    log.error("catch-up of %s from id %d stopped: %s", symbol, cursor, exc)
                break
            if not trades:
                break  # nothing after the cursor yet: at the present
            try:
                cursor, stored, gone = self._store_page(symbol, cursor, None, trades)
                fetched, missing = fetched + stored, missing + gone
                if len(trades) < AGG_TRADES_LIMIT:
                    break  # a short page: at the present
                now_last = self.directory.ask("storage", GetLastId(symbol), ASK_TIMEOUT)
            except (ActorUnavailable, TimeoutError) as exc:
                log.warning("cannot store catch-up results of %s now: %s", symbol, exc)
                break
            if now_last is not None and now_last >= cursor:
                break  # the live stream stored later trades: anything between is a hole for _fill
        self.filled[symbol] = self.filled.get(symbol, 0) + fetched
        self.caught_up[symbol] = {"reason": reason, "from_id": last + 1, "fetched": fetched, "missing": missing,
                                  "at": int(time.time() * 1000)}
        if fetched or missing:
            # What the stream missed, found and filled in one go: counted and shown like a filled hole.
            self.metrics.gaps_found.labels(symbol).inc()
            self.metrics.gaps_filled.labels(symbol).inc()
            self.last_gap[symbol] = {"from_id": last + 1, "to_id": cursor - 1, "fetched": fetched, "missing": missing,
                                     "filled_at": int(time.time() * 1000), "via": "catch-up"}
            log.info("Gap filled for %s: ids %d..%d caught up from REST (%s): %d trades, %d missing at the exchange",
                     symbol, last + 1, cursor - 1, reason, fetched, missing)

    def _store_page(self, symbol: str, cursor: int, hi: int | None, trades) -> tuple[int, int, int]:
        """Record the exchange gaps a REST page (ids from ``cursor``) proves and store its trades up to ``hi``
        (None: the whole page). Returns (the next id to fetch, trades stored, ids missing at the exchange).
        Raises ActorUnavailable or TimeoutError when the StorageActor cannot answer."""
        top = trades[-1].a if hi is None else hi
        wanted = [t for t in trades if cursor <= t.a <= top]
        expected, missing = cursor, 0
        for trade in wanted:
            if trade.a > expected:
                missing += self._exchange_gap(symbol, expected, trade.a - 1)
            expected = trade.a + 1
        if expected <= top and trades[-1].a > top:
            # The exchange's next id after expected - 1 is past the range: the rest does not exist.
            missing += self._exchange_gap(symbol, expected, top)
            expected = top + 1
        if wanted:
            self.directory.ask("storage", StoreTrades(symbol, wanted, int(time.time() * 1000), "backfill"), ASK_TIMEOUT)
            self.metrics.trades_backfilled.labels(symbol).inc(len(wanted))
        return expected, len(wanted), missing

    def _exchange_gap(self, symbol: str, lo: int, hi: int) -> int:
        self.directory.ask("storage", RecordExchangeGap(symbol, lo, hi), ASK_TIMEOUT)
        return hi - lo + 1


class BackfillActor(WorkerThreadActor):
    thread_name = "Backfill"
    worker: BackfillWorker

    def __init__(self, symbols, directory: Directory, rest: RestClient, metrics: Metrics,
                 backoff_initial: float = 1.0, backoff_max: float = 60.0):
        super().__init__()
        self.worker = BackfillWorker(symbols, directory, rest, metrics, backoff_initial, backoff_max)

    def on_start(self) -> None:
        super().on_start()
        # Holes left by a previous run are filled at once, and every tail is fetched: a restart loses the
        # CatchUp requests queued in the previous actor, which the readers send only when they (re)connect.
        for symbol in self.worker.symbols:
            self.worker.catch_up(CatchUp(symbol, "backfill actor started"))

    @handles(HolesFound)
    def _holes_found(self, _message: HolesFound) -> None:
        self.worker.wake()

    @handles(SymbolsChanged)
    def _symbols_changed(self, message: SymbolsChanged) -> None:
        self.worker.change_symbols(message.added, message.removed)

    @handles(CatchUp)
    def _catch_up(self, message: CatchUp) -> None:
        self.worker.catch_up(message)

    def status(self) -> dict:
        return {"trades_backfilled": dict(self.worker.filled), "last_gap": dict(self.worker.last_gap),
                "last_catch_up": dict(self.worker.caught_up)}
