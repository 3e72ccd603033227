"""Microstructure health (docs/analytics.md, get_microstructure_health), calibrated to the symbol's own normal.

Each component judges the window against the symbol's baseline (the book seconds of the ``baseline_minutes``
before the window) and scores 0..100: 100 while the window is inside the baseline's normal, falling on a log
scale to 0 at ``*_TOLERANCE`` times beyond it. Window measures are medians and upper percentiles (nearest rank),
so that one odd second (a sweep that empties the best level for an instant) does not decide a minute.

- ``spread_stability_score``: spreads in ticks (a crossed, locked or one-sided book second counts as an infinite
  spread). widening = max(window median / baseline median, window p90 / max(baseline p90, baseline median + 1
  tick)); 100 when widening ≤ 1, else 100·max(0, 1 − ln(widening)/ln(SPREAD_TOLERANCE)). The "+ 1 tick" is the
  tick's discreteness: at one tick a symbol can not move less than a tick.
- ``liquidity_depth_score``: each side's top-20 depth, window median against baseline median; ratio = the smaller
  of the two sides' ratios; 100 when ratio ≥ 1 (at or above its normal: full marks), else
  100·max(0, 1 − ln(1/ratio)/ln(DEPTH_TOLERANCE)). An empty side has depth 0.
- ``flow_balance_score`` = 100·(1 − |b − a|/(b + a)) with the order-flow rates (top 20 levels); 50 when both are 0.
- ``update_rate_score``: the window's median pair update rate (Δupdate_id/Δt) against the baseline's interquartile
  range of pair rates: 100 inside [p25, p75], else 100·max(0, 1 − ln(excess)/ln(UPDATE_RATE_TOLERANCE)) with
  excess = rate/p75 above or p25/rate below.

Without a baseline (fewer than ``BASELINE_MIN_SNAPSHOTS`` book seconds) the three baseline components score 50
(``baseline_available: false``). ``overall_score`` = min(0.25·spread + 0.35·depth + 0.25·flow + 0.15·update rate,
WEAKEST_LINK_MARGIN + the weakest component): one dimension far outside its normal (a blown-out spread, pulled
depth, stuffed quotes) makes the market at best Fair, however normal the rest. Levels: Excellent ≥ 80 (only if
every component ≥ 50, else Good), Good ≥ 60, Fair ≥ 40, Poor ≥ 20, else Critical. A book whose newest book second
is older than 5 s is ``stale`` and at most Poor: a frozen book would otherwise look perfectly normal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from tradeactors.analytics.book_series import (
    BASELINE_MIN_SNAPSHOTS,
    DEPTH_LEVELS,
    BookSeries,
    book_series,
    flow_rates,
    observed_tick,
    pair_update_rates,
    window_duration_secs,
)
from tradeactors.analytics.exact import fmt_ratio
from tradeactors.errors import InsufficientData
from tradeactors.records import BookSecond, TradeColumns

WEIGHTS = {"spread_stability": 0.25, "liquidity_depth": 0.35, "flow_balance": 0.25, "update_rate": 0.15}
SPREAD_TOLERANCE = 4.0
"""A spread this many times its normal scores 0."""
DEPTH_TOLERANCE = 5.0
"""Depth at 1/this of its normal scores 0."""
UPDATE_RATE_TOLERANCE = 5.0
"""An update rate this many times outside the baseline's interquartile range (either way) scores 0."""
SPREAD_UPPER_PERCENTILE = 90
WEAKEST_LINK_MARGIN = 50.0
NO_BASELINE_SCORE = 50.0
STALE_AFTER_MS = 5000
EXCELLENT, GOOD, FAIR, POOR = 80, 60, 40, 20
EXCELLENT_COMPONENT_FLOOR = 50
LEVELS = ("Excellent", "Good", "Fair", "Poor", "Critical")
RECOMMENDED_ACTIONS = {
    "Excellent": "Healthy market: normal execution.",
    "Good": "Minor irregularities: normal execution, keep monitoring.",
    "Fair": "Degraded conditions: prefer limit orders and smaller sizes.",
    "Poor": "Unstable or stale market: reduce size, widen limits, verify the feed.",
    "Critical": "Severely impaired market: avoid market orders until conditions recover.",
}


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: works with infinities and keeps tick values)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def tolerance_score(excess: float, tolerance: float) -> float:
    """100 at or inside the normal (excess ≤ 1), 0 at ``tolerance`` times beyond it, log-linear between."""
    if excess <= 1:
        return 100.0
    if math.isinf(excess):
        return 0.0
    return 100 * max(0.0, 1 - math.log(excess) / math.log(tolerance))


def spreads_in_ticks(series: BookSeries, tick: float) -> list[float]:
    """Each book second's spread in ticks; a crossed, locked or one-sided book second is infinite."""
    out = []
    for i in range(len(series)):
        spread = series.spread(i)
        out.append(spread / tick if spread is not None and spread > 0 else math.inf)
    return out


