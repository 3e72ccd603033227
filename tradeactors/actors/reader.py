"""The blocking half of a StreamActor: one symbol's WebSocket connection, run in its own thread.

It connects with websocket-client (tenacity backoff, reset after a healthy connection; one process-wide limit on
connection attempts), reads the socket in large blocks cut into frames by ``wsframes`` (pings answered through
websocket-client), parses them, drops trades already seen and hands trades to the BufferActor in lists; depth
diffs and connection losses go to its StreamActor. A data watchdog replaces a connection that has been silent for
``stream_timeout``; planned reconnects open the new connection before closing the old. Each connection, and a
reconnection attempt at most every 10 s while down, asks the BackfillActor to catch up from REST. See ``stream.py``.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from typing import NamedTuple

import pykka
import tenacity
import websocket

from tradeactors import protocol
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import CatchUp, ConnectionLost, Depth, Trades
from tradeactors.config import Config
from tradeactors.connlimit import SlidingWindowLimit
from tradeactors.metrics import Metrics
from tradeactors.wsframes import OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, FrameSplitter, ProtocolError

log = logging.getLogger(__name__)

HANDOFF_TRADES = 500
"""Hand trades over once this many are pending..."""
HANDOFF_SECONDS = 0.05
"""...or this long after the previous hand-over, whichever comes first."""
RECV_POLL_SECONDS = 0.25
"""Socket timeout: how often a silent connection checks the watchdog and hands over what it holds."""
HEALTHY_SECONDS = 5.0
"""A connection that delivered data for this long resets the backoff."""
CATCH_UP_WHILE_DOWN_SECONDS = 10.0
"""While a stream is down, its tail is fetched from REST before a reconnection attempt at most this often."""
ROTATE_DRAIN_SECONDS = 1.0
"""On a planned reconnect, how long the old connection is still read after the new one is open."""


RECV_BYTES = 256 * 1024
"""Bytes asked of the socket per read: hundreds of frames per system call at high rates."""
COALESCE_BELOW_BYTES = 64 * 1024
"""A read shorter than this means the market is quiet enough to let frames gather in the socket..."""
COALESCE_SECONDS = 0.1
"""...for this long before the next read. At Binance's usual rates (tens to hundreds of frames a second per symbol)
a wake-up per frame costs more CPU than the frame itself (measured: 2 symbols at 100 trades/s, the readers took
1.7 % of a core reading each frame, 1.15 % gathering for 50 ms, 0.55 % for 100 ms). Gathering for 100 ms, the
depth stream's own interval, caps wake-ups at 10 a second per symbol and delays a frame by at most 100 ms (trades
are flushed once a second); it never limits throughput: a busy socket returns long reads, read again at once."""


class Connection(NamedTuple):
    ws: websocket.WebSocket
    """websocket-client's connection: handshake, TLS, and the frames we send (pong, close)."""
    splitter: FrameSplitter
    """Cuts what we read from ``ws.sock`` into messages."""


class StreamFailure(Exception):
    """A connection attempt or an open connection failed; the reader retries with backoff."""


