"""Trade chunk values and trade keys: exact round trips, the format bytes, chunks that never span a second."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tradeactors import decimals
from tradeactors.protocol import AggTrade
from tradeactors.records import TradeColumns
from tradeactors.storage import codecs, keys


def trade(a, p="61234.56000000", q="0.01230000", T=1_723_161_254_324, m=True):
    return AggTrade(a, p, q, a * 3, a * 3 + 2, T, m)


def test_columnar_round_trip_is_exact():
    trades = [trade(1), trade(2, "0.00000001", "92233720.36854775", T=1_723_161_254_999, m=False),
              trade(3, "7.00000000")]
    value = codecs.encode_trades(trades)
    assert value[0] == codecs.TRADES_COLUMNAR
    assert codecs.decode_trades(value).trades() == trades


def test_mixed_decimals_fall_back_to_rows_and_stay_exact():
    trades = [trade(1, "1.5"), trade(2, "1.50"), trade(3, "100")]
    value = codecs.encode_trades(trades)
    assert value[0] == codecs.TRADES_ROWS
    assert codecs.decode_trades(value).trades() == trades


def test_int64_overflow_falls_back_to_rows():
    trades = [trade(1, "99999999999999999999.00000000")]
    assert codecs.encode_trades(trades)[0] == codecs.TRADES_ROWS
    assert codecs.decode_trades(codecs.encode_trades(trades)).trades() == trades


def test_columns_are_ready_for_numpy():
    chunk = codecs.decode_trades(codecs.encode_trades([trade(1), trade(2, "61234.57000000")]))
    assert chunk.p.dtype == np.int64 and chunk.p.tolist() == [6123456000000, 6123457000000]
    assert chunk.p_decimals == 8 and chunk.m.dtype == bool


def test_keys_sort_by_time_and_are_unique_per_first_id():
    k1 = keys.trade_key("BTCUSDT", 1_000, 5)
    k2 = keys.trade_key("BTCUSDT", 1_000, 6)
    k3 = keys.trade_key("BTCUSDT", 999_000, 1)
    assert k1 != k2 and k1 < k2 < k3
    assert k1.startswith(b"trades:BTCUSDT:0000000001000:")
    assert keys.trade_key_time(k3) == 999_000
    assert keys.trade_seek_key("BTCUSDT", 1_999) <= k1 or keys.trade_seek_key("BTCUSDT", 1_999) > k2


def test_chunks_never_span_a_second():
    trades = [trade(i, T=1000 * (i // 3) + i % 3) for i in range(10)]
    spans = codecs.second_spans(TradeColumns.from_trades(trades).T)
    assert spans == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert all(len({t.T // 1000 for t in trades[lo:hi]}) == 1 for lo, hi in spans)
    assert codecs.second_spans(np.empty(0, dtype=np.int64)) == []


def test_a_second_seen_again_later_starts_a_new_chunk():
    # Ids are the order; a trade time may step back (Binance's T is the matching engine's, ids are authoritative).
    trades = [trade(1, T=1_500), trade(2, T=2_100), trade(3, T=1_999), trade(4, T=1_998)]
    assert codecs.second_spans(TradeColumns.from_trades(trades).T) == [(0, 1), (1, 2), (2, 4)]


decimal = st.builds(
    lambda whole, frac, places: f"{whole}.{str(frac).rjust(places, '0')[:places]}" if places else str(whole),
    st.integers(0, 10**9), st.integers(0, 10**8), st.integers(0, 8),
)


@given(st.lists(st.tuples(decimal, decimal, st.booleans(), st.integers(0, 10**13)), min_size=1, max_size=50))
def test_any_trades_round_trip(rows):
    trades = [AggTrade(i, p, q, i, i, t, m) for i, (p, q, m, t) in enumerate(rows)]
    assert codecs.decode_trades(codecs.encode_trades(trades)).trades() == trades


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 10**6), st.booleans(), st.integers(0, 5_000)),
                min_size=1, max_size=80), st.integers(0, 8), st.integers(0, 8))
def test_spans_of_one_batch_encode_like_their_own_trades(rows, p_dec, q_dec):
    """The writer scales a batch once and encodes its per-second spans: same bytes as encoding each span alone."""
    text = decimals.format_scaled
    trades = [AggTrade(i, text(p, p_dec), text(q, q_dec), i, i + 1, t, m) for i, (p, q, m, t) in enumerate(rows)]
    columns = TradeColumns.from_trades(trades)
    assert columns.exact
    for lo, hi in codecs.second_spans(columns.T):
        assert codecs.encode_columns(columns.span(lo, hi)) == codecs.encode_trades(trades[lo:hi])
