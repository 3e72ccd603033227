"""Volume profile (docs/analytics.md, get_volume_profile) in two stages.

Stage 1, ``tick_volumes``: trades → sums per distinct price tick (``tick = p // tick_size_scaled``). Stage 2,
``volume_profile``: per-tick sums → dense bins, point of control and value area. Stage 2 reads only the per-tick
sums, and every stage-1 column is a plain sum over trades, so ``merge_tick_volumes`` of per-minute rollups equals
``tick_volumes`` of the whole window and the profile built from either is identical.

Bins lie on the absolute tick grid: with ``tpb`` ticks per bin, bin ``k`` holds ticks ``[k·tpb, (k+1)·tpb)``, so
the same price always falls in the same bin whatever the window. Default ``tpb = max(10, ceil((max − min) / 100))``
(at most ~101 bins); a ``tick_size`` parameter is rounded up to a whole number of exchange ticks.

POC: the bin with the largest volume; ties → the one nearest the middle of the histogram (index distance to
``(n − 1)/2``), then the lower one.

Value area (CBOT single-row rule): start at the POC; while ``accumulated < value_area_pct · total`` add the larger
of the next bin above and the next bin below (ties up, an exhausted side skipped). The comparison is exact: the
percentage is taken as the decimal the caller wrote (0.7 = 7/10), volumes are integers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import numpy as np

from tradeactors.analytics.exact import exact_fraction, fit_int64, fmt_half, sums_at
from tradeactors.decimals import format_scaled
from tradeactors.errors import InsufficientData, InvalidParameter
from tradeactors.records import TradeColumns

DEFAULT_MIN_TRADES = 1000
MIN_TICKS_PER_BIN = 10
TARGET_BINS = 100
MAX_BINS = 100_000
"""A ``tick_size`` that would make more bins than this is refused (the response would be megabytes)."""
DENSE_TICK_RANGE = 1 << 22
"""Up to this many ticks between the lowest and highest price, stage 1 indexes a dense array (fast, no sort)."""


@dataclass(frozen=True)
class TickVolumes:
    """Per-tick sums of a set of trades; the input of stage 2 and the shape of a rollup.

    Sum columns are int64 arrays, or object arrays of Python ints when a value would pass int64; read them with
    ``int()``. All columns are aligned with ``ticks``.
    """

    ticks: np.ndarray
    """int64, sorted, distinct: price // tick."""
    volume: np.ndarray
    """Σq, scaled by 10**q_decimals."""
    buy_volume: np.ndarray
    """Σq of trades with m = false (the taker bought)."""
    sell_volume: np.ndarray
    """Σq of trades with m = true (the buyer was the maker, so the taker sold)."""
    trade_count: np.ndarray
    """int64: number of aggregate trades."""
    quote_volume: np.ndarray
    """Σp·q = tick price · Σq, scaled by 10**(p_decimals + q_decimals); Python ints (p·q passes int64)."""
    first_time: int | None
    """Smallest trade time T (ms), None when there are no trades."""
    last_time: int | None
    """Largest trade time T (ms)."""
    trade_total: int
    """Σ trade_count."""

    def __len__(self) -> int:
        return len(self.ticks)


def _empty() -> TickVolumes:
    zeros = np.zeros(0, dtype=np.int64)
    return TickVolumes(zeros, zeros, zeros, zeros, zeros, np.zeros(0, dtype=object), None, None, 0)


def _quote(ticks: np.ndarray, volume: np.ndarray, tick: int) -> np.ndarray:
    out = np.empty(len(ticks), dtype=object)
    out[:] = [t * tick * v for t, v in zip(ticks.tolist(), volume.tolist())]
    return out


