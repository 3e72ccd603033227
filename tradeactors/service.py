"""The service: opens the database, starts the actors in order under the Supervisor, serves HTTP, and stops
everything in reverse order. Start order, in one place:

1. Database (``<data_dir>/analytics``)
2. StorageActor  -- the only writer
3. QueryActor    -- reads
4. BufferActor   -- per-symbol buffers, flushed once a second
5. BackfillActor -- fills holes in the stored ids from REST
6. CleanupActor  -- hourly retention
7. DepthSnapshotActor -- REST depth snapshots to sync the books, paced by the weight ledger
8. StreamActor per symbol -- the local order book (an explicit list; with ``ALL`` they start at step 10's first
   read), on the shared actor pool
9. ConnectionActor per multiplexed connection -- ~150 symbols' streams each, placed by the ``StreamHub``
10. SymbolSetActor -- reads the symbol set (exchangeInfo with ``symbols = ALL``) and changes it at runtime
11. HTTP server  -- API and dashboard (bound before the actors start, served after)

Stop is the reverse: HTTP, the SymbolSetActor (no change starts during the stop), the connections (each hands over
every trade it read), streams (each hands over its last book second), depth snapshots, cleanup, backfill, buffer
(flushes), query, storage (writes what is pending), database (closed). ``run`` adds signal handling: SIGTERM/SIGINT
request an orderly stop, SIGHUP re-reads the configuration's symbol set.

Symbols start and stop at runtime through ``symbol_lifecycle.SymbolLifecycle``, which the SymbolSetActor's worker
calls; SIGHUP builds the configuration again (``reload``) and hands its symbol set to that actor.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pykka

from tradeactors import storage, tls
from tradeactors.actors.backfill import BackfillActor
from tradeactors.actors.buffer import BufferActor
from tradeactors.actors.cleanup import CleanupActor
from tradeactors.actors.depth_snapshots import DepthSnapshotActor
from tradeactors.actors.directory import ActorUnavailable, Directory
from tradeactors.actors.hub import StreamHub
from tradeactors.actors.messages import (
    Analyze,
    GetBook,
    GetStatus,
    QueryBookSeconds,
    QueryTradeBatch,
    QueryTradeDecimals,
    QueryTrades,
    ReadSymbols,
)
from tradeactors.actors.query import QueryActor, TradePage
from tradeactors.actors.storage import StorageActor
from tradeactors.actors.stream import StreamActor
from tradeactors.actors.supervisor import ActorSpec, Supervisor
from tradeactors.actors.symbols import SymbolSetActor
from tradeactors.config import SCHEMA, SYMBOL_SET_KEYS, Config, ConfigError
from tradeactors.connlimit import SlidingWindowLimit
from tradeactors.errors import Unavailable, UnknownSymbol
from tradeactors.metrics import Metrics
from tradeactors.rest import RestClient, WeightLedger
from tradeactors.storage import Database
from tradeactors.symbol_lifecycle import SymbolLifecycle

if TYPE_CHECKING:
    from tradeactors.web.server import HttpServer

log = logging.getLogger(__name__)

CONNECTIONS_PER_WINDOW = (250, 300.0)
"""Connection attempts per 5 minutes for the whole process: inside Binance's 300 per IP, with a margin."""
ASK_TIMEOUT = 10.0
"""Seconds the web layer waits for an actor before answering 503."""
ANALYTICS_TIMEOUT = 30.0
"""A 7-day analytics query takes about a second; more than this means the QueryActor is stuck or swamped."""
STATUS_TIMEOUT = 2.0
"""All actors are asked for their status at once; one that has not answered by then shows as unavailable."""
BOOK_TIMEOUT = 2.0
"""The live book is in the StreamActor's memory: an answer slower than this means the actor is swamped."""

EXIT_OK, EXIT_FAILURE = 0, 1
"""Exit codes of ``run``; a bad configuration (2) never gets this far (``cli.py``)."""


