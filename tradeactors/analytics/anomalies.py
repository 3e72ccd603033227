"""Market anomalies (docs/analytics.md, detect_market_anomalies): six deterministic detectors over one window,
each in the symbol's own units: thresholds are multiples of the symbol's realised behaviour over the baseline (the
book seconds of the ``baseline_minutes`` before the window), never absolute prices, sizes or rates.

Each detector compares a window measurement with a threshold (module constants, echoed in ``metadata``) and
reports at most one anomaly per window (IcebergOrder: one per price run), at the worst reading, with
``confidence = 1 − 0.5 / excess`` where ``excess`` = measurement / threshold in the direction that matters (0.5 just
over the line, 0.75 at twice it, → 1). Severity: > 0.95 Critical, > 0.85 High, > 0.7 Medium, else Low.

Baselines need at least ``BASELINE_MIN_SNAPSHOTS`` book seconds, else the baseline detectors stay silent (no
baseline, no "× its normal").

- QuoteStuffing: the window's update rate R = Σ Δupdate_id / Σ Δt > max(QUOTE_STUFFING_MIN_RATE, 5 × the
  baseline's rate measured the same way) and fill ratio (raw trades Σ(l − f + 1) / book updates) < 0.10.
- SpreadBlowout: the spread in ticks stays above 5 × the baseline median spread in ticks for at least
  ``SPREAD_BLOWOUT_MIN_SECONDS`` consecutive book seconds (a sweep that empties the best level for an instant, then
  refills, is the market working, not a blowout); measured as the smallest spread of the run (what was sustained).
- DepthCollapse: the smallest top-20 depth (both sides) < 20 % of the baseline median.
- FlashCrashRisk: one book second with depth loss > 80 % and a spread > 10 × the baseline median (in ticks).
- PriceJump: 1-s log returns of the mid, z = r / σ with σ the symbol's own one-second return deviation: the root
  mean square of the baseline and window returns with the largest ``PRICE_JUMP_TRIM`` share (at least one) left
  out, so that the jump does not hide itself; σ is at least one tick relative to the mid (a tick-constrained
  market can not move less). |z| > ``PRICE_JUMP_Z``. (A median absolute deviation does not work here: BTCUSDT's
  mid stays put in half its seconds, so its MAD is 0.)
- IcebergOrder: a price that stays best bid (ask) for ≥ 5 consecutive book seconds while the volume executed at it
  by takers hitting that side (sells for a bid, buys for an ask) during the run exceeds 5 × its median displayed
  size (its own displayed size: the unit is the level's).

``tradeactors bench analytics`` measures how often each fires on every minute of the bundled real captures
(docs/analytics.md has the figures).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from tradeactors.analytics.book_series import (
    BASELINE_MIN_SNAPSHOTS,
    DEPTH_LEVELS,
    BookSeries,
    book_series,
    median,
    observed_tick,
    window_duration_secs,
    window_updates,
)
from tradeactors.analytics.exact import exact_sum, fmt_half
from tradeactors.decimals import format_scaled
from tradeactors.errors import InvalidParameter
from tradeactors.records import BookSecond, TradeColumns

QUOTE_STUFFING_MIN_RATE = 50.0
"""Updates per second below which nothing is stuffing, whatever the baseline (a dead book waking up)."""
QUOTE_STUFFING_BASELINE_MULTIPLE = 5.0
QUOTE_STUFFING_MAX_FILL_RATIO = 0.10
SPREAD_BLOWOUT_MULTIPLE = 5.0
SPREAD_BLOWOUT_MIN_SECONDS = 3
DEPTH_COLLAPSE_FRACTION = 0.20
FLASH_CRASH_DEPTH_LOSS = 0.80
FLASH_CRASH_SPREAD_MULTIPLE = 10.0
PRICE_JUMP_Z = 8.0
PRICE_JUMP_TRIM = 0.02
PRICE_JUMP_MIN_SCALE_TICKS = 1.0
PRICE_JUMP_MIN_RETURNS = 10
ICEBERG_MIN_SNAPSHOTS = 5
ICEBERG_VOLUME_MULTIPLE = 5.0
MAX_BASELINE_MINUTES = 1440

RECOMMENDED_ACTIONS = {
    "QuoteStuffing": "Displayed quotes are churning without trading: treat them as unreliable, avoid "
                     "latency-sensitive orders.",
    "SpreadBlowout": "Spread blown out: use limit orders only until it normalises.",
    "DepthCollapse": "Book depth collapsed: cut order sizes, expect high price impact.",
    "FlashCrashRisk": "Flash-crash conditions: stop aggressive trading and tighten risk limits.",
    "PriceJump": "Abrupt price jump: re-check fair value and stop levels before trading.",
    "IcebergOrder": "Hidden liquidity at this level: expect it to absorb flow beyond the displayed size.",
}


def confidence(excess: float) -> float:
    """0.5 at the threshold, rising towards 1 with the excess (measurement / threshold)."""
    if excess <= 0:
        return 0.0
    return 1.0 if math.isinf(excess) else min(1.0, max(0.0, 1 - 0.5 / excess))


def severity(conf: float) -> str:
    if conf > 0.95:
        return "Critical"
    if conf > 0.85:
        return "High"
    if conf > 0.7:
        return "Medium"
    return "Low"


def anomaly_id(symbol: str, kind: str, timestamp: int, levels: Sequence[str]) -> str:
    """Stable: the same event seen by two requests gets the same id."""
    text = f"{symbol}:{kind}:{timestamp}:{','.join(levels)}"
    return "anom-" + hashlib.sha1(text.encode()).hexdigest()[:12]


def _anomaly(symbol: str, kind: str, timestamp: int, excess: float, levels: list[str],
             metadata: dict[str, Any]) -> dict[str, Any]:
    conf = confidence(excess)
    return {
        "anomaly_id": anomaly_id(symbol, kind, timestamp, levels),
        "symbol": symbol,
        "anomaly_type": kind,
        "detection_timestamp": int(timestamp),
        "confidence_score": conf,
        "affected_price_levels": levels,
        "severity": severity(conf),
        "recommended_action": RECOMMENDED_ACTIONS[kind],
        "metadata": {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metadata.items()},
    }


def _price(series: BookSeries, value: int | None) -> list[str]:
    return [] if value is None else [format_scaled(value, series.price_decimals)]


def _best_levels(series: BookSeries, i: int) -> list[str]:
    return _price(series, series.bid_price[i]) + _price(series, series.ask_price[i])


# --- detectors --------------------------------------------------------------------------------------------


def quote_stuffing(series: BookSeries, base: BookSeries | None, trades: TradeColumns | None,
                   symbol: str) -> list[dict[str, Any]]:
    updates, seconds = window_updates(series)
    if seconds <= 0 or updates <= 0:
        return []
    rate = updates / seconds
    base_updates, base_seconds = window_updates(base) if base is not None else (0, 0)
    if base_seconds <= 0:
        return []
    baseline = base_updates / base_seconds
    threshold = max(QUOTE_STUFFING_MIN_RATE, QUOTE_STUFFING_BASELINE_MULTIPLE * baseline)
    raw_trades = int((trades.l - trades.f + 1).sum()) if trades is not None and len(trades) else 0
    fill = raw_trades / updates
    if not (rate > threshold and fill < QUOTE_STUFFING_MAX_FILL_RATIO):
        return []
    excess = min(rate / threshold, QUOTE_STUFFING_MAX_FILL_RATIO / fill if fill > 0 else math.inf)
    last = len(series) - 1
    return [_anomaly(symbol, "QuoteStuffing", series.time_ms(last), excess, _best_levels(series, last), {
        "update_rate": rate, "baseline_update_rate": baseline, "rate_threshold": threshold,
        "min_rate": QUOTE_STUFFING_MIN_RATE, "baseline_multiple": QUOTE_STUFFING_BASELINE_MULTIPLE,
        "raw_trades": raw_trades, "book_updates": updates, "fill_ratio": fill,
        "max_fill_ratio": QUOTE_STUFFING_MAX_FILL_RATIO,
    })]


def spreads_in_ticks(series: BookSeries, tick: Fraction | None) -> list[float | None]:
    """Each book second's spread in ticks (scaled price units when the tick is unknown); None when one-sided."""
    unit = float(tick) if tick else 1.0
    return [s / unit if s is not None else None for s in (series.spread(i) for i in range(len(series)))]


