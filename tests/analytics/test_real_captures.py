"""The analytics on the real market: every whole minute of the bundled 2024 BTCUSDT and ETHUSDT captures.

The stored book seconds and trades are rebuilt in-process through the service's code (``bench.analytics``:
replay → parse_frame → BookSync → the StreamActor's second-closing rule); the end-to-end path (replay → service →
RocksDB) is ``tests/e2e/test_replay_analytics.py``. ``tradeactors bench analytics`` prints the same report.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import numpy as np
import pytest

from tradeactors.analytics import anomalies as detectors
from tradeactors.bench import analytics as bench
from tradeactors.simulator import captures
from tradeactors.simulator.replay import DEPTH, ReplaySession

FIRINGS = {"BTCUSDT": {"PriceJump": 2}, "ETHUSDT": {}}
"""Firings per detector over the ten whole minutes of each capture (docs/analytics.md has the same figures)."""


@pytest.fixture(scope="module")
def markets():
    return {symbol: bench.load_market(symbol) for symbol in bench.SYMBOLS}


@pytest.fixture(scope="module")
def windows(markets):
    return {symbol: bench.evaluate(market) for symbol, market in markets.items()}


@pytest.mark.parametrize("symbol", bench.SYMBOLS)
def test_the_rebuilt_book_seconds_are_the_true_book_at_their_update_id(markets, symbol):
    session = ReplaySession([str(p) for p in captures.capture_2024_files(symbol)], speed="max")
    truth = session.markets[symbol]
    for event in truth.events:
        if event[1] == DEPTH:
            truth.apply_depth(event[2])
    books = markets[symbol].books
    assert len(books) > 600 and all(b.second > a.second for a, b in itertools.pairwise(books))
    for book in books[:: len(books) // 40]:
        bids, asks = truth.book.book_at(book.update_id, bench.BOOK_LEVELS)
        for side, true_levels in (("bids", bids), ("asks", asks)):
            got = [(Decimal(p), Decimal(q)) for p, q in book.levels(side)]
            assert got == [(Decimal(p), Decimal(q)) for p, q in true_levels]


@pytest.mark.parametrize("symbol", bench.SYMBOLS)
def test_at_least_four_in_five_real_minutes_are_good_or_better_and_the_rest_say_why(markets, windows, symbol):
    lines, figures = bench.report({symbol: markets[symbol]})
    print("\n".join(lines))
    minutes = windows[symbol]
    assert len(minutes) == 10
    good = [w for w in minutes if w.health["health_level"] in ("Excellent", "Good")]
    assert len(good) >= 0.8 * len(minutes)
    for w in minutes:
        if w not in good:
            assert w.health["components_detail"]["causes"], w.start
    # with a baseline, a calm real market is mostly Excellent: at its own normal
    assert sum(w.health["health_level"] == "Excellent" for w in minutes if w.health["baseline_available"]) >= 7
    assert figures[symbol]["good_or_better"] == len(good) / len(minutes)


def mid(book) -> Decimal:
    return (Decimal(book.levels("bids")[0][0]) + Decimal(book.levels("asks")[0][0])) / 2


def spread_ticks(book) -> Decimal:
    return (Decimal(book.levels("asks")[0][0]) - Decimal(book.levels("bids")[0][0])) / Decimal("0.01")


def depth(book) -> Decimal:
    return sum((Decimal(q) for side in ("bids", "asks") for _, q in book.levels(side)[:20]), Decimal(0))


def judge_price_jump(anomaly, window, baseline) -> str:
    """|ln(mid_t / mid_t−1)| > 8 × the trimmed root mean square of the one-second returns of baseline + window."""
    books = baseline + window
    returns = [math.log(mid(b) / mid(a)) for a, b in itertools.pairwise(books) if b.second - a.second == 1]
    ordered = sorted(abs(r) for r in returns)
    kept = ordered[:len(ordered) - max(1, math.ceil(0.02 * len(ordered)))]
    sigma = math.sqrt(sum(r * r for r in kept) / len(kept))
    at = {b.second: b for b in window}
    second = anomaly["detection_timestamp"] // 1000
    before, after = next(b for b in books if b.second == second - 1), at[second]
    r = math.log(mid(after) / mid(before))
    scale = max(sigma, float(Decimal("0.01") / mid(after)))
    assert abs(r) / scale > 8
    assert r / scale == pytest.approx(anomaly["metadata"]["z"], rel=1e-6)
    assert [Decimal(x) for x in anomaly["affected_price_levels"]] == [mid(before), mid(after)]
    return f"mid {mid(before)} -> {mid(after)}: {r * 1e4:+.2f} bp = {r / scale:+.1f} x sigma {sigma * 1e4:.3f} bp"


def judge_spread_blowout(anomaly, window, baseline) -> str:
    base = sorted(spread_ticks(b) for b in baseline)
    median = (base[(len(base) - 1) // 2] + base[len(base) // 2]) / 2
    run = [b for b in window if b.second >= anomaly["detection_timestamp"] // 1000][:3]
    assert len(run) == 3 and all(spread_ticks(b) > 5 * median for b in run)
    return f"spreads {[float(spread_ticks(b)) for b in run]} ticks against a median of {median}"


def judge_depth(anomaly, window, baseline) -> str:
    base = np.median([float(depth(b)) for b in baseline])
    at = next(b for b in window if b.second == anomaly["detection_timestamp"] // 1000)
    assert float(depth(at)) < 0.2 * base
    if anomaly["anomaly_type"] == "FlashCrashRisk":
        spreads = np.median([float(spread_ticks(b)) for b in baseline])
        assert float(spread_ticks(at)) > 10 * spreads
    return f"depth {depth(at)} against a median of {base}"


def judge_quote_stuffing(anomaly, window, baseline) -> str:
    def rate(books):
        return (books[-1].update_id - books[0].update_id) / (books[-1].second - books[0].second)

    assert rate(window) > max(50, 5 * rate(baseline)) and anomaly["metadata"]["fill_ratio"] < 0.1
    return f"{rate(window):.0f} updates/s against {rate(baseline):.0f}"


JUDGES = {"PriceJump": judge_price_jump, "SpreadBlowout": judge_spread_blowout, "DepthCollapse": judge_depth,
          "FlashCrashRisk": judge_depth, "QuoteStuffing": judge_quote_stuffing}


@pytest.mark.parametrize("symbol", bench.SYMBOLS)
def test_every_firing_on_real_data_holds_by_the_detectors_own_definition(markets, windows, symbol):
    counts: dict[str, int] = {}
    for w in windows[symbol]:
        for anomaly in w.anomalies:
            kind = anomaly["anomaly_type"]
            counts[kind] = counts.get(kind, 0) + 1
            assert kind in JUDGES, f"no judge for {kind}: look at it and write one"
            verdict = JUDGES[kind](anomaly, w.books, w.baseline)
            print(bench.describe(anomaly))
            print("\n".join(bench.context(markets[symbol], anomaly)))
            print(f"      judged: {verdict}")
    assert counts == FIRINGS[symbol]
    assert detectors.PRICE_JUMP_Z == 8  # the figures above are for these thresholds