class StreamReader:
    """The blocking half of the StreamActor: connection, receive loop, parsing. Runs in its own thread."""

    def __init__(self, symbol: str, config: Config, directory: Directory, metrics: Metrics,
                 connect_limit: SlidingWindowLimit):
        self.symbol = symbol
        self.config = config
        self.directory = directory
        self.metrics = metrics
        self.connect_limit = connect_limit
        self.url = protocol.combined_stream_url(config.ws_url, symbol)
        self.stopping = threading.Event()
        self.state = "starting"
        self.last_id: int | None = None
        self.last_trade_ms: int | None = None
        self.last_message_at: float | None = None
        self.connections = 0
        self.planned_reconnects = 0
        self.malformed = 0
        self.received = 0
        self.duplicates = 0
        self._rotate_reason: str | None = None
        self.actor_ref: pykka.ActorRef | None = None
        self._conn: Connection | None = None
        self._pending: list[protocol.AggTrade] = []
        self._handoff_at = 0.0
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
                    sleep=self.stopping.wait,
                    before_sleep=self._before_retry,
                    reraise=True,
                )
                try:
                    retrying(self._session)
                except StreamFailure:
                    pass  # stopping
        finally:
            self._handoff()
            self.state = "stopped"

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
            ws = websocket.create_connection(self.url, timeout=10, skip_utf8_validation=True)
        except Exception as exc:
            self.metrics.connection_failures.labels(self.symbol).inc()
            log.error("WebSocket connection to %s failed: %s", self.url, exc)
            raise StreamFailure(str(exc)) from None
        ws.settimeout(RECV_POLL_SECONDS)
        self.connections += 1
        if self.connections > 1:
            self.metrics.reconnects.labels(self.symbol).inc()
        log.info("WebSocket connected: %s", self.url)
        return Connection(ws, FrameSplitter())

    def _read(self, conn: Connection, draining: bool = False) -> int:
        """Read one block and handle every message in it; the bytes read, 0 if nothing arrived within the poll time."""
        try:
            data = conn.ws.sock.recv(RECV_BYTES)
        except TimeoutError:
            return 0
        except ssl.SSLWantReadError:
            return 0
        if not data:
            raise StreamFailure("connection closed by the server")
        for opcode, payload in conn.splitter.feed(data):
            if opcode == OP_TEXT or opcode == OP_BINARY:
                self._on_frame(payload, draining)
            elif opcode == OP_PING:
                conn.ws.pong(payload)
            elif opcode == OP_CLOSE:
                raise StreamFailure("server closed the connection")
        return len(data)

    def _session(self) -> None:
        """One connection (or a chain of planned replacements) from open to close.

        Returns if the connection was healthy (the backoff resets), raises StreamFailure otherwise.
        """
        if self.stopping.is_set():
            return
        self.state = "connecting"
        conn = self._conn = self._connect()
        self._catch_up("connected" if self.connections == 1 else "reconnected")
        opened = time.monotonic()
        self.last_message_at = opened
        self.state = "connected"
        got_data = False
        try:
            while not self.stopping.is_set():
                if self._rotate_reason or time.monotonic() - opened > self.config.connection_lifetime:
                    conn = self._rotate(conn, self._rotate_reason or "connection lifetime reached")
                    opened = time.monotonic()
                read = self._read(conn)
                if read:
                    got_data = True
                    self.last_message_at = now = time.monotonic()
                    if now - self._handoff_at >= HANDOFF_SECONDS:
                        self._handoff()
                    if read < COALESCE_BELOW_BYTES:
                        self.stopping.wait(COALESCE_SECONDS)
                else:
                    self._handoff()
                    if time.monotonic() - self.last_message_at > self.config.stream_timeout:
                        raise StreamFailure(f"no message for {self.config.stream_timeout:g}s (stalled)")
        except StreamFailure as exc:
            self._fail(str(exc))
        except (websocket.WebSocketException, ProtocolError, OSError) as exc:
            if not self.stopping.is_set():
                self._fail(f"connection lost: {exc or type(exc).__name__}")
        finally:
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
            while time.monotonic() < deadline:
                self._read(old, draining=True)
        except (StreamFailure, websocket.WebSocketException, ProtocolError, OSError):
            pass
        self._close(old)
        self._conn = new
        return new

    def _fail(self, reason: str) -> None:
        self.metrics.connection_failures.labels(self.symbol).inc()
        log.error("WebSocket %s: %s", self.symbol, reason)
        if self.stopping.is_set():
            return
        self._tell_actor(ConnectionLost(reason))
        raise StreamFailure(reason)

    def _tell_actor(self, message) -> None:
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
        self._handoff_at = time.monotonic()
        if self._pending:
            trades, self._pending = self._pending, []
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

    def stop(self) -> None:
        self.stopping.set()
        conn = self._conn
        if conn is not None:
            try:
                conn.ws.abort()  # unblocks recv() at once: no wait on a select timeout
            except Exception:
                pass