def _baseline_medians(base: BookSeries | None, tick: Fraction | None) -> tuple[float | None, float | None]:
    """(median spread in ticks, median depth) of the baseline; None when missing or not positive."""
    if base is None:
        return None, None
    spread = median([s for s in spreads_in_ticks(base, tick) if s is not None and s > 0])
    depth = median([float(base.depth(i)) for i in range(len(base))])
    return (spread if spread and spread > 0 else None), (depth if depth and depth > 0 else None)


def _sustained_runs(values: Sequence[float | None], threshold: float, min_length: int) -> list[tuple[int, int]]:
    """(first, last) index of each run of at least ``min_length`` consecutive values above ``threshold``."""
    runs, start = [], None
    for i, value in enumerate([*values, None]):
        if value is not None and value > threshold:
            start = i if start is None else start
        else:
            if start is not None and i - start >= min_length:
                runs.append((start, i - 1))
            start = None
    return runs


def spread_and_depth(series: BookSeries, base: BookSeries | None, tick: Fraction | None,
                     symbol: str) -> list[dict[str, Any]]:
    """SpreadBlowout, DepthCollapse and FlashCrashRisk, all against the same baseline medians."""
    median_spread, median_depth = _baseline_medians(base, tick)
    found: list[dict[str, Any]] = []
    spreads = spreads_in_ticks(series, tick)
    if median_spread is not None:
        threshold = SPREAD_BLOWOUT_MULTIPLE * median_spread
        runs = _sustained_runs(spreads, threshold, SPREAD_BLOWOUT_MIN_SECONDS)
        if runs:
            def held(run: tuple[int, int]) -> float:
                return min(s for s in spreads[run[0]:run[1] + 1] if s is not None)

            first, last = max(runs, key=lambda run: (held(run), -run[0]))
            sustained = held((first, last))
            widest = max(s for s in spreads[first:last + 1] if s is not None)
            found.append(_anomaly(symbol, "SpreadBlowout", series.time_ms(first), sustained / threshold,
                                  _best_levels(series, first), {
                                      "spread_ticks": sustained, "widest_spread_ticks": widest,
                                      "run_seconds": last - first + 1, "run_start": series.time_ms(first),
                                      "run_end": series.time_ms(last), "spread_bps": series.spread_bps(first),
                                      "baseline_median_spread_ticks": median_spread,
                                      "spread_multiple": SPREAD_BLOWOUT_MULTIPLE,
                                      "min_seconds": SPREAD_BLOWOUT_MIN_SECONDS,
                                  }))
    if median_depth is not None:
        i = min(range(len(series)), key=lambda i: (series.depth(i), i))
        threshold = DEPTH_COLLAPSE_FRACTION * median_depth
        depth = series.depth(i)
        if depth < threshold:
            found.append(_anomaly(symbol, "DepthCollapse", series.time_ms(i),
                                  threshold / depth if depth > 0 else math.inf, _best_levels(series, i), {
                                      "depth": format_scaled(depth, series.qty_decimals),
                                      "baseline_median_depth": float(median_depth) / 10**series.qty_decimals,
                                      "depth_fraction": DEPTH_COLLAPSE_FRACTION, "depth_levels": DEPTH_LEVELS,
                                  }))
    if median_spread is not None and median_depth is not None:
        best = None
        for i, spread in enumerate(spreads):
            depth = series.depth(i)
            loss = 1 - depth / median_depth
            if spread is None or not (loss > FLASH_CRASH_DEPTH_LOSS
                                      and spread > FLASH_CRASH_SPREAD_MULTIPLE * median_spread):
                continue
            depth_excess = (1 - FLASH_CRASH_DEPTH_LOSS) * median_depth / depth if depth > 0 else math.inf
            excess = min(depth_excess, spread / (FLASH_CRASH_SPREAD_MULTIPLE * median_spread))
            if best is None or excess > best[0]:
                best = (excess, i, loss, spread)
        if best is not None:
            excess, i, loss, spread = best
            found.append(_anomaly(symbol, "FlashCrashRisk", series.time_ms(i), excess, _best_levels(series, i), {
                "depth_loss": loss, "spread_ticks": spread, "baseline_median_spread_ticks": median_spread,
                "baseline_median_depth": float(median_depth) / 10**series.qty_decimals,
                "min_depth_loss": FLASH_CRASH_DEPTH_LOSS, "spread_multiple": FLASH_CRASH_SPREAD_MULTIPLE,
            }))
    return found


