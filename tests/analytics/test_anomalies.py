from __future__ import annotations

import random

import numpy as np
import pytest

from tests.analytics.builders import SYMBOL, snapshot
from tradeactors.analytics import detect_market_anomalies
from tradeactors.analytics.anomalies import PRICE_JUMP_Z, confidence, one_second_returns, return_deviation, severity
from tradeactors.analytics.book_series import book_series
from tradeactors.errors import InvalidParameter
from tradeactors.records import TradeColumns

START = 1_000_000  # unix seconds of the first synthetic snapshot
BASELINE_SECS = 3600
WINDOW_START = START + BASELINE_SECS  # the analysed minute starts right after a steady hour


class SyntheticMarket:
    """One snapshot a second: a 1-tick random walk of the best bid (price 10000.00, tick 0.01), spread 1–3 ticks,
    20 levels a side of about 1.000 each (±10 %), ~10 book updates a second, two small trades a second.
    Tests overwrite entries of the per-second lists to stage an anomaly."""

    def __init__(self, seconds: int = BASELINE_SECS + 600, seed: int = 7):
        rng = random.Random(seed)
        self.seconds = list(range(START, START + seconds))
        self.bid, self.spread, self.level_qty, self.updates = [], [], [], []
        bid = 1_000_000
        for _ in self.seconds:
            bid += rng.choice([-1, 0, 1])
            self.bid.append(bid)
            self.spread.append(rng.choice([1, 2, 3]))
            self.level_qty.append([rng.randint(900, 1100) for _ in range(20)])
            self.updates.append(rng.randint(8, 12))
        self.trade_rows = []  # (T, price, qty, sell, raw count)
        for i, s in enumerate(self.seconds):
            self.trade_rows.append((s * 1000 + 100, self.bid[i] + self.spread[i], rng.randint(10, 50), False,
                                    rng.randint(1, 3)))
            self.trade_rows.append((s * 1000 + 600, self.bid[i], rng.randint(10, 50), True, rng.randint(1, 3)))

    def index(self, second: int) -> int:
        return second - START

    def snapshots(self, first: int, last: int):
        update_id = 0
        out = []
        for i, s in enumerate(self.seconds):
            update_id += self.updates[i]
            if first <= s <= last:
                qty = self.level_qty[i]
                bids = [(self.bid[i] - k, qty[k]) for k in range(20)]
                asks = [(self.bid[i] + self.spread[i] + k, qty[k]) for k in range(20)]
                out.append(snapshot(s, bids, asks, update_id))
        return out

    def trades(self, first_ms: int, last_ms: int) -> TradeColumns:
        rows = sorted(r for r in self.trade_rows if first_ms <= r[0] <= last_ms)
        n = len(rows)
        a = np.arange(n, dtype=np.int64)
        f = a * 10
        cols = list(zip(*rows)) if rows else [(), (), (), (), ()]
        return TradeColumns(a, f, f + np.asarray(cols[4], dtype=np.int64) - 1, np.asarray(cols[0], dtype=np.int64),
                          np.asarray(cols[3], dtype=bool), np.asarray(cols[1], dtype=np.int64),
                          np.asarray(cols[2], dtype=np.int64), 2, 3)

    def detect(self, window_start: int = WINDOW_START, window_secs: int = 60) -> list[dict]:
        return self.report(window_start, window_secs)["anomalies"]

    def report(self, window_start: int = WINDOW_START, window_secs: int = 60) -> dict:
        end = window_start + window_secs
        return detect_market_anomalies(
            self.snapshots(window_start, end), self.snapshots(window_start - BASELINE_SECS, window_start - 1),
            self.trades(window_start * 1000, end * 1000), symbol=SYMBOL, now_ms=end * 1000,
            window_start_ms=window_start * 1000, window_end_ms=end * 1000,
        )


def types(anomalies) -> list[str]:
    return sorted(a["anomaly_type"] for a in anomalies)


@pytest.fixture(scope="module")
def steady():
    return SyntheticMarket()


@pytest.fixture
def market():
    return SyntheticMarket(seconds=BASELINE_SECS + 120)


def test_ten_minutes_of_a_steady_noisy_market_produce_no_anomalies(steady):
    for window_start in range(WINDOW_START, WINDOW_START + 600, 60):
        assert steady.detect(window_start) == []
    assert steady.detect(WINDOW_START, window_secs=300) == []


def test_the_response_has_the_analysis_window():
    report = SyntheticMarket(seconds=BASELINE_SECS + 70).report()
    assert report == {"anomalies": [], "analysis_window": {"start": WINDOW_START * 1000,
                                                           "end": (WINDOW_START + 60) * 1000, "duration_secs": 60}}


def test_fewer_than_two_snapshots_reports_insufficient_data():
    body = detect_market_anomalies([snapshot(5, [(1, 1)], [(2, 1)])], [], None, symbol=SYMBOL, now_ms=6000,
                                   window_start_ms=0, window_end_ms=6000)
    assert body["anomalies"] == [] and body["insufficient_data"] is True


