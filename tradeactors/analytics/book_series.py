"""Measures of a sequence of stored book seconds, shared by order flow, health and anomalies.

A book second is the top of the book at one wall-clock second (``codec.BookSecond``). Prices and quantities stay
scaled integers (exact); floats appear only in ratios. If book seconds disagree on decimals (they should not), all
are rescaled to the largest. A side can be empty; measures that need both sides skip such book seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tradeactors import decimals
from tradeactors.records import BookSecond

DEPTH_LEVELS = 20
"""Levels per side summed for the depth D of health and anomalies (docs/analytics.md: top 20)."""
BASELINE_MIN_SNAPSHOTS = 10
"""Fewer baseline book seconds than this count as no baseline: a median of a handful of seconds is no baseline."""


@dataclass(frozen=True)
class BookSeries:
    """Per-book-second columns (Python ints, scaled by the common decimals; None where a side is empty)."""

    seconds: list[int]
    update_ids: list[int]
    bid_price: list[int | None]
    bid_qty: list[int | None]
    ask_price: list[int | None]
    ask_qty: list[int | None]
    bid_depth: list[int]
    """Σ quantity of the top ``depth_levels`` bids."""
    ask_depth: list[int]
    price_decimals: int
    qty_decimals: int

    def __len__(self) -> int:
        return len(self.seconds)

    def two_sided(self, i: int) -> bool:
        return self.bid_price[i] is not None and self.ask_price[i] is not None

    def top(self, i: int) -> tuple[int, int, int, int] | None:
        """(bid price, bid qty, ask price, ask qty) of a two-sided book second; None when a side is empty."""
        pb, qb, pa, qa = self.bid_price[i], self.bid_qty[i], self.ask_price[i], self.ask_qty[i]
        if pb is None or qb is None or pa is None or qa is None:
            return None
        return pb, qb, pa, qa

    def spread(self, i: int) -> int | None:
        """Ask − bid (scaled price); ≤ 0 means a locked or crossed book."""
        bid, ask = self.bid_price[i], self.ask_price[i]
        return ask - bid if bid is not None and ask is not None else None

    def spread_bps(self, i: int) -> float | None:
        """(ask − bid) / mid · 10⁴; None for a one-sided book or a non-positive mid."""
        bid, ask = self.bid_price[i], self.ask_price[i]
        if bid is None or ask is None or bid + ask <= 0:
            return None
        return 2e4 * (ask - bid) / (bid + ask)

    def mid_twice(self, i: int) -> int | None:
        """Bid + ask (scaled price, exact): twice the mid; None for a one-sided book."""
        bid, ask = self.bid_price[i], self.ask_price[i]
        return bid + ask if bid is not None and ask is not None else None

    def mid(self, i: int) -> float | None:
        """The mid in scaled price units (float: used only for returns)."""
        twice = self.mid_twice(i)
        return twice / 2 if twice is not None else None

    def depth(self, i: int) -> int:
        return self.bid_depth[i] + self.ask_depth[i]

    def time_ms(self, i: int) -> int:
        return self.seconds[i] * 1000


def _levels_at(levels: np.ndarray, book: BookSecond, p_dec: int, q_dec: int) -> np.ndarray:
    """A book's (k, 2) levels at the common decimals."""
    levels = np.asarray(levels, dtype=np.int64).reshape(-1, 2)
    if (book.price_decimals, book.qty_decimals) == (p_dec, q_dec):
        return levels
    return np.column_stack([decimals.rescale(levels[:, 0], book.price_decimals, p_dec),
                            decimals.rescale(levels[:, 1], book.qty_decimals, q_dec)])


def sides(books: Sequence[BookSecond]) -> tuple[list[np.ndarray], list[np.ndarray], int, int]:
    """(bids per book second, asks per book second, price decimals, qty decimals) at common decimals."""
    p_dec = max((s.price_decimals for s in books), default=0)
    q_dec = max((s.qty_decimals for s in books), default=0)
    bids = [_levels_at(s.bids, s, p_dec, q_dec) for s in books]
    asks = [_levels_at(s.asks, s, p_dec, q_dec) for s in books]
    return bids, asks, p_dec, q_dec


def book_series(books: Sequence[BookSecond], depth_levels: int = DEPTH_LEVELS) -> BookSeries:
    bids, asks, p_dec, q_dec = sides(books)

    def best(rows: np.ndarray, column: int) -> int | None:
        return int(rows[0, column]) if len(rows) else None

    def depth(rows: np.ndarray) -> int:
        return sum(rows[:depth_levels, 1].tolist())  # Python ints: a sum of 40 levels must not wrap

    return BookSeries(
        seconds=[int(s.second) for s in books], update_ids=[int(s.update_id) for s in books],
        bid_price=[best(b, 0) for b in bids], bid_qty=[best(b, 1) for b in bids],
        ask_price=[best(a, 0) for a in asks], ask_qty=[best(a, 1) for a in asks],
        bid_depth=[depth(b) for b in bids], ask_depth=[depth(a) for a in asks],
        price_decimals=p_dec, qty_decimals=q_dec,
    )