class Service:
    def __init__(self, config: Config, metrics: Metrics | None = None,
                 reload_config: Callable[[], Config] | None = None):
        self.config = config
        self.selection = config.selection
        self.reload_config = reload_config
        """Builds the configuration again (file, environment, command line) for SIGHUP; None: SIGHUP is ignored."""
        self.reload_requested = threading.Event()
        self.metrics = metrics or Metrics()
        self.directory = Directory(self.metrics)
        self.supervisor = Supervisor(self.directory, self.metrics, on_escalate=self._escalate)
        self.lifecycle = SymbolLifecycle(self.supervisor, self.directory, self.metrics, self._stream_spec,
                                         self.selection.symbols, after_start=self._start_connections)
        self.ledger = WeightLedger(config.rest_weight_budget)
        self.ssl_context = tls.client_context(config.ca_file)
        """One trust for every wss:// and https:// connection of the service."""
        self.rest = RestClient(config.rest_url, self.ledger, self.metrics, ssl_context=self.ssl_context)
        self.connect_limit = SlidingWindowLimit(*CONNECTIONS_PER_WINDOW)
        self.hub = StreamHub(config, self.directory, self.metrics, self.connect_limit, self.ssl_context,
                             self.supervisor.add)
        """Places the symbols on multiplexed connections and owns their wire state."""
        self.db: Database | None = None
        self.http: HttpServer | None = None
        self.stop_requested = threading.Event()
        self.exit_code = EXIT_OK

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        from tradeactors.web import create_app
        from tradeactors.web.server import HttpServer

        log.info("starting: symbols %s, database %s", self.selection.describe(), self.config.db_path)
        self.db = Database(self.config.db_path)
        self.lifecycle.remember(storage.stored_symbols(self.db))
        self.metrics.symbols_recording.set(len(self.recording))
        try:
            # Bind before starting actors: a busy port fails start-up at once.
            host, port = self.config.http
            self.http = HttpServer(create_app(self.config, self), host, port)
            self.supervisor.start(self._specs())
            self.http.start()
        except BaseException:
            self.stop()
            raise
        log.info("serving the API and dashboard at %s/", self.http.url if self.http else "?")

    def _specs(self) -> list[ActorSpec]:
        # Each start reads the symbols when it runs, so an actor the Supervisor restarts gets the current set.
        c, d, m, db, life = self.config, self.directory, self.metrics, self.db, self.lifecycle
        specs = [
            ActorSpec("storage", lambda: StorageActor.start(db, life.tracked(), d, m), stop_timeout=30),
            ActorSpec("query", lambda: QueryActor.start(db, tuple(dict.fromkeys(life.tracked() + self.symbols)),
                                                        d, m)),
            ActorSpec("buffer", lambda: BufferActor.start(c, d, m, life.tracked())),
            ActorSpec("backfill", lambda: BackfillActor.start(life.tracked(), d, self.rest, m, c.backoff_initial,
                                                              c.backoff_max), stop_timeout=20),
            ActorSpec("cleanup", lambda: CleanupActor.start(db, d, c.retention_days, c.cleanup_interval)),
            ActorSpec("depth_snapshots", lambda: DepthSnapshotActor.start(
                d, self.rest, m, c.backoff_initial, c.backoff_max, db, life.tracked(), c.depth_limit,
                c.book_second_levels), stop_timeout=20),
        ]
        specs += [self._stream_spec(symbol) for symbol in self.recording]
        for symbol in self.recording:
            self.hub.place(symbol)
        specs += self.hub.connection_specs()  # after the streams: each opens with all its symbols in the URL
        specs.append(ActorSpec("symbols", lambda: SymbolSetActor.start(
            self.selection, self.config.symbols_refresh, life.change, d, self.rest, m, c.backoff_initial,
            c.backoff_max), stop_timeout=20))
        return specs

    def _stream_spec(self, symbol: str) -> ActorSpec:
        c = self.config
        return ActorSpec(f"stream:{symbol}", functools.partial(
            StreamActor.start, symbol, c, self.directory, self.metrics, self.hub))

    def _start_connections(self) -> None:
        """After symbols started at runtime: connections for those that did not fit on a running one."""
        self.hub.start_connections()

    @property
    def recording(self) -> tuple[str, ...]:
        """The symbols recorded now (each has a StreamActor); with ``ALL``, empty until exchangeInfo is read."""
        return self.lifecycle.recording

    @property
    def symbols(self) -> tuple[str, ...]:
        """The known symbols, which queries accept: recording now, then the others with queryable history
        (``symbol_lifecycle.py``)."""
        return self.lifecycle.known

    def reload(self) -> bool:
        """SIGHUP: build the configuration again and hand its symbol set to the SymbolSetActor, which reads it
        (exchangeInfo with ALL) and applies it. A configuration with errors changes nothing (logged, key by key);
        keys other than the symbol set's are logged as needing a restart."""
        if self.reload_config is None:
            log.warning("SIGHUP: this service has no configuration to read again; nothing changed")
            return False
        try:
            fresh = self.reload_config()
        except ConfigError as exc:
            log.error("SIGHUP: the configuration has errors; nothing changed:\n  %s", "\n  ".join(exc.errors))
            return False
        later = [key for key in SCHEMA
                 if key not in SYMBOL_SET_KEYS and getattr(fresh, key) != getattr(self.config, key)]
        if later:
            log.warning("SIGHUP: %s changed; only the symbol set (%s) changes at runtime, the rest at the next "
                        "restart", ", ".join(later), ", ".join(SYMBOL_SET_KEYS))
        self.config = self.config.replace(**{key: getattr(fresh, key) for key in SYMBOL_SET_KEYS})
        self.selection = self.config.selection
        log.info("SIGHUP: reading the symbol set again: %s", self.selection.describe())
        self.directory.tell("symbols", ReadSymbols(self.selection, self.config.symbols_refresh, "SIGHUP"))
        return True

    def stop(self) -> None:
        log.info("stopping")
        self.lifecycle.close()
        if self.http is not None:
            self.http.close()
        self.supervisor.retire("symbols")  # first: no symbol may start or stop while the others stop
        for name in self.hub.connection_names():  # then the wire: every trade read is handed over
            self.supervisor.retire(name)
        self.supervisor.stop()
        if self.db is not None:
            self.db.close()
        log.info("stopped")

    def request_stop(self) -> None:
        self.stop_requested.set()

    def _escalate(self, reason: str) -> None:
        self.exit_code = EXIT_FAILURE
        self.stop_requested.set()

    def wait(self) -> int:
        # Event.wait with a timeout keeps the main thread responsive to signals.
        while not self.stop_requested.wait(0.5):
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
        return self.exit_code

    # --- facade for the web layer and in-process callers ----------------------------------------------

    def ask(self, name: str, message, timeout: float = ASK_TIMEOUT):
        try:
            return self.directory.ask(name, message, timeout)
        except ActorUnavailable:
            raise Unavailable(f"{name} is not running (restarting?)", actor=name) from None
        except TimeoutError:
            raise Unavailable(f"{name} did not answer within {timeout:g}s", actor=name) from None

    def query_trades(self, symbol: str, start_ms: int, end_ms: int, limit: int | None = None,
                     after: tuple[int, int] | None = None) -> TradePage:
        return self.ask("query", QueryTrades(symbol, start_ms, end_ms, limit, after))

    def trade_decimals(self, symbol: str, start_ms: int, end_ms: int) -> tuple[int, int] | None:
        """The widest (price, quantity) decimals of the stored trades in [start_ms, end_ms], None if none."""
        return self.ask("query", QueryTradeDecimals(symbol, start_ms, end_ms))

    def trade_batch(self, symbol: str, start_ms: int, end_ms: int, min_rows: int):
        """(``records.TradeColumns`` of whole seconds from start_ms on, in id order; next start ms or None)."""
        return self.ask("query", QueryTradeBatch(symbol, start_ms, end_ms, min_rows))

    def status(self, symbols: tuple[str, ...] | None = None) -> dict:
        """Per symbol: stream state and last trade; per actor: alive and restarts; storage counters; the symbol set.
        ``symbols``: ask only these symbols' StreamActors (every recording symbol's when None)."""
        return self._status(self._ask_status(self.recording if symbols is None else symbols))

    def health_and_status(self) -> tuple[bool, list[str], dict]:
        """``health()`` and ``status()`` from one round of asks: at 1,500 symbols a round of ``GetStatus`` to every
        StreamActor is most of a request's time (see BENCHMARKS.md, bench web), and the dashboard needs both."""
        answers = self._ask_status(self.recording)
        actors = self.supervisor.status()
        healthy, reasons = self._health(answers, actors, publish=False)
        return healthy, reasons, self._status(answers, actors)

    def _ask_status(self, symbols) -> dict:
        """{actor name: ``GetStatus`` answer or exception} of the symbols' StreamActors and the other actors."""
        names = [f"stream:{symbol}" for symbol in symbols] + ["storage", "backfill", "cleanup", "depth_snapshots",
                                                              "symbols"]
        return self.directory.ask_many(names, GetStatus(), timeout=STATUS_TIMEOUT)

    def _status(self, answers: dict, actors: dict | None = None) -> dict:
        def answer(name: str, unavailable: dict) -> dict:
            value = answers[name]
            if isinstance(value, Exception):
                return {**unavailable, "error": str(value) or type(value).__name__}
            return value

        symbols = {name.split(":", 1)[1]: answer(name, {"state": "unavailable"}) for name in answers
                   if name.startswith("stream:")}
        symbol_set = {**answer("symbols", {}), "recording": len(self.recording),
                      "history_only": self.lifecycle.history_only}
        return {"symbols": symbols, "symbol_set": symbol_set, "connections": self.hub.status(),
                "actors": self.supervisor.status() if actors is None else actors,
                "storage": answer("storage", {}),
                "backfill": answer("backfill", {}), "cleanup": answer("cleanup", {}),
                "depth_snapshots": answer("depth_snapshots", {}),
                "rest": {"weight_used_this_minute": self.ledger.used, "weight_limit": self.ledger.limit,
                         "weight_spent_total": self.ledger.spent_total}}

    def analyze(self, tool: str, symbol: str, params: dict) -> dict:
        return self.ask("query", Analyze(tool, symbol, params), timeout=ANALYTICS_TIMEOUT)

    def book(self, symbol: str, depth: int) -> dict:
        """The live book's top ``depth`` levels, update id, age and sync state (from the symbol's StreamActor)."""
        if symbol not in self.recording:  # a symbol with history only has no live book
            raise UnknownSymbol(symbol, self.recording)
        return self.ask(f"stream:{symbol}", GetBook(depth), timeout=BOOK_TIMEOUT)

    def book_seconds(self, symbol: str, start_s: int, end_s: int):
        """Stored book seconds with start_s <= second <= end_s (``records.BookSecond``), in time order."""
        return self.ask("query", QueryBookSeconds(symbol, start_s, end_s))

    def health(self) -> tuple[bool, list[str]]:
        """(healthy, reasons): every actor alive with its threads, every stream connected or down for less than
        ``stream_down_alert``, every book synced or out of sync for less than ``book_unsynced_alert``. Also
        published as the ``health_ok``, ``stream_down_seconds`` and ``book_unsynced_seconds`` gauges."""
        return self._health(self._ask_status(self.recording), self.supervisor.status())

    def _health(self, answers: dict, actors: dict, publish: bool = True) -> tuple[bool, list[str]]:
        """``publish``: also set the health gauges. Only a scrape reads them, and ``/metrics`` calls ``health()``
        first; the dashboard's ``health_and_status`` skips the 3,000 gauge updates of 1,500 symbols."""
        c, m = self.config, self.metrics
        reasons = []
        for name, state in actors.items():
            if not state["alive"]:
                reasons.append(f"actor {name} is not alive")
        for name in ("backfill", "depth_snapshots", "symbols"):
            status = answers[name]
            if not isinstance(status, Exception) and not status.get("worker_alive", True):
                reasons.append(f"the {name} worker thread is dead ({status.get('worker_died') or 'stopped'})")
        symbol_set = answers["symbols"]
        if not isinstance(symbol_set, Exception) and symbol_set["all"] and not symbol_set["ever_read"]:
            reasons.append(f"symbols = ALL: exchangeInfo not read yet ({symbol_set['last_error'] or 'reading'}); "
                           "nothing is recorded until it is")
        for name, status in answers.items():
            if not name.startswith("stream:"):
                continue
            symbol = name.split(":", 1)[1]
            if isinstance(status, Exception):
                reasons.append(f"{name} is unavailable: {status or type(status).__name__}")
                continue
            down, unsynced = status["down_for_s"], status["book"]["unsynced_for_s"]
            if publish:
                m.stream_down_seconds.labels(symbol).set(down)
                m.book_unsynced_seconds.labels(symbol).set(unsynced)
            if not status["reader_alive"]:
                reasons.append(f"stream {symbol}: the reader thread is dead ({status['reader_died'] or 'stopped'})")
            elif down > c.stream_down_alert:
                reasons.append(f"stream {symbol}: not connected for {down:.0f}s ({status['state']}; alert after "
                               f"{c.stream_down_alert:g}s)")
            if unsynced > c.book_unsynced_alert:
                reasons.append(f"book {symbol}: not synced for {unsynced:.0f}s ({status['book']['state']}; alert "
                               f"after {c.book_unsynced_alert:g}s)")
        if publish:
            m.health_ok.set(0 if reasons else 1)
        return not reasons, reasons


def run(config: Config, reload_config: Callable[[], Config] | None = None) -> int:
    """Run the service in the foreground until SIGTERM/SIGINT; return the process exit code. SIGHUP re-reads the
    symbol set through ``reload_config`` (the configuration built again, as at start)."""
    service = Service(config, reload_config=reload_config)
    previous = {}

    def on_signal(signum, _frame):
        log.info("received %s: stopping in order", signal.Signals(signum).name)
        service.request_stop()

    def on_hangup(_signum, _frame):
        log.info("received SIGHUP: reading the configuration's symbol set again")
        service.reload_requested.set()  # handled by the main thread's wait loop, outside the signal handler

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, on_signal)
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
    try:
        try:
            service.start()
        except Exception as exc:
            log.error("start-up failed: %s", exc)
            return EXIT_FAILURE
        code = service.wait()
        service.stop()
        return code
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        pykka.ActorRegistry.stop_all(block=True, timeout=5)