def test_quote_stuffing_fires_on_a_fast_book_with_few_trades(market):
    for s in range(WINDOW_START, WINDOW_START + 61):
        market.updates[market.index(s)] = 1000
    (anomaly,) = market.detect()
    assert anomaly["anomaly_type"] == "QuoteStuffing"
    assert anomaly["metadata"]["update_rate"] == pytest.approx(1000)
    assert anomaly["metadata"]["baseline_update_rate"] == pytest.approx(10, rel=0.05)
    assert anomaly["metadata"]["min_rate"] == 50 and anomaly["metadata"]["max_fill_ratio"] == 0.10
    assert 0.5 < anomaly["confidence_score"] <= 1


def test_quote_stuffing_is_relative_to_the_symbols_own_rate_near_miss_at_four_and_a_half_times(market):
    for s in range(WINDOW_START, WINDOW_START + 61):
        market.updates[market.index(s)] = 45  # the baseline makes ~10 a second
    assert market.detect() == []
    for s in range(WINDOW_START, WINDOW_START + 61):
        market.updates[market.index(s)] = 60
    assert types(market.detect()) == ["QuoteStuffing"]


def test_quote_stuffing_near_miss_when_the_fast_book_also_trades(market):
    for s in range(WINDOW_START, WINDOW_START + 61):
        market.updates[market.index(s)] = 1000
        # ~ 12 % of the updates are fills: busy, not stuffing
        market.trade_rows.append((s * 1000 + 300, market.bid[market.index(s)], 1, True, 120))
    assert market.detect() == []


def widen(market, second, ticks, seconds=1):
    """The spread at ``ticks`` for ``seconds`` from ``second``, around the same mid (the bid steps down by half
    the widening: a blowout, not a price move)."""
    for s in range(second, second + seconds):
        i = market.index(s)
        market.bid[i] -= (ticks - market.spread[i]) // 2
        market.spread[i] = ticks


def test_spread_blowout_fires_when_held_above_five_times_the_baseline_median_in_ticks(market):
    widen(market, WINDOW_START + 30, 11, seconds=3)  # baseline median 2 ticks
    (anomaly,) = market.detect()
    assert anomaly["anomaly_type"] == "SpreadBlowout"
    assert anomaly["detection_timestamp"] == (WINDOW_START + 30) * 1000
    assert anomaly["metadata"]["spread_multiple"] == 5 and anomaly["metadata"]["min_seconds"] == 3
    assert anomaly["metadata"]["spread_ticks"] == 11 and anomaly["metadata"]["run_seconds"] == 3
    assert anomaly["metadata"]["baseline_median_spread_ticks"] == 2
    assert anomaly["affected_price_levels"] == [
        f"{market.bid[market.index(WINDOW_START + 30)] / 100:.2f}",
        f"{(market.bid[market.index(WINDOW_START + 30)] + 11) / 100:.2f}",
    ]


def test_spread_blowout_near_miss_at_four_and_a_half_times(market):
    widen(market, WINDOW_START + 30, 9, seconds=10)
    assert market.detect() == []


def test_a_spread_wide_for_two_seconds_is_a_sweep_not_a_blowout(market):
    widen(market, WINDOW_START + 30, 40, seconds=2)
    assert market.detect() == []


def thin(market, second, quantity):
    market.level_qty[market.index(second)] = [quantity] * 20


def test_depth_collapse_fires_below_twenty_percent_of_the_baseline_median(market):
    thin(market, WINDOW_START + 20, 150)  # 15 % of ~1.000 a level
    (anomaly,) = market.detect()
    assert anomaly["anomaly_type"] == "DepthCollapse"
    assert anomaly["metadata"]["depth"] == "6.000"
    assert anomaly["metadata"]["depth_fraction"] == 0.2


def test_depth_collapse_near_miss_at_twenty_five_percent(market):
    thin(market, WINDOW_START + 20, 250)
    assert market.detect() == []


def test_flash_crash_risk_fires_when_depth_and_spread_break_together(market):
    thin(market, WINDOW_START + 40, 100)
    widen(market, WINDOW_START + 40, 25)
    found = market.detect()
    assert types(found) == ["DepthCollapse", "FlashCrashRisk"]  # one second: no SpreadBlowout
    (crash,) = [a for a in found if a["anomaly_type"] == "FlashCrashRisk"]
    assert crash["metadata"]["depth_loss"] == pytest.approx(0.9, abs=0.01)
    assert crash["metadata"]["min_depth_loss"] == 0.8 and crash["metadata"]["spread_multiple"] == 10


def test_flash_crash_risk_near_miss_when_the_spread_is_only_eight_times_wider(market):
    thin(market, WINDOW_START + 40, 100)
    widen(market, WINDOW_START + 40, 16)
    assert types(market.detect()) == ["DepthCollapse"]


def jump(market, second, ticks):
    for i in range(market.index(second), len(market.bid)):
        market.bid[i] += ticks


