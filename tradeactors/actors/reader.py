"""The blocking half of a StreamActor: one symbol's WebSocket connection, run in its own thread.

It connects with websocket-client (TLS with the service's trust, tenacity backoff reset after a healthy
connection, one process-wide limit on connection attempts), then reads the socket itself: frames are cut by
``wsframes``, parsed, trades already seen are dropped, trades go to the BufferActor in lists and depth diffs to
its StreamActor (pings are answered through websocket-client). A data watchdog replaces a connection that sent
no data message for ``stream_timeout``; planned reconnects open the new connection before closing the old. Each
connection, and a reconnection attempt at most every 10 s while down, asks the BackfillActor to catch up from REST.

How it reads (the part that must hold over TLS). A TLS ``recv`` returns at most one TLS record, and a real
exchange sends one record per message, so the size of a read says nothing about what is left. The reader asks
instead: is decrypted data pending in the SSL object, or is the socket readable? The socket is non-blocking; a
*drain* reads until neither is true (a read that would block ends it) and only then parses and hands over. With
nothing to read the thread blocks in ``poll`` until the socket is readable or the watchdog's deadline: no timer
polling. At usual rates (tens to hundreds of frames a second) a wake-up per frame costs more CPU than the frame,
so after a small drain the reader lets frames gather for ``GATHER_SECONDS`` before the next one; a large drain
means a busy socket, read again at once.

Any exception other than a network failure (which is retried) ends the thread loudly: it is logged and the
StreamActor is told ``ThreadDied``, so that it fails and the Supervisor restarts it with a fresh reader.
"""

from __future__ import annotations

import http.client
import logging
import select
import ssl
import threading
import time
from typing import NamedTuple

import pykka
import tenacity
import websocket

from tradeactors import protocol
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import CatchUp, ConnectionLost, Depth, ThreadDied, Trades
from tradeactors.config import Config
from tradeactors.connlimit import SlidingWindowLimit
from tradeactors.metrics import Metrics
from tradeactors.wsframes import OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, FrameSplitter, ProtocolError

log = logging.getLogger(__name__)

HANDOFF_TRADES = 1000
"""A drain hands its trades over in lists of at most this many (one tell each)."""
HEALTHY_SECONDS = 5.0
"""A connection that delivered data for this long resets the backoff."""
CATCH_UP_WHILE_DOWN_SECONDS = 10.0
"""While a stream is down, its tail is fetched from REST before a reconnection attempt at most this often."""
ROTATE_DRAIN_SECONDS = 1.0
"""On a planned reconnect, how long the old connection is still read after the new one is open."""
CONNECT_TIMEOUT = 10.0
"""Seconds for the TCP connect, the TLS handshake and the WebSocket upgrade together (websocket-client)."""

RECV_BYTES = 256 * 1024
"""The reader's buffer: a drain reads at most this much before it parses and hands over (then drains again at
once). Over plaintext one read fills it with hundreds of frames; over TLS each read appends one record (reading
into one preallocated buffer costs ~5 us a record against ~9-20 us for ``recv(256 KB)``, which allocates and
shrinks a 256 KB object per record)."""
GATHER_BELOW_BYTES = 64 * 1024
"""A drain smaller than this means the market is quiet enough to let frames gather before the next drain..."""
GATHER_SECONDS = 0.1
"""...for this long. Measured over plaintext (2 symbols at 100 trades/s): readers took 1.7 % of a core waking
per frame, 0.55 % gathering 100 ms. 100 ms is the depth stream's own interval; a frame waits at most that long
(trades are flushed once a second anyway), and throughput is never capped: each drain reads everything."""
POLL_EVENTS = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP
NETWORK_ERRORS = (websocket.WebSocketException, ProtocolError, OSError, http.client.HTTPException)
"""Failures of the connection (OSError covers resets, timeouts and ssl.SSLError): retried with backoff."""


class Connection(NamedTuple):
    ws: websocket.WebSocket
    """websocket-client's connection: handshake, TLS, and the frames we send (pong, close)."""
    splitter: FrameSplitter
    """Cuts what we read from ``ws.sock`` into messages."""
    poller: select.poll
    """Readiness of ``ws.sock``; TLS bytes already decrypted are seen by ``pending()`` instead."""


class StreamFailure(Exception):
    """A connection attempt or an open connection failed; the reader retries with backoff."""


def _pending(sock) -> int:
    """Decrypted bytes waiting in the SSL object (a plain socket has none): ``poll`` cannot see them."""
    pending = getattr(sock, "pending", None)
    return pending() if pending is not None else 0


