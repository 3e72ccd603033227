from __future__ import annotations

import math

import pytest

from tests.analytics.builders import SYMBOL, snapshot, trades
from tradeactors.analytics import InsufficientData, microstructure_health
from tradeactors.analytics.health import (
    DEPTH_TOLERANCE,
    RECOMMENDED_ACTIONS,
    SPREAD_TOLERANCE,
    UPDATE_RATE_TOLERANCE,
    flow_balance,
    health_level,
    overall,
    percentile,
    update_rate_score,
)

NOW = 200_000


def steady(seconds, spread=1, depth=1000, updates_per_second=10, first_update=0, bid_depth=None):
    """A book that never changes except for its update id: bid 100.00, ask 100.00 + spread ticks (tick 0.01)."""
    bid = depth if bid_depth is None else bid_depth
    return [snapshot(s, [(10000, bid)] if bid else [], [(10000 + spread, depth)],
                     first_update + updates_per_second * (s - seconds[0])) for s in seconds]


def health(window, baseline=(), now_ms=NOW, tick_size="0.01") -> dict:
    return microstructure_health(window, list(baseline), trades([], []), symbol=SYMBOL, now_ms=now_ms,
                                 window_start_ms=140_000, window_end_ms=200_000, tick_size=tick_size)


WINDOW = range(140, 200)
BASELINE = range(140 - 3600, 140)


def with_spreads(spreads, seconds=WINDOW):
    return [snapshot(s, [(10000, 1000)], [(10000 + d, 1000)], 10 * (s - 140)) for s, d in zip(seconds, spreads)]


def test_a_market_at_its_baseline_is_excellent():
    body = health(steady(WINDOW), steady(BASELINE))
    assert body["spread_stability_score"] == 100
    assert body["liquidity_depth_score"] == 100  # at its baseline median: full marks
    assert body["flow_balance_score"] == 50  # nothing rose on either side
    assert body["update_rate_score"] == 100
    assert body["overall_score"] == pytest.approx(0.25 * 100 + 0.35 * 100 + 0.25 * 50 + 0.15 * 100)
    assert body["health_level"] == "Excellent"
    assert body["baseline_available"] is True and body["stale"] is False
    assert body["snapshot_count"] == 60
    assert body["recommended_action"] == RECOMMENDED_ACTIONS["Excellent"]
    assert body["components_detail"]["causes"] == []


def test_one_second_at_twenty_one_ticks_does_not_decide_a_minute_at_one_tick():
    spreads = [1] * 60
    spreads[30] = 21
    body = health(with_spreads(spreads), steady(BASELINE))
    assert body["spread_stability_score"] == 100
    assert body["components_detail"]["spread_p90_ticks"] == 1


def test_spread_widening_is_scored_against_the_baseline_median_and_upper_percentile_in_ticks():
    # a tenth of the seconds at 3 ticks is still inside the p90 (nearest rank: the 54th of 60)
    assert health(with_spreads([1] * 54 + [3] * 6), steady(BASELINE))["spread_stability_score"] == 100
    # one more: p90 3 against a normal upper bound of max(p90 1, median 1 + 1 tick) = 2
    body = health(with_spreads([1] * 53 + [3] * 7), steady(BASELINE))
    assert body["components_detail"]["spread_widening"] == pytest.approx(1.5)
    assert body["spread_stability_score"] == pytest.approx(100 * (1 - math.log(1.5) / math.log(SPREAD_TOLERANCE)))
    # the median at 2 ticks against a 1-tick median: widening 2
    assert health(with_spreads([2] * 60), steady(BASELINE))["spread_stability_score"] == pytest.approx(50)
    # the baseline's own upper percentile is normal: a symbol that often sits at 3 ticks is not widening at 3
    baseline = with_spreads(([2] * 8 + [3] * 2) * 360, BASELINE)
    assert health(with_spreads([2] * 50 + [3] * 10), baseline)["spread_stability_score"] == 100
    assert health(with_spreads([2 * SPREAD_TOLERANCE] * 60), steady(BASELINE))["spread_stability_score"] == 0


@pytest.mark.parametrize("ask", [10000, 9999])
def test_a_locked_or_crossed_book_for_more_than_a_tenth_of_the_window_scores_zero_spread(ask):
    window = steady(WINDOW)
    window[30] = snapshot(170, [(10000, 5)], [(ask, 5)], 300)
    body = health(window, steady(BASELINE))
    assert body["spread_stability_score"] == 100  # one second: an instant, not the minute
    assert body["components_detail"]["crossed_or_locked"] is True
    for i in range(30, 37):
        window[i] = snapshot(140 + i, [(10000, 5)], [(ask, 5)], 10 * i)
    assert health(window, steady(BASELINE))["spread_stability_score"] == 0


