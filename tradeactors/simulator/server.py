"""The :class:`Simulator`: one loopback port serving Binance's WebSocket streams, its REST API and ``/_sim``.

Threads: ``start()`` runs an asyncio loop in a daemon thread named ``simulator``; everything that touches
connections or markets runs there. Public methods may be called from any thread: fault and control methods are
forwarded to the loop and wait for it (10 s at most); ground-truth reads (``published_*``, ``book_at``,
``current_update_id``) go straight to the thread-safe ledgers.

TLS (``tls=True``): a CA and a server certificate are made at ``start()`` (see :mod:`.tls`) and the same port
then speaks ``wss://`` and ``https://`` only, as Binance does; ``ca_file`` names the CA's PEM file for clients.

Handshake answers: unknown path or stream, or more than 1024 streams -> HTTP 400 (text body naming what is
served); while ``refuse_connections`` is in force -> HTTP 503; past Binance's 300 connection attempts per 5 minutes
per IP -> HTTP 429 (when limits are enforced; see :mod:`.limits`, every crossing is counted either way).
``/api/v3/...`` and ``/_sim/...`` are plain HTTP, answered from ``process_request`` (one request per TCP
connection, ``Connection: close``).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import http
import logging
import ssl
import threading
import time
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from . import control, rest, restfaults, universe
from .exchange import Exchange
from .hub import BadStream, Subscription, TooManyStreams, _close_soon, parse_path
from .limits import AttemptWindow, Limits
from .sessions import LimitedConnection, answer
from .tls import ServerTLS, client_context

log = logging.getLogger(__name__)


def http_response(status: int, body: bytes, headers=(), content_type="application/json",
                  content_length: int | None = None) -> Response:
    """``content_length`` other than ``len(body)`` only for the ``truncate`` REST fault."""
    length = len(body) if content_length is None else content_length
    h = Headers([("Date", email.utils.formatdate(usegmt=True)), ("Connection", "close"),
                 ("Content-Type", content_type), ("Content-Length", str(length)), *headers])
    return Response(status, http.HTTPStatus(status).phrase, h, body)


DEFAULT_TRADE_RATE = 1500.0
"""A whole market's aggTrades per second in all, unless told (``trade_rate``)."""
DEFAULT_DEPTH_RATE = 6000.0
"""A whole market's depth diffs per second in all, unless told (``depth_rate``; at most 10 per symbol)."""


