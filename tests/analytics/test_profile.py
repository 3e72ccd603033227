from __future__ import annotations

import itertools
import math
import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.builders import SYMBOL, trades
from tradeactors import errors
from tradeactors.analytics import (
    InsufficientData,
    merge_tick_volumes,
    tick_volumes,
    volume_profile,
)
from tradeactors.analytics.profile import MAX_BINS, TickVolumes
from tradeactors.errors import InvalidParameter
from tradeactors.records import TradeColumns

CBOT = {110: 10, 109: 50, 108: 80, 107: 90, 106: 150, 105: 70, 104: 60, 103: 20, 102: 15, 101: 10}


def profile(chunk: TradeColumns, tick: int = 1, **kwargs) -> dict:
    kwargs.setdefault("min_trades", 1)
    return volume_profile(tick_volumes(chunk, tick), symbol=SYMBOL, tick=tick, p_decimals=chunk.p_decimals,
                          q_decimals=chunk.q_decimals, **kwargs)


def cbot_trades() -> TradeColumns:
    prices = list(CBOT)
    return trades(prices, [CBOT[p] for p in prices])


def test_cbot_reference_vector_gives_poc_106_and_value_area_105_to_108():
    body = profile(cbot_trades(), tick_size=1)
    assert body["point_of_control"] == "106"
    assert body["poc_volume"] == "150"
    assert (body["value_area_low"], body["value_area_high"]) == ("105", "108")
    assert (body["value_area_volume"], body["total_volume"]) == ("390", "555")
    assert body["value_area_pct_actual"] == pytest.approx(390 / 555)
    assert body["bin_size"] == "1" and body["bin_count"] == 10


def test_output_has_exactly_the_documented_fields():
    body = profile(cbot_trades())
    assert list(body) == [
        "symbol", "time_period_start", "time_period_end", "price_range_low", "price_range_high", "tick_size",
        "bin_size", "bin_count", "histogram", "total_volume", "trade_count", "point_of_control", "poc_volume",
        "value_area_high", "value_area_low", "value_area_volume", "value_area_pct_actual",
    ]
    assert set(body["histogram"][0]) == {
        "price_level", "price_low", "price_high", "volume", "buy_volume", "sell_volume", "quote_volume",
        "trade_count", "percentage_of_total",
    }


def test_default_bins_hold_at_least_ten_ticks_on_the_absolute_grid():
    # tick 0.01 (scaled 1 with 2 decimals); prices 100.05 .. 100.24 → ticks 10005..10024 → grid bins 1000..1002
    body = profile(trades([10005, 10024], [1, 1], p_decimals=2))
    assert body["bin_size"] == "0.10"
    assert [b["price_low"] for b in body["histogram"]] == ["100.00", "100.10", "100.20"]
    assert [b["price_high"] for b in body["histogram"]] == ["100.09", "100.19", "100.29"]
    assert body["histogram"][0]["price_level"] == "100.045"  # (low + high) / 2, exact: one more digit
    assert [b["volume"] for b in body["histogram"]] == ["1", "0", "1"]  # the empty middle bin is kept


def test_default_bin_count_stays_near_one_hundred_for_wide_ranges():
    body = profile(trades([0, 123_456_789], [1, 1]))
    assert body["bin_size"] == str(math.ceil(123_456_789 / 100))
    assert 100 <= body["bin_count"] <= 102


def test_tick_size_is_rounded_up_to_a_whole_number_of_exchange_ticks():
    chunk = trades([1_000_000, 2_000_000], [1, 1], p_decimals=8)  # 0.01 and 0.02, exchange tick 0.01
    assert profile(chunk, tick=1_000_000, tick_size="0.015")["bin_size"] == "0.02000000"
    assert profile(chunk, tick=1_000_000, tick_size=0.01)["bin_size"] == "0.01000000"
    assert profile(chunk, tick=1_000_000, tick_size="0.000001")["bin_size"] == "0.01000000"


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "nan", "inf", 0, -0.5, True])
def test_a_tick_size_that_is_not_a_positive_number_is_an_invalid_parameter(bad):
    with pytest.raises(InvalidParameter) as info:
        profile(cbot_trades(), tick_size=bad)
    assert info.value.details["field"] == "tick_size"


