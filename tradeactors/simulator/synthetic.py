"""A seeded synthetic market for one symbol: a two-sided book on the tick grid and taker orders that hit it.

Pure: no sockets, threads or clocks (times are passed in). The order of events is a function of the seed; how
many happen per wall-clock tick is up to the driver. Every change of the book gets its own update id, recorded in
the :class:`BookLedger`; every aggregate trade goes to the :class:`TradeLedger`.

Steering (:meth:`SyntheticMarket.set_regime`): ``spread`` widens where new liquidity is placed, ``depth`` scales
resting sizes, ``churn`` is the number of adds/cancels per taker order, ``jump`` moves the fair price by that
many ticks (takers then walk the book towards it).
"""
from __future__ import annotations

import bisect
import random
from math import log

import orjson

from . import frames
from .ledger import ASK, BID, BookLedger, TradeLedger
from .symbols import SymbolSpec, fmt


class SyntheticMarket:
    TARGET_LEVELS = 250
    """Levels a side of a symbol whose spec does not say (``SymbolSpec.levels``, thinner for quiet symbols)."""

    def __init__(self, spec: SymbolSpec, seed: int, index: int = 0) -> None:
        self.spec = spec
        self.symbol = spec.symbol
        self.target_levels = spec.levels
        self.rng = random.Random(f"{seed}:{spec.symbol}")
        self.tick, self.step = spec.tick, spec.step
        self.fair = spec.price
        self.spread_mult, self.depth_mult, self.churn = 1.0, 1.0, 1.0
        self._sweep = 0
        self._withdrawn: int | None = None
        """A side whose makers have left (``one_sided``): no liquidity is added there."""
        self._iceberg: tuple[int, int, int] | None = None
        self._mean_steps = spec.mean_qty // spec.step
        self._price_text: dict[int, str] = {}
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.bid_px: list[int] = []   # ascending; best bid is the last
        self.ask_px: list[int] = []   # ascending; best ask is the first
        self.uid = 1_000_000_000 + index * 100_000_000
        self._seed_book()
        self.book = BookLedger(self.uid, self.bids, self.asks)
        self.trades = TradeLedger(100_000_000 + index * 10_000_000)
        self.next_agg = self.trades.first_id
        self.next_raw = 300_000_000 + index * 10_000_000
        self.last_sent_u = self.uid
        self._pending: dict[tuple[int, int], int] = {}
        self._new_changes: tuple[list, list, list, list] = ([], [], [], [])
        self._new_trades: tuple[list, list, list, list, list, list] = ([], [], [], [], [], [])

    # --- the book -------------------------------------------------------------------------------------------

    def _seed_book(self) -> None:
        rng, tick, mid = self.rng, self.tick, self.spec.price
        for i in range(self.target_levels * 2):
            if i == 0 or rng.random() < 0.5:
                self.bids[mid - (i + 1) * tick] = self._level_qty()
            if i == 0 or rng.random() < 0.5:
                self.asks[mid + (i + 1) * tick] = self._level_qty()
        self.bid_px = sorted(self.bids)
        self.ask_px = sorted(self.asks)

    def _level_qty(self) -> int:
        steps = self._mean_steps * 4 * self.depth_mult
        return self.step * (1 + int(-log(1.0 - self.rng.random()) * steps))

    def _set_level(self, side: int, price: int, qty: int) -> None:
        book, prices = (self.bids, self.bid_px) if side == BID else (self.asks, self.ask_px)
        if qty:
            if price not in book:
                bisect.insort(prices, price)
            book[price] = qty
        else:
            del book[price]
            del prices[bisect.bisect_left(prices, price)]
        self.uid += 1
        c = self._new_changes
        c[0].append(self.uid)
        c[1].append(side)
        c[2].append(price)
        c[3].append(qty)
        self._pending[(side, price)] = qty

    @property
    def mid(self) -> int:
        if self.bid_px and self.ask_px:
            return (self.bid_px[-1] + self.ask_px[0]) // 2
        return self.fair

    # --- events ---------------------------------------------------------------------------------------------

    def taker_order(self, now_ms: int, out: list[str]) -> None:
        """One taker order: it fills at the best level and sometimes sweeps on; one aggTrade per price level."""
        # Hot path of rate="max" (>100k trades/s): locals, inlined draws and a price-string cache on purpose.
        random, step, tick = self.rng.random, self.step, self.tick
        self.fair += int((random() - 0.5) * 2.4 * tick)
        lean = (self.fair - self.mid) / (200 * tick)
        buy = random() < 0.5 + (0.35 if lean > 0.35 else -0.35 if lean < -0.35 else lean)
        if self._iceberg:
            buy = random() < 0.2  # sellers keep hitting the bid that never goes away
        qty = step * (1 + int(-log(1.0 - random()) * self._mean_steps))
        sweep, self._sweep = self._sweep, 0
        if sweep:
            buy = sweep > 0
            levels = self.ask_px[:abs(sweep)] if buy else self.bid_px[-abs(sweep):]
            qty = sum((self.asks if buy else self.bids)[p] for p in levels)
        maker = not buy
        prices, book, side = (self.ask_px, self.asks, ASK) if buy else (self.bid_px, self.bids, BID)
        t0, t1, t2, t3, t4, t5 = self._new_trades
        symbol, price_text, append = self.symbol, self._price_text, out.append
        while qty > 0 and len(prices) > 2:
            price = prices[0] if buy else prices[-1]
            level = book[price]
            fill = qty if qty < level else level
            n_raw = 1 + int(-log(1.0 - random()) * 0.8)
            if n_raw * step > fill:
                n_raw = fill // step
            agg, first = self.next_agg, self.next_raw
            last = first + n_raw - 1
            self.next_agg, self.next_raw = agg + 1, last + 1
            t0.append(price)
            t1.append(fill)
            t2.append(first)
            t3.append(last)
            t4.append(now_ms)
            t5.append(maker)
            p = price_text.get(price)
            if p is None:
                p = price_text[price] = fmt(price)
            append(f'{{"e":"aggTrade","E":{now_ms},"s":"{symbol}","a":{agg},"p":"{p}","q":"{fmt(fill)}",'
                   f'"f":{first},"l":{last},"T":{now_ms},"m":{"true" if maker else "false"},"M":true}}')
            left = level - fill
            if self._iceberg and side == BID and price == self._iceberg[0]:
                ice_price, shown, reserve = self._iceberg
                reserve -= fill
                self._iceberg = (ice_price, shown, reserve) if reserve > 0 else None
                if reserve > 0:
                    left = shown  # the hidden part refills what was shown
            self._set_level(side, price, left)
            qty -= fill
            if not sweep and random() < 0.6:
                break
        if sweep:
            self.fair = self.mid  # the sweep moved the price: makers now quote around where it left the book
        churn = self.churn
        for _ in range(int(churn) + (random() < churn % 1)):
            self.churn_once()

    def churn_once(self) -> None:
        """A maker adds or cancels liquidity; adds never cross the book."""
        random, tick = self.rng.random, self.tick
        side = BID if random() < 0.5 else ASK
        if side == self._withdrawn:
            return
        prices, book = (self.bid_px, self.bids) if side == BID else (self.ask_px, self.asks)
        n = len(prices)
        if n < 20 or random() < (0.9 if n < self.target_levels else 0.4):
            k = int(-log(1.0 - random()) * 80 * self.spread_mult)
            mid = self.mid
            ref = mid if abs(self.fair - mid) < 40 * tick else self.fair
            ref -= ref % tick
            if side == BID:
                price = ref - (1 + k) * tick
                if self.ask_px and price >= self.ask_px[0]:
                    price = self.ask_px[0] - tick
                if price <= 0:
                    return
            else:
                price = ref + (1 + k) * tick
                if self.bid_px and price <= self.bid_px[-1]:
                    price = self.bid_px[-1] + tick
            self._set_level(side, price, book.get(price, 0) + self._level_qty())
        elif n > 2:
            # Cancels favour the far end so that the book stays near TARGET_LEVELS without drifting apart.
            i = int(random() ** 2 * n)
            price = prices[i] if side == BID else prices[n - 1 - i]
            left = book[price] // 2 if random() < 0.3 else 0
            self._set_level(side, price, left - left % self.step)

    def set_regime(self, spread=None, depth=None, churn=None, jump=None, sweep=None, pull=None,
                   iceberg=None, one_sided=None) -> None:
        """``sweep``: the next taker order eats that many price levels at once (positive: buys the asks,
        negative: sells into the bids) - a sudden price move. ``pull``: every resting level keeps only that
        fraction of its size at once (makers pulling quotes) - a depth collapse. ``iceberg``: a hidden order
        at the best bid shows only the level's current size and refills it after every fill until ``iceberg``
        times that size has traded there; sellers lean on it meanwhile. ``one_sided``: "bid" or "ask" - every
        maker on that side cancels and none comes back (a one-sided book); "" or "none" brings them back."""
        if one_sided is not None:
            self._withdraw(one_sided)
        if iceberg:
            price = self.bid_px[-1]
            shown = self.bids[price]
            self._iceberg = (price, shown, int(float(iceberg) * shown))
        if spread is not None:
            self.spread_mult = float(spread)
        if depth is not None:
            self.depth_mult = float(depth)
        if churn is not None:
            self.churn = float(churn)
        if jump is not None:
            self.fair += int(jump) * self.tick
        if sweep:
            self._sweep = int(sweep)
        if pull is not None:
            for side, book in ((BID, self.bids), (ASK, self.asks)):
                for price in list(book):
                    left = int(book[price] * float(pull))
                    self._set_level(side, price, max(self.step, left - left % self.step))

    def _withdraw(self, side_name: str) -> None:
        side = {"bid": BID, "ask": ASK}.get(str(side_name).lower())
        self._withdrawn = side
        if side is not None:
            for price in list(self.bids if side == BID else self.asks):
                self._set_level(side, price, 0)

    # --- output ---------------------------------------------------------------------------------------------

    def commit(self) -> None:
        """Publish the changes and trades made since the last commit to the ledgers (one lock each)."""
        c, t = self._new_changes, self._new_trades
        if c[0]:
            self.book.extend(*c, live_bids=self.bids, live_asks=self.asks)
            self._new_changes = ([], [], [], [])
        if t[0]:
            self.trades.extend(*t)
            self._new_trades = ([], [], [], [], [], [])

    def depth_diff(self, now_ms: int) -> str | None:
        """The depthUpdate covering every change since the last one (None if nothing changed)."""
        if not self._pending:
            return None
        if len(self._price_text) > 100_000:
            self._price_text.clear()
        bids = sorted(((p, q) for (s, p), q in self._pending.items() if s == BID), reverse=True)
        asks = sorted((p, q) for (s, p), q in self._pending.items() if s == ASK)
        first, self.last_sent_u = self.last_sent_u + 1, self.uid
        self._pending = {}
        return frames.depth_update(now_ms, self.symbol, first, self.uid, bids, asks)

    def snapshot(self, limit: int) -> tuple[int, list, list]:
        """``(lastUpdateId, bids, asks)`` of the live book, ``limit`` levels a side, as strings."""
        bids = [[fmt(p), fmt(self.bids[p])] for p in reversed(self.bid_px[-limit:])]
        asks = [[fmt(p), fmt(self.asks[p])] for p in self.ask_px[:limit]]
        return self.uid, bids, asks

    def depth_body(self, limit: int) -> bytes:
        """The REST ``/api/v3/depth`` body from the live (true) book."""
        uid, bids, asks = self.snapshot(limit)
        return orjson.dumps({"lastUpdateId": uid, "bids": bids, "asks": asks})
