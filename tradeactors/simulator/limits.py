"""Binance's WebSocket limits, as pure bookkeeping: what counts, when a limit is crossed, and the tally of crossings.

Binance spot (web-socket-streams.md, "WebSocket Limits"):

- at most **5 incoming messages per second** per connection; a PING frame, a PONG frame and a JSON control
  message (SUBSCRIBE, UNSUBSCRIBE, ...) each count; "a connection that goes beyond the limit will be
  disconnected" (users report close code 1008, "Too many requests", which is what we send);
- at most **1024 streams** per connection;
- at most **300 connection attempts per 5 minutes** per IP;
- and, in practice, a stream URL over ~8 KB is refused at the handshake and a control message over ~4 KB is not
  accepted.

The server (:mod:`.server`) asks these classes whether to let something through and what to answer; every
crossing is counted in :class:`Violations` whether or not it is enforced, so that a test of the service can assert
that its client never crossed one (``Simulator.limit_violations()``, ``GET /_sim/state`` -> ``limit_violations``).
Clocks are passed in (``now``), so the rules are tested without waiting.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import NamedTuple

KINDS = ("messages_per_second", "streams_per_connection", "url_too_long", "message_too_big", "connection_attempts")
"""The limits counted, in the order reported."""


class Limits(NamedTuple):
    """The numbers (Binance's by default)."""

    messages_per_second: int = 5
    """Incoming PING, PONG and data messages per connection in any one-second window."""
    streams_per_connection: int = 1024
    """Streams one connection may carry (handshake URL and SUBSCRIBE together)."""
    connection_attempts: int = 300
    """WebSocket handshakes per IP within ``attempt_window`` seconds."""
    attempt_window: float = 300.0
    """Seconds over which ``connection_attempts`` are counted."""
    message_bytes: int = 4096
    """The largest control message (SUBSCRIBE, ...) accepted, in bytes."""


class Violations:
    """How many times each limit was crossed. Written on the loop thread, read from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(KINDS, 0)

    def add(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1

    def snapshot(self) -> dict[str, int]:
        """``{kind: count}`` for every kind in :data:`KINDS` (zeros included)."""
        with self._lock:
            return dict(self._counts)


class MessageRate:
    """One connection's incoming messages in a sliding one-second window.

    Sliding rather than per calendar second: a client that keeps any one-second span at or under the limit is
    safe whatever the exchange's real bucketing is, and one that bursts 6 messages across a second boundary is
    caught, as it may be on Binance."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit, self.window = limit, window
        self._times: deque[float] = deque(maxlen=max(1, limit))

    def admit(self, now: float) -> bool:
        """Record a message at ``now``; False if it is one too many for the window (it is not recorded)."""
        times = self._times
        if len(times) >= self.limit and now - times[0] < self.window:
            return False
        times.append(now)
        return True


class AttemptWindow:
    """WebSocket connection attempts per IP over a sliding window. Only admitted attempts count, so a refused
    client gets in again as soon as its oldest attempt leaves the window (``retry_after`` says when)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._by_ip: dict[str, deque[float]] = {}

    def admit(self, ip: str, now: float) -> float | None:
        """Record an attempt from ``ip`` at ``now``: None if admitted, else seconds until one would be."""
        times = self._by_ip.setdefault(ip, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            return max(0.0, times[0] + self.window - now)
        times.append(now)
        return None