def spread_stability(series: BookSeries, base: BookSeries | None, tick: float) -> tuple[float, dict[str, Any]]:
    window = spreads_in_ticks(series, tick)
    w_med, w_hi = percentile(window, 50), percentile(window, SPREAD_UPPER_PERCENTILE)
    detail: dict[str, Any] = {"spread_median_ticks": _finite(w_med), "spread_p90_ticks": _finite(w_hi)}
    if base is None:
        return NO_BASELINE_SCORE, detail
    quoted = [s for s in spreads_in_ticks(base, tick) if math.isfinite(s)]
    if not quoted:
        return NO_BASELINE_SCORE, detail
    b_med, b_hi = percentile(quoted, 50), percentile(quoted, SPREAD_UPPER_PERCENTILE)
    normal_hi = max(b_hi, b_med + 1)
    widening = max(w_med / b_med, w_hi / normal_hi)
    detail.update(baseline_spread_median_ticks=b_med, baseline_spread_p90_ticks=b_hi, spread_widening=_finite(widening))
    return tolerance_score(widening, SPREAD_TOLERANCE), detail


def liquidity_depth(series: BookSeries, base: BookSeries | None) -> tuple[float, dict[str, Any]]:
    q = 10**series.qty_decimals
    w_bid, w_ask = percentile(series.bid_depth, 50), percentile(series.ask_depth, 50)
    detail: dict[str, Any] = {"bid_depth_median": w_bid / q, "ask_depth_median": w_ask / q}
    if base is None:
        return NO_BASELINE_SCORE, detail
    bq = 10**base.qty_decimals
    b_bid, b_ask = percentile(base.bid_depth, 50), percentile(base.ask_depth, 50)
    ratios = [(w / q) / (b / bq) for w, b in ((w_bid, b_bid), (w_ask, b_ask)) if b > 0]
    if not ratios:
        return NO_BASELINE_SCORE, detail
    ratio = min(ratios)
    detail.update(baseline_bid_depth_median=b_bid / bq, baseline_ask_depth_median=b_ask / bq, depth_ratio=ratio)
    return tolerance_score(1 / ratio if ratio > 0 else math.inf, DEPTH_TOLERANCE), detail


def flow_balance(bid_rate: float, ask_rate: float) -> float:
    if bid_rate + ask_rate == 0:
        return 50.0
    return 100 * (1 - abs(bid_rate - ask_rate) / (bid_rate + ask_rate))


def update_rate(series: BookSeries, base: BookSeries | None) -> tuple[float, dict[str, Any]]:
    rates = pair_update_rates(series)
    rate = percentile(rates, 50) if rates else None
    detail: dict[str, Any] = {"update_rate": rate, "baseline_update_rate_p25": None, "baseline_update_rate_p75": None}
    base_rates = pair_update_rates(base) if base is not None else []
    if rate is None or not base_rates:
        return NO_BASELINE_SCORE, detail
    lo, hi = percentile(base_rates, 25), percentile(base_rates, 75)
    detail.update(baseline_update_rate_p25=lo, baseline_update_rate_p75=hi)
    return update_rate_score(rate, lo, hi), detail


def update_rate_score(rate: float | None, low: float | None, high: float | None) -> float:
    """The update-rate score of a rate against a baseline band [low, high] (None: no baseline → 50)."""
    if rate is None or low is None or high is None or high <= 0:
        return NO_BASELINE_SCORE
    if rate > high:
        return tolerance_score(rate / high, UPDATE_RATE_TOLERANCE)
    if rate < low:
        return tolerance_score(low / rate if rate > 0 else math.inf, UPDATE_RATE_TOLERANCE)
    return 100.0


def overall(scores: dict[str, float]) -> float:
    weighted = sum(WEIGHTS[name] * score for name, score in scores.items())
    return min(weighted, WEAKEST_LINK_MARGIN + min(scores.values()))


def health_level(overall: float, components: Sequence[float], stale: bool) -> str:
    if overall >= EXCELLENT:
        level = "Excellent" if min(components) >= EXCELLENT_COMPONENT_FLOOR else "Good"
    elif overall >= GOOD:
        level = "Good"
    elif overall >= FAIR:
        level = "Fair"
    elif overall >= POOR:
        level = "Poor"
    else:
        level = "Critical"
    if stale and LEVELS.index(level) < LEVELS.index("Poor"):
        level = "Poor"
    return level