class Simulator:
    """A Binance spot market-data exchange on loopback. See ``docs/simulator.md``.

    ``market=N``: a whole market of N symbols (:mod:`.universe`: BTCUSDT, ETHUSDT, ... then realistic names over
    USDT, USDC, FDUSD, BTC, TRY, ...), ``trade_rate`` aggTrades/s and ``depth_rate`` depth diffs/s in all, spread
    over the symbols by a heavy-tailed profile and driven by one timer; ``symbols`` and ``rate`` are then not
    used. ``limits`` (:class:`.limits.Limits`, Binance's numbers by default) are always counted
    (``limit_violations()``); ``enforce_limits`` (default: on for a whole market, off otherwise, whose tests
    ping ten times a second) makes the simulator answer a crossing as Binance does."""

    def __init__(self, symbols=("BTCUSDT", "ETHUSDT"), rate=10.0, seed=1, replay=None, host="127.0.0.1", port=0,
                 ping_interval=20.0, pong_timeout=60.0, lifetime=86400.0, shutdown_grace=5.0, weight_budget=6000,
                 replay_speed=1.0, replay_start="first_client", tls=False, ca_file=None, replay_live=False,
                 replay_loop=False, market: int | None = None, trade_rate: float | None = None,
                 depth_rate: float | None = None, limits: Limits | None = None,
                 enforce_limits: bool | None = None) -> None:
        self.host, self.port = host, port
        self.tls = bool(tls)
        if ca_file is not None and not self.tls:
            raise ValueError("ca_file needs tls=True: without TLS there is no CA to write")
        self._ca_file_wanted = ca_file
        self._tls: ServerTLS | None = None
        self.ping_interval, self.pong_timeout, self.lifetime = ping_interval, pong_timeout, lifetime
        specs = activity = None
        if market is not None:
            if replay:
                raise ValueError("market=N makes a synthetic market: it cannot be combined with replay")
            if int(market) < 1:
                raise ValueError("market must be >= 1 symbols")
            specs = universe.market_specs(int(market), seed)
            activity = universe.activity(len(specs), DEFAULT_TRADE_RATE if trade_rate is None else trade_rate,
                                         DEFAULT_DEPTH_RATE if depth_rate is None else depth_rate)
        self.exchange = Exchange([s.upper() for s in symbols], rate=rate, seed=seed, replay=replay,
                                 replay_speed=replay_speed, replay_start=replay_start, replay_live=replay_live,
                                 replay_loop=replay_loop,
                                 shutdown_grace=shutdown_grace, weight_budget=weight_budget, specs=specs,
                                 activity=activity, limits=limits or Limits(),
                                 enforce_limits=market is not None if enforce_limits is None else enforce_limits)
        self._attempts = AttemptWindow(self.exchange.limits.connection_attempts, self.exchange.limits.attempt_window)
        self.symbols = list(self.exchange.markets)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._server: Server | None = None

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_file(self) -> str | None:
        """The CA certificate (PEM) that clients must trust; None without TLS or before ``start()``."""
        return self._tls.ca_file if self._tls is not None else None

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSLContext trusting this simulator's CA, hostname and certificate checks on (for clients, tests)."""
        if self.ca_file is None:
            raise RuntimeError("no CA: the simulator runs without TLS or is not started")
        return client_context(self.ca_file)

    def start(self) -> Simulator:
        """Bind and start trading; returns once the port listens. Raises OSError if the port is taken."""
        if self._thread is not None:
            return self
        if self.tls:
            self._tls = ServerTLS(self._ca_file_wanted, self.host)
        ready: concurrent.futures.Future = concurrent.futures.Future()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="simulator", daemon=True)
        self._thread.start()
        try:
            ready.result(timeout=30)
        except BaseException:
            self._remove_ca()
            raise
        return self

    def stop(self) -> None:
        """Abort every connection, stop the markets and the loop thread, remove a default CA file. Idempotent."""
        if self._thread is not None and self._thread.is_alive() and self._loop and self._stopping:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=15)
        self._remove_ca()

    def _remove_ca(self) -> None:
        if self._tls is not None:
            self._tls.close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self, ready: concurrent.futures.Future) -> None:
        loop = self._loop
        assert loop is not None  # made by start() before the thread
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # a bind failure goes back to start()'s caller
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("simulator loop failed")
        finally:
            loop.close()

    async def _main(self, ready: concurrent.futures.Future) -> None:
        self._stopping = stopping = asyncio.Event()
        connection = type("SimulatorConnection", (LimitedConnection,), {"exchange": self.exchange})
        self._server = server = await serve(
            self._handler, self.host, self.port, process_request=self._process_request, compression=None,
            create_connection=connection,
            ssl=self._tls.context if self._tls is not None else None,
            ping_interval=self.ping_interval, ping_timeout=self.pong_timeout, close_timeout=1,
            write_limit=(1 << 20, 256 << 10), max_size=1 << 16, logger=logging.getLogger("tradeactors.simulator.ws"))
        self.port = server.sockets[0].getsockname()[1]
        self.exchange.start()
        ready.set_result(None)
        await stopping.wait()
        self.exchange.stop()
        server.close(close_connections=False)
        for conn in list(server.connections):
            conn.transport.abort()
        try:
            async with asyncio.timeout(5):
                await server.wait_closed()
        except TimeoutError:
            log.warning("simulator connections did not close in time")
        pending = asyncio.all_tasks() - {asyncio.current_task()}
        for task in pending:
            task.cancel()
        # Let the cancelled handlers finish: a task destroyed while pending is an error at interpreter level.
        await asyncio.gather(*pending, return_exceptions=True)

    # --- the port -------------------------------------------------------------------------------------------

    def _process_request(self, conn, request):
        parts = urlsplit(request.path)
        if parts.path.startswith(("/api/", "/_sim/")):
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if parts.path.startswith("/api/"):
                fault = self.exchange.rest_faults.take(parts.path)
                if fault == "reset":
                    return self._reset(conn)
                if fault == "nonjson":  # a proxy's page: the exchange never saw the request, no weight
                    return http_response(200, restfaults.HTML_502, content_type="text/html")
                status, headers, body = rest.handle(self.exchange, request.method, parts.path, query)
                if fault == "truncate":
                    sent, length = restfaults.truncated_length(body)
                    return http_response(status, sent, headers, content_length=length)
            else:
                status, headers, body = control.handle(self.exchange, request.method, parts.path, query)
            return http_response(status, body, headers)
        refused = self._attempt(conn)
        if refused is not None:
            return refused
        if self.exchange.refusing():
            return http_response(503, b"Service Unavailable: refusing connections (simulated fault)\n",
                                 content_type="text/plain")
        try:
            combined, streams = parse_path(request.path, self.exchange.markets,
                                           self.exchange.limits.streams_per_connection)
        except BadStream as exc:
            if isinstance(exc, TooManyStreams):
                self.exchange.violations.add("streams_per_connection")
            return http_response(400, f"{exc}\n".encode(), content_type="text/plain")
        conn.sim_subscription = Subscription(conn, combined, streams)
        return None

    def _attempt(self, conn) -> Response | None:
        """Binance's 300 connection attempts per 5 minutes per IP: the next one is answered 429."""
        ip = conn.remote_address[0] if conn.remote_address else "?"
        wait = self._attempts.admit(ip, time.monotonic())
        if wait is None:
            return None
        self.exchange.violations.add("connection_attempts")
        if not self.exchange.enforce_limits:
            return None
        limits = self.exchange.limits
        return http_response(429, f"Too many connection attempts from this IP: at most {limits.connection_attempts} "
                                  f"per {limits.attempt_window:g} s\n".encode(),
                             [("Retry-After", str(max(1, round(wait))))], content_type="text/plain")

    async def _reset(self, conn) -> Response:
        await restfaults.reset(conn)
        return http_response(500, b"")  # never sent: the connection is gone, websockets answers nothing

    async def _handler(self, conn) -> None:
        sub: Subscription = conn.sim_subscription
        hub = self.exchange.hub
        hub.add(sub)
        self.exchange.client_connected()
        expiry = asyncio.get_running_loop().call_later(self.lifetime, _close_soon, conn,
                                                       "connection lifetime expired")
        try:
            async for message in conn:
                self._on_message(sub, message)
        except ConnectionClosed:
            pass
        finally:
            expiry.cancel()
            hub.remove(sub)

    def _on_message(self, sub: Subscription, message) -> None:
        """Binance's live methods (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, ...): see :mod:`.sessions`."""
        reply = answer(self.exchange, sub, message)
        if reply is not None:
            self.exchange.hub.send_text(sub, orjson.dumps(reply).decode())

    # --- calls into the loop --------------------------------------------------------------------------------

    def _call(self, fn, *args, **kwargs):
        if threading.current_thread() is self._thread:
            return fn(*args, **kwargs)
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the simulator is not running: call start() first")
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run():
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        assert self._loop is not None  # running
        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    def drop_connections(self, symbol=None) -> int:
        """Abort (TCP, no close frame) every connection that carries ``symbol`` (all if None)."""
        return self._call(self.exchange.drop_connections, symbol)

    def stall(self, seconds, symbol=None) -> None:
        """Send nothing on ``symbol``'s streams for ``seconds`` (pings still answered; the market keeps trading)."""
        return self._call(self.exchange.stall, seconds, symbol)

    def refuse_connections(self, seconds) -> None:
        """Reject WebSocket handshakes with HTTP 503 for ``seconds``."""
        return self._call(self.exchange.refuse_connections, seconds)

    def send_malformed(self, symbol=None, kind="truncated") -> int:
        """Send one broken frame: ``truncated``, ``nonjson`` or ``missing_field``."""
        return self._call(self.exchange.send_malformed, symbol, kind)

    def skip_depth_updates(self, symbol=None, count=1) -> None:
        """Do not send the next ``count`` depthUpdates (the true book still changes)."""
        return self._call(self.exchange.skip_depth_updates, symbol, count)

    def skip_trade_ids(self, symbol, count=1) -> int:
        """An exchange-side gap: the next ``count`` aggregate ids are never sent nor served by REST."""
        return self._call(self.exchange.skip_trade_ids, symbol, count)

    def stale_depth(self, symbol, updates_behind=50, count=1) -> None:
        """The next ``count`` REST depth snapshots are ``updates_behind`` update ids old."""
        return self._call(self.exchange.stale_depth, symbol, updates_behind, count)

    def duplicate_next(self, symbol=None, stream="aggTrade") -> None:
        """Send the next ``aggTrade`` / ``depth`` / ``both`` frame(s) twice."""
        return self._call(self.exchange.duplicate_next, symbol, stream)

    def server_shutdown(self, symbol=None) -> int:
        """Send serverShutdown, then close those connections ``shutdown_grace`` seconds later."""
        return self._call(self.exchange.server_shutdown, symbol)

    def rest_fail(self, status, seconds) -> None:
        """Answer REST with ``status`` (429/418 with Retry-After, or 500/502/503/504) for ``seconds``."""
        return self._call(self.exchange.rest_fail, status, seconds)

    def rest_fault(self, kind, count=1, path=None) -> None:
        """Break the next ``count`` REST replies (only paths starting with ``path`` if given): ``truncate``,
        ``reset`` or ``nonjson`` (see :mod:`.restfaults`)."""
        return self._call(self.exchange.rest_fault, kind, count, path)

    def limit_violations(self) -> dict[str, int]:
        """How many times each Binance limit was crossed, enforced or not: ``{"messages_per_second": 0,
        "streams_per_connection": 0, "url_too_long": 0, "message_too_big": 0, "connection_attempts": 0}``."""
        return self.exchange.limit_violations()

    def set_activity(self, factor) -> None:
        """A whole market only: scale every trade and book-change rate (0 = idle, 1 = as configured, 10 = burst)."""
        return self._call(self.exchange.set_activity, factor)

    def set_weight_budget(self, n) -> None:
        """REST weight budget per minute; also lifts a 429/418 in force."""
        return self._call(self.exchange.set_weight_budget, n)

    def pause(self, symbol=None) -> None:
        """Stop the market (no trades, no book changes) until :meth:`resume`."""
        return self._call(self.exchange.pause, symbol)

    def resume(self, symbol=None) -> None:
        return self._call(self.exchange.resume, symbol)

    def set_regime(self, symbol=None, **regime) -> None:
        """Steer a synthetic market: ``rate``, ``spread``, ``depth``, ``churn`` multipliers, ``jump`` in ticks."""
        return self._call(self.exchange.set_regime, symbol, **regime)

    def connection_count(self, symbol=None) -> int:
        return self._call(self.exchange.connection_count, symbol)

    def list_symbol(self, symbol, rate=None) -> str:
        """List a new symbol now: TRADING in exchangeInfo, trading at ``rate`` (default: the simulator's)."""
        listed = self._call(self.exchange.list_symbol, symbol, rate)
        self.symbols = list(self.exchange.markets)
        return listed

    def set_symbol_status(self, symbol, status) -> None:
        """Set exchangeInfo's status of ``symbol``: ``BREAK`` (or any status but TRADING) halts its trading,
        ``TRADING`` resumes it."""
        return self._call(self.exchange.set_symbol_status, symbol, status)

    def state(self) -> dict:
        """Connections, published counts and last ids per symbol (the ``/_sim/state`` body)."""
        return self._call(self.exchange.state)

    # --- ground truth (any thread) --------------------------------------------------------------------------

    def _market(self, symbol):
        try:
            return self.exchange.markets[symbol.upper()]
        except KeyError:
            raise ValueError(f"unknown symbol {symbol!r}; served: {', '.join(self.symbols)}") from None

    def published_trades(self, symbol, from_id=None, limit=None) -> list[dict]:
        """Every aggregate trade the exchange made (REST aggTrades items), in id order."""
        ledger = self._market(symbol).trades
        lo = 0 if from_id is None else max(0, from_id - ledger.first_id)
        return ledger.trades(lo, None if limit is None else lo + limit)

    def published_ids(self, symbol):
        """All aggregate trade ids, a numpy int64 array."""
        return self._market(symbol).trades.ids()

    def book_at(self, symbol, update_id, depth=None):
        """``(bids, asks)`` at ``update_id``, lists of ``(price_str, qty_str)``, best first."""
        return self._market(symbol).book.book_at(update_id, depth)

    def current_update_id(self, symbol) -> int:
        return self._market(symbol).book.current_update_id
