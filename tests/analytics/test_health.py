from __future__ import annotations

import math

import pytest

from tests.analytics.builders import SYMBOL, snapshot, trades
from tradeactors.analytics import InsufficientData, microstructure_health
from tradeactors.analytics.health import (
    RECOMMENDED_ACTIONS,
    flow_balance,
    health_level,
    update_rate_score,
)

NOW = 200_000


def steady(seconds, spread=1, depth=1000, updates_per_second=10, first_update=0):
    """A book that never changes except for its update id: bid 100.00, ask 100.00 + spread ticks."""
    return [snapshot(s, [(10000, depth)], [(10000 + spread, depth)],
                     first_update + updates_per_second * (s - seconds[0])) for s in seconds]


def health(window, baseline=(), now_ms=NOW) -> dict:
    return microstructure_health(window, list(baseline), trades([], []), symbol=SYMBOL, now_ms=now_ms,
                                 window_start_ms=140_000, window_end_ms=200_000)


WINDOW = range(140, 200)
BASELINE = range(140 - 3600, 140)


def test_a_steady_book_at_its_baseline_rate_is_good_because_unchanged_depth_scores_fifty():
    body = health(steady(WINDOW), steady(BASELINE))
    assert body["spread_stability_score"] == 100
    assert body["liquidity_depth_score"] == 50  # D_last equals the mean: the middle of the scale
    assert body["flow_balance_score"] == 50  # nothing rose on either side
    assert body["update_rate_score"] == pytest.approx(100)
    assert body["overall_score"] == pytest.approx(0.25 * 100 + 0.35 * 50 + 0.25 * 50 + 0.15 * 100)
    assert body["health_level"] == "Good"
    assert body["baseline_available"] is True and body["stale"] is False
    assert body["snapshot_count"] == 60
    assert body["recommended_action"] == RECOMMENDED_ACTIONS["Good"]


def test_spread_stability_is_one_minus_the_capped_coefficient_of_variation():
    spreads = [1, 3] * 30  # mean 2, population std 1 → CV 0.5 → 0
    window = [snapshot(s, [(10000, 5)], [(10000 + d, 5)], s) for s, d in zip(WINDOW, spreads)]
    assert health(window)["spread_stability_score"] == pytest.approx(0)
    spreads = [3, 5] * 30  # mean 4, std 1 → CV 0.25 → 50
    window = [snapshot(s, [(10000, 5)], [(10000 + d, 5)], s) for s, d in zip(WINDOW, spreads)]
    body = health(window)
    assert body["spread_stability_score"] == pytest.approx(50)
    assert body["components_detail"]["spread_cv"] == pytest.approx(0.25)
    assert body["components_detail"]["mean_spread"] == "0.04"


@pytest.mark.parametrize("ask", [10000, 9999])
def test_a_locked_or_crossed_book_scores_zero_spread_stability(ask):
    window = steady(WINDOW)
    window[30] = snapshot(170, [(10000, 5)], [(ask, 5)], 300)
    body = health(window)
    assert body["spread_stability_score"] == 0
    assert body["components_detail"]["crossed_or_locked"] is True


def test_liquidity_depth_compares_the_last_depth_with_the_window_mean():
    window = steady(WINDOW[:-1], depth=1000) + steady([199], depth=1500)
    mean = (59 * 2000 + 3000) / 60
    assert health(window)["liquidity_depth_score"] == pytest.approx(50 * 3000 / mean)
    window = steady(WINDOW[:-1], depth=1000) + steady([199], depth=10_000)
    assert health(window)["liquidity_depth_score"] == 100  # clamped


def test_flow_balance_uses_the_order_flow_rates():
    assert flow_balance(0, 0) == 50
    assert flow_balance(3, 1) == pytest.approx(50)
    assert flow_balance(2, 2) == 100
    assert flow_balance(1, 0) == 0
    growing_bids = [snapshot(s, [(10000, 1000 + s)], [(10001, 1000)], s) for s in WINDOW]
    assert health(growing_bids)["flow_balance_score"] == 0


def test_update_rate_is_scored_against_the_baseline_median_on_a_log_scale():
    assert update_rate_score(10, 10) == pytest.approx(100)
    assert update_rate_score(50, 10) == pytest.approx(0)
    assert update_rate_score(2, 10) == pytest.approx(0)
    assert update_rate_score(10 * math.sqrt(5), 10) == pytest.approx(50)
    assert update_rate_score(0, 10) == 0
    body = health(steady(WINDOW, updates_per_second=20), steady(BASELINE, updates_per_second=10))
    assert body["update_rate_score"] == pytest.approx(100 * (1 - math.log10(2) / math.log10(5)))
    assert body["components_detail"]["update_rate"] == pytest.approx(20)
    assert body["components_detail"]["baseline_update_rate"] == pytest.approx(10)


def test_without_a_baseline_the_update_rate_scores_fifty():
    body = health(steady(WINDOW))
    assert body["update_rate_score"] == 50
    assert body["baseline_available"] is False
    assert body["components_detail"]["baseline_update_rate"] is None


def test_a_book_older_than_five_seconds_is_stale_and_at_most_poor():
    assert health(steady(WINDOW), steady(BASELINE), now_ms=199_000 + 5000)["stale"] is False
    body = health(steady(WINDOW), steady(BASELINE), now_ms=199_000 + 5001)
    assert body["stale"] is True
    assert body["health_level"] == "Poor"
    assert body["components_detail"]["newest_snapshot_age_ms"] == 5001


@pytest.mark.parametrize("overall, components, stale, level", [
    (85, [90, 90, 90, 50], False, "Excellent"),
    (85, [90, 90, 90, 49], False, "Good"),
    (80, [80, 80, 80, 80], False, "Excellent"),
    (79.9, [80, 80, 80, 80], False, "Good"),
    (60, [60] * 4, False, "Good"),
    (40, [40] * 4, False, "Fair"),
    (20, [20] * 4, False, "Poor"),
    (19.9, [20] * 4, False, "Critical"),
    (95, [95] * 4, True, "Poor"),
    (10, [10] * 4, True, "Critical"),
])
def test_health_level_rules(overall, components, stale, level):
    assert health_level(overall, components, stale) == level


def test_fewer_than_two_snapshots_is_insufficient_data():
    with pytest.raises(InsufficientData):
        health(steady([199]))
