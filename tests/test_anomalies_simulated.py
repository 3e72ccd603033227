"""The anomaly detectors against the simulator's own synthetic market, driven on a simulated clock.

The market model is pure (times passed in), so ten minutes of a steady market take seconds: at every simulated
second the book's top 20 levels become a snapshot, as the service would store it, and the trades come from the
simulator's ledger.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from tradeactors import analytics
from tradeactors.protocol import AggTrade
from tradeactors.records import BookSecond, TradeColumns
from tradeactors.simulator.symbols import spec_for
from tradeactors.simulator.synthetic import SyntheticMarket

BASE_MS = 1_723_161_600_000


def scaled(levels):
    rows = [[int(p.replace(".", "")), int(q.replace(".", ""))] for p, q in levels]
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def run_market(seconds: int, rate: float = 50.0, seed: int = 1, change_at: int | None = None,
               symbol: str = "BTCUSDT", **regime):
    """``regime`` (the simulator's set_regime knobs) is applied at second ``change_at``."""
    market = SyntheticMarket(spec_for(symbol), seed)
    timing = random.Random(seed)
    snapshots = []
    for second in range(seconds):
        if second == change_at:
            market.set_regime(**{k: v for k, v in regime.items() if k != "sweep"})
            if "sweep" in regime:
                market.set_regime(sweep=regime["sweep"])
        for step in range(10):
            ms = BASE_MS + second * 1000 + step * 100
            for _ in range(np.random.default_rng(second * 10 + step).poisson(rate / 10)):
                market.taker_order(ms, [])
            for _ in range(int(timing.expovariate(1 / 2.0))):
                market.churn_once()
            market.commit()
        uid, bids, asks = market.snapshot(20)
        snapshots.append(BookSecond(symbol, BASE_MS // 1000 + second, uid, BASE_MS + second * 1000,
                                            scaled(bids), scaled(asks), 8, 8))
    trades = [AggTrade(t["a"], t["p"], t["q"], t["f"], t["l"], t["T"], t["m"]) for t in market.trades.trades()]
    return snapshots, TradeColumns.from_trades(trades)


def test_ten_minutes_of_a_steady_synthetic_market_produce_no_anomaly():
    snapshots, trades = run_market(11 * 60)
    found = []
    for minute in range(1, 11):  # every one-minute window, with the minutes before it as the baseline
        start_s = BASE_MS // 1000 + minute * 60
        window = [s for s in snapshots if start_s <= s.second < start_s + 60]
        baseline = [s for s in snapshots if s.second < start_s]
        start_ms, end_ms = start_s * 1000, (start_s + 60) * 1000 - 1
        in_window = (start_ms <= trades.T) & (end_ms >= trades.T)
        result = analytics.detect_market_anomalies(
            window, baseline, trades.select(in_window), symbol="BTCUSDT", now_ms=end_ms, window_start_ms=start_ms,
            window_end_ms=end_ms, baseline_minutes=60, tick_size="0.01000000")
        found += result["anomalies"]
    assert found == []
    assert len(trades) > 25_000  # it was a market, not an idle book


def detected(snapshots, trades, start_s: int, seconds: int = 60, tick_size: str = "0.01000000") -> set[str]:
    window = [s for s in snapshots if start_s <= s.second < start_s + seconds]
    baseline = [s for s in snapshots if s.second < start_s]
    start_ms, end_ms = start_s * 1000, (start_s + seconds) * 1000 - 1
    in_window = (start_ms <= trades.T) & (end_ms >= trades.T)
    result = analytics.detect_market_anomalies(window, baseline, trades.select(in_window), symbol=window[0].symbol,
                                               now_ms=end_ms, window_start_ms=start_ms, window_end_ms=end_ms,
                                               baseline_minutes=60, tick_size=tick_size)
    return {a["anomaly_type"] for a in result["anomalies"]}


@pytest.mark.parametrize("regime,fires", [
    ({"spread": 20}, {"SpreadBlowout"}),
    ({"spread": 2}, set()),  # near miss: quotes placed twice as wide
    ({"churn": 50}, {"QuoteStuffing"}),
    ({"churn": 3}, set()),  # near miss: busy makers, not stuffing
    # the sweep through 30 levels also moves the mid by many of the market's own one-second deviations
    ({"pull": 0.05, "spread": 30, "sweep": -30}, {"DepthCollapse", "FlashCrashRisk", "SpreadBlowout", "PriceJump"}),
    ({"pull": 0.5}, set()),  # near miss: makers halve their size
])
def test_the_simulated_market_triggers_each_detector_and_a_near_miss_does_not(regime, fires):
    snapshots, trades = run_market(200, change_at=140, **regime)
    assert detected(snapshots, trades, BASE_MS // 1000 + 140) == fires


def test_a_sweep_through_many_levels_is_a_price_jump_and_a_small_one_is_not():
    # On a $1 symbol one tick is 1 bp, so a sweep moves the mid by many robust sigmas of its 1-s returns.
    start = BASE_MS // 1000 + 140
    big = run_market(200, rate=50.0, change_at=140, symbol="XRPUSDT", sweep=150)
    small = run_market(200, rate=50.0, change_at=140, symbol="XRPUSDT", sweep=20)
    assert "PriceJump" in detected(*big, start, tick_size="0.00010000")
    assert "PriceJump" not in detected(*small, start, tick_size="0.00010000")


def test_a_hidden_order_refilling_the_best_bid_is_an_iceberg_and_a_small_reserve_is_not():
    start = BASE_MS // 1000 + 140
    assert "IcebergOrder" in detected(*run_market(200, change_at=140, iceberg=500), start)
    # a reserve of 4x the shown size can never trade 5x it: the near miss
    assert "IcebergOrder" not in detected(*run_market(200, change_at=140, iceberg=4), start)
