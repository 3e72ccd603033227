"""Who is subscribed to what, and the fast path that writes frames to them; stream-level faults live here.

Runs on the simulator's loop thread only. Frames are written straight to each connection's transport, a batch
per ``writelines`` call, one item per message (see :func:`frames.text_frames`: over TLS each message is then its
own record, as Binance sends them): a server's frames are unmasked and we negotiate no extension, so these bytes
are exactly what ``websockets`` would send, minus its per-message overhead. Pings, pongs and the closing
handshake stay with ``websockets``; we only write while its protocol is OPEN, and always whole frames, so its
control frames interleave at frame boundaries.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from . import frames

log = logging.getLogger(__name__)

KINDS = {"aggtrade": "aggTrade", "depth@100ms": "depth", "bookticker": "bookTicker"}
"""Accepted stream kinds (lower-cased suffix after ``<symbol>@``) -> internal kind."""

SLOW_CONSUMER_BYTES = 64 << 20
"""A paced market never waits for a client; one that lets this much pile up is disconnected, as Binance does."""


class BadStream(ValueError):
    """The handshake asked for a path or stream the simulator does not serve (answered with HTTP 400)."""


class TooManyStreams(BadStream):
    """The handshake asked for more streams than one connection may carry (Binance: 1024)."""


@dataclass(eq=False)
class Subscription:
    """One WebSocket connection and the streams it receives."""

    conn: ServerConnection
    """The ``websockets`` connection."""
    combined: bool
    """True for ``/stream?streams=...`` (payloads wrapped in ``{"stream":..,"data":..}``), False for ``/ws/...``;
    ``SET_PROPERTY ["combined", bool]`` switches it."""
    streams: dict[tuple[str, str], str] = field(default_factory=dict)
    """(SYMBOL, kind) -> the stream name as the client spelled it, e.g. ``btcusdt@depth@100ms``."""
    opened: float = field(default_factory=time.monotonic)

    @property
    def symbols(self) -> set[str]:
        return {s for s, _ in self.streams}

    def carries(self, symbol: str) -> bool:
        """Whether any stream of ``symbol`` goes to this connection (without building :attr:`symbols`)."""
        streams = self.streams
        return any((symbol, kind) in streams for kind in KINDS.values())


def parse_stream(name: str, symbols) -> tuple[str, str]:
    """``"btcusdt@aggTrade"`` -> ``("BTCUSDT", "aggTrade")``; BadStream for unknown symbols or kinds."""
    sym, _, kind = name.partition("@")
    if sym != sym.lower() or sym.upper() not in symbols:
        raise BadStream(f"unknown stream {name!r}: symbols are lower-case, served: "
                        f"{', '.join(s.lower() for s in symbols)}")
    if kind.lower() not in KINDS:
        raise BadStream(f"unknown stream {name!r}: served kinds are @aggTrade, @depth@100ms, @bookTicker")
    return sym.upper(), KINDS[kind.lower()]


def parse_path(path: str, symbols, max_streams: int = 1024) -> tuple[bool, dict[tuple[str, str], str]]:
    """The handshake path -> (combined, streams). ``/ws/a/b`` is accepted too, as Binance does."""
    parts = urlsplit(path)
    if parts.path.startswith("/ws/"):
        combined, names = False, parts.path[4:].split("/")
    elif parts.path in ("/stream", "/stream/"):
        combined, names = True, "/".join(parse_qs(parts.query).get("streams", [])).split("/")
    else:
        raise BadStream(f"unknown path {parts.path!r}: use /ws/<stream> or /stream?streams=<a>/<b>")
    names = [n for n in names if n]
    if not names:
        raise BadStream(f"expected 1 to {max_streams} streams")
    if len(names) > max_streams:
        raise TooManyStreams(f"expected 1 to {max_streams} streams, got {len(names)}")
    return combined, {parse_stream(n, symbols): n for n in names}


class Hub:
    """The subscriptions, the frame writer and the per-symbol stream faults."""

    def __init__(self) -> None:
        self.subs: set[Subscription] = set()
        self._by_key: dict[tuple[str, str], list[Subscription]] = {}
        self._stalled: dict[str | None, float] = {}
        self._duplicate: dict[tuple[str, str], int] = {}
        self.last_payload: dict[tuple[str, str], str] = {}
        self.frames_sent = 0
        self._batch: dict[Subscription, list[bytes]] | None = None

    # --- registry -------------------------------------------------------------------------------------------

    def add(self, sub: Subscription) -> None:
        self.subs.add(sub)
        for key in sub.streams:
            self._by_key.setdefault(key, []).append(sub)

    def remove(self, sub: Subscription) -> None:
        self.subs.discard(sub)
        for key in sub.streams:
            lst = self._by_key.get(key, [])
            if sub in lst:
                lst.remove(sub)

    def subscribe(self, sub: Subscription, streams: dict[tuple[str, str], str]) -> None:
        """Add streams to a live connection (the SUBSCRIBE method)."""
        self.remove(sub)
        sub.streams.update(streams)
        self.add(sub)

    def unsubscribe(self, sub: Subscription, keys) -> None:
        self.remove(sub)
        for key in keys:
            sub.streams.pop(key, None)
        self.add(sub)

    def matching(self, symbol: str | None) -> list[Subscription]:
        return [s for s in self.subs if symbol is None or s.carries(symbol)]

    def connections_by_symbol(self) -> dict[str, int]:
        """How many connections carry each symbol (one pass, for ``state()`` of a whole market)."""
        counts: dict[str, int] = {}
        for sub in self.subs:
            for symbol in sub.symbols:
                counts[symbol] = counts.get(symbol, 0) + 1
        return counts

    def listeners(self, symbol: str, kind: str) -> list[Subscription]:
        return self._by_key.get((symbol, kind), [])

    # --- publishing -----------------------------------------------------------------------------------------

    def stalled(self, symbol: str) -> bool:
        now = time.monotonic()
        return self._stalled.get(None, 0.0) > now or self._stalled.get(symbol, 0.0) > now

    def publish(self, symbol: str, kind: str, payloads: list[str]) -> int:
        """Send payloads (newest last) of one stream to its listeners; returns how many connections got them."""
        if not payloads:
            return 0
        self.last_payload[(symbol, kind)] = payloads[-1]
        subs = self._by_key.get((symbol, kind))
        if not subs or self.stalled(symbol):
            return 0
        if self._duplicate.get((symbol, kind)):
            self._duplicate[(symbol, kind)] -= 1
            payloads = [payloads[0], *payloads]
        encoded: dict[str | None, list[bytes]] = {}
        sent = 0
        for sub in list(subs):
            name = sub.streams[(symbol, kind)] if sub.combined else None
            data = encoded.get(name)
            if data is None:
                texts = payloads if name is None else [frames.envelope(name, p) for p in payloads]
                data = encoded[name] = frames.text_frames(texts)
            sent += self.write(sub, data)
        self.frames_sent += sent * len(payloads)
        return sent

    def publish_raw(self, symbol: str, kind: str, payload: str, frame: str) -> int:
        """Replay: send a recorded payload, using the recorded combined ``frame`` text verbatim where it fits."""
        self.last_payload[(symbol, kind)] = payload
        subs = self._by_key.get((symbol, kind))
        if not subs or self.stalled(symbol):
            return 0
        sent = 0
        copies = 1
        if self._duplicate.get((symbol, kind)):
            self._duplicate[(symbol, kind)] -= 1
            copies = 2
        for sub in list(subs):
            if sub.combined:
                name = sub.streams[(symbol, kind)]
                text = frame if frame.startswith(f'{{"stream":"{name}",') else frames.envelope(name, payload)
            else:
                text = payload
            sent += self.write(sub, frames.text_frames([text] * copies))
        self.frames_sent += sent * copies
        return sent

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Within the block, frames for a connection are collected; at its end each connection gets all of its
        frames in one ``writelines`` call (the whole-market driver's tick: hundreds of symbols, a few
        connections). Items stay one per message, so TLS still sends one record each."""
        pending: dict[Subscription, list[bytes]] = {}
        self._batch = pending
        try:
            yield
        finally:
            self._batch = None
            for sub, data in pending.items():
                self._write_now(sub, data)

    def write(self, sub: Subscription, data: list[bytes]) -> int:
        """Queue whole frames, one item per message (kept apart so that TLS gives each its own record)."""
        if sub.conn.protocol.state is not State.OPEN:
            return 0
        if self._batch is not None:
            self._batch.setdefault(sub, []).extend(data)
            return 1
        return self._write_now(sub, data)

    def _write_now(self, sub: Subscription, data: list[bytes]) -> int:
        conn = sub.conn
        if conn.protocol.state is not State.OPEN:
            return 0
        transport = conn.transport
        if transport.get_write_buffer_size() > SLOW_CONSUMER_BYTES:
            log.warning("disconnecting a slow consumer (%d bytes queued)", transport.get_write_buffer_size())
            transport.abort()
            return 0
        transport.writelines(data)
        return 1

    async def drain(self, symbol: str, kind: str) -> None:
        """Wait until every listener of a stream can take more (rate="max" paces itself by the slowest)."""
        for sub in list(self._by_key.get((symbol, kind), ())):
            conn = sub.conn
            if conn.paused and conn.protocol.state is State.OPEN:
                try:
                    await conn.drain()
                except Exception:  # the connection went away while we waited: nothing left to pace by
                    pass

    # --- faults ---------------------------------------------------------------------------------------------

    def stall(self, seconds: float, symbol: str | None = None) -> None:
        """Send nothing (pings are still answered) for ``seconds``; frames of that time are never sent."""
        self._stalled[symbol] = time.monotonic() + seconds

    def duplicate_next(self, symbol: str, kind: str) -> None:
        self._duplicate[(symbol, kind)] = self._duplicate.get((symbol, kind), 0) + 1

    def drop(self, symbol: str | None = None) -> int:
        """Abort the TCP connection of every matching subscriber, with no closing handshake."""
        subs = self.matching(symbol)
        for sub in subs:
            sub.conn.transport.abort()
        return len(subs)

    def send_text(self, sub: Subscription, text: str) -> int:
        return self.write(sub, frames.text_frames([text]))

    def server_shutdown(self, symbol: str | None, grace: float) -> int:
        """Send serverShutdown (raw or ``!serverShutdown`` envelope), close the connections ``grace`` s later."""
        subs = self.matching(symbol)
        payload = frames.server_shutdown(int(time.time() * 1000))
        loop = asyncio.get_running_loop()
        for sub in subs:
            self.send_text(sub, frames.envelope(frames.SHUTDOWN_STREAM, payload) if sub.combined else payload)
            loop.call_later(grace, _close_soon, sub.conn, "server shutdown")
        return len(subs)


_closing: set[asyncio.Future[None]] = set()
"""Close handshakes under way: the loop keeps only weak references to tasks, so they are held here until done."""


def _close_soon(conn: ServerConnection, reason: str) -> None:
    if conn.protocol.state is State.OPEN:
        task = asyncio.ensure_future(conn.close(1000, reason))
        _closing.add(task)
        task.add_done_callback(_closing.discard)
