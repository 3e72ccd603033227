from __future__ import annotations

from tests.analytics.builders import snapshot
from tradeactors.analytics.book_series import (
    BASELINE_MIN_SNAPSHOTS,
    baseline_update_rate,
    book_series,
    flow_rates,
    order_flow_imbalance,
    pair_update_rates,
    window_updates,
)


def test_series_rescales_snapshots_with_different_decimals_to_the_finest():
    series = book_series([snapshot(1, [(100, 5)], [(101, 7)], price_decimals=2, qty_decimals=0),
                          snapshot(2, [(1000, 5)], [(1010, 7)], price_decimals=3, qty_decimals=1)])
    assert (series.price_decimals, series.qty_decimals) == (3, 1)
    assert series.bid_price == [1000, 1000] and series.ask_qty == [70, 7]


def test_depth_sums_only_the_requested_levels():
    series = book_series([snapshot(1, [(100, 5), (99, 6), (98, 7)], [(101, 1)])], depth_levels=2)
    assert (series.bid_depth, series.ask_depth, series.depth(0)) == ([11], [1], 12)


def test_a_level_that_moved_into_the_top_without_growing_does_not_count_as_a_rise():
    before = snapshot(1, [(100, 5), (99, 6)], [(101, 1)])
    after = snapshot(3, [(99, 6)], [(101, 1)])  # 100 was consumed: 99 is now best, unchanged
    assert flow_rates([before, after], depth_levels=1) == (0.0, 0.0, 2)


def test_ofi_of_a_bid_drop_counts_the_lost_queue():
    # bid falls from 100 to 99: e = qb·[Pb ≥ Pb'] − qb'·[Pb ≤ Pb'] = 0 − 5 (previous queue leaves)
    before = snapshot(1, [(100, 5)], [(101, 1)])
    after = snapshot(2, [(99, 9)], [(101, 1)])
    assert order_flow_imbalance(book_series([before, after])) == -5


def test_update_rates_skip_resyncs_and_use_elapsed_seconds():
    snaps = [snapshot(0, [], [], 100), snapshot(2, [], [], 120), snapshot(3, [], [], 5), snapshot(4, [], [], 15)]
    series = book_series(snaps)
    assert pair_update_rates(series) == [10.0, 10.0]
    assert window_updates(series) == (30, 3)


def test_baseline_needs_enough_snapshots_and_a_positive_rate():
    snaps = [snapshot(s, [], [], 7 * s) for s in range(BASELINE_MIN_SNAPSHOTS)]
    assert baseline_update_rate(snaps) == 7.0
    assert baseline_update_rate(snaps[:-1]) is None
    assert baseline_update_rate([snapshot(s, [], [], 0) for s in range(20)]) is None
