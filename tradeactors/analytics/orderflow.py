"""Order flow (docs/analytics.md, get_order_flow) over the book seconds and aggregate trades of one window.

- ``bid_flow_rate`` / ``ask_flow_rate``: levels in the top ``depth_levels`` whose quantity rose between
  consecutive book seconds (a new price counts from 0), per second of observed span; ``net_flow`` = bid − ask.
- ``flow_direction`` from r = bid/ask: > 2 STRONG_BUY, ≥ 1.2 MODERATE_BUY, ≥ 0.8 NEUTRAL, ≥ 0.5 MODERATE_SELL,
  else STRONG_SELL; ask = 0 < bid → STRONG_BUY; both 0 → NEUTRAL.
- ``cumulative_delta`` = buy − sell volume of the trades (m = true is a sell: the buyer was the maker).
- ``ofi``: Σ of the Cont–Kukanov–Stoikov best-level events over consecutive book seconds.
- ``depth_imbalance`` = (ΣQb − ΣQa)/(ΣQb + ΣQa) over the top ``depth_levels``: the last book second's, and
  ``depth_imbalance_avg`` weighted by how long each book second stood (until the next one).
- ``spread_bps``, ``mid``, ``microprice`` = (Pb·Qa + Pa·Qb)/(Qb + Qa) of the last book second.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from tradeactors.analytics.book_series import (
    BookSeries,
    book_series,
    flow_rates,
    order_flow_imbalance,
    window_duration_secs,
)
from tradeactors.analytics.exact import exact_sum, fmt_half, fmt_ratio, fmt_signed
from tradeactors.errors import InsufficientData, InvalidParameter
from tradeactors.records import BookSecond, TradeColumns

MAX_DEPTH_LEVELS = 20
STRONG_BUY_RATIO = 2.0
MODERATE_BUY_RATIO = 1.2
NEUTRAL_RATIO = 0.8
MODERATE_SELL_RATIO = 0.5


def flow_direction(bid_rate: float, ask_rate: float) -> str:
    if ask_rate == 0:
        return "STRONG_BUY" if bid_rate > 0 else "NEUTRAL"
    r = bid_rate / ask_rate
    if r > STRONG_BUY_RATIO:
        return "STRONG_BUY"
    if r >= MODERATE_BUY_RATIO:
        return "MODERATE_BUY"
    if r >= NEUTRAL_RATIO:
        return "NEUTRAL"
    if r >= MODERATE_SELL_RATIO:
        return "MODERATE_SELL"
    return "STRONG_SELL"


def trade_volumes(trades: TradeColumns | None) -> tuple[int, int, int]:
    """(buy volume, sell volume, aggregate trade count); volumes scaled by 10**trades.q_decimals, exact."""
    if trades is None or len(trades) == 0:
        return 0, 0, 0
    return exact_sum(trades.q[~trades.m]), exact_sum(trades.q[trades.m]), len(trades)


def depth_imbalances(series: BookSeries) -> list[float | None]:
    out: list[float | None] = []
    for b, a in zip(series.bid_depth, series.ask_depth):
        out.append((b - a) / (b + a) if b + a > 0 else None)
    return out


def time_weighted_mean(values: Sequence[float | None], seconds: Sequence[int]) -> float | None:
    """Each value holds from its book second until the next one; the last one has no duration. Falls back to the
    plain mean when no time passes (or every weighted value is missing)."""
    weighted = total = 0.0
    for i in range(len(values) - 1):
        value, dt = values[i], seconds[i + 1] - seconds[i]
        if value is not None and dt > 0:
            weighted += value * dt
            total += dt
    if total > 0:
        return weighted / total
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def microprice(series: BookSeries, i: int) -> Fraction | None:
    top = series.top(i)
    if top is None:
        return None
    pb, qb, pa, qa = top
    if qb + qa <= 0:
        return None
    return Fraction(pb * qa + pa * qb, qb + qa)


def _depth_levels(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DEPTH_LEVELS:
        raise InvalidParameter("depth_levels", f"must be an integer in 1..{MAX_DEPTH_LEVELS}", value=str(value),
                               minimum=1, maximum=MAX_DEPTH_LEVELS)
    return value


def order_flow(books: Sequence[BookSecond], trades: TradeColumns | None, *, symbol: str,
               window_start_ms: int, window_end_ms: int, depth_levels: int = MAX_DEPTH_LEVELS,
               min_books: int = 2) -> dict[str, Any]:
    """The get_order_flow response body. ``books`` (sorted by second) and ``trades`` are those of the window
    ``[window_start_ms, window_end_ms]``. Raises InvalidParameter (``depth_levels``) and InsufficientData (fewer
    than ``min_books`` book seconds, at least 2)."""
    depth_levels = _depth_levels(depth_levels)
    required = max(2, min_books)
    if len(books) < required:
        raise InsufficientData(required, len(books), "book seconds")
    series = book_series(books, depth_levels)
    bid_rate, ask_rate, span = flow_rates(books, depth_levels)
    buy, sell, count = trade_volumes(trades)
    q_dec = trades.q_decimals if trades is not None else series.qty_decimals
    imbalances = depth_imbalances(series)
    last = len(series) - 1
    window_secs = (window_end_ms - window_start_ms) / 1000
    mid_twice = series.mid_twice(last)
    micro = microprice(series, last)
    return {
        "symbol": symbol,
        "time_window_start": int(window_start_ms),
        "time_window_end": int(window_end_ms),
        "window_duration_secs": window_duration_secs(window_start_ms, window_end_ms),
        "snapshot_count": len(series),
        "coverage": len(series) / window_secs if window_secs > 0 else 0.0,
        "observed_span_secs": span,
        "depth_levels": depth_levels,
        "bid_flow_rate": bid_rate,
        "ask_flow_rate": ask_rate,
        "net_flow": bid_rate - ask_rate,
        "flow_direction": flow_direction(bid_rate, ask_rate),
        "cumulative_delta": fmt_signed(buy - sell, q_dec),
        "buy_volume": fmt_signed(buy, q_dec),
        "sell_volume": fmt_signed(sell, q_dec),
        "trade_count": count,
        "ofi": fmt_signed(order_flow_imbalance(series), series.qty_decimals),
        "depth_imbalance": imbalances[last],
        "depth_imbalance_avg": time_weighted_mean(imbalances, series.seconds),
        "spread_bps": series.spread_bps(last),
        "mid": fmt_half(mid_twice, series.price_decimals) if mid_twice is not None else None,
        "microprice": fmt_ratio(micro, series.price_decimals) if micro is not None else None,
    }