def one_second_returns(series: BookSeries) -> list[tuple[int, float]]:
    """(index of the later book second, ln(mid / previous mid)) for book seconds exactly one second apart."""
    out = []
    for i in range(1, len(series)):
        if series.seconds[i] - series.seconds[i - 1] == 1:
            before, after = series.mid(i - 1), series.mid(i)  # None unless two-sided
            if before is not None and after is not None and before > 0 and after > 0:
                out.append((i, math.log(after / before)))
    return out


def return_deviation(returns: Sequence[float]) -> float:
    """The one-second return deviation: root mean square with the largest ``PRICE_JUMP_TRIM`` share of |r| (at
    least one) left out."""
    ordered = np.sort(np.abs(np.asarray(returns, dtype=float)))
    keep = len(ordered) - max(1, math.ceil(PRICE_JUMP_TRIM * len(ordered)))
    return float(np.sqrt(np.mean(ordered[:keep] ** 2))) if keep > 0 else 0.0


def price_jump(series: BookSeries, base: BookSeries | None, tick: Fraction | None,
               symbol: str) -> list[dict[str, Any]]:
    window = one_second_returns(series)
    sample = [r for _, r in one_second_returns(base)] if base is not None else []
    if base is not None and len(base) and series.seconds[0] - base.seconds[-1] == 1:
        before, after = base.mid(len(base) - 1), series.mid(0)  # the return across the window's start
        if before is not None and after is not None and before > 0 and after > 0:
            sample.append(math.log(after / before))
    sample += [r for _, r in window]
    if not window or len(sample) < PRICE_JUMP_MIN_RETURNS:
        return []
    deviation = return_deviation(sample)
    last_mid = series.mid(window[-1][0])
    assert last_mid is not None  # one_second_returns pairs only two-sided book seconds
    tick_floor = float(PRICE_JUMP_MIN_SCALE_TICKS * tick) / last_mid if tick is not None else 0.0
    scale = max(deviation, tick_floor)
    if scale <= 0:
        return []
    i, r = max(window, key=lambda item: (abs(item[1]), -item[0]))
    z = r / scale
    if abs(z) <= PRICE_JUMP_Z:
        return []
    jumps = sum(1 for _, ret in window if abs(ret / scale) > PRICE_JUMP_Z)
    before, after = series.mid_twice(i - 1), series.mid_twice(i)
    assert before is not None and after is not None  # as above: both book seconds of a return are two-sided
    levels = [fmt_half(twice, series.price_decimals) for twice in (before, after)]
    return [_anomaly(symbol, "PriceJump", series.time_ms(i), abs(z) / PRICE_JUMP_Z, levels, {
        "log_return": r, "return_bps": r * 1e4, "z": z, "return_deviation": deviation, "scale": scale,
        "returns_in_sample": len(sample), "jumps_in_window": jumps, "z_threshold": PRICE_JUMP_Z,
        "trim": PRICE_JUMP_TRIM, "min_scale_ticks": PRICE_JUMP_MIN_SCALE_TICKS,
    })]


