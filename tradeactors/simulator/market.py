"""The whole-market driver: one timer for every synthetic symbol, instead of one task per symbol.

Runs on the simulator's loop thread. Per-symbol tasks cost what the service's issue 12 is about: with 1,500
symbols each waking at least every 100 ms for its depth diff, the loop would wake 15,000 times a second to find
nothing to do. Here one task wakes every ``TICK`` seconds and draws the events of the whole market at once:

- the number of taker orders in the tick is Poisson(sum of rates x tick), and each order goes to a symbol drawn
  by its rate (a search in the cumulative rates), so a tick costs O(events), not O(symbols); background maker
  changes likewise, with their own rates, at most one per book per 100 ms (more would only lengthen a diff);
- the touched symbols commit to their ledgers and send their aggTrades;
- every ``DEPTH_INTERVAL`` (100 ms, ``@depth@100ms``) the symbols whose book moved since the last diff, and only
  those, send one depthUpdate, as Binance does;
- all of a tick's frames for one connection leave in one ``writelines`` call (``Hub.batch``).

Rates (:class:`.universe.Activity`) are per symbol and may change while it runs: ``set_rate`` (one symbol),
``set_factor`` (all of them, e.g. a x10 burst), ``add`` (a symbol listed at runtime). Paused symbols draw no
events.
"""
from __future__ import annotations

import asyncio
import time

import numpy as np

from .universe import DEPTH_INTERVAL, Activity

TICK = 0.05
"""Seconds between two wake-ups of the driver (trades are sent at most this late)."""
MAX_STEP = 1.0
"""A late tick (a busy loop) makes at most this many seconds of events, so that the market never floods."""


class MarketDriver:
    """Taker orders and maker changes for many :class:`SyntheticMarket`\\ s, drawn per tick."""

    def __init__(self, exchange, symbols: list[str], rates: Activity, seed: int) -> None:
        self.exchange = exchange
        self.symbols: list[str] = list(symbols)
        self.orders: list[float] = list(rates.orders)
        """Taker orders per second of each symbol at factor 1."""
        self.makers: list[float] = list(rates.makers)
        """Background maker changes per second of each symbol at factor 1."""
        self.factor = 1.0
        self.ticks = 0
        """Ticks run so far (a test waits for some to pass instead of sleeping)."""
        self._rng = np.random.default_rng([seed, 12])
        self._cum_orders = self._cum_makers = np.zeros(0)
        self._dirty_rates = True
        self._moved: set[str] = set()
        self._poked: set[str] = set()
        self._requoted: set[str] = set()
        """Books that had their background maker change in this depth interval."""

    # --- rates (loop thread) --------------------------------------------------------------------------------

    def add(self, symbol: str, orders: float, makers: float = 0.0) -> None:
        """Trade one more symbol (listed at runtime) at these rates."""
        self.symbols.append(symbol)
        self.orders.append(float(orders))
        self.makers.append(float(makers))
        self._dirty_rates = True

    def set_rate(self, symbol: str, orders: float) -> None:
        """Taker orders per second of one symbol (``set_regime(rate=...)``)."""
        self.orders[self.symbols.index(symbol)] = float(orders)
        self._dirty_rates = True

    def set_factor(self, factor: float) -> None:
        """Scale every rate (trades and maker changes): 0 stops the market, 10 is a burst."""
        if factor < 0:
            raise ValueError("factor must be >= 0")
        self.factor = float(factor)

    def poke(self, symbol: str) -> None:
        """The book of ``symbol`` was changed from outside (``set_regime``): commit and diff it next tick."""
        self._poked.add(symbol)

    def rate(self, symbol: str) -> float:
        """Taker orders per second of ``symbol`` now (factor applied)."""
        return self.orders[self.symbols.index(symbol)] * self.factor

    def totals(self) -> dict:
        return {"symbols": len(self.symbols), "factor": self.factor, "ticks": self.ticks,
                "orders_per_s": round(sum(self.orders) * self.factor, 3),
                "maker_changes_per_s": round(sum(self.makers) * self.factor, 3)}

    def _cumulative(self) -> None:
        if self._dirty_rates:
            self._cum_orders = np.cumsum(np.asarray(self.orders, dtype=np.float64))
            self._cum_makers = np.cumsum(np.asarray(self.makers, dtype=np.float64))
            self._dirty_rates = False

    # --- the clock ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        next_tick, next_depth = last + TICK, last + DEPTH_INTERVAL
        while True:
            # Deadlines, not sleeps of TICK: the work of a tick must not stretch 100 ms depth intervals.
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            now = loop.time()
            next_tick = max(next_tick + TICK, now + TICK / 2)  # a late tick is not made up by a burst of ticks
            depth = now >= next_depth - TICK / 2
            if depth:
                next_depth = max(next_depth + DEPTH_INTERVAL, now + DEPTH_INTERVAL / 2)
            self.step(min(now - last, MAX_STEP), depth)
            last = now

    def _draw(self, cumulative: np.ndarray, seconds: float) -> list[int]:
        """Indices of the symbols that get an event, one per event of a Poisson process over ``seconds``."""
        if not len(cumulative) or cumulative[-1] <= 0 or self.factor <= 0:
            return []
        count = int(self._rng.poisson(cumulative[-1] * self.factor * seconds))
        if not count:
            return []
        points = self._rng.random(count) * cumulative[-1]
        return np.searchsorted(cumulative, points, side="right").tolist()

    def step(self, seconds: float, depth: bool) -> None:
        """Make ``seconds`` of market and send it; with ``depth``, send the diffs of the books that moved."""
        self.ticks += 1
        self._cumulative()
        exchange, symbols, markets = self.exchange, self.symbols, self.exchange.markets
        ms = int(time.time() * 1000)
        touched: dict[str, list[str]] = {}
        if self._poked:
            touched.update((symbol, []) for symbol in self._poked)
            self._poked = set()
        for i in self._draw(self._cum_orders, seconds):
            symbol = symbols[min(i, len(symbols) - 1)]
            if not exchange.paused(symbol):
                markets[symbol].taker_order(ms, touched.setdefault(symbol, []))
        drawn = self._draw(self._cum_makers, seconds)
        if drawn:
            # One background maker change per book per depth interval at most: more would only lengthen its next
            # diff (whether a book moved in an interval, hence how many diffs are sent, does not change), and a
            # x10 burst spent most of a core on them (44,000 changes/s for 1,500 books).
            requoted = self._requoted
            for i in np.unique(np.minimum(drawn, len(symbols) - 1)).tolist():
                symbol = symbols[i]
                if symbol not in requoted and not exchange.paused(symbol):
                    requoted.add(symbol)
                    markets[symbol].churn_once()
                    touched.setdefault(symbol, [])
        hub = exchange.hub
        with hub.batch():
            for symbol, out in touched.items():
                markets[symbol].commit()
                if out:
                    hub.publish(symbol, "aggTrade", exchange._without_skipped(symbol, out))
            self._moved.update(touched)
            if depth:
                for symbol in self._moved:
                    exchange.publish_depth(symbol, markets[symbol].depth_diff(ms))
                self._moved = set()
                self._requoted = set()