def test_depth_is_the_weaker_sides_median_against_its_baseline_median_with_full_marks_at_or_above_it():
    assert health(steady(WINDOW, depth=3000), steady(BASELINE))["liquidity_depth_score"] == 100
    body = health(steady(WINDOW, depth=1000, bid_depth=500), steady(BASELINE))
    assert body["components_detail"]["depth_ratio"] == pytest.approx(0.5)
    assert body["liquidity_depth_score"] == pytest.approx(100 * (1 - math.log(2) / math.log(DEPTH_TOLERANCE)))
    window = steady(WINDOW[:-1], depth=1000) + steady([199], depth=10)  # the last second alone: no change
    assert health(window, steady(BASELINE))["liquidity_depth_score"] == 100
    one_sided = steady(WINDOW, bid_depth=0)
    body = health(one_sided, steady(BASELINE))
    assert body["liquidity_depth_score"] == 0 and body["spread_stability_score"] == 0
    assert body["components_detail"]["one_sided"] is True
    assert body["health_level"] in ("Fair", "Poor", "Critical")


def test_flow_balance_uses_the_order_flow_rates():
    assert flow_balance(0, 0) == 50
    assert flow_balance(3, 1) == pytest.approx(50)
    assert flow_balance(2, 2) == 100
    assert flow_balance(1, 0) == 0
    growing_bids = [snapshot(s, [(10000, 1000 + s)], [(10001, 1000)], s) for s in WINDOW]
    assert health(growing_bids)["flow_balance_score"] == 0


def test_update_rate_is_scored_against_the_baseline_interquartile_range_on_a_log_scale():
    assert update_rate_score(10, 8, 12) == 100
    assert update_rate_score(12 * UPDATE_RATE_TOLERANCE, 8, 12) == pytest.approx(0)
    assert update_rate_score(8 / UPDATE_RATE_TOLERANCE, 8, 12) == pytest.approx(0)
    assert update_rate_score(12 * math.sqrt(UPDATE_RATE_TOLERANCE), 8, 12) == pytest.approx(50)
    assert update_rate_score(0, 8, 12) == 0
    assert update_rate_score(10, None, None) == 50
    body = health(steady(WINDOW, updates_per_second=20), steady(BASELINE, updates_per_second=10))
    assert body["update_rate_score"] == pytest.approx(100 * (1 - math.log(2) / math.log(UPDATE_RATE_TOLERANCE)))
    assert body["components_detail"]["update_rate"] == pytest.approx(20)
    assert body["components_detail"]["baseline_update_rate_p75"] == pytest.approx(10)


def test_without_a_baseline_the_baseline_components_score_fifty_and_say_why():
    body = health(steady(WINDOW))
    assert [body[k] for k in ("spread_stability_score", "liquidity_depth_score", "update_rate_score")] == [50] * 3
    assert body["baseline_available"] is False
    assert body["components_detail"]["baseline_update_rate_p75"] is None
    assert body["components_detail"]["causes"][0].startswith("no baseline yet")


def test_the_weakest_component_caps_the_overall_score():
    scores = {"spread_stability": 100, "liquidity_depth": 100, "flow_balance": 100, "update_rate": 0}
    assert overall(scores) == 50  # weighted 85, but one dimension far outside its normal
    scores["update_rate"] = 40
    assert overall(scores) == pytest.approx(90)  # weighted 91, capped at 50 + 40
    scores["update_rate"] = 60
    assert overall(scores) == pytest.approx(94)  # the weighted mean


def test_percentiles_are_nearest_rank_and_take_infinity():
    assert percentile([1, 2, 3, 4], 50) == 2 and percentile([1, 2, 3, 4], 90) == 4
    assert percentile([1] * 9 + [math.inf], 90) == 1 and percentile([1] * 8 + [math.inf] * 2, 90) == math.inf


def test_a_book_older_than_five_seconds_is_stale_and_at_most_poor():
    assert health(steady(WINDOW), steady(BASELINE), now_ms=199_000 + 5000)["stale"] is False
    body = health(steady(WINDOW), steady(BASELINE), now_ms=199_000 + 5001)
    assert body["stale"] is True
    assert body["health_level"] == "Poor"
    assert body["components_detail"]["newest_snapshot_age_ms"] == 5001


@pytest.mark.parametrize("overall_score, components, stale, level", [
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
def test_health_level_rules(overall_score, components, stale, level):
    assert health_level(overall_score, components, stale) == level


def test_fewer_than_two_snapshots_is_insufficient_data():
    with pytest.raises(InsufficientData):
        health(steady([199]))