def icebergs(series: BookSeries, trades: TradeColumns | None, symbol: str) -> list[dict[str, Any]]:
    if trades is None or len(trades) == 0:
        return []
    # Compare at the finer of the book's and the trades' decimals (they normally agree).
    p_dec = max(series.price_decimals, trades.p_decimals)
    q_dec = max(series.qty_decimals, trades.q_decimals)
    book_p, book_q = 10 ** (p_dec - series.price_decimals), 10 ** (q_dec - series.qty_decimals)
    tape = (trades.p * 10 ** (p_dec - trades.p_decimals), trades.q * 10 ** (q_dec - trades.q_decimals))
    found: list[dict[str, Any]] = []
    for side, prices, quantities, taker_sold in (("bid", series.bid_price, series.bid_qty, True),
                                                 ("ask", series.ask_price, series.ask_qty, False)):
        start = 0
        for end in range(1, len(series) + 1):
            price = prices[start]
            if end < len(series) and price is not None and prices[end] == price:
                continue
            if price is not None and end - start >= ICEBERG_MIN_SNAPSHOTS:
                run = (side, start, end - 1, price, taker_sold)
                shown = float(np.median(np.asarray(quantities[start:end], dtype=float))) * book_q
                found.extend(_iceberg_run(series, run, shown, trades, tape, book_p, q_dec, symbol))
            start = end
    return found


