from __future__ import annotations

import pytest

from tests.analytics.builders import SYMBOL, snapshot, trades
from tradeactors.analytics import InsufficientData, order_flow
from tradeactors.analytics.orderflow import flow_direction, time_weighted_mean
from tradeactors.errors import InvalidParameter

SEQUENCE = [
    snapshot(100, [(10000, 5000), (9999, 2000)], [(10001, 3000), (10002, 1000)], 1000),
    snapshot(101, [(10000, 6000), (9999, 2000), (9998, 500)], [(10001, 2000), (10002, 1500)], 1010),
    snapshot(103, [(10001, 1000), (10000, 6000)], [(10002, 1000), (10003, 4000)], 1030),
]
TRADES = trades([10001, 10001, 10000], [1000, 500, 300], sells=[False, False, True], p_decimals=2, q_decimals=3)


def flow(snapshots=SEQUENCE, chunk=TRADES, **kwargs) -> dict:
    return order_flow(snapshots, chunk, symbol=SYMBOL, window_start_ms=60_000, window_end_ms=120_000, **kwargs)


def test_flow_rates_count_risen_levels_per_second_of_observed_span():
    body = flow()
    # bids: 10000 grew, 9998 is new (then 10001 is new) = 3; asks: 10002 grew, then 10003 is new = 2; span 3 s
    assert body["observed_span_secs"] == 3
    assert body["bid_flow_rate"] == pytest.approx(1.0)
    assert body["ask_flow_rate"] == pytest.approx(2 / 3)
    assert body["net_flow"] == pytest.approx(1 / 3)
    assert body["flow_direction"] == "MODERATE_BUY"


def test_depth_levels_limits_which_levels_count():
    body = flow(depth_levels=1)
    # only the best level: bid 10000 grew, then bid 10001 is new; ask 10001 shrank, ask 10002 was 1500 before
    assert (body["bid_flow_rate"], body["ask_flow_rate"]) == (pytest.approx(2 / 3), 0.0)
    assert body["flow_direction"] == "STRONG_BUY"


def test_ofi_sums_the_cont_kukanov_stoikov_events_at_the_best_level():
    # 100→101: prices unchanged: (6000 − 5000) + (3000 − 2000) = 2000
    # 101→103: bid up: +1000 (new qb); ask up: +2000 (previous qa leaves) = 3000
    assert flow()["ofi"] == "5.000"


def test_depth_imbalance_last_and_time_averaged():
    body = flow()
    assert body["depth_imbalance"] == pytest.approx(2000 / 12000)
    # 100 holds 1 s, 101 holds 2 s; the last snapshot has no duration yet
    assert body["depth_imbalance_avg"] == pytest.approx((3000 / 11000 + 2 * 5000 / 12000) / 3)


def test_spread_mid_and_microprice_come_from_the_last_snapshot():
    body = flow()
    assert body["spread_bps"] == pytest.approx(1 / 100.015 * 1e4 / 100)
    assert body["mid"] == "100.015"
    asymmetric = [SEQUENCE[0], snapshot(101, [(10000, 3000)], [(10004, 1000)], 1001)]
    # (Pb·Qa + Pa·Qb) / (Qb + Qa) = (100.00·1 + 100.04·3) / 4 = 100.03: leans toward the thin side's price
    assert flow(asymmetric)["microprice"] == "100.03"
    assert flow(asymmetric)["mid"] == "100.02"


def test_trade_volumes_and_cumulative_delta_use_the_maker_flag():
    body = flow()
    assert (body["buy_volume"], body["sell_volume"], body["cumulative_delta"]) == ("1.500", "0.300", "1.200")
    assert body["trade_count"] == 3
    sold = trades([10000], [2500], sells=[True], p_decimals=2, q_decimals=3)
    assert flow(chunk=sold)["cumulative_delta"] == "-2.500"


def test_window_fields_and_coverage():
    body = flow()
    assert (body["time_window_start"], body["time_window_end"], body["window_duration_secs"]) == (60_000, 120_000, 60)
    assert body["snapshot_count"] == 3
    assert body["coverage"] == pytest.approx(3 / 60)


def test_an_unchanged_book_has_both_rates_zero_and_is_neutral():
    still = [snapshot(s, [(10000, 5000)], [(10001, 3000)], 7) for s in (100, 101, 102)]
    body = flow(still, trades([], [], q_decimals=3))
    assert (body["bid_flow_rate"], body["ask_flow_rate"], body["flow_direction"]) == (0.0, 0.0, "NEUTRAL")
    assert (body["ofi"], body["cumulative_delta"], body["trade_count"]) == ("0.000", "0.000", 0)


@pytest.mark.parametrize("bid, ask, direction", [
    (0, 0, "NEUTRAL"), (1, 0, "STRONG_BUY"), (0, 1, "STRONG_SELL"), (2.01, 1, "STRONG_BUY"), (2, 1, "MODERATE_BUY"),
    (1.2, 1, "MODERATE_BUY"), (1.19, 1, "NEUTRAL"), (0.8, 1, "NEUTRAL"), (0.79, 1, "MODERATE_SELL"),
    (0.5, 1, "MODERATE_SELL"), (0.49, 1, "STRONG_SELL"),
])
def test_flow_direction_thresholds(bid, ask, direction):
    assert flow_direction(bid, ask) == direction


def test_a_one_sided_last_book_has_no_spread_mid_or_microprice():
    one_sided = [SEQUENCE[0], snapshot(101, [(10000, 3000)], [], 1001)]
    body = flow(one_sided)
    assert (body["spread_bps"], body["mid"], body["microprice"]) == (None, None, None)
    assert body["depth_imbalance"] == 1.0


def test_time_weighted_mean_falls_back_to_the_plain_mean_without_elapsed_time():
    assert time_weighted_mean([0.5, None, 1.0], [5, 5, 5]) == pytest.approx(0.75)


def test_fewer_than_two_snapshots_is_insufficient_data():
    with pytest.raises(InsufficientData) as info:
        flow(SEQUENCE[:1])
    assert info.value.details == {"required": 2, "available": 1}


@pytest.mark.parametrize("bad", [0, 21, 2.5, True])
def test_depth_levels_outside_one_to_twenty_is_an_invalid_parameter(bad):
    with pytest.raises(InvalidParameter) as info:
        flow(depth_levels=bad)
    assert info.value.details["field"] == "depth_levels"