def own_deviation(market) -> float:
    """The market's one-second return deviation as the detector measures it (baseline and window returns)."""
    books = market.snapshots(WINDOW_START - BASELINE_SECS, WINDOW_START + 60)
    return return_deviation([r for _, r in one_second_returns(book_series(books))])


def ticks_for(deviations: float, sigma: float) -> int:
    """Ticks (of 0.01 on 10000.00) that make a one-second log return of ``deviations`` × sigma."""
    return round(deviations * sigma * 1_000_000)


def test_price_jump_fires_above_eight_of_the_symbols_own_one_second_deviations(market):
    sigma = own_deviation(market)
    jump(market, WINDOW_START + 10, ticks_for(2 * PRICE_JUMP_Z, sigma))
    (anomaly,) = market.detect()
    assert anomaly["anomaly_type"] == "PriceJump"
    assert anomaly["metadata"]["z"] > PRICE_JUMP_Z == anomaly["metadata"]["z_threshold"] == 8
    assert anomaly["metadata"]["return_deviation"] == pytest.approx(sigma, rel=0.1)
    assert anomaly["detection_timestamp"] == (WINDOW_START + 10) * 1000


def test_price_jump_near_miss_at_half_the_threshold(market):
    jump(market, WINDOW_START + 10, ticks_for(PRICE_JUMP_Z / 2, own_deviation(market)))
    assert market.detect() == []


def test_a_quiet_market_with_zero_deviation_does_not_flag_every_tick(market):
    for i in range(len(market.bid)):
        market.bid[i], market.spread[i] = 1_000_000, 1
    jump(market, WINDOW_START + 10, 1)  # the deviation is 0: without the tick floor this would be an infinite z
    assert market.detect() == []


def test_price_jump_scales_with_the_symbols_volatility(market):
    rng = random.Random(1)
    for i in range(1, len(market.bid)):  # ±30 ticks a second: a volatile symbol
        market.bid[i] = market.bid[i - 1] + rng.choice([-30, 30])
    jump(market, WINDOW_START + 10, 150)  # 1.5 bp: 50 deviations in the quiet market, 5 here
    assert market.detect() == []
    jump(market, WINDOW_START + 20, 3000)
    assert types(market.detect()) == ["PriceJump"]


def hold_bid(market, first, seconds, executed):
    """The best bid stays where it is at ``first`` for ``seconds`` while ``executed`` sells print at it."""
    price = market.bid[market.index(first)]
    for s in range(first, first + seconds):
        i = market.index(s)
        market.bid[i] = price
        market.level_qty[i] = [1000] * 20
    market.trade_rows = [r for r in market.trade_rows if not first * 1000 <= r[0] < (first + seconds) * 1000]
    for k, q in enumerate(executed):
        market.trade_rows.append(((first + k % seconds) * 1000 + 500, price, q, True, 1))
    return price


def test_iceberg_fires_when_a_best_bid_absorbs_more_than_five_times_its_displayed_size(market):
    price = hold_bid(market, WINDOW_START + 5, 10, [1200] * 5)  # 6.000 executed against 1.000 shown
    (anomaly,) = market.detect()
    assert anomaly["anomaly_type"] == "IcebergOrder"
    assert anomaly["affected_price_levels"] == [f"{price / 100:.2f}"]
    assert anomaly["metadata"]["side"] == "bid"
    assert anomaly["metadata"]["executed_volume"] == "6.000"


def test_iceberg_near_miss_at_four_point_nine_times(market):
    hold_bid(market, WINDOW_START + 5, 10, [980] * 5)
    assert market.detect() == []


def test_iceberg_ignores_buys_printed_at_the_bid_price(market):
    price = hold_bid(market, WINDOW_START + 5, 10, [])
    for k in range(5):
        market.trade_rows.append(((WINDOW_START + 5 + k) * 1000 + 500, price, 1200, False, 1))
    assert market.detect() == []


def test_anomaly_ids_are_stable_and_fields_complete(market):
    widen(market, WINDOW_START + 30, 11, seconds=3)
    first, again = market.detect(), market.detect()
    assert first == again
    assert set(first[0]) == {"anomaly_id", "symbol", "anomaly_type", "detection_timestamp", "confidence_score",
                             "affected_price_levels", "severity", "recommended_action", "metadata"}


@pytest.mark.parametrize("excess, level", [(1.0, "Low"), (1.6, "Low"), (2.0, "Medium"),
                                           (4.0, "High"), (11.0, "Critical"), (float("inf"), "Critical")])
def test_severity_follows_confidence(excess, level):
    assert 0.5 <= confidence(excess) <= 1
    assert severity(confidence(excess)) == level


@pytest.mark.parametrize("bad", [0, 1441, "60", True])
def test_baseline_minutes_outside_one_to_1440_is_an_invalid_parameter(bad):
    with pytest.raises(InvalidParameter) as info:
        detect_market_anomalies([], [], None, symbol=SYMBOL, now_ms=0, window_start_ms=0, window_end_ms=60_000,
                                baseline_minutes=bad)
    assert info.value.details["field"] == "baseline_minutes"
