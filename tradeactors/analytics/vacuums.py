"""Liquidity vacuums (docs/analytics.md, get_liquidity_vacuums): price zones the window traded through thinly.

Built on the volume profile's dense bins (same grid, same ``tick_size`` rule). With ``median`` the true median of
the non-empty bins' volumes (the mean of the two middle ones for an even count), a bin is thin when
``volume < threshold_ratio · median``; empty bins are thin. Each maximal run of thin bins is one zone, with
``volume_deficit_pct = 100 · (median − mean bin volume) / median`` and ``expected_impact`` > 80 → FastMovement,
> 50 → ModerateMovement, else Negligible. All comparisons are exact integer arithmetic.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from fractions import Fraction
from typing import Any

from tradeactors.analytics.exact import exact_fraction, fmt_half
from tradeactors.analytics.profile import DEFAULT_MIN_TRADES, TickVolumes, histogram
from tradeactors.decimals import format_scaled
from tradeactors.errors import InsufficientData, InvalidParameter

FAST_MOVEMENT_DEFICIT_PCT = 80
MODERATE_MOVEMENT_DEFICIT_PCT = 50


def vacuum_id(symbol: str, price_low: str, price_high: str) -> str:
    """Stable across calls and windows: the same zone of the same symbol always gets the same id."""
    digest = hashlib.sha1(f"{symbol}:{price_low}:{price_high}".encode()).hexdigest()[:12]
    return f"vac-{digest}"


def expected_impact(deficit_pct: float) -> str:
    if deficit_pct > FAST_MOVEMENT_DEFICIT_PCT:
        return "FastMovement"
    if deficit_pct > MODERATE_MOVEMENT_DEFICIT_PCT:
        return "ModerateMovement"
    return "Negligible"


def _threshold_ratio(value: Any) -> Fraction:
    # Any: exact_fraction raises TypeError on what is not a number, answered as InvalidParameter below.
    if isinstance(value, bool):
        raise InvalidParameter("threshold_ratio", "must be a number in (0, 1)", value=str(value)) from None
    try:
        ratio = exact_fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise InvalidParameter("threshold_ratio", "must be a number in (0, 1)", value=str(value)) from None
    if not 0 < ratio < 1:
        raise InvalidParameter("threshold_ratio", "must be in (0, 1)", value=str(value), minimum=0, maximum=1)
    return ratio


def thin_runs(volumes: list[int], counts: list[int], ratio: Fraction) -> tuple[Fraction, list[tuple[int, int]]]:
    """(median of non-empty bins, [(first, last) index of each maximal run of thin bins])."""
    filled = sorted(v for v, c in zip(volumes, counts) if c > 0)
    if not filled:
        return Fraction(0), []
    mid = len(filled) // 2
    median = Fraction(filled[mid]) if len(filled) % 2 else Fraction(filled[mid - 1] + filled[mid], 2)
    limit = ratio * median
    runs: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate(volumes):
        if v < limit:
            start = i if start is None else start
        elif start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(volumes) - 1))
    return median, runs


def liquidity_vacuums(tv: TickVolumes, *, symbol: str, tick: int, p_decimals: int, q_decimals: int,
                      detection_timestamp: int, tick_size: str | float | Decimal | None = None,
                      threshold_ratio: float | str | Decimal | Fraction = 0.20,
                      min_trades: int = DEFAULT_MIN_TRADES) -> dict[str, Any]:
    """The get_liquidity_vacuums response body: zones sorted by price, plus the profile facts they rest on.

    Raises InvalidParameter (``threshold_ratio``, ``tick_size``) and InsufficientData (< ``min_trades``).
    """
    ratio = _threshold_ratio(threshold_ratio)
    if tv.trade_total < max(1, min_trades):
        raise InsufficientData(max(1, min_trades), tv.trade_total)
    hist = histogram(tv, tick=tick, p_decimals=p_decimals, tick_size=tick_size)
    median, runs = thin_runs(hist.volume, hist.trade_count, ratio)
    # The median is a whole or a half scaled unit: print it exactly.
    median_text = fmt_half(int(median * 2), q_decimals)
    last_bin = len(hist) - 1
    zones = []
    for first, last in runs:
        low = format_scaled(hist.low_tick(first) * tick, p_decimals)
        high = format_scaled(hist.high_tick(last) * tick, p_decimals)
        actual = sum(hist.volume[first:last + 1])
        bins = last - first + 1
        deficit = float(100 * (median - Fraction(actual, bins)) / median)
        zones.append({
            "vacuum_id": vacuum_id(symbol, low, high),
            "symbol": symbol,
            "price_range_low": low,
            "price_range_high": high,
            "bins": bins,
            "actual_volume": format_scaled(actual, q_decimals),
            "median_volume": median_text,
            "volume_deficit_pct": deficit,
            "expected_impact": expected_impact(deficit),
            "edge": first == 0 or last == last_bin,
            "detection_timestamp": int(detection_timestamp),
        })
    return {
        "symbol": symbol,
        "time_period_start": tv.first_time,
        "time_period_end": tv.last_time,
        "tick_size": format_scaled(tick, p_decimals),
        "bin_size": format_scaled(hist.ticks_per_bin * tick, p_decimals),
        "bin_count": len(hist),
        "trade_count": tv.trade_total,
        "threshold_ratio": float(ratio),
        "median_volume": median_text,
        "vacuum_count": len(zones),
        "vacuums": zones,
        "detection_timestamp": int(detection_timestamp),
    }
