"""One multiplexed WebSocket connection carrying many symbols' streams, run in its own thread.

Binance lets one combined-stream connection carry up to 1024 streams, and limits what a client may open and send:
300 connection attempts per 5 minutes per IP, 5 incoming messages a second per connection (pongs and
SUBSCRIBE/UNSUBSCRIBE included), a stream URL up to ~8 KB and a control frame up to ~4 KB in practice. One
connection per symbol cannot record the whole market (1,500 symbols would take 25 minutes to open, and again after
every network blip); a reader per connection of ~150 symbols opens the whole market in 10 attempts.

Per symbol, a ``Feed`` keeps the wire state that must outlive a connection (the last trade id, for dropping trades
already seen; counters; the symbol's connection state), owned by the ``StreamHub``; the symbol's StreamActor stays
the owner of its book. The reader of a connection (``MuxReader``):

- connects with its symbols in the URL (the hub gives a connection no more symbols than fit in
  ``URL_STREAM_BYTES``); a symbol added while it runs is subscribed with SUBSCRIBE and one removed unsubscribed,
  in frames of at most ``CONTROL_FRAME_BYTES``, at most ``CONTROL_PER_SECOND`` a second (pongs come on top, still
  inside Binance's 5);
- reads like the single-symbol reader before it (``wsframes``; see the TLS notes below), routes each frame by its
  stream name to the symbol's ``Feed``, drops trades already seen, and at the end of each drain hands over, in one
  message each: every symbol's new trades to the BufferActor (``TradeBatch``) and every symbol's diffs to its
  StreamActor (``Diffs``). Frames therefore reach a symbol's actor in batches, and the actors run on a small
  thread pool (``pool.py``): a drain of hundreds of frames costs a handful of thread wake-ups, not hundreds;
- blocks in ``poll`` on the socket and a wake-up pipe (the hub writes to it when the connection's symbols change)
  until data, a change or the watchdog's deadline: no thread polls on a timer while idle;
- replaces a connection that sent no data message for ``stream_timeout``; makes planned replacements
  (``connection_lifetime``, ``serverShutdown``) make-before-break for every symbol on it: the new connection is
  open, with every symbol in its URL, before the old one is drained for a second and closed (trades on both are
  dropped by id, diffs already applied are dropped by update id);
- on a lost connection tells every symbol's StreamActor ``ConnectionLost`` (the diff stream has a hole: the book
  resyncs, prioritised and paced by the DepthSnapshotActor) and, once connected again, asks the BackfillActor to
  catch each symbol up from REST once (``CatchUp``; the BackfillActor keeps one per symbol and paces them by the
  weight ledger). While down it asks again at most every ``catch_up_every`` seconds, longer for more symbols.

How it reads (the part that must hold over TLS). A TLS ``recv`` returns at most one TLS record, and a real
exchange sends one record per message, so the size of a read says nothing about what is left. The reader asks
instead: is decrypted data pending in the SSL object, or is the socket readable? The socket is non-blocking; a
*drain* reads until neither is true (a read that would block ends it) and only then parses and hands over. At
usual rates a wake-up per frame costs more CPU than the frame, so after a small drain the reader lets frames
gather for ``GATHER_SECONDS`` before the next one; a large drain means a busy socket, read again at once.

Any exception other than a network failure (which is retried) ends the thread loudly: it is logged, counted in
``thread_deaths`` and its ConnectionActor is told ``ThreadDied``, so that the Supervisor restarts it with a fresh
reader for the same symbols.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import select
import ssl
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import orjson
import pykka
import tenacity
import websocket

from tradeactors import protocol
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import CatchUp, ConnectionLost, Diffs, ThreadDied, TradeBatch, Trades
from tradeactors.actors.pool import tell_many
from tradeactors.config import Config
from tradeactors.connlimit import SlidingWindowLimit
from tradeactors.metrics import Metrics
from tradeactors.wsframes import OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, FrameSplitter, ProtocolError

if TYPE_CHECKING:
    from tradeactors.actors.hub import StreamHub

log = logging.getLogger(__name__)

URL_STREAM_BYTES = 6000
"""The streams part of a connection's URL at most (Binance refuses URLs over ~8 KB): ~150 symbols of two streams."""
CONTROL_FRAME_BYTES = 3500
"""A SUBSCRIBE/UNSUBSCRIBE frame at most (Binance drops frames over ~4 KB): ~90 symbols' two streams each."""
CONTROL_PER_SECOND = 3
"""SUBSCRIBE/UNSUBSCRIBE frames a second at most per connection; with a pong that is 4, inside Binance's 5."""
HEALTHY_SECONDS = 5.0
"""A connection that delivered data for this long resets the backoff."""
CATCH_UP_WHILE_DOWN_SECONDS = 10.0
"""While a connection is down, its symbols' tails are fetched from REST at most this often, or one second per
symbol on it if that is longer (150 symbols: every 150 s), so an outage costs the REST budget little."""
ROTATE_DRAIN_SECONDS = 1.0
"""On a planned reconnect, how long the old connection is still read after the new one is open."""
CONNECT_TIMEOUT = 10.0
"""Seconds for the TCP connect, the TLS handshake and the WebSocket upgrade together (websocket-client)."""
RECV_BYTES = 256 * 1024
"""The reader's buffer: a drain reads at most this much before it parses and hands over (then drains again at
once). Over TLS each read appends one record (reading into one preallocated buffer costs ~5 us a record against
~9-20 us for ``recv(256 KB)``, which allocates and shrinks a 256 KB object per record)."""
GATHER_BELOW_BYTES = 64 * 1024
"""A drain smaller than this means the market is quiet enough to let frames gather before the next drain..."""
GATHER_SECONDS = 0.1
"""...for this long. 100 ms is the depth stream's own interval; a frame waits at most that long (trades are
flushed once a second anyway), and throughput is never capped: each drain reads everything."""
STREAM_PREFIX = re.compile(rb'\{"stream":"([a-z0-9]+)@')
"""The symbol of a malformed frame whose envelope still starts as Binance writes it."""
POLL_EVENTS = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP
NETWORK_ERRORS = (websocket.WebSocketException, ProtocolError, OSError, http.client.HTTPException)
"""Failures of the connection (OSError covers resets, timeouts and ssl.SSLError): retried with backoff."""


