from __future__ import annotations

import pytest

from tests.analytics.builders import SYMBOL, trades
from tradeactors.analytics import InsufficientData, liquidity_vacuums, tick_volumes
from tradeactors.analytics.vacuums import expected_impact, vacuum_id
from tradeactors.errors import InvalidParameter


def vacuums(prices, quantities, **kwargs) -> dict:
    kwargs.setdefault("min_trades", 1)
    kwargs.setdefault("tick_size", 1)
    return liquidity_vacuums(tick_volumes(trades(prices, quantities), 1), symbol=SYMBOL, tick=1, p_decimals=0,
                             q_decimals=0, detection_timestamp=123, **kwargs)


def test_a_run_of_thin_and_empty_bins_is_one_zone_with_its_deficit():
    # bins 0..6: 100, 100, 5, 0(empty), 10, 100, 100 → median of non-empty = 100, threshold 20
    body = vacuums([0, 1, 2, 4, 5, 6], [100, 100, 5, 10, 100, 100])
    assert body["median_volume"] == "100"
    (zone,) = body["vacuums"]
    assert (zone["price_range_low"], zone["price_range_high"], zone["bins"]) == ("2", "4", 3)
    assert zone["actual_volume"] == "15"
    assert zone["volume_deficit_pct"] == pytest.approx(95.0)
    assert zone["expected_impact"] == "FastMovement"
    assert zone["edge"] is False
    assert zone["detection_timestamp"] == 123
    assert zone["vacuum_id"] == vacuum_id(SYMBOL, "2", "4")


def test_the_median_of_an_even_count_is_the_mean_of_the_two_middle_bins():
    body = vacuums([0, 1, 2, 3], [10, 31, 40, 100])
    assert body["median_volume"] == "35.5"
    assert body["vacuums"] == []  # 10 is not below 0.2 · 35.5 = 7.1
    body = vacuums([0, 1, 2, 3], [7, 31, 40, 100])
    assert [z["price_range_low"] for z in body["vacuums"]] == ["0"]


def test_a_bin_exactly_at_the_threshold_is_not_a_vacuum():
    assert vacuums([0, 1, 2], [20, 100, 100])["vacuums"] == []
    assert len(vacuums([0, 1, 2], [19, 100, 100])["vacuums"]) == 1


def test_zones_touching_the_first_or_last_bin_are_edges_and_zones_are_sorted_by_price():
    body = vacuums([0, 1, 2, 3, 4, 5], [1, 100, 1, 100, 100, 1])
    assert [(z["price_range_low"], z["edge"]) for z in body["vacuums"]] == [("0", True), ("2", False), ("5", True)]


@pytest.mark.parametrize("deficit, impact", [(95, "FastMovement"), (80, "ModerateMovement"),
                                             (50.5, "ModerateMovement"), (50, "Negligible"), (10, "Negligible")])
def test_expected_impact_follows_the_deficit(deficit, impact):
    assert expected_impact(deficit) == impact


def test_vacuum_ids_are_stable_and_differ_by_symbol_and_range():
    first = vacuums([0, 1, 2, 4, 5, 6], [100, 100, 5, 10, 100, 100])["vacuums"][0]["vacuum_id"]
    again = vacuums([0, 1, 2, 4, 5, 6], [100, 100, 5, 10, 100, 100])["vacuums"][0]["vacuum_id"]
    assert first == again
    assert vacuum_id("OTHER", "2", "4") != first != vacuum_id(SYMBOL, "2", "5")


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, "x", True])
def test_threshold_ratio_outside_the_open_unit_interval_is_an_invalid_parameter(bad):
    with pytest.raises(InvalidParameter) as info:
        vacuums([0, 1], [1, 1], threshold_ratio=bad)
    assert info.value.details["field"] == "threshold_ratio"


def test_too_few_trades_is_insufficient_data():
    with pytest.raises(InsufficientData) as info:
        vacuums([0, 1], [1, 1], min_trades=1000)
    assert info.value.details == {"required": 1000, "available": 2}


def test_default_bins_follow_the_volume_profile_grid():
    body = vacuums([0, 999], [1, 1], tick_size=None)
    assert body["bin_size"] == "10" and body["bin_count"] == 100
    (zone,) = body["vacuums"]
    assert (zone["price_range_low"], zone["price_range_high"], zone["bins"]) == ("10", "989", 98)
