import numpy as np
from hypothesis import given, strategies as st

from tradeactors import codec
from tradeactors.protocol import AggTrade


def trade(a, p="61234.56000000", q="0.01230000", T=1_723_161_254_324, m=True):
    return AggTrade(a, p, q, a * 3, a * 3 + 2, T, m)


def test_columnar_round_trip_is_exact():
    trades = [trade(1), trade(2, "0.00000001", "92233720.36854775", T=1_723_161_254_999, m=False), trade(3, "7.00000000")]
    value = codec.encode_trades(trades)
    assert value[0] == codec.FORMAT_COLUMNAR
    assert codec.decode_trades(value).trades() == trades


def test_mixed_decimals_fall_back_to_rows_and_stay_exact():
    trades = [trade(1, "1.5"), trade(2, "1.50"), trade(3, "100")]
    value = codec.encode_trades(trades)
    assert value[0] == codec.FORMAT_ROWS
    assert codec.decode_trades(value).trades() == trades


def test_int64_overflow_falls_back_to_rows():
    trades = [trade(1, "99999999999999999999.00000000")]
    assert codec.encode_trades(trades)[0] == codec.FORMAT_ROWS
    assert codec.decode_trades(codec.encode_trades(trades)).trades() == trades


def test_columns_are_ready_for_numpy():
    chunk = codec.decode_trades(codec.encode_trades([trade(1), trade(2, "61234.57000000")]))
    assert chunk.p.dtype == np.int64 and chunk.p.tolist() == [6123456000000, 6123457000000]
    assert chunk.p_decimals == 8 and chunk.m.dtype == bool


def test_keys_sort_by_time_and_are_unique_per_first_id():
    k1 = codec.trade_key("BTCUSDT", 1_000, 5)
    k2 = codec.trade_key("BTCUSDT", 1_000, 6)
    k3 = codec.trade_key("BTCUSDT", 999_000, 1)
    assert k1 != k2 and k1 < k2 < k3
    assert k1.startswith(b"trades:BTCUSDT:0000000001000:")
    assert codec.trade_key_time(k3) == 999_000
    assert codec.trade_seek_key("BTCUSDT", 1_999) <= k1 or codec.trade_seek_key("BTCUSDT", 1_999) > k2


def test_chunks_never_span_a_second():
    trades = [trade(i, T=1000 * (i // 3) + i % 3) for i in range(10)]
    chunks = codec.chunk_by_second(trades)
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert all(len({t.T // 1000 for t in c}) == 1 for c in chunks)


decimal = st.builds(
    lambda whole, frac, places: f"{whole}.{str(frac).rjust(places, '0')[:places]}" if places else str(whole),
    st.integers(0, 10**9), st.integers(0, 10**8), st.integers(0, 8),
)


@given(st.lists(st.tuples(decimal, decimal, st.booleans(), st.integers(0, 10**13)), min_size=1, max_size=50))
def test_any_trades_round_trip(rows):
    trades = [AggTrade(i, p, q, i, i, t, m) for i, (p, q, m, t) in enumerate(rows)]
    assert codec.decode_trades(codec.encode_trades(trades)).trades() == trades


@given(st.integers(0, 10**15), st.integers(0, 12))
def test_format_scaled_inverts_scaling(value, decimals):
    text = codec.format_scaled(value, decimals)
    assert int(text.replace(".", "")) == value and codec.decimals_of(text) == decimals
