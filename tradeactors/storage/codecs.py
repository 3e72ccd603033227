"""Every value the database holds, to bytes and back (``docs/storage.md``). Pure code.

Each value starts with a format byte, so that the format can evolve; a reader rejects a byte it does not know
(it raises) rather than guess. Values are msgpack containers of little-endian int64 columns.

- trade chunks (``trades``): ``0x01`` columnar, ``0x02`` rows (when the columns cannot be exact);
- book seconds (``snapshots``): ``0x01``;
- rollups (``rollups``): ``0x01`` volume by price of one minute;
- meta: id ranges (``ids:``, ``xgaps:``) and symbol info (``symbolinfo:``) are plain msgpack (no format byte).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence

import msgpack
import numpy as np

from tradeactors import decimals
from tradeactors.idranges import IdRanges
from tradeactors.protocol import AggTrade
from tradeactors.records import BookSecond, PriceVolumes, TradeColumns

TRADES_COLUMNAR = 0x01
TRADES_ROWS = 0x02
BOOK_SECOND_FORMAT = 0x01
ROLLUP_FORMAT = 0x01


# --- trade chunks ------------------------------------------------------------------------------------------


def second_spans(times: np.ndarray) -> list[tuple[int, int]]:
    """Index spans [lo, hi) of trades (sorted by id) whose trade times lie in one wall-clock second: one stored
    chunk each. A new span starts wherever the second changes from the previous trade's."""
    if not len(times):
        return []
    seconds = times // 1000
    # Sorted by id, times rarely go back: usually one second, one span.
    if seconds[0] == seconds[-1] and (len(times) < 3 or (seconds == seconds[0]).all()):
        return [(0, len(times))]
    starts = (np.flatnonzero(seconds[1:] != seconds[:-1]) + 1).tolist()
    bounds = [0, *starts, len(times)]
    return list(itertools.pairwise(bounds))


def _delta(values: np.ndarray) -> bytes:
    """First value absolute, then differences (``np.diff(prepend=0)``, without its per-call cost: a whole market
    encodes hundreds of small chunks a second)."""
    out = np.array(values, dtype="<i8")
    out[1:] -= values[:-1]
    return out.tobytes()


def _undelta(raw: bytes) -> np.ndarray:
    return np.cumsum(np.frombuffer(raw, dtype="<i8"))


def encode_columns(columns: TradeColumns) -> bytes:
    """``0x01`` columnar: msgpack ``[n, p_decimals, q_decimals, a, f, l_minus_f, T, m, p, q]``; ``a``, ``f``,
    ``T`` and ``p`` delta-encoded int64 (first value absolute), ``l - f`` and ``q`` int64, ``m`` one uint8 per
    trade. Only for exact columns (``columns.exact``)."""
    if not columns.exact:
        raise ValueError("columns rescaled from mixed decimals cannot be stored columnar")
    body = [
        len(columns), columns.p_decimals, columns.q_decimals,
        _delta(columns.a), _delta(columns.f), (columns.l - columns.f).astype("<i8").tobytes(), _delta(columns.T),
        columns.m.astype(np.uint8).tobytes(), _delta(columns.p), columns.q.astype("<i8").tobytes(),
    ]
    return bytes([TRADES_COLUMNAR]) + msgpack.packb(body)


def encode_trades(trades: Sequence[AggTrade]) -> bytes:
    """Trades (sorted by id) as one value: columnar when exact, otherwise ``0x02`` rows, msgpack
    ``[[a, p, q, f, l, T, m], ...]`` with the strings as sent."""
    columns = TradeColumns.from_trades(trades)
    if columns.exact:
        return encode_columns(columns)
    rows = [[t.a, t.p, t.q, t.f, t.l, t.T, t.m] for t in trades]
    return bytes([TRADES_ROWS]) + msgpack.packb(rows)


def decode_trades(value: bytes) -> TradeColumns:
    fmt = value[0]
    if fmt == TRADES_COLUMNAR:
        _n, p_dec, q_dec, a, f, l_minus_f, times, m, p, q = msgpack.unpackb(value[1:])
        f_col = _undelta(f)
        return TradeColumns(
            _undelta(a), f_col, f_col + np.frombuffer(l_minus_f, dtype="<i8"), _undelta(times),
            np.frombuffer(m, dtype=np.uint8).astype(bool), _undelta(p), np.frombuffer(q, dtype="<i8").copy(),
            p_dec, q_dec,
        )
    if fmt == TRADES_ROWS:
        rows = msgpack.unpackb(value[1:])
        cols = list(zip(*rows)) if rows else [()] * 7
        p_ints, p_dec = decimals.scale_any(cols[1])
        q_ints, q_dec = decimals.scale_any(cols[2])
        return TradeColumns(
            np.array(cols[0], dtype=np.int64), np.array(cols[3], dtype=np.int64), np.array(cols[4], dtype=np.int64),
            np.array(cols[5], dtype=np.int64), np.array(cols[6], dtype=bool), p_ints, q_ints, p_dec, q_dec,
            list(cols[1]), list(cols[2]), exact=False,
        )
    raise ValueError(f"unknown trade value format byte {fmt:#04x}")