def test_a_tick_size_that_would_make_too_many_bins_names_the_limit():
    with pytest.raises(InvalidParameter) as info:
        profile(trades([0, 10 * MAX_BINS], [1, 1]), tick_size=1)
    assert info.value.details["field"] == "tick_size"
    assert info.value.details["max_bins"] == MAX_BINS


@pytest.mark.parametrize("low,high", [(1, 200_000), (3, 2 * MAX_BINS + 1), (MAX_BINS - 1, 3 * MAX_BINS + 7)])
def test_the_minimum_tick_size_suggested_is_accepted_and_so_is_every_larger_one(low, high):
    """Bins sit on the absolute grid: the hint must be a size from which every size works, not one that is
    refused again (ticks 1 and 200000 once suggested 2 ticks, which still makes 100001 bins)."""
    with pytest.raises(InvalidParameter) as info:
        profile(trades([low, high], [1, 1]), tick_size=1)
    minimum = int(info.value.details["minimum"])
    for size in (minimum, minimum + 1, minimum + 7):
        assert profile(trades([low, high], [1, 1]), tick_size=size)["bin_count"] <= MAX_BINS


@pytest.mark.parametrize("bad", [0, -0.1, 1.01, 2, float("nan"), "x", True])
def test_value_area_pct_outside_zero_to_one_is_an_invalid_parameter(bad):
    with pytest.raises(InvalidParameter) as info:
        profile(cbot_trades(), value_area_pct=bad)
    assert info.value.details["field"] == "value_area_pct"


def test_value_area_pct_of_one_covers_every_bin():
    body = profile(cbot_trades(), tick_size=1, value_area_pct=1)
    assert (body["value_area_low"], body["value_area_high"], body["value_area_volume"]) == ("101", "110", "555")


def test_fewer_trades_than_required_is_insufficient_data_with_only_what_the_pure_code_knows():
    with pytest.raises(InsufficientData) as info:
        profile(cbot_trades(), min_trades=1000)
    error = info.value
    assert InsufficientData is errors.InsufficientData  # the old import path still names the domain error
    assert isinstance(error, errors.TradeactorsError) and not hasattr(error, "status")
    assert (error.required, error.available) == (1000, 10)
    assert error.details == {"required": 1000, "available": 10}
    assert error.message == "needs at least 1000 aggregate trades in the window, has 10"


def test_an_empty_window_is_insufficient_even_with_min_trades_zero():
    empty = trades([], [])
    with pytest.raises(InsufficientData):
        profile(empty, min_trades=0)


def test_poc_ties_go_to_the_bin_nearest_the_middle_then_the_lower_one():
    # bins 0..4, middle is 2: the tie between 1 and 4 → 1 (distance 1 beats 2)
    assert profile(trades([0, 1, 2, 3, 4], [5, 9, 1, 1, 9]), tick_size=1)["point_of_control"] == "1"
    # bins 0..3, middle 1.5: 1 and 2 are equally near → the lower one
    assert profile(trades([0, 1, 2, 3], [1, 9, 9, 1]), tick_size=1)["point_of_control"] == "1"


def test_value_area_ties_go_up_and_an_exhausted_side_is_skipped():
    body = profile(trades([0, 1, 2], [5, 10, 5]), tick_size=1, value_area_pct=0.75)
    assert (body["value_area_low"], body["value_area_high"]) == ("1", "2")  # 15/20 reached going up first
    body = profile(trades([0, 1, 2], [10, 5, 1]), tick_size=1, value_area_pct=0.99)
    assert (body["value_area_low"], body["value_area_high"]) == ("0", "2")  # POC at the bottom: only up remains


