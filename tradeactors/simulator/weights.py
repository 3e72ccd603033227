"""Binance's request-weight limit, as a pure ledger.

Its clock is injectable: ``clock`` (``time.time`` by default) is read when a charge passes no ``now``, so a test
hands the ledger its own clock and moves minutes and bans forward instead of waiting for them.

Per wall-clock minute (like Binance: the counter resets when the UTC minute changes) requests spend weight from a
budget. A request that would go over it is refused with 429 and ``Retry-After`` = seconds to the next minute; a
client that keeps sending while the 429 is in force is banned: 418 with a longer ``Retry-After``. Every response
carries ``X-MBX-USED-WEIGHT-1M``.
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple


class Verdict(NamedTuple):
    status: int
    """200 = go ahead; 429 = over the budget; 418 = banned."""
    used: int
    """The minute's used weight after this request (the ``X-MBX-USED-WEIGHT-1M`` header)."""
    retry_after: int | None
    """Seconds, for 429 and 418."""


class WeightLedger:
    def __init__(self, budget: int = 6000, ban_seconds: float = 120.0, clock=time.time) -> None:
        self.budget = budget
        self.clock = clock
        """Wall-clock seconds (minutes are UTC minutes of it): replaced by tests that drive time themselves."""
        self.ban_seconds = ban_seconds
        self.used = 0
        self.max_used = 0
        """The most weight spent in any one minute so far (what a client's pacing is judged by)."""
        self._minute: int | None = None
        self._limited = False
        self._banned_until = 0.0

    def set_budget(self, budget: int) -> None:
        """New budget; also lifts a 429 or ban in force, so tests can start from a clean slate."""
        self.budget = int(budget)
        self._limited = False
        self._banned_until = 0.0

    def charge(self, weight: int, now: float | None = None) -> Verdict:
        """Spend ``weight`` at ``now`` (default: the ledger's clock) or refuse it."""
        if now is None:
            now = self.clock()
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self.used, self._limited = minute, 0, False
        if now < self._banned_until:
            return Verdict(418, self.used, math.ceil(self._banned_until - now))
        if self._limited:
            self._banned_until = now + self.ban_seconds
            return Verdict(418, self.used, math.ceil(self.ban_seconds))
        if self.used + weight > self.budget:
            self._limited = True
            return Verdict(429, self.used, max(1, math.ceil(60 - now % 60)))
        self.used += weight
        self.max_used = max(self.max_used, self.used)
        return Verdict(200, self.used, None)


def depth_weight(limit: int) -> int:
    """Weight of ``/api/v3/depth`` by limit: 5/25/50/250 for <=100/<=500/<=1000/<=5000."""
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
