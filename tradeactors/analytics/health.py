"""Microstructure health (docs/analytics.md, get_microstructure_health): four component scores in 0..100.

- ``spread_stability_score`` = 100·(1 − min(CV, 0.5)/0.5), CV = population std / mean of the spread over the
  window's book seconds; 0 when any book second is locked, crossed or one-sided (no two-sided market to be stable).
- ``liquidity_depth_score`` = clamp(50 · D_last / mean(D), 0, 100), D = Σ quantity of the top 20 levels, both sides.
- ``flow_balance_score`` = 100·(1 − |b − a|/(b + a)) with the order-flow rates (top 20 levels); 50 when both are 0.
- ``update_rate_score`` = 100·max(0, 1 − |log10(rate/baseline)| / log10(5)); rate = Δupdate_id/Δt over the window,
  baseline = median pair rate of the previous hour's book seconds; 50 with ``baseline_available: false`` without one.

``overall_score`` = 0.25·spread + 0.35·depth + 0.25·flow + 0.15·update rate. Levels: Excellent ≥ 80 (only if every
component ≥ 50, else Good), Good ≥ 60, Fair ≥ 40, Poor ≥ 20, else Critical. A book whose newest book second is older
than 5 s is ``stale`` and at most Poor: a frozen book would otherwise look perfectly stable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tradeactors.analytics.book_series import (
    DEPTH_LEVELS,
    BookSeries,
    baseline_update_rate,
    book_series,
    flow_rates,
    window_duration_secs,
    window_updates,
)
from tradeactors.analytics.exact import fmt_ratio, fmt_signed
from tradeactors.errors import InsufficientData
from tradeactors.records import BookSecond, TradeColumns

WEIGHTS = {"spread_stability": 0.25, "liquidity_depth": 0.35, "flow_balance": 0.25, "update_rate": 0.15}
MAX_SPREAD_CV = 0.5
UPDATE_RATE_TOLERANCE = 5.0
"""A rate this many times off its baseline (either way) scores 0."""
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


def spread_stability(series: BookSeries) -> tuple[float, float | None, float | None]:
    """(score, CV, mean spread in scaled price units)."""
    spreads = [series.spread(i) for i in range(len(series))]
    if not spreads or any(s is None or s <= 0 for s in spreads):
        return 0.0, None, None
    values = np.asarray(spreads, dtype=float)
    mean = float(values.mean())
    cv = float(values.std()) / mean
    return 100 * (1 - min(cv, MAX_SPREAD_CV) / MAX_SPREAD_CV), cv, mean


def liquidity_depth(series: BookSeries) -> tuple[float, int, float]:
    """(score, D_last, mean D) with D in scaled quantity units."""
    depths = [series.depth(i) for i in range(len(series))]
    mean = sum(depths) / len(depths)
    if mean <= 0:
        return 0.0, depths[-1], mean
    return min(100.0, max(0.0, 50 * depths[-1] / mean)), depths[-1], mean


def flow_balance(bid_rate: float, ask_rate: float) -> float:
    if bid_rate + ask_rate == 0:
        return 50.0
    return 100 * (1 - abs(bid_rate - ask_rate) / (bid_rate + ask_rate))


def update_rate_score(rate: float | None, baseline: float | None) -> float:
    if baseline is None or rate is None:
        return 50.0
    if rate <= 0:
        return 0.0
    return 100 * max(0.0, 1 - abs(math.log10(rate / baseline)) / math.log10(UPDATE_RATE_TOLERANCE))


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


def microstructure_health(books: Sequence[BookSecond], baseline_books: Sequence[BookSecond],
                          trades: TradeColumns | None, *, symbol: str, now_ms: int, window_start_ms: int,
                          window_end_ms: int, min_books: int = 2) -> dict[str, Any]:
    """The get_microstructure_health response body. ``books``: the window's, sorted by second;
    ``baseline_books``: the hour before the window (may be empty). ``trades`` only feed ``trade_count`` in
    the details. Raises InsufficientData with fewer than ``min_books`` (at least 2) book seconds."""
    required = max(2, min_books)
    if len(books) < required:
        raise InsufficientData(required, len(books), "book seconds")
    series = book_series(books, DEPTH_LEVELS)
    spread_score, cv, mean_spread = spread_stability(series)
    depth_score, depth_last, depth_mean = liquidity_depth(series)
    bid_rate, ask_rate, _span = flow_rates(books, DEPTH_LEVELS)
    flow_score = flow_balance(bid_rate, ask_rate)
    updates, seconds = window_updates(series)
    rate = updates / seconds if seconds > 0 else None
    baseline = baseline_update_rate(baseline_books)
    rate_score = update_rate_score(rate, baseline)
    scores = {"spread_stability": spread_score, "liquidity_depth": depth_score, "flow_balance": flow_score,
              "update_rate": rate_score}
    overall = sum(WEIGHTS[name] * score for name, score in scores.items())
    age_ms = int(now_ms) - series.time_ms(len(series) - 1)
    stale = age_ms > STALE_AFTER_MS
    level = health_level(overall, list(scores.values()), stale)
    p_dec, q_dec = series.price_decimals, series.qty_decimals
    return {
        "symbol": symbol,
        "timestamp": int(now_ms),
        "time_window_start": int(window_start_ms),
        "time_window_end": int(window_end_ms),
        "window_duration_secs": window_duration_secs(window_start_ms, window_end_ms),
        "overall_score": overall,
        "health_level": level,
        "spread_stability_score": spread_score,
        "liquidity_depth_score": depth_score,
        "flow_balance_score": flow_score,
        "update_rate_score": rate_score,
        "baseline_available": baseline is not None,
        "stale": stale,
        "recommended_action": RECOMMENDED_ACTIONS[level],
        "components_detail": {
            "mean_spread": fmt_ratio(mean_spread, p_dec) if mean_spread is not None else None,
            "spread_cv": cv,
            "crossed_or_locked": any(spread is not None and spread <= 0
                                     for spread in map(series.spread, range(len(series)))),
            "one_sided": not all(series.two_sided(i) for i in range(len(series))),
            "depth_last": fmt_signed(depth_last, q_dec),
            "depth_mean": fmt_ratio(depth_mean, q_dec),
            "bid_flow_rate": bid_rate,
            "ask_flow_rate": ask_rate,
            "update_rate": rate,
            "baseline_update_rate": baseline,
            "newest_snapshot_age_ms": age_ms,
            "trade_count": len(trades) if trades is not None else 0,
            "weights": dict(WEIGHTS),
        },
        "snapshot_count": len(series),
    }