def test_sides_follow_the_maker_flag_and_quote_volume_is_exact_beyond_int64():
    price = 9_000_000_000_000  # 90000.00000000
    qty = 9_000_000_000_000_000  # 90,000,000.00000000: p·q ≈ 8.1e34, far past int64
    body = profile(trades([price, price], [qty, 1], sells=[True, False], p_decimals=8, q_decimals=8),
                   tick=1_000_000)
    (row,) = [b for b in body["histogram"] if b["volume"] != "0.00000000"]
    assert row["sell_volume"] == "90000000.00000000" and row["buy_volume"] == "0.00000001"
    assert row["quote_volume"] == format(Decimal(price) * (qty + 1) / Decimal(10) ** 16, ".16f")


def test_volume_sums_past_int64_stay_exact():
    qty = 2**62
    tv = tick_volumes(trades([5, 5, 5, 6], [qty, qty, qty, 1]), 1)
    assert [int(v) for v in tv.volume] == [3 * qty, 1]
    body = profile(trades([5, 5, 5, 6], [qty, qty, qty, 1]), tick_size=1)
    assert body["total_volume"] == str(3 * qty + 1)


def test_prices_off_the_tick_grid_are_refused():
    with pytest.raises(ValueError):
        tick_volumes(trades([100, 105], [1, 1]), 10)


def test_time_period_is_the_first_and_last_trade_used():
    body = profile(trades([1, 2, 3], [1, 1, 1], times=[7000, 5000, 9000]))
    assert (body["time_period_start"], body["time_period_end"]) == (5000, 9000)


# --- properties -------------------------------------------------------------------------------------------


@st.composite
def trade_sets(draw):
    """Random trades: a single price, one-tick ranges, narrow and huge ranges, many ties."""
    n = draw(st.integers(1, 60))
    span = draw(st.sampled_from([0, 1, 5, 300, 10**6, 10**11]))
    tick = draw(st.sampled_from([1, 7, 1_000_000]))
    base = draw(st.integers(0, 10**6))
    offsets = draw(st.lists(st.integers(0, span), min_size=n, max_size=n))
    quantities = draw(st.lists(st.sampled_from([1, 2, 3, 10, 10**6, 10**12]), min_size=n, max_size=n))
    sells = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    chunk = trades([(base + o) * tick for o in offsets], quantities, sells, times, p_decimals=8, q_decimals=3)
    return chunk, tick


