"""StreamActor: one per symbol; owns that symbol's WebSocket connection and its local order book.

Owns: the combined-stream connection ``/stream?streams=<s>@aggTrade/<s>@depth@100ms``, run by a reader thread
(blocking I/O never runs inside ``on_receive``), the symbol's ``BookSync`` (book + Binance's sync procedure),
and the symbol's connection statistics.

Reader thread: connects with websocket-client (tenacity backoff, 1 s doubling to ``backoff_max`` with jitter,
reset after a healthy connection), reads the socket in large blocks cut into frames by ``wsframes`` (pings
answered through websocket-client), parses them with ``protocol.parse_frame``, drops trades already seen
(id <= the last id) and hands trades to the BufferActor in lists (a tell per frame costs as much as a tell of a
hundred trades); depth diffs go to this actor, one tell each (10 per second). A data watchdog reconnects when
nothing arrives for ``stream_timeout``: a stalled server still answers pings. Malformed frames are logged (cut
short), counted and skipped. Planned reconnects (``connection_lifetime`` reached, ``serverShutdown``) open the
new connection before closing the old one; the depth sequence continues across them. Connection attempts of the
whole process share one limit (Binance: 300 per 5 minutes per IP).

Actor thread (the book): ``Depth`` -> ``BookSync.on_diff``; a needed snapshot is asked of the SnapshotActor
(``FetchSnapshot``) and arrives as ``SnapshotFetched``; ``ConnectionLost`` discards the book (the diff stream
has a hole) until it resyncs. ``TakeSnapshot`` (its ticker, on each wall-clock second) sends the top
``snapshot_levels`` to the BufferActor while synced; a second out of sync is counted, never stored.

Messages: ``Depth``, ``SnapshotFetched``, ``ConnectionLost``, ``TakeSnapshot`` (tells, see above);
``GetBook`` (ask) -> live top levels, update id, age, sync state; ``GetStatus`` (ask) -> dict;
``WatchBook`` (ask): a diagnostic observer of every applied diff; ``InjectFailure`` (tell): raises.
Tells: ``Trades`` and ``Snapshot`` to the BufferActor, ``FetchSnapshot`` to the SnapshotActor.
on_start: starts the reader thread and the snapshot ticker. on_stop: stops them (closing the socket at once,
not waiting on a select timeout) after the reader has handed over every trade it holds, then sends a final
snapshot. on_failure: the reader and the ticker are stopped; the restarted actor resyncs its book.
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
from tradeactors.actors.messages import (
    ConnectionLost, Depth, FetchSnapshot, GetBook, GetStatus, InjectFailure, Snapshot, SnapshotFetched, TakeSnapshot,
    Trades, WatchBook,
)
from tradeactors.actors.ticker import Ticker
from tradeactors.book import Applied, BookSync, NeedSnapshot, Resync, Synced
from tradeactors.codec import BookSnapshot
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
ROTATE_DRAIN_SECONDS = 1.0
"""On a planned reconnect, how long the old connection is still read after the new one is open."""


RECV_BYTES = 256 * 1024
"""Bytes asked of the socket per read: hundreds of frames per system call at high rates."""


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
                    before_sleep=self._log_retry,
                    reraise=True,
                )
                try:
                    retrying(self._session)
                except StreamFailure:
                    pass  # stopping
        finally:
            self._handoff()
            self.state = "stopped"

    def _log_retry(self, retry_state: tenacity.RetryCallState) -> None:
        self.state = "reconnecting"
        log.info("Retrying WebSocket connection in %.1fs", retry_state.upcoming_sleep)

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

    def _read(self, conn: Connection, draining: bool = False) -> bool:
        """Read one block and handle every message in it; False if nothing arrived within the poll time."""
        try:
            data = conn.ws.sock.recv(RECV_BYTES)
        except TimeoutError:
            return False
        except ssl.SSLWantReadError:
            return False
        if not data:
            raise StreamFailure("connection closed by the server")
        for opcode, payload in conn.splitter.feed(data):
            if opcode == OP_TEXT or opcode == OP_BINARY:
                self._on_frame(payload, draining)
            elif opcode == OP_PING:
                conn.ws.pong(payload)
            elif opcode == OP_CLOSE:
                raise StreamFailure("server closed the connection")
        return True

    def _session(self) -> None:
        """One connection (or a chain of planned replacements) from open to close.

        Returns if the connection was healthy (the backoff resets), raises StreamFailure otherwise.
        """
        if self.stopping.is_set():
            return
        self.state = "connecting"
        conn = self._conn = self._connect()
        opened = time.monotonic()
        self.last_message_at = opened
        self.state = "connected"
        got_data = False
        try:
            while not self.stopping.is_set():
                if self._rotate_reason or time.monotonic() - opened > self.config.connection_lifetime:
                    conn = self._rotate(conn, self._rotate_reason or "connection lifetime reached")
                    opened = time.monotonic()
                if self._read(conn):
                    got_data = True
                    self.last_message_at = now = time.monotonic()
                    if now - self._handoff_at >= HANDOFF_SECONDS:
                        self._handoff()
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


class StreamActor(pykka.ThreadingActor):
    def __init__(self, symbol: str, config: Config, directory: Directory, metrics: Metrics,
                 connect_limit: SlidingWindowLimit):
        super().__init__()
        self.symbol = symbol
        self.config = config
        self.directory = directory
        self.metrics = metrics
        self.reader = StreamReader(symbol, config, directory, metrics, connect_limit)
        # ~100 s of diffs at 10/s: enough to wait for a paced snapshot; each buffered diff costs kilobytes.
        self.sync = BookSync(symbol, depth_limit=config.depth_limit, max_buffered=1000)
        self.last_diff_at: float | None = None
        self.last_event_ms = 0
        self.last_snapshot_second = 0
        self.observers: list = []
        self._thread: threading.Thread | None = None
        self._ticker: Ticker | None = None

    def on_start(self) -> None:
        threading.current_thread().name = f"Stream-{self.symbol}"
        self.reader.actor_ref = self.actor_ref
        self._thread = threading.Thread(target=self.reader.run, name=f"Reader-{self.symbol}", daemon=True)
        self._thread.start()
        self._ticker = Ticker(self.actor_ref, TakeSnapshot(), 1.0, f"Snapshot-{self.symbol}", align=True).start()

    def on_stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
        self._stop_reader()
        self._take_snapshot(final=True)

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        if self._ticker:
            self._ticker.stop()
        self._stop_reader()

    def _stop_reader(self) -> None:
        self.reader.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                log.error("reader thread of %s did not stop within 5s", self.symbol)

    def on_receive(self, message):
        if isinstance(message, Depth):
            self.last_diff_at = time.monotonic()
            self.last_event_ms = message.update.E
            self._handle(self.sync.on_diff(message.update))
        elif isinstance(message, SnapshotFetched):
            self._handle(self.sync.on_snapshot(message.last_update_id, message.bids, message.asks))
        elif isinstance(message, ConnectionLost):
            self._handle(self.sync.reset(f"connection lost: {message.reason}"))
        elif isinstance(message, TakeSnapshot):
            self._take_snapshot()
        elif isinstance(message, GetBook):
            return self._book_view(message.depth)
        elif isinstance(message, WatchBook):
            self.observers.append(message.callback)
        elif isinstance(message, GetStatus):
            r = self.reader
            return {
                "state": r.state,
                "connections": r.connections,
                "planned_reconnects": r.planned_reconnects,
                "trades_received": r.received,
                "duplicates_dropped": r.duplicates,
                "last_trade_id": r.last_id,
                "last_trade_time": r.last_trade_ms,
                "malformed_frames": r.malformed,
                "last_message_age_ms": (round((time.monotonic() - r.last_message_at) * 1000)
                                        if r.last_message_at is not None else None),
                "reader_alive": bool(self._thread and self._thread.is_alive()),
                "book": {"state": self.sync.state, "update_id": self.sync.book.update_id if self.sync.book else None,
                         "resyncs": self.sync.counters["resyncs"], "last_snapshot_second": self.last_snapshot_second,
                         "counters": dict(self.sync.counters)},
            }
        elif isinstance(message, InjectFailure):
            raise RuntimeError(message.reason)
        return None

    def _handle(self, events) -> None:
        for event in events:
            kind = type(event)
            if kind is Applied:
                if self.observers:
                    book = self.sync.book
                    for callback in self.observers:
                        callback(event.update_id, book.best_bid(), book.best_ask())
            elif kind is NeedSnapshot:
                self.directory.tell("snapshots", FetchSnapshot(self.symbol, self.config.depth_limit, event.reason))
            elif kind is Resync:
                self.metrics.book_resyncs.labels(self.symbol, event.reason.split(":")[0]).inc()
                log.info("Book resync for %s: %s", self.symbol, event.reason)
            elif kind is Synced:
                log.info("Book synced for %s at update id %d", self.symbol, event.update_id)

    def _take_snapshot(self, final: bool = False) -> None:
        second = int(time.time())
        book = self.sync.book
        if self.sync.state != "synced" or book is None:
            if not final:
                self.metrics.snapshots_skipped.labels(self.symbol).inc()
            return
        if second <= self.last_snapshot_second:
            if not final:
                return
            # The state at stop must not be lost to the ticker's snapshot of this second: it is stored under the
            # next second, which this process will not reach any more.
            second = self.last_snapshot_second + 1
        bids, asks, p_dec, q_dec = book.top_scaled(self.config.snapshot_levels)
        self.last_snapshot_second = second
        snap = BookSnapshot(self.symbol, second, book.update_id, self.last_event_ms, bids, asks, p_dec, q_dec)
        self.directory.tell("buffer", Snapshot(snap))

    def _book_view(self, depth: int) -> dict:
        book = self.sync.book
        view = {"symbol": self.symbol, "sync_state": self.sync.state, "update_id": None, "age_ms": None,
                "bids": [], "asks": []}
        if self.last_diff_at is not None:
            view["age_ms"] = round((time.monotonic() - self.last_diff_at) * 1000, 1)
        if self.sync.state == "synced" and book is not None:
            bids, asks = book.top(depth)
            view.update(update_id=book.update_id, bids=bids, asks=asks)
        return view