class StreamReader:
    """The blocking half of the StreamActor: connection, receive loop, parsing. Runs in its own thread."""

    def __init__(self, symbol: str, config: Config, directory: Directory, metrics: Metrics,
                 connect_limit: SlidingWindowLimit, ssl_context: ssl.SSLContext | None = None):
        self.symbol = symbol
        self.config = config
        self.directory = directory
        self.metrics = metrics
        self.connect_limit = connect_limit
        self.sslopt = {"context": ssl_context} if ssl_context is not None else None
        self.url = protocol.combined_stream_url(config.ws_url, symbol)
        self.stopping = threading.Event()
        self.state = "starting"
        self.down_since: float | None = time.monotonic()
        """Monotonic time since which the stream has had no open connection; None while connected."""
        self.last_id: int | None = None
        self.last_trade_ms: int | None = None
        self.last_message_at: float | None = None
        self.connections = 0
        self.planned_reconnects = 0
        self.malformed = 0
        self.received = 0
        self.duplicates = 0
        self.drains = 0
        """Drains so far: each is one wake-up of the thread that found data (the CPU cost at usual rates)."""
        self.died: str | None = None
        """Why the thread ended on an unexpected exception (None while it runs or after a normal stop)."""
        self.crash: str | None = None
        """Set by ``InjectFailure(thread=True)``: the next drain raises this, as a bug in the reader would."""
        self._last_drain_bytes = 0
        self._view = memoryview(bytearray(RECV_BYTES))
        self.trade_observers: list = []
        """``WatchTrades`` callbacks, called with each list of trades handed over."""
        self._rotate_reason: str | None = None
        self.actor_ref: pykka.ActorRef | None = None
        self._conn: Connection | None = None
        self._pending: list[protocol.AggTrade] = []
        self._counted = (0, 0)
        self._catch_up_at = float("-inf")

    # --- thread body ----------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
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
            log.exception("thread Reader-%s died", self.symbol)
            self.metrics.thread_deaths.labels(f"Reader-{self.symbol}").inc()
            self._tell_actor(ThreadDied(f"Reader-{self.symbol}", self.died))
        finally:
            self._handoff()
            self.state = "stopped" if self.died is None else "dead"

    def _sleep(self, seconds: float) -> None:
        """tenacity's sleep between attempts: a wait that a stop ends at once."""
        self.stopping.wait(seconds)

    def _before_retry(self, retry_state: tenacity.RetryCallState) -> None:
        self.state = "reconnecting"
        log.info("Retrying WebSocket connection in %.1fs", retry_state.upcoming_sleep)
        if time.monotonic() - self._catch_up_at >= CATCH_UP_WHILE_DOWN_SECONDS:
            self._catch_up("stream down")

    def _catch_up(self, reason: str) -> None:
        """Ask the BackfillActor to fetch from REST what was published since the last stored trade."""
        self._catch_up_at = time.monotonic()
        self.directory.tell("backfill", CatchUp(self.symbol, reason, self.last_id))

    def _connect(self) -> Connection:
        if not self.connect_limit.acquire(self.stopping):
            raise StreamFailure("stopping")
        try:
            ws = websocket.create_connection(self.url, timeout=CONNECT_TIMEOUT, skip_utf8_validation=True,
                                             sslopt=self.sslopt)
        except NETWORK_ERRORS as exc:
            self.metrics.connection_failures.labels(self.symbol).inc()
            log.error("WebSocket connection to %s failed: %s", self.url, exc or type(exc).__name__)
            raise StreamFailure(str(exc)) from None
        sock = ws.sock
        assert sock is not None  # connected
        sock.setblocking(False)  # reads stop where they would block; pongs are a few bytes
        poller = select.poll()
        poller.register(sock, POLL_EVENTS)
        self.connections += 1
        if self.connections > 1:
            self.metrics.reconnects.labels(self.symbol).inc()
        log.info("WebSocket connected: %s", self.url)
        return Connection(ws, FrameSplitter(), poller)

    def _wait(self, conn: Connection, timeout: float) -> bool:
        """Block until the connection has something to read or ``timeout`` seconds pass; True if readable."""
        if _pending(conn.ws.sock):
            return True
        return bool(conn.poller.poll(max(0, int(timeout * 1000) + 1)))

    def _drain(self, conn: Connection, draining: bool = False) -> int:
        """Read everything available now (up to a buffer's worth), then handle every message in it; the number of
        data messages. Raises StreamFailure if the server closed the connection (after handling what came before).
        """
        if self.crash:
            raise RuntimeError(self.crash)
        sock, view = conn.ws.sock, self._view
        assert sock is not None  # closed only by _close, after the last drain
        size = 0
        closed = False
        while size < RECV_BYTES:
            try:
                n = sock.recv_into(view[size:])  # over TLS one record per call, appended without a new buffer
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                break  # nothing more now (over TLS possibly half a record, kept by the SSL object)
            if not n:
                closed = True
                break
            size += n
        self.drains += 1
        self._last_drain_bytes = size
        messages = 0
        if size:
            for opcode, payload in conn.splitter.feed(bytes(view[:size])):
                if opcode in (OP_TEXT, OP_BINARY):
                    messages += 1
                    self._on_frame(payload, draining)
                elif opcode == OP_PING:
                    conn.ws.pong(payload)
                elif opcode == OP_CLOSE:
                    closed = True
                    break
            self._handoff()
        if closed:
            raise StreamFailure("connection closed by the server")
        return messages

    def _session(self) -> None:
        """One connection (or a chain of planned replacements) from open to close.

        Returns if the connection was healthy (the backoff resets), raises StreamFailure otherwise.
        """
        if self.stopping.is_set():
            return
        self.state = "connecting" if self.connections == 0 else "reconnecting"
        conn = self._conn = self._connect()
        self._catch_up("connected" if self.connections == 1 else "reconnected")
        opened = time.monotonic()
        self.last_message_at = opened
        self.state = "connected"
        self.down_since = None
        got_data = False
        self._last_drain_bytes = 0
        try:
            while not self.stopping.is_set():
                now = time.monotonic()
                if self._rotate_reason or now - opened > self.config.connection_lifetime:
                    conn = self._rotate(conn, self._rotate_reason or "connection lifetime reached")
                    opened = now = time.monotonic()
                deadline = min(self.last_message_at + self.config.stream_timeout,
                               opened + self.config.connection_lifetime)
                if not self._wait(conn, deadline - now):
                    if time.monotonic() - self.last_message_at > self.config.stream_timeout:
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
            if self.down_since is None:
                self.down_since = time.monotonic()
            self._close(self._conn or conn)
            self._handoff()
        if self.stopping.is_set():
            return
        if got_data and time.monotonic() - opened >= HEALTHY_SECONDS:
            self.state = "reconnecting"
            return
        raise StreamFailure("connection ended before it was healthy")

    def _rotate(self, old: Connection, reason: str) -> Connection:
        """Planned reconnect: open the new connection first, drain the old one briefly, then close it.

        Trades on both connections are dropped by id (<= the last id seen), so the overlap costs nothing.
        If the new connection cannot be opened, the old one is kept until it dies (then the usual backoff).
        """
        self._rotate_reason = None
        log.info("planned reconnect of %s (%s): opening the new connection before closing the old", self.symbol, reason)
        try:
            new = self._connect()
        except StreamFailure:
            return old
        self.planned_reconnects += 1
        deadline = time.monotonic() + ROTATE_DRAIN_SECONDS
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                if self._wait(old, remaining):
                    self._drain(old, draining=True)
        except (StreamFailure, *NETWORK_ERRORS):
            pass
        self._close(old)
        self._conn = new
        return new

    def _fail(self, reason: str) -> None:
        if self.stopping.is_set():
            return  # our own stop closed the socket: not a failure
        self.metrics.connection_failures.labels(self.symbol).inc()
        log.error("WebSocket %s: %s", self.symbol, reason)
        self._tell_actor(ConnectionLost(reason))
        raise StreamFailure(reason)

    def _tell_actor(self, message: object) -> None:
        assert self.actor_ref is not None, "set by the StreamActor before the thread starts"
        try:
            self.actor_ref.tell(message)
        except pykka.ActorDeadError:
            pass  # the actor is stopping or being restarted; a new reader comes with the new actor

    def _on_frame(self, frame: str | bytes, draining: bool = False) -> None:
        try:
            event = protocol.parse_frame(frame)
        except protocol.MalformedFrame as exc:
            self.malformed += 1
            self.metrics.frames_malformed.labels(self.symbol).inc()
            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            log.warning("malformed frame skipped (%s): %.200r", exc, text)
            return
        if type(event) is protocol.AggTrade:
            if self.last_id is not None and event.a <= self.last_id:
                self.duplicates += 1
                return
            self.last_id = event.a
            self.last_trade_ms = event.T
            self.received += 1
            self._pending.append(event)
            if len(self._pending) >= HANDOFF_TRADES:
                self._handoff()
        elif type(event) is protocol.DepthUpdate:
            self._tell_actor(Depth(event))
        elif type(event) is protocol.ServerShutdown and not draining:
            self._rotate_reason = "serverShutdown"

    def _handoff(self) -> None:
        if self._pending:
            trades, self._pending = self._pending, []
            for callback in self.trade_observers:
                callback(trades)
            self.directory.tell("buffer", Trades(self.symbol, trades))
        # Counters are published in bulk: a Prometheus inc per trade would cost more than the parse.
        received, duplicates = self._counted
        if self.received != received:
            self.metrics.trades_received.labels(self.symbol).inc(self.received - received)
        if self.duplicates != duplicates:
            self.metrics.duplicates_dropped.labels(self.symbol).inc(self.duplicates - duplicates)
        self._counted = (self.received, self.duplicates)

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

    # --- called from other threads --------------------------------------------------------------------

    def down_for(self) -> float:
        """Seconds the stream has been without an open connection (0 while connected)."""
        since = self.down_since
        return 0.0 if since is None else time.monotonic() - since

    def stop(self) -> None:
        self.stopping.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.ws.abort()  # wakes poll() at once: no wait on a deadline
            except Exception:
                pass