def reference(chunk: TradeColumns, tick: int, pct: Fraction) -> tuple[int, int, int]:
    """An independent, plain-Python CBOT profile: (POC bin, lowest VA bin, highest VA bin) as grid indexes."""
    ticks = [p // tick for p in chunk.p.tolist()]
    tpb = max(10, math.ceil((max(ticks) - min(ticks)) / 100))
    first, last = min(ticks) // tpb, max(ticks) // tpb
    volume = dict.fromkeys(range(first, last + 1), 0)
    for t, q in zip(ticks, chunk.q.tolist()):
        volume[t // tpb] += q
    bins = list(volume.values())
    middle = (len(bins) - 1) / 2
    poc = min(range(len(bins)), key=lambda i: (-bins[i], abs(i - middle), i))
    lo = hi = poc
    while Fraction(sum(bins[lo:hi + 1])) < pct * sum(bins):
        up = bins[hi + 1] if hi + 1 < len(bins) else None
        down = bins[lo - 1] if lo > 0 else None
        if down is None or (up is not None and up >= down):
            hi += 1
        else:
            lo -= 1
    return first + poc, first + lo, first + hi


@settings(max_examples=200, deadline=None)
@given(trade_sets(), st.sampled_from([0.7, 0.5, 0.95, 1.0, 0.01]))
def test_profile_invariants_hold_for_random_trades(case, pct):
    chunk, tick = case
    body = profile(chunk, tick=tick, value_area_pct=pct)
    val, poc, vah = (Decimal(body[k]) for k in ("value_area_low", "point_of_control", "value_area_high"))
    assert val <= poc <= vah
    volumes = [int(Decimal(b["volume"]) * 1000) for b in body["histogram"]]
    total = int(Decimal(body["total_volume"]) * 1000)
    assert sum(volumes) == total == int(chunk.q.sum())
    assert sum(b["trade_count"] for b in body["histogram"]) == body["trade_count"] == len(chunk)
    # the value area reaches the target, and it would not without the bin added last (one of its two edges)
    lows = [Decimal(b["price_low"]) for b in body["histogram"]]
    highs = [Decimal(b["price_high"]) for b in body["histogram"]]
    lo, hi = lows.index(val), highs.index(vah)
    target = Fraction(str(pct)) * total
    area = sum(volumes[lo:hi + 1])
    assert area == int(Decimal(body["value_area_volume"]) * 1000) and area >= target
    if lo != hi:
        assert min(area - volumes[lo], area - volumes[hi]) < target
    # an independent plain-Python implementation agrees bin for bin
    tpb = int(Decimal(body["bin_size"]) * 10**8) // tick
    ref_poc, ref_lo, ref_hi = reference(chunk, tick, Fraction(str(pct)))
    assert Decimal(body["value_area_low"]) * 10**8 == ref_lo * tpb * tick
    assert Decimal(body["value_area_high"]) * 10**8 == (ref_hi * tpb + tpb - 1) * tick
    assert Decimal(body["point_of_control"]) * 10**8 * 2 == (2 * ref_poc * tpb + tpb - 1) * tick


@settings(max_examples=100, deadline=None)
@given(trade_sets(), st.randoms(use_true_random=False))
def test_permuting_the_trades_changes_nothing(case, rnd):
    chunk, tick = case
    order = np.array(rnd.sample(range(len(chunk)), len(chunk)), dtype=np.int64)
    shuffled = TradeColumns(*(c[order] for c in (chunk.a, chunk.f, chunk.l, chunk.T, chunk.m, chunk.p, chunk.q)),
                          chunk.p_decimals, chunk.q_decimals)
    assert profile(shuffled, tick=tick) == profile(chunk, tick=tick)


def assert_same(x: TickVolumes, y: TickVolumes) -> None:
    for column in ("ticks", "volume", "buy_volume", "sell_volume", "trade_count", "quote_volume"):
        assert [int(v) for v in getattr(x, column)] == [int(v) for v in getattr(y, column)], column
    assert (x.first_time, x.last_time, x.trade_total) == (y.first_time, y.last_time, y.trade_total)


@settings(max_examples=150, deadline=None)
@given(trade_sets(), st.lists(st.integers(0, 60), max_size=6))
def test_merging_the_tick_volumes_of_any_split_equals_the_whole(case, cuts):
    chunk, tick = case
    bounds = sorted({0, len(chunk), *(c for c in cuts if c <= len(chunk))})
    index = np.arange(len(chunk))
    parts = [chunk.select((index >= s) & (index < e)) for s, e in itertools.pairwise(bounds)]
    merged = merge_tick_volumes([tick_volumes(p, tick) for p in parts][::-1])
    whole = tick_volumes(chunk, tick)
    assert_same(merged, whole)
    assert volume_profile(merged, symbol=SYMBOL, tick=tick, p_decimals=8, q_decimals=3, min_trades=1) == \
        profile(chunk, tick=tick)


def test_merging_rollups_whose_sums_pass_int64_stays_exact():
    big = trades([3, 3], [2**62, 2**62])
    merged = merge_tick_volumes([tick_volumes(big, 1), tick_volumes(big, 1), tick_volumes(trades([], []), 1)])
    assert int(merged.volume[0]) == 2**64 and merged.trade_total == 4


def test_the_dense_and_the_sorted_stage_one_paths_agree():
    rng = random.Random(3)
    prices = [rng.choice([1, 2, 5 * 10**12]) for _ in range(50)]  # a huge range takes the np.unique path
    chunk = trades(prices, [rng.randint(1, 9) for _ in prices])
    parts = [tick_volumes(chunk.select(np.array([p == v for p in prices])), 1) for v in (1, 2, 5 * 10**12)]
    assert_same(merge_tick_volumes(parts), tick_volumes(chunk, 1))
    assert_same(tick_volumes(TradeColumns.concat([chunk]), 1), tick_volumes(chunk, 1))