def stream_bytes(symbol: str) -> int:
    """Bytes a symbol's two streams take in a connection URL (with their separators)."""
    return sum(len(name) + 1 for name in protocol.stream_names(symbol))


class Feed:
    """One symbol's state on the wire, across connections. Written by the reader thread carrying the symbol; read
    by the symbol's StreamActor (status) and the hub."""

    def __init__(self, symbol: str):
        self.symbol = symbol
        self.key = symbol.lower()
        """The stream names' prefix: routes frames to this feed."""
        self.actor_ref: pykka.ActorRef | None = None
        """The symbol's StreamActor (set when it starts; a restarted one replaces it)."""
        self.slot: int = -1
        """The connection (hub slot) carrying it."""
        self.state = "connecting"
        self.down_since: float | None = time.monotonic()
        """Monotonic time since which the symbol's streams have not been live; None while connected."""
        self.last_id: int | None = None
        self.last_trade_ms: int | None = None
        self.last_message_at: float | None = None
        self.live_since_ms: int | None = None
        """When the symbol's streams first went live (wall clock, ms): trades from then on are ours to keep."""
        self.connections = 0
        """Connections that have carried this symbol's streams (opened with it, or subscribed to it)."""
        self.planned_reconnects = 0
        self.malformed = 0
        self.received = 0
        self.duplicates = 0
        self.trades: list[protocol.AggTrade] = []
        """Received in the current drain, not handed over yet."""
        self.diffs: list[protocol.DepthUpdate] = []
        self.trade_observers: list[Callable[[list[protocol.AggTrade]], None]] = []
        """``WatchTrades`` callbacks, called with each list of trades handed over."""
        self.counted = (0, 0)
        self.caught_up_at = float("-inf")

    def down_for(self) -> float:
        since = self.down_since
        return 0.0 if since is None else time.monotonic() - since

    def tell(self, message: object) -> None:
        ref = self.actor_ref
        if ref is None:
            return  # its StreamActor has not started yet: it will ask for what it needs
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            pass  # stopping or being restarted: the restarted actor resyncs its book


