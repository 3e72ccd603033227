"""A sliding-window limit on events, e.g. WebSocket connection attempts per IP (Binance: 300 per 5 minutes).

Shared by every StreamActor of the process; pure state with an injectable clock.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable


class SlidingWindowLimit:
    def __init__(self, max_events: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.max_events = max_events
        self.window = window
        self.clock = clock
        self._events: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Record an event and return 0 if the window has room; otherwise the seconds until it will."""
        with self._lock:
            now = self.clock()
            while self._events and self._events[0] <= now - self.window:
                self._events.popleft()
            if len(self._events) >= self.max_events:
                return self._events[0] + self.window - now
            self._events.append(now)
            return 0.0

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for room; False if ``stop`` was set meanwhile."""
        while (delay := self.reserve()) > 0:
            if stop.wait(min(delay, 1.0)):
                return False
        return True