def _subtract(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype != object and b.dtype != object:
        difference: np.ndarray = a - b  # a ≥ b ≥ 0 elementwise: cannot wrap
        return difference
    return fit_int64(int(x) - int(y) for x, y in zip(a.tolist(), b.tolist()))


def tick_volumes(trades: TradeColumns, tick: int) -> TickVolumes:
    """Stage 1: sum the trades per distinct price tick. ``tick`` is the exchange tick in the units of ``trades.p``.

    Vectorised: a dense ``np.add.at`` over ``tick − min_tick`` when the price range is at most
    ``DENSE_TICK_RANGE`` ticks (the normal case), ``np.unique`` otherwise.
    """
    tick = int(tick)
    if tick <= 0:
        raise ValueError(f"tick must be positive, got {tick}")
    if len(trades) == 0:
        return _empty()
    ticks_all = trades.p // tick
    if np.any(ticks_all * tick != trades.p):
        # A price off the grid would make tick_price·Σq differ from Σp·q: the tick is wrong for this data.
        raise ValueError(f"prices are not multiples of the tick {tick}")
    low, high = int(ticks_all.min()), int(ticks_all.max())
    if high - low < max(DENSE_TICK_RANGE, len(trades)):
        grid, index, size = None, ticks_all - low, high - low + 1
    else:
        grid, index = np.unique(ticks_all, return_inverse=True)
        size = len(grid)
    counts = np.bincount(index, minlength=size)
    present = np.flatnonzero(counts)
    ticks = present.astype(np.int64) + low if grid is None else grid.astype(np.int64)
    q = trades.q
    volume = sums_at(size, index, q)[present]
    buy = sums_at(size, index, np.where(trades.m, 0, q))[present]
    return TickVolumes(
        ticks=ticks, volume=volume, buy_volume=buy, sell_volume=_subtract(volume, buy),
        trade_count=counts[present].astype(np.int64), quote_volume=_quote(ticks, volume, tick),
        first_time=int(trades.T.min()), last_time=int(trades.T.max()), trade_total=len(trades),
    )


def merge_tick_volumes(parts: Sequence[TickVolumes]) -> TickVolumes:
    """One TickVolumes for the union of the trades of ``parts`` (e.g. per-minute rollups); exact and
    order-independent, equal to ``tick_volumes`` of all their trades together."""
    parts = [p for p in parts if p.trade_total]
    if not parts:
        return _empty()
    distinct, index = np.unique(np.concatenate([p.ticks for p in parts]), return_inverse=True)
    size = len(distinct)

    def merged(column: str) -> np.ndarray:
        return sums_at(size, index, np.concatenate([getattr(p, column) for p in parts]))

    return TickVolumes(
        ticks=distinct.astype(np.int64), volume=merged("volume"), buy_volume=merged("buy_volume"),
        sell_volume=merged("sell_volume"), trade_count=merged("trade_count").astype(np.int64),
        quote_volume=merged("quote_volume").astype(object),
        # Every part left has trades, hence times: the None checks only tell mypy so.
        first_time=min(p.first_time for p in parts if p.first_time is not None),
        last_time=max(p.last_time for p in parts if p.last_time is not None),
        trade_total=sum(p.trade_total for p in parts),
    )


# --- stage 2 ---------------------------------------------------------------------------------------------


def bin_size_ticks(tick_size: object, *, tick: int, p_decimals: int) -> int:
    """Ticks per bin for a requested bin size (decimal string or number > 0), rounded UP to a whole number of
    exchange ticks (0.015 with tick 0.01 → 2 ticks = 0.02). Raises InvalidParameter on ``tick_size``."""
    if isinstance(tick_size, bool):
        raise InvalidParameter("tick_size", "must be a decimal string or a number > 0", value=tick_size)
    try:
        size = Decimal(repr(tick_size) if isinstance(tick_size, float) else str(tick_size).strip())
    except (InvalidOperation, ValueError):
        raise InvalidParameter("tick_size", "must be a decimal string or a number > 0", value=str(tick_size)) from None
    if not size.is_finite() or size <= 0:
        raise InvalidParameter("tick_size", "must be a decimal string or a number > 0", value=str(tick_size))
    scaled: Fraction = Fraction(size) * 10**p_decimals
    return max(1, math.ceil(scaled / tick))


@dataclass(frozen=True)
class Histogram:
    """Dense bins of a TickVolumes on the absolute grid: bin i is grid bin ``first_bin + i``; Python ints."""

    first_bin: int
    ticks_per_bin: int
    volume: list[int]
    buy_volume: list[int]
    sell_volume: list[int]
    quote_volume: list[int]
    trade_count: list[int]

    def __len__(self) -> int:
        return len(self.volume)

    def low_tick(self, i: int) -> int:
        return (self.first_bin + i) * self.ticks_per_bin

    def high_tick(self, i: int) -> int:
        return self.low_tick(i) + self.ticks_per_bin - 1


def histogram(tv: TickVolumes, *, tick: int, p_decimals: int,
              tick_size: str | float | Decimal | None = None) -> Histogram:
    """Stage 2a: the dense bins (shared by volume_profile and liquidity_vacuums). ``tv`` must be non-empty."""
    low, high = int(tv.ticks[0]), int(tv.ticks[-1])
    if tick_size is None:
        tpb = max(MIN_TICKS_PER_BIN, math.ceil((high - low) / TARGET_BINS))
    else:
        tpb = bin_size_ticks(tick_size, tick=tick, p_decimals=p_decimals)
    first, last = low // tpb, high // tpb
    count = last - first + 1
    if count > MAX_BINS:
        # Bins sit on the absolute grid, so the count does not fall steadily with the size. From this size on,
        # every size is accepted: high//b - low//b <= ceil((high - low)/b) <= MAX_BINS - 1.
        minimum = max(1, math.ceil((high - low) / (MAX_BINS - 1)))
        raise InvalidParameter(
            "tick_size", f"would make {count} bins over this price range; at most {MAX_BINS} are allowed",
            bins=count, max_bins=MAX_BINS, minimum=format_scaled(minimum * tick, p_decimals),
        )
    index = tv.ticks // tpb - first

    def dense(column: np.ndarray) -> list[int]:
        return [int(v) for v in sums_at(count, index, column).tolist()]

    return Histogram(first, tpb, dense(tv.volume), dense(tv.buy_volume), dense(tv.sell_volume),
                     dense(tv.quote_volume), dense(tv.trade_count))


def point_of_control(volumes: Sequence[int]) -> int:
    """Index of the largest volume; ties → nearest the middle of the histogram, then the lower index."""
    top = max(volumes)
    n = len(volumes)
    return min((i for i, v in enumerate(volumes) if v == top), key=lambda i: (abs(2 * i - (n - 1)), i))


def value_area(volumes: Sequence[int], poc: int, pct: Fraction) -> tuple[int, int, int]:
    """(lowest index, highest index, volume) of the CBOT single-row value area around ``poc``."""
    target_num, target_den = pct.numerator * sum(volumes), pct.denominator
    lo = hi = poc
    accumulated = volumes[poc]
    while accumulated * target_den < target_num:
        has_up, has_down = hi + 1 < len(volumes), lo > 0
        if has_up and (not has_down or volumes[hi + 1] >= volumes[lo - 1]):
            hi += 1
            accumulated += volumes[hi]
        elif has_down:
            lo -= 1
            accumulated += volumes[lo]
        else:
            break
    return lo, hi, accumulated


def _value_area_pct(value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal, Fraction)):
        raise InvalidParameter("value_area_pct", "must be a number in (0, 1]", value=str(value))
    try:
        pct = exact_fraction(value)
    except (ValueError, ZeroDivisionError):
        raise InvalidParameter("value_area_pct", "must be a number in (0, 1]", value=str(value)) from None
    if not 0 < pct <= 1:
        raise InvalidParameter("value_area_pct", "must be in (0, 1]", value=str(value), minimum=0, maximum=1)
    return pct