def causes(scores: dict[str, float], detail: dict[str, Any], baseline: bool) -> list[str]:
    """Plain words for each component below 60: why a window is not Good."""
    out = []
    if not baseline:
        out.append("no baseline yet: spread, depth and update rate score a neutral 50 until "
                   f"{BASELINE_MIN_SNAPSHOTS} book seconds before the window are stored")
        scores = {**scores, "spread_stability": 100, "liquidity_depth": 100, "update_rate": 100}
    if scores["spread_stability"] < GOOD:
        out.append(f"spread wider than usual: median {detail['spread_median_ticks']} / p90 "
                   f"{detail['spread_p90_ticks']} ticks against a baseline median "
                   f"{detail.get('baseline_spread_median_ticks')} / p90 {detail.get('baseline_spread_p90_ticks')}")
    if scores["liquidity_depth"] < GOOD:
        out.append(f"thinner book: top-20 depth at {detail.get('depth_ratio', 0):.2f} of the baseline median "
                   f"(weaker side)")
    if scores["flow_balance"] < GOOD and detail["bid_flow_rate"] + detail["ask_flow_rate"] > 0:
        out.append(f"one-sided liquidity flow: bid {detail['bid_flow_rate']:.2f} vs ask "
                   f"{detail['ask_flow_rate']:.2f} levels rising per second")
    if scores["update_rate"] < GOOD:
        out.append(f"update rate {detail['update_rate']} per s outside the baseline's p25..p75 "
                   f"{detail['baseline_update_rate_p25']}..{detail['baseline_update_rate_p75']}")
    return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _tick(series: BookSeries, tick_size: str | None, books: Sequence[BookSecond]) -> float:
    """The tick in scaled price units: the exchange's when known, else the finest step seen in the books."""
    if tick_size is not None:
        value = Fraction(Decimal(str(tick_size))) * 10**series.price_decimals
        if value > 0:
            return float(value)
    seen = observed_tick(books)
    return float(seen) if seen else 1.0


def microstructure_health(books: Sequence[BookSecond], baseline_books: Sequence[BookSecond],
                          trades: TradeColumns | None, *, symbol: str, now_ms: int, window_start_ms: int,
                          window_end_ms: int, min_books: int = 2, tick_size: str | None = None) -> dict[str, Any]:
    """The get_microstructure_health response body. ``books``: the window's, sorted by second;
    ``baseline_books``: those before the window that make its baseline (may be empty). ``trades`` only feed
    ``trade_count`` in the details. ``tick_size``: the exchange tick as a decimal string (seen from the book
    when None). Raises InsufficientData with fewer than ``min_books`` (at least 2) book seconds."""
    required = max(2, min_books)
    if len(books) < required:
        raise InsufficientData(required, len(books), "book seconds")
    series = book_series(books, DEPTH_LEVELS)
    usable = [b for b in baseline_books if b.second * 1000 < window_start_ms]
    base = book_series(usable, DEPTH_LEVELS) if len(usable) >= BASELINE_MIN_SNAPSHOTS else None
    tick = _tick(series, tick_size, books)
    spread_score, spread_detail = spread_stability(series, base, tick)
    depth_score, depth_detail = liquidity_depth(series, base)
    bid_rate, ask_rate, _span = flow_rates(books, DEPTH_LEVELS)
    flow_score = flow_balance(bid_rate, ask_rate)
    rate_score, rate_detail = update_rate(series, base)
    scores = {"spread_stability": spread_score, "liquidity_depth": depth_score, "flow_balance": flow_score,
              "update_rate": rate_score}
    total = overall(scores)
    age_ms = int(now_ms) - series.time_ms(len(series) - 1)
    stale = age_ms > STALE_AFTER_MS
    level = health_level(total, list(scores.values()), stale)
    spreads = [series.spread(i) for i in range(len(series))]
    quoted = [s for s in spreads if s is not None and s > 0]
    mean_spread = Fraction(sum(quoted), len(quoted)) if quoted else None
    detail: dict[str, Any] = {
        "tick": fmt_ratio(Fraction(tick).limit_denominator(10**6), series.price_decimals),
        "mean_spread": fmt_ratio(mean_spread, series.price_decimals) if mean_spread is not None else None,
        **spread_detail,
        "crossed_or_locked": any(s is not None and s <= 0 for s in spreads),
        "one_sided": not all(series.two_sided(i) for i in range(len(series))),
        **depth_detail,
        "bid_flow_rate": bid_rate,
        "ask_flow_rate": ask_rate,
        **rate_detail,
        "baseline_snapshot_count": len(usable),
        "newest_snapshot_age_ms": age_ms,
        "trade_count": len(trades) if trades is not None else 0,
        "weights": dict(WEIGHTS),
        "weakest_link_margin": WEAKEST_LINK_MARGIN,
    }
    detail["causes"] = causes(scores, detail, base is not None)
    if stale:
        detail["causes"].append(f"stale: newest book second {age_ms} ms old")
    return {
        "symbol": symbol,
        "timestamp": int(now_ms),
        "time_window_start": int(window_start_ms),
        "time_window_end": int(window_end_ms),
        "window_duration_secs": window_duration_secs(window_start_ms, window_end_ms),
        "overall_score": total,
        "health_level": level,
        "spread_stability_score": spread_score,
        "liquidity_depth_score": depth_score,
        "flow_balance_score": flow_score,
        "update_rate_score": rate_score,
        "baseline_available": base is not None,
        "stale": stale,
        "recommended_action": RECOMMENDED_ACTIONS[level],
        "components_detail": detail,
        "snapshot_count": len(series),
    }