def trade_decimals(value: bytes) -> tuple[int, int]:
    """(price decimals, quantity decimals) of a trade chunk: those of its columns (``0x01``, read from the
    header alone, without the columns), or the largest among its strings (``0x02``). What an exporter needs
    before it writes: the widest scale of a range."""
    if value[0] == TRADES_COLUMNAR:
        unpacker = msgpack.Unpacker(io.BytesIO(memoryview(value)[1:]), read_size=16)
        unpacker.read_array_header()
        unpacker.unpack()  # n
        return int(unpacker.unpack()), int(unpacker.unpack())
    columns = decode_trades(value)
    return columns.p_decimals, columns.q_decimals


# --- book seconds ------------------------------------------------------------------------------------------


def encode_book_second(book: BookSecond) -> bytes:
    """``0x01``: msgpack ``[update_id, event_ms, price_decimals, qty_decimals, n_bids, n_asks, bids, asks]`` with
    the levels as little-endian int64 (price, quantity) pairs, best first."""
    bids = np.ascontiguousarray(book.bids, dtype="<i8").reshape(-1, 2)
    asks = np.ascontiguousarray(book.asks, dtype="<i8").reshape(-1, 2)
    body = [book.update_id, book.event_ms, book.price_decimals, book.qty_decimals, len(bids), len(asks),
            bids.tobytes(), asks.tobytes()]
    return bytes([BOOK_SECOND_FORMAT]) + msgpack.packb(body)


def decode_book_second(symbol: str, second: int, value: bytes) -> BookSecond:
    if value[0] != BOOK_SECOND_FORMAT:
        raise ValueError(f"unknown book second value format byte {value[0]:#04x}")
    update_id, event_ms, p_dec, q_dec, _nb, _na, bids, asks = msgpack.unpackb(value[1:])
    return BookSecond(symbol, second, update_id, event_ms, np.frombuffer(bids, dtype="<i8").reshape(-1, 2),
                      np.frombuffer(asks, dtype="<i8").reshape(-1, 2), p_dec, q_dec)


# --- rollups -----------------------------------------------------------------------------------------------


def encode_rollup(rollup: PriceVolumes) -> bytes:
    """``0x01``: msgpack ``[p_decimals, q_decimals, first_T, last_T, trades, price, volume, buy, count]`` with the
    four columns as little-endian int64 bytes, prices ascending."""
    cols = [np.ascontiguousarray(c, dtype="<i8").tobytes() for c in (rollup.price, rollup.volume, rollup.buy,
                                                                      rollup.count)]
    return bytes([ROLLUP_FORMAT]) + msgpack.packb(
        [rollup.p_decimals, rollup.q_decimals, rollup.first_time, rollup.last_time, rollup.trades, *cols])


def decode_rollup(value: bytes) -> PriceVolumes:
    if value[0] != ROLLUP_FORMAT:
        raise ValueError(f"unknown rollup value format byte {value[0]:#04x}")
    p_dec, q_dec, first, last, _trades, price, volume, buy, count = msgpack.unpackb(value[1:])

    def col(raw: bytes) -> np.ndarray:
        return np.frombuffer(raw, dtype="<i8")

    return PriceVolumes(col(price), col(volume), col(buy), col(count), p_dec, q_dec, first, last)


# --- meta --------------------------------------------------------------------------------------------------


def encode_id_ranges(ranges: IdRanges) -> bytes:
    """msgpack ``[[lo, hi], ...]``, ascending and disjoint."""
    return msgpack.packb(ranges.to_list())


def decode_id_ranges(value: bytes | None) -> IdRanges:
    return IdRanges((lo, hi) for lo, hi in msgpack.unpackb(value)) if value else IdRanges()


def encode_symbol_info(info: dict[str, str]) -> bytes:
    """msgpack ``{"tickSize": "0.01000000", "stepSize": "0.00001000"}``: the strings exchangeInfo sent."""
    return msgpack.packb(info)


def decode_symbol_info(value: bytes | None) -> dict[str, str] | None:
    return msgpack.unpackb(value) if value else None