def _iceberg_run(series: BookSeries, run: tuple[str, int, int, int, bool], shown: float, trades: TradeColumns,
                 tape: tuple[np.ndarray, np.ndarray], book_p: int, q_dec: int, symbol: str) -> list[dict[str, Any]]:
    side, first, last, price, taker_sold = run
    begin, end = series.time_ms(first), series.time_ms(last) + 1000
    trade_p, trade_q = tape
    mask = (trade_p == price * book_p) & (trades.m == taker_sold) & (begin <= trades.T) & (end > trades.T)
    executed = exact_sum(trade_q[mask])
    if shown <= 0 or executed <= ICEBERG_VOLUME_MULTIPLE * shown:
        return []
    level = format_scaled(price, series.price_decimals)
    return [_anomaly(symbol, "IcebergOrder", series.time_ms(last), executed / (ICEBERG_VOLUME_MULTIPLE * shown),
                     [level], {
                         "side": side, "snapshots_at_best": last - first + 1,
                         "executed_volume": format_scaled(executed, q_dec),
                         "median_displayed": fmt_half(int(2 * shown), q_dec),
                         "min_snapshots": ICEBERG_MIN_SNAPSHOTS, "volume_multiple": ICEBERG_VOLUME_MULTIPLE,
                     })]


# --- entry point -------------------------------------------------------------------------------------------


def _baseline_minutes(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BASELINE_MINUTES:
        raise InvalidParameter("baseline_minutes", f"must be an integer in 1..{MAX_BASELINE_MINUTES}",
                               value=str(value), minimum=1, maximum=MAX_BASELINE_MINUTES)
    return value


def detect_market_anomalies(books: Sequence[BookSecond], baseline_books: Sequence[BookSecond],
                            trades: TradeColumns | None, *, symbol: str, now_ms: int, window_start_ms: int,
                            window_end_ms: int, baseline_minutes: int = 60,
                            tick_size: str | None = None) -> dict[str, Any]:
    """The /api/market_anomalies response body.

    ``books`` and ``trades``: the window's (book seconds sorted by second). ``baseline_books``: those before
    it; only the ``baseline_minutes`` before ``window_start_ms`` are used. ``tick_size``: the exchange tick as a
    decimal string (for the PriceJump floor; seen from the book when None). ``now_ms`` is accepted for symmetry
    with the other tools; detection timestamps are the times of the book seconds that showed the anomaly.
    """
    baseline_minutes = _baseline_minutes(baseline_minutes)
    window = {"start": int(window_start_ms), "end": int(window_end_ms),
              "duration_secs": window_duration_secs(window_start_ms, window_end_ms)}
    if len(books) < 2:
        return {"anomalies": [], "insufficient_data": True, "analysis_window": window}
    start_s = window_start_ms // 1000
    base_books = [s for s in baseline_books if start_s - 60 * baseline_minutes <= s.second < start_s]
    series = book_series(books, DEPTH_LEVELS)
    base = book_series(base_books, DEPTH_LEVELS) if len(base_books) >= BASELINE_MIN_SNAPSHOTS else None
    if tick_size is not None:
        tick = Fraction(Decimal(str(tick_size))) * 10**series.price_decimals
    else:
        seen = observed_tick(books)
        tick = Fraction(seen) if seen else None
    found = (quote_stuffing(series, base, trades, symbol) + spread_and_depth(series, base, tick, symbol)
             + price_jump(series, base, tick, symbol) + icebergs(series, trades, symbol))
    found.sort(key=lambda a: (a["detection_timestamp"], a["anomaly_type"], a["affected_price_levels"]))
    return {"anomalies": found, "analysis_window": window}