class Connection(NamedTuple):
    ws: websocket.WebSocket
    """websocket-client's connection: handshake, TLS, and the frames we send (pong, close, control)."""
    splitter: FrameSplitter
    poller: select.poll


class StreamFailure(Exception):
    """A connection attempt or an open connection failed; the reader retries with backoff."""


def _pending(sock) -> int:
    """Decrypted bytes waiting in the SSL object (a plain socket has none): ``poll`` cannot see them."""
    pending = getattr(sock, "pending", None)
    return pending() if pending is not None else 0


class MuxReader:
    """The thread of one multiplexed connection (hub slot ``slot``). ``run`` is the thread body."""

    def __init__(self, slot: int, hub: StreamHub, config: Config, directory: Directory, metrics: Metrics,
                 connect_limit: SlidingWindowLimit, ssl_context: ssl.SSLContext | None = None):
        self.slot = slot
        self.name = f"Reader-{slot}"
        self.hub = hub
        self.config = config
        self.directory = directory
        self.metrics = metrics
        self.connect_limit = connect_limit
        self.sslopt = {"context": ssl_context} if ssl_context is not None else None
        self.stopping = threading.Event()
        self.actor_ref: pykka.ActorRef | None = None
        """The ConnectionActor that owns this thread (told ``ThreadDied``)."""
        self.lock = threading.Lock()
        """Held by a drain and its hand-over: a symbol removed under it has nothing left in the reader."""
        self.routes: dict[str, Feed] = {}
        """Symbols whose frames this connection routes now (by lower-case stream prefix)."""
        self.subscribed: set[str] = set()
        """Symbols live on the connection or asked for (in the URL, or SUBSCRIBE sent)."""
        self._awaiting: dict[int, list[Feed]] = {}
        """SUBSCRIBE ids sent and not answered yet, with their symbols."""
        self._control: list[tuple[str, list[str], list[Feed]]] = []
        """Control frames waiting for their turn: (method, symbols' stream prefixes, feeds to subscribe)."""
        self._sent_at: list[float] = []
        self._next_id = 1
        self._wake_r, self._wake_w = os.pipe()
        self._pipe_lock = threading.Lock()
        self._pipe_closed = False
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.state = "starting"
        self.url = ""
        self.connections = 0
        self.drains = 0
        self.malformed = 0
        """Malformed frames on this connection, whether or not their symbol could be told."""
        self.unrouted = 0
        """Frames of symbols no longer routed here (between an UNSUBSCRIBE and its effect)."""
        self.control_sent = 0
        self.control_errors = 0
        self.last_message_at: float | None = None
        self.died: str | None = None
        self.crash: str | None = None
        """Set by ``InjectFailure(thread=True)``: the next drain raises this, as a bug in the reader would."""
        self._rotate_reason: str | None = None
        self._conn: Connection | None = None
        self._last_drain_bytes = 0
        self._view = memoryview(bytearray(RECV_BYTES))
        self._lost_at = float("-inf")

    # --- called from other threads --------------------------------------------------------------------

    def wake(self) -> None:
        """The hub changed this connection's symbols: apply the change now."""
        with self._pipe_lock:
            if self._pipe_closed:
                return  # a stopped reader: its successor reads the symbols when it connects
            try:
                os.write(self._wake_w, b"x")
            except BlockingIOError:
                pass  # already woken

    def forget(self, feed: Feed) -> None:
        """Stop routing ``feed`` at once (its StreamActor stops); UNSUBSCRIBE follows in the reader's thread."""
        with self.lock:
            self.routes.pop(feed.key, None)
        self.wake()

    def stop(self) -> None:
        self.stopping.set()
        self.wake()
        conn = self._conn
        if conn is not None:
            try:
                conn.ws.abort()  # wakes poll() at once
            except Exception:
                pass

    def close_pipe(self) -> None:
        """After the thread ended: the wake-up pipe's descriptors are closed (never written to again)."""
        with self._pipe_lock:
            self._pipe_closed = True
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)

    # --- thread body ----------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                if not self.hub.symbols_of(self.slot):
                    self.state = "idle"
                    self._wait_for_change(None)
                    continue
                retrying = tenacity.Retrying(
                    wait=tenacity.wait_exponential_jitter(
                        multiplier=self.config.backoff_initial, max=self.config.backoff_max,
                        jitter=self.config.backoff_initial,
                    ),
                    retry=tenacity.retry_if_exception_type(StreamFailure),
                    stop=lambda _state: self.stopping.is_set(),
                    sleep=self._sleep,
                    before_sleep=self._before_retry,
                    reraise=True,
                )
                try:
                    retrying(self._session)
                except StreamFailure:
                    pass  # stopping
        except Exception as exc:
            self.died = f"{type(exc).__name__}: {exc}"
            log.exception("thread %s died", self.name)
            self.metrics.thread_deaths.labels(self.name).inc()
            self._lose_all(f"reader died: {self.died}")
            if self.actor_ref is not None:
                try:
                    self.actor_ref.tell(ThreadDied(self.name, self.died))
                except pykka.ActorDeadError:
                    pass
        finally:
            self.state = "stopped" if self.died is None else "dead"

    def _sleep(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    def _before_retry(self, retry_state: tenacity.RetryCallState) -> None:
        self.state = "reconnecting"
        log.info("%s: retrying the WebSocket connection in %.1fs", self.name, retry_state.upcoming_sleep)
        feeds = self.hub.symbols_of(self.slot)
        every = max(CATCH_UP_WHILE_DOWN_SECONDS, float(len(feeds)))
        now = time.monotonic()
        for feed in feeds:
            feed.state = "reconnecting"
            if now - feed.caught_up_at >= every:
                self._catch_up(feed, "stream down")

    def _catch_up(self, feed: Feed, reason: str, first: bool = False) -> None:
        """``first``: the symbol just went live for the first time (the catch-up starts at the last stored id of an
        earlier run, if any; nothing since it went live can be missing yet)."""
        feed.caught_up_at = time.monotonic()
        since = None if first else feed.live_since_ms
        self.directory.tell("backfill", CatchUp(feed.symbol, reason, feed.last_id, since))

    def _wait_for_change(self, timeout: float | None) -> None:
        """Block until the hub wakes this reader (or ``timeout``): no symbols, nothing to connect."""
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        poller.poll(None if timeout is None else int(timeout * 1000))
        self._clear_wake()

    def _clear_wake(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _connect(self, feeds: list[Feed]) -> Connection:
        if not self.connect_limit.acquire(self.stopping):
            raise StreamFailure("stopping")
        names = [name for feed in feeds for name in protocol.stream_names(feed.symbol)]
        self.url = f"{self.config.ws_url.rstrip('/')}/stream?streams={'/'.join(names)}"
        try:
            ws = websocket.create_connection(self.url, timeout=CONNECT_TIMEOUT, skip_utf8_validation=True,
                                             sslopt=self.sslopt)
        except NETWORK_ERRORS as exc:
            for feed in feeds:
                self.metrics.connection_failures.labels(feed.symbol).inc()
            log.error("%s: WebSocket connection for %s failed: %s", self.name, _names(feeds),
                      exc or type(exc).__name__)
            raise StreamFailure(str(exc)) from None
        sock = ws.sock
        assert sock is not None  # connected
        sock.setblocking(False)
        poller = select.poll()
        poller.register(sock, POLL_EVENTS)
        poller.register(self._wake_r, select.POLLIN)
        self.connections += 1
        log.info("%s: WebSocket connected: %s", self.name, _names(feeds))
        return Connection(ws, FrameSplitter(), poller)

    def _went_live(self, feeds: list[Feed], reason: str | None) -> None:
        """These symbols' streams are live on the current connection: state, counters, one catch-up each (None:
        none; a planned replacement leaves no hole)."""
        for feed in feeds:
            reconnected = feed.connections > 0
            if feed.live_since_ms is None:
                feed.live_since_ms = int(time.time() * 1000)
            feed.connections += 1
            if reconnected:
                self.metrics.reconnects.labels(feed.symbol).inc()
            feed.state = "connected"
            feed.down_since = None
            feed.last_message_at = time.monotonic()
            if reason is not None:
                self._catch_up(feed, "reconnected" if reconnected and reason == "connected" else reason,
                               first=not reconnected)

    def _session(self) -> None:
        """One connection (or a chain of planned replacements) from open to close.

        Returns if the connection was healthy (the backoff resets), raises StreamFailure otherwise.
        """
        if self.stopping.is_set():
            return
        self._clear_wake()  # before reading the symbols: a change after this read wakes the loop below
        feeds = self.hub.symbols_of(self.slot)
        if not feeds:
            return
        self.state = "connecting" if self.connections == 0 else "reconnecting"
        conn = self._conn = self._connect(feeds)
        with self.lock:
            self.routes = {feed.key: feed for feed in feeds}
        self.subscribed = {feed.key for feed in feeds}
        self._awaiting.clear()
        self._control.clear()
        self._went_live(feeds, "connected")
        opened = time.monotonic()
        self.last_message_at = opened
        self.state = "connected"
        got_data = False
        self._last_drain_bytes = 0
        try:
            while not self.stopping.is_set():
                now = time.monotonic()
                if self._rotate_reason or now - opened > self.config.connection_lifetime:
                    conn = self._rotate(conn, self._rotate_reason or "connection lifetime reached")
                    opened = now = time.monotonic()
                if not self.routes and not self._control and not self.hub.symbols_of(self.slot):
                    log.info("%s: no symbols left; closing the connection", self.name)
                    break
                deadline = min(self.last_message_at + self.config.stream_timeout,
                               opened + self.config.connection_lifetime)
                if self._control:
                    deadline = min(deadline, self._control_due())
                readable, woken = self._wait(conn, deadline - now)
                if woken:
                    self._clear_wake()
                    self._apply_changes()
                if self._control:
                    self._send_control(conn)
                if not readable:
                    if time.monotonic() - self.last_message_at > self.config.stream_timeout and self.routes:
                        raise StreamFailure(f"no data message for {self.config.stream_timeout:g}s (stalled)")
                    continue
                if self._last_drain_bytes < GATHER_BELOW_BYTES and self.stopping.wait(GATHER_SECONDS):
                    break
                if self._drain(conn):
                    got_data = True
                    self.last_message_at = time.monotonic()
        except StreamFailure as exc:
            self._fail(str(exc))
        except NETWORK_ERRORS as exc:
            if not self.stopping.is_set():
                self._fail(f"connection lost: {exc or type(exc).__name__}")
        finally:
            self._close(self._conn or conn)
        if self.stopping.is_set() or not self.hub.symbols_of(self.slot):
            return
        if got_data and time.monotonic() - opened >= HEALTHY_SECONDS:
            self.state = "reconnecting"
            return
        raise StreamFailure("connection ended before it was healthy")

    def _wait(self, conn: Connection, timeout: float) -> tuple[bool, bool]:
        """Block until the connection has something to read, the hub woke us, or ``timeout`` seconds pass:
        (readable, woken)."""
        if _pending(conn.ws.sock):
            return True, False
        events = conn.poller.poll(max(0, int(timeout * 1000) + 1))
        woken = any(fd == self._wake_r for fd, _ in events)
        return len(events) > woken, woken

    # --- subscriptions on a live connection -------------------------------------------------------------

    def _apply_changes(self) -> None:
        """Compare the hub's symbols for this connection with the subscribed ones; queue SUBSCRIBE/UNSUBSCRIBE."""
        wanted = {feed.key: feed for feed in self.hub.symbols_of(self.slot)}
        removed = [key for key in self.subscribed if key not in wanted]
        added = {key: feed for key, feed in wanted.items() if key not in self.subscribed}
        if removed:
            with self.lock:
                for key in removed:
                    self.routes.pop(key, None)
            self.subscribed.difference_update(removed)
            self._control.extend(("UNSUBSCRIBE", keys, []) for keys in _chunks(removed))
        if added:
            self.subscribed.update(added)
            self._control.extend(("SUBSCRIBE", keys, [added[key] for key in keys]) for keys in _chunks(list(added)))

    def _control_due(self) -> float:
        """When the next control frame may be sent (monotonic)."""
        window = [t for t in self._sent_at if t > time.monotonic() - 1.0]
        self._sent_at = window
        return time.monotonic() if len(window) < CONTROL_PER_SECOND else window[0] + 1.0

    def _send_control(self, conn: Connection) -> None:
        while self._control and self._control_due() <= time.monotonic():
            method, keys, feeds = self._control.pop(0)
            if method == "SUBSCRIBE":  # a symbol removed before its turn is not subscribed
                feeds = [feed for feed in feeds if feed.key in self.subscribed]
                keys = [feed.key for feed in feeds]
                if not keys:
                    continue
            names = [name for key in keys for name in protocol.stream_names(key)]
            request_id = self._next_id
            self._next_id += 1
            conn.ws.send(orjson.dumps({"method": method, "params": names, "id": request_id}).decode())
            self._sent_at.append(time.monotonic())
            self.control_sent += 1
            if method == "SUBSCRIBE":
                self._awaiting[request_id] = feeds
                with self.lock:
                    for feed in feeds:
                        self.routes[feed.key] = feed
            log.info("%s: %s %d streams (id %d)", self.name, method, len(names), request_id)

    def _on_reply(self, d: dict) -> None:
        request_id = d.get("id")
        feeds = self._awaiting.pop(request_id, None) if type(request_id) is int else None
        if "error" in d:
            self.control_errors += 1
            log.error("%s: request %s refused: %s", self.name, request_id, d["error"])
            if feeds:  # not subscribed: retried at the next connection, which has them in its URL
                with self.lock:
                    for feed in feeds:
                        self.routes.pop(feed.key, None)
                        feed.state = "subscribe refused"
                self.subscribed.difference_update(feed.key for feed in feeds)
            return
        if feeds:
            self._went_live([feed for feed in feeds if feed.key in self.routes], "subscribed")

    # --- reading ------------------------------------------------------------------------------------------

    def _drain(self, conn: Connection, draining: bool = False) -> int:
        """Read everything available now (up to a buffer's worth), then route every message in it and hand over;
        the number of data messages. Raises StreamFailure if the server closed the connection."""
        if self.crash:
            raise RuntimeError(self.crash)
        sock, view = conn.ws.sock, self._view
        assert sock is not None
        size = 0
        closed = False
        while size < RECV_BYTES:
            try:
                n = sock.recv_into(view[size:])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                break
            if not n:
                closed = True
                break
            size += n
        self.drains += 1
        self._last_drain_bytes = size
        messages = 0
        if size:
            with self.lock:
                touched: dict[str, Feed] = {}
                oldest = None
                for opcode, payload in conn.splitter.feed(bytes(view[:size])):
                    if opcode in (OP_TEXT, OP_BINARY):
                        messages += 1
                        at = self._on_frame(payload, touched, draining)
                        if at is not None and (oldest is None or at < oldest):
                            oldest = at
                    elif opcode == OP_PING:
                        conn.ws.pong(payload)
                    elif opcode == OP_CLOSE:
                        closed = True
                        break
                self._handoff(touched)
                if oldest is not None:
                    self.metrics.receive_lag.observe(max(0.0, time.time() - oldest / 1000))
        if closed:
            raise StreamFailure("connection closed by the server")
        return messages

    def _on_frame(self, payload: bytes, touched: dict[str, Feed], draining: bool) -> int | None:
        """Route one data frame; the event time it carries (ms), if any."""
        try:
            d = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return self._malformed(None, f"not JSON: {exc}", payload)
        if type(d) is not dict:
            return self._malformed(None, "not a JSON object", payload)
        stream = d.get("stream")
        if stream is None:
            if "id" in d and ("result" in d or "error" in d):
                self._on_reply(d)
                return None
            return self._malformed(None, "neither a stream message nor a reply", payload)
        if type(stream) is not str:
            return self._malformed(None, "stream name is not a string", payload)
        if stream[0] == "!":
            if stream == "!serverShutdown" and not draining:
                self._rotate_reason = "serverShutdown"
            return None
        feed = self.routes.get(stream.partition("@")[0])
        if feed is None:
            self.unrouted += 1
            return None
        try:
            event = protocol.parse_payload(d.get("data"), stream, payload)
        except protocol.MalformedFrame as exc:
            return self._malformed(feed, str(exc), payload)
        kind = type(event)
        if kind is protocol.AggTrade:
            if feed.last_id is not None and event.a <= feed.last_id:  # type: ignore[union-attr]
                feed.duplicates += 1
                return None
            feed.last_id = event.a  # type: ignore[union-attr]
            feed.last_trade_ms = event.T  # type: ignore[union-attr]
            feed.received += 1
            feed.trades.append(event)  # type: ignore[arg-type]
            touched[feed.key] = feed
            return event.T  # type: ignore[union-attr]
        if kind is protocol.DepthUpdate:
            feed.diffs.append(event)  # type: ignore[arg-type]
            touched[feed.key] = feed
            return event.E  # type: ignore[union-attr]
        return None

    def _malformed(self, feed: Feed | None, reason: str, payload: bytes) -> int | None:
        """Log and count a frame skipped; None (no event time), for ``_on_frame`` to return. A frame whose stream
        name can still be read (a truncated envelope) counts for its symbol too."""
        self.malformed += 1
        self.metrics.connection_frames_malformed.labels(str(self.slot)).inc()
        if feed is None and (match := STREAM_PREFIX.match(payload)) is not None:
            feed = self.routes.get(match.group(1).decode())
        if feed is not None:
            feed.malformed += 1
            self.metrics.frames_malformed.labels(feed.symbol).inc()
        log.warning("%s: malformed frame skipped (%s): %.200r", self.name, reason,
                    payload.decode("utf-8", "replace"))
        return None

    def _handoff(self, touched: dict[str, Feed]) -> None:
        """One message per symbol with diffs to its StreamActor, one message with every symbol's trades to the
        BufferActor; counters in bulk (a Prometheus inc per trade would cost more than the parse)."""
        batch, diffs_to = [], []
        now = time.monotonic()
        for feed in touched.values():
            feed.last_message_at = now
            if feed.diffs:
                diffs, feed.diffs = feed.diffs, []
                if feed.actor_ref is not None:
                    diffs_to.append((feed.actor_ref, Diffs(diffs, feed.received)))
            if feed.trades:
                trades, feed.trades = feed.trades, []
                for callback in feed.trade_observers:
                    callback(trades)
                batch.append(Trades(feed.symbol, trades))
            received, duplicates = feed.counted
            if feed.received != received:
                self.metrics.trades_received.labels(feed.symbol).inc(feed.received - received)
            if feed.duplicates != duplicates:
                self.metrics.duplicates_dropped.labels(feed.symbol).inc(feed.duplicates - duplicates)
            feed.counted = (feed.received, feed.duplicates)
        if diffs_to:
            tell_many(diffs_to)  # the StreamActors that were idle are scheduled in one go
        if batch:
            self.directory.tell("buffer", TradeBatch(batch))

    # --- replacing and losing connections -----------------------------------------------------------------

    def _rotate(self, old: Connection, reason: str) -> Connection:
        """Planned reconnect: open the new connection (every symbol in its URL) first, drain the old one briefly,
        then close it. If the new one cannot be opened, the old one is kept until it dies (then the backoff)."""
        self._rotate_reason = None
        feeds = self.hub.symbols_of(self.slot)
        log.info("%s: planned reconnect (%s): opening the new connection with %d symbols before closing the old",
                 self.name, reason, len(feeds))
        try:
            new = self._connect(feeds)
        except StreamFailure:
            return old
        deadline = time.monotonic() + ROTATE_DRAIN_SECONDS
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                readable, woken = self._wait(old, remaining)
                if woken:
                    self._clear_wake()  # applied below, on the new connection
                if readable:
                    self._drain(old, draining=True)
        except (StreamFailure, *NETWORK_ERRORS):
            pass
        self._close(old)
        with self.lock:
            self.routes = {feed.key: feed for feed in feeds}
        self.subscribed = {feed.key for feed in feeds}
        self._awaiting.clear()
        self._control.clear()
        for feed in feeds:
            feed.planned_reconnects += 1
        self._went_live(feeds, None)
        self._conn = new
        self._apply_changes()  # anything the hub changed meanwhile
        return new

    def _fail(self, reason: str) -> None:
        if self.stopping.is_set():
            return  # our own stop closed the socket: not a failure
        log.error("%s: WebSocket of %s: %s", self.name, _names(list(self.routes.values())), reason)
        self._lose_all(reason)
        raise StreamFailure(reason)

    def _lose_all(self, reason: str) -> None:
        """The connection is gone: every symbol on it has a hole in its diff stream (its book resyncs) and trades
        to catch up once it is back."""
        now = time.monotonic()
        with self.lock:
            feeds, self.routes = list(self.routes.values()), {}
        self.subscribed = set()
        for feed in feeds:
            self.metrics.connection_failures.labels(feed.symbol).inc()
            feed.state = "reconnecting"
            if feed.down_since is None:
                feed.down_since = now
            feed.tell(ConnectionLost(reason))

    def _close(self, conn: Connection) -> None:
        if self._conn is conn:
            self._conn = None
        try:
            conn.ws.send_close()
        except Exception:
            pass
        try:
            conn.ws.abort()
            conn.ws.close(timeout=0)
        except Exception:
            pass


def _names(feeds: list[Feed]) -> str:
    """The symbols of a log line: all of a few, the first five of many (and how many)."""
    names = ", ".join(feed.symbol for feed in feeds[:5])
    return names if len(feeds) <= 5 else f"{len(feeds)} symbols ({names}, ...)"


def _chunks(keys: list[str]):
    """Symbols' stream prefixes in groups whose control frame stays within ``CONTROL_FRAME_BYTES`` (the frame's
    envelope ~60 bytes, each stream name quoted with a comma)."""
    chunk: list[str] = []
    size = 60
    for key in keys:
        cost = sum(len(name) + 3 for name in protocol.stream_names(key))
        if chunk and size + cost > CONTROL_FRAME_BYTES:
            yield chunk
            chunk, size = [], 60
        chunk.append(key)
        size += cost
    if chunk:
        yield chunk