def _rises(previous: np.ndarray, current: np.ndarray, depth_levels: int) -> int:
    """Levels among the top ``depth_levels`` of ``current`` whose quantity exceeds the same price's quantity in
    ``previous`` (all its stored levels; a price absent there had 0)."""
    before = dict(zip(previous[:, 0].tolist(), previous[:, 1].tolist()))
    return sum(1 for price, qty in current[:depth_levels].tolist() if qty > before.get(price, 0))


def observed_tick(books: Sequence[BookSecond]) -> int | None:
    """The smallest gap between adjacent book levels (scaled, common decimals): the finest step seen."""
    bids, asks, _, _ = sides(books)
    per_book = [np.abs(np.diff(rows[:, 0])) for rows in bids + asks if len(rows) > 1]
    gaps: np.ndarray = np.concatenate(per_book) if per_book else np.zeros(0, dtype=np.int64)
    gaps = gaps[gaps > 0]
    return int(gaps.min()) if len(gaps) else None


def observed_span_secs(books: Sequence[BookSecond]) -> int:
    """Seconds from the first to the last book second."""
    return int(books[-1].second - books[0].second) if books else 0


def flow_rates(books: Sequence[BookSecond], depth_levels: int = DEPTH_LEVELS) -> tuple[float, float, int]:
    """(bid_flow_rate, ask_flow_rate, observed span in seconds): levels whose quantity rose between consecutive
    book seconds per second of observed span. A span of 0 (fewer than two book seconds) gives rates of 0."""
    bids, asks, _, _ = sides(books)
    span = observed_span_secs(books)
    if span <= 0:
        return 0.0, 0.0, max(span, 0)
    bid_rises = sum(_rises(bids[i - 1], bids[i], depth_levels) for i in range(1, len(bids)))
    ask_rises = sum(_rises(asks[i - 1], asks[i], depth_levels) for i in range(1, len(asks)))
    return bid_rises / span, ask_rises / span, span


def order_flow_imbalance(series: BookSeries) -> int:
    """Σ over consecutive two-sided book seconds of the Cont–Kukanov–Stoikov best-level event (primes = previous):
    e = qb·[Pb ≥ Pb'] − qb'·[Pb ≤ Pb'] − qa·[Pa ≤ Pa'] + qa'·[Pa ≥ Pa'] (scaled quantity, exact)."""
    total = 0
    for i in range(1, len(series)):
        now, before = series.top(i), series.top(i - 1)
        if now is None or before is None:
            continue
        pb, qb, pa, qa = now
        pb0, qb0, pa0, qa0 = before
        total += qb * (pb >= pb0) - qb0 * (pb <= pb0) - qa * (pa <= pa0) + qa0 * (pa >= pa0)
    return total


def pair_update_rates(series: BookSeries) -> list[float]:
    """Δupdate_id / Δt (updates per second) of each consecutive pair; pairs where the id went back (a resync)
    or no time passed are skipped."""
    rates = []
    for i in range(1, len(series)):
        dt = series.seconds[i] - series.seconds[i - 1]
        du = series.update_ids[i] - series.update_ids[i - 1]
        if dt > 0 and du >= 0:
            rates.append(du / dt)
    return rates


def window_updates(series: BookSeries) -> tuple[int, int]:
    """(book updates, seconds) summed over the usable consecutive pairs of the window."""
    updates = seconds = 0
    for i in range(1, len(series)):
        dt = series.seconds[i] - series.seconds[i - 1]
        du = series.update_ids[i] - series.update_ids[i - 1]
        if dt > 0 and du >= 0:
            updates += du
            seconds += dt
    return updates, seconds


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    return float(np.median(np.asarray(values, dtype=float)))


def baseline_update_rate(baseline: Sequence[BookSecond]) -> float | None:
    """Median pair update rate of the baseline, None when there is no usable baseline (or it is 0: a ratio
    against 0 means nothing)."""
    if len(baseline) < BASELINE_MIN_SNAPSHOTS:
        return None
    rate = median(pair_update_rates(book_series(baseline, depth_levels=0)))
    return rate if rate and math.isfinite(rate) and rate > 0 else None


def window_duration_secs(start_ms: int, end_ms: int) -> int | float:
    """The window's length in seconds, an int when whole (the usual case: the parameter is whole seconds)."""
    secs = (end_ms - start_ms) / 1000
    return int(secs) if secs == int(secs) else secs
