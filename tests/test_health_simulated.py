"""Microstructure health against the simulator's synthetic market (the same pure model and simulated clock as
``test_anomalies_simulated``): at its own baseline the market is Excellent; each stress regime, applied at second
140 and judged over the minute after it against the 140 s before, is Fair or lower; a mild version of each is not
(near misses)."""

from __future__ import annotations

import pytest

from tests.test_anomalies_simulated import BASE_MS, run_market
from tradeactors import analytics

START = BASE_MS // 1000 + 140


def health(snapshots, start_s: int = START, seconds: int = 60) -> dict:
    window = [s for s in snapshots if start_s <= s.second < start_s + seconds]
    baseline = [s for s in snapshots if s.second < start_s]
    start_ms, end_ms = start_s * 1000, (start_s + seconds) * 1000 - 1
    return analytics.microstructure_health(window, baseline, None, symbol="BTCUSDT", now_ms=end_ms,
                                           window_start_ms=start_ms, window_end_ms=end_ms, tick_size="0.01000000")


def test_the_synthetic_market_at_its_own_baseline_is_excellent():
    snapshots, _ = run_market(200)
    body = health(snapshots)
    assert body["overall_score"] >= 80 and body["health_level"] == "Excellent", body


@pytest.mark.parametrize("regime, component", [
    ({"spread": 20}, "spread_stability_score"),                  # spread widening
    ({"pull": 0.05, "depth": 0.05}, "liquidity_depth_score"),   # makers pull their size and quote small
    ({"churn": 50}, "update_rate_score"),                        # quote stuffing
    ({"one_sided": "bid"}, "liquidity_depth_score"),             # one-sided book
    ({"one_sided": "ask"}, "liquidity_depth_score"),
])
def test_each_stress_regime_scores_fair_or_lower_and_names_its_cause(regime, component):
    snapshots, _ = run_market(200, change_at=140, **regime)
    body = health(snapshots)
    assert body["overall_score"] < 60 and body["health_level"] in ("Fair", "Poor", "Critical"), body
    assert body[component] < 20
    assert body["components_detail"]["causes"]


@pytest.mark.parametrize("regime", [{"spread": 2}, {"pull": 0.5, "depth": 0.5}, {"churn": 3}])
def test_a_mild_version_of_each_stress_stays_good_or_better(regime):
    snapshots, _ = run_market(200, change_at=140, **regime)
    assert health(snapshots)["health_level"] in ("Excellent", "Good")
