"""Rollups: what the writer keeps per minute equals aggregating the raw trades, for any window."""

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeactors import storage
from tradeactors.protocol import AggTrade
from tradeactors.records import PriceVolumes, TradeColumns
from tradeactors.storage import Database, reader

BASE = 1_723_161_240_000  # a whole minute


def random_trades(rng, n, span_ms):
    times = np.sort(rng.integers(0, span_ms, n)) + BASE
    return [AggTrade(i + 1, f"{60000 + int(rng.integers(-50, 50)) / 100:.8f}",
                     f"{int(rng.integers(1, 10**6)) / 10**5:.8f}", i + 1, i + 1, int(times[i]),
                     bool(rng.integers(0, 2))) for i in range(n)]


def raw_price_volumes(trades, start, end):
    return PriceVolumes.of_trades(TradeColumns.from_trades([t for t in trades if start <= t.T <= end]))


def same(a, b):
    return (a.price.tolist(), a.volume.tolist(), a.buy.tolist(), a.count.tolist(), a.first_time, a.last_time) == \
           (b.price.tolist(), b.volume.tolist(), b.buy.tolist(), b.count.tolist(), b.first_time, b.last_time)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    rng = np.random.default_rng(3)
    trades = random_trades(rng, 6000, 10 * 60_000)
    db = Database(tmp_path_factory.mktemp("rollups") / "db")
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    for i in range(0, len(trades), 137):  # flushes of odd sizes straddle minute boundaries
        writer.write("BTCUSDT", trades[i:i + 137])
    writer.write("BTCUSDT", trades[500:900])  # duplicates must not count twice
    yield db, trades
    db.close()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10 * 60_000), st.integers(0, 10 * 60_000))
def test_rollups_plus_raw_edges_equal_raw_trades_for_any_window(stored, a, b):
    db, trades = stored
    start, end = BASE + min(a, b), BASE + max(a, b)
    got = storage.read_price_volumes(db, "BTCUSDT", start, end)
    want = raw_price_volumes(trades, start, end) if any(start <= t.T <= end for t in trades) else None
    assert (got is None and want is None) or same(got, want)


def test_a_whole_window_reads_rollups_not_raw_chunks(stored, monkeypatch):
    db, trades = stored
    read = []
    real = storage.read_chunks
    monkeypatch.setattr(reader, "read_chunks", lambda *args: (read.append(args), real(*args))[1])
    got = storage.read_price_volumes(db, "BTCUSDT", BASE, BASE + 10 * 60_000 - 1)
    assert same(got, raw_price_volumes(trades, BASE, BASE + 10 * 60_000 - 1))
    assert read == []  # whole minutes only: every trade came from the rollups


@pytest.mark.parametrize("seed", range(6))
def test_adding_a_flush_to_a_rollup_is_exactly_merging_its_aggregate(seed):
    """``with_trades`` (plain Python for small inputs, numpy for large ones) equals ``merge([rollup, of_trades])``:
    prices in common and new, both sides of the taker, other scales, one trade and many."""
    rng = random.Random(seed)

    def trades(n, decimals, first_id):
        return [AggTrade(first_id + i, f"{rng.randint(100, 130) / 10**decimals:.{decimals}f}",
                         f"{rng.randint(1, 999) / 1000:.3f}", 1, 1, 1_700_000_000_000 + rng.randint(0, 59_000),
                         rng.random() < 0.5) for i in range(n)]

    for existing_n, added_n, decimals in ((0, 1, 2), (3, 2, 2), (40, 5, 2), (10, 3, 3), (200, 2, 2), (5, 300, 2)):
        existing = PriceVolumes.of_trades(TradeColumns.from_trades(trades(existing_n, 2, 0))) if existing_n else None
        added = TradeColumns.from_trades(trades(added_n, decimals, 10_000))
        got = PriceVolumes.with_trades(existing, added)
        want = PriceVolumes.merge([existing, PriceVolumes.of_trades(added)])
        assert want is not None
        for field in ("price", "volume", "buy", "count"):
            assert getattr(got, field).tolist() == getattr(want, field).tolist(), (existing_n, added_n, field)
        assert (got.p_decimals, got.q_decimals, got.first_time, got.last_time) == \
            (want.p_decimals, want.q_decimals, want.first_time, want.last_time)
