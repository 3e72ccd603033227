"""The whole market's symbols and activity profile, without sockets: names, filters, the heavy tail, the totals."""
import statistics
from collections import Counter

from tradeactors.simulator.server import DEFAULT_DEPTH_RATE, DEFAULT_TRADE_RATE
from tradeactors.simulator.symbols import KNOWN, UNIT
from tradeactors.simulator.universe import AGG_PER_ORDER, activity, expected_diffs, market_specs


def test_a_market_of_1500_has_distinct_realistic_symbols_busiest_first():
    specs = market_specs(1500, seed=1)
    names = [s.symbol for s in specs]
    assert len(names) == len(set(names)) == 1500
    assert names[:4] == ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"]
    assert specs[0] == KNOWN["BTCUSDT"] and specs[1].tick == KNOWN["ETHUSDT"].tick
    assert all(s.symbol == s.base + s.quote and s.symbol.isalnum() and s.symbol.isupper() for s in specs)
    quotes = Counter(s.quote for s in specs)
    assert quotes.most_common(1)[0][0] == "USDT"
    assert {"USDT", "USDC", "FDUSD", "BTC", "TRY", "ETH", "BNB", "EUR"} <= set(quotes)
    assert quotes["FDUSD"] >= 50 and quotes["BTC"] >= 10


def test_prices_sit_on_five_significant_digits_and_sizes_on_their_step():
    for spec in market_specs(1500, seed=3):
        assert spec.price % spec.tick == 0, spec
        assert spec.price // spec.tick >= (1_000 if spec.symbol in KNOWN else 10_000), spec
        assert 1 <= spec.step <= UNIT and spec.mean_qty % spec.step == 0 and spec.mean_qty >= spec.step, spec
        assert spec.max_price > spec.price and spec.max_qty > spec.mean_qty
        assert 30 <= spec.levels <= 250


def test_the_market_is_deterministic_and_a_larger_one_extends_a_smaller_one():
    assert market_specs(300, seed=5) == market_specs(300, seed=5)
    assert market_specs(1500, seed=5)[:300] == market_specs(300, seed=5)
    assert market_specs(300, seed=5) != market_specs(300, seed=6)


def test_the_default_profile_is_heavy_tailed_like_binance():
    rates = activity(1500, DEFAULT_TRADE_RATE, DEFAULT_DEPTH_RATE)
    trades = [o * AGG_PER_ORDER for o in rates.orders]
    assert sum(trades) == DEFAULT_TRADE_RATE or abs(sum(trades) - DEFAULT_TRADE_RATE) < 1e-6
    assert trades[0] >= 300 and trades[1] >= 100          # a few symbols at hundreds of trades a second
    assert statistics.median(trades) < 1.0                # the median one below one a second
    assert sum(t < 0.1 for t in trades) > 500              # a long quiet tail
    assert trades == sorted(trades, reverse=True)


def test_maker_rates_are_solved_so_that_the_expected_diffs_match_the_target():
    rates = activity(1500, 500, 5000)
    assert abs(expected_diffs(rates.orders, rates.makers) - 5000) < 1
    assert all(m > 0 for m in rates.makers) and rates.makers[0] > rates.makers[-1]


def test_depth_targets_outside_what_the_market_can_do_are_clamped():
    busy = activity(10, 1000, 1)          # the trades alone move every book more than once a second
    assert busy.makers == [0.0] * 10
    assert expected_diffs(busy.orders, busy.makers) > 1
    full = activity(10, 0, 1_000_000)    # at most one diff per symbol per 100 ms
    assert 99 < expected_diffs(full.orders, full.makers) <= 100