def volume_profile(tv: TickVolumes, *, symbol: str, tick: int, p_decimals: int, q_decimals: int,
                   tick_size: str | float | Decimal | None = None,
                   value_area_pct: float | str | Decimal | Fraction = 0.70,
                   min_trades: int = DEFAULT_MIN_TRADES) -> dict[str, Any]:
    """Stage 2: the get_volume_profile response body (docs/analytics.md) from per-tick sums.

    Raises InvalidParameter (``value_area_pct``, ``tick_size``) and InsufficientData (fewer than ``min_trades``
    trades, at least 1). Prices and quantities are exact decimal strings.
    """
    pct = _value_area_pct(value_area_pct)
    if tv.trade_total < max(1, min_trades):
        raise InsufficientData(max(1, min_trades), tv.trade_total)
    hist = histogram(tv, tick=tick, p_decimals=p_decimals, tick_size=tick_size)
    total = sum(hist.volume)
    poc = point_of_control(hist.volume)
    va_low, va_high, va_volume = value_area(hist.volume, poc, pct)
    quote_decimals = p_decimals + q_decimals

    def price(ticks: int) -> str:
        return format_scaled(ticks * tick, p_decimals)

    def level(i: int) -> str:
        return fmt_half((hist.low_tick(i) + hist.high_tick(i)) * tick, p_decimals)

    bins = [
        {
            "price_level": level(i), "price_low": price(hist.low_tick(i)), "price_high": price(hist.high_tick(i)),
            "volume": format_scaled(hist.volume[i], q_decimals),
            "buy_volume": format_scaled(hist.buy_volume[i], q_decimals),
            "sell_volume": format_scaled(hist.sell_volume[i], q_decimals),
            "quote_volume": format_scaled(hist.quote_volume[i], quote_decimals),
            "trade_count": hist.trade_count[i],
            "percentage_of_total": 100 * hist.volume[i] / total if total else 0.0,
        }
        for i in range(len(hist))
    ]
    return {
        "symbol": symbol,
        "time_period_start": tv.first_time,
        "time_period_end": tv.last_time,
        "price_range_low": price(int(tv.ticks[0])),
        "price_range_high": price(int(tv.ticks[-1])),
        "tick_size": format_scaled(tick, p_decimals),
        "bin_size": format_scaled(hist.ticks_per_bin * tick, p_decimals),
        "bin_count": len(hist),
        "histogram": bins,
        "total_volume": format_scaled(total, q_decimals),
        "trade_count": tv.trade_total,
        "point_of_control": level(poc),
        "poc_volume": format_scaled(hist.volume[poc], q_decimals),
        "value_area_high": price(hist.high_tick(va_high)),
        "value_area_low": price(hist.low_tick(va_low)),
        "value_area_volume": format_scaled(va_volume, q_decimals),
        "value_area_pct_actual": va_volume / total if total else 0.0,
    }
