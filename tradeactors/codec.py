"""Storage key and value codecs. Pure code: bytes in, bytes out. The format is documented in docs/storage.md.

Trade keys (column family ``trades``)::

    trades:{SYMBOL}:{13-digit ms}:{20-digit first aggregate id}

The ms is the trade time ``T`` of the chunk's first trade. A chunk never spans two wall-clock seconds of ``T``,
so a read of ``[start, end]`` seeks to the key of ``floor(start / 1000) * 1000`` and stops after ``end``. The id
suffix makes keys unique: two chunks with the same time both survive, and a chunk can never overwrite another.

Trade values start with a format byte:

* ``0x01`` columnar: msgpack ``[n, p_decimals, q_decimals, a, f, l_minus_f, T, m, p, q]`` where each column is
  little-endian bytes (int64 unless noted): ``a``, ``f``, ``T`` and ``p`` delta-encoded (first value absolute),
  ``m`` one uint8 per trade, ``p``/``q`` the decimal strings as integers scaled by ``10**decimals``. Lossless as
  long as every string of a chunk has the same number of decimals and fits int64.
* ``0x02`` rows: msgpack list of ``[a, p, q, f, l, T, m]`` with the strings as sent; the fallback when 0x01
  cannot be exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Sequence

import msgpack
import numpy as np

from tradeactors.protocol import AggTrade

FORMAT_COLUMNAR = 0x01
FORMAT_ROWS = 0x02
INT64_MAX = 2**63 - 1


# --- keys -----------------------------------------------------------------------------------------------


def trade_prefix(symbol: str) -> bytes:
    return f"trades:{symbol}:".encode()


def trade_key(symbol: str, time_ms: int, first_id: int) -> bytes:
    return f"trades:{symbol}:{time_ms:013d}:{first_id:020d}".encode()


def trade_seek_key(symbol: str, time_ms: int) -> bytes:
    """The first key that can hold a trade with ``T >= time_ms``."""
    return f"trades:{symbol}:{max(0, time_ms) // 1000 * 1000:013d}".encode()


def trade_stop_key(symbol: str, end_ms: int) -> bytes:
    """The first key after every chunk whose trades can have ``T <= end_ms`` (exclusive upper bound)."""
    if end_ms + 1 >= 10**13:
        return trade_prefix(symbol)[:-1] + b";"  # ':' + 1: past every key of the symbol
    return f"trades:{symbol}:{end_ms + 1:013d}".encode()


def trade_key_time(key: bytes) -> int:
    """The ms part of a trade key."""
    return int(key[-34:-21])


# --- decimal strings <-> scaled integers ----------------------------------------------------------------


def decimals_of(text: str) -> int:
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


def format_scaled(value: int, decimals: int) -> str:
    """Inverse of scaling a decimal string: 6123456000000, 8 -> '61234.56000000'."""
    if decimals == 0:
        return str(value)
    digits = str(value).rjust(decimals + 1, "0")
    return f"{digits[:-decimals]}.{digits[-decimals:]}"


# --- values ---------------------------------------------------------------------------------------------


@dataclass
class TradeChunk:
    """Decoded trades of one stored chunk, as columns (numpy int64 unless noted)."""

    a: np.ndarray
    f: np.ndarray
    l: np.ndarray  # noqa: E741
    T: np.ndarray
    m: np.ndarray
    """bool"""
    p: np.ndarray
    """price scaled by 10**p_decimals"""
    q: np.ndarray
    """quantity scaled by 10**q_decimals"""
    p_decimals: int
    q_decimals: int
    p_text: list[str] | None = None
    """The exact strings, only for chunks stored in the rows format."""
    q_text: list[str] | None = None
    exact: bool = True
    """Whether the columns alone give the exact strings back (False: rescaled from mixed decimals)."""

    def __len__(self) -> int:
        return len(self.a)

    def prices(self) -> list[str]:
        return self.p_text if self.p_text is not None else [format_scaled(v, self.p_decimals) for v in self.p.tolist()]

    def quantities(self) -> list[str]:
        return self.q_text if self.q_text is not None else [format_scaled(v, self.q_decimals) for v in self.q.tolist()]

    def trades(self) -> list[AggTrade]:
        return [
            AggTrade(a, p, q, f, last, t, m)
            for a, p, q, f, last, t, m in zip(
                self.a.tolist(), self.prices(), self.quantities(), self.f.tolist(), self.l.tolist(),
                self.T.tolist(), self.m.tolist(),
            )
        ]

    def span(self, lo: int, hi: int) -> "TradeChunk":
        """Trades lo..hi-1 (views, no copy)."""
        texts = (self.p_text[lo:hi], self.q_text[lo:hi]) if self.p_text is not None else (None, None)
        return TradeChunk(self.a[lo:hi], self.f[lo:hi], self.l[lo:hi], self.T[lo:hi], self.m[lo:hi], self.p[lo:hi],
                          self.q[lo:hi], self.p_decimals, self.q_decimals, *texts, self.exact)

    def select(self, mask: np.ndarray) -> "TradeChunk":
        pick = (lambda xs: [x for x, keep in zip(xs, mask.tolist()) if keep]) if self.p_text is not None else None
        return TradeChunk(
            self.a[mask], self.f[mask], self.l[mask], self.T[mask], self.m[mask], self.p[mask], self.q[mask],
            self.p_decimals, self.q_decimals,
            pick(self.p_text) if pick else None, pick(self.q_text) if pick else None, self.exact,
        )


def _scaled(texts: Sequence[str]) -> tuple[np.ndarray, int] | None:
    """Scale decimal strings to int64 with one shared number of decimals, or None if that would not be exact.

    Exact means ``format_scaled`` gives every string back: each has its dot at the same distance from its end
    (or none has a dot) and the digits fit int64. The loops run in C (map, numpy): this is on every write.
    """
    if not texts:
        return np.empty(0, dtype=np.int64), 0
    decimals = decimals_of(texts[0])
    dots = np.fromiter(map(str.find, texts, repeat(".")), dtype=np.int64, count=len(texts))
    if decimals:
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        if dots.min() < 0 or ((lengths - dots) != decimals + 1).any():
            return None
        digits = map(str.replace, texts, repeat("."), repeat(""))
    else:
        if dots.max() >= 0:
            return None
        digits = texts
    try:
        return np.array(list(map(int, digits)), dtype=np.int64), decimals
    except OverflowError:
        return None


def to_chunk(trades: Sequence[AggTrade]) -> TradeChunk:
    """Columns of trades (sorted by id) without going through bytes: for storage, rollups and analytics.

    ``exact`` tells whether the columns alone give the strings back; if not (mixed decimals in a column, or a
    value beyond int64), prices and quantities are rescaled to their largest number of decimals.
    """
    if not trades:
        empty = np.empty(0, dtype=np.int64)
        return TradeChunk(empty, empty, empty, empty, np.empty(0, dtype=bool), empty, empty, 0, 0)
    a, p, q, f, last, times, m = zip(*trades)
    prices, quantities = _scaled(p), _scaled(q)
    exact = prices is not None and quantities is not None
    if prices is None:
        prices = _rescaled(p)
    if quantities is None:
        quantities = _rescaled(q)
    return TradeChunk(np.array(a, dtype=np.int64), np.array(f, dtype=np.int64), np.array(last, dtype=np.int64),
                      np.array(times, dtype=np.int64), np.array(m, dtype=bool), prices[0], quantities[0],
                      prices[1], quantities[1], exact=exact)


def second_spans(times: np.ndarray) -> list[tuple[int, int]]:
    """Index spans [lo, hi) of trades (sorted by id) whose trade times lie in one wall-clock second: one stored
    chunk each. A new span starts wherever the second changes from the previous trade's."""
    if not len(times):
        return []
    starts = (np.flatnonzero(np.diff(times // 1000)) + 1).tolist()
    bounds = [0, *starts, len(times)]
    return list(zip(bounds[:-1], bounds[1:]))


def _delta(values: np.ndarray) -> bytes:
    return np.diff(values, prepend=np.int64(0)).astype("<i8").tobytes()


def _undelta(raw: bytes) -> np.ndarray:
    return np.cumsum(np.frombuffer(raw, dtype="<i8"))


def encode_chunk(chunk: TradeChunk) -> bytes:
    """The columnar value of exact columns (``chunk.exact``)."""
    if not chunk.exact:
        raise ValueError("columns rescaled from mixed decimals cannot be stored columnar")
    body = [
        len(chunk), chunk.p_decimals, chunk.q_decimals,
        _delta(chunk.a), _delta(chunk.f), (chunk.l - chunk.f).astype("<i8").tobytes(), _delta(chunk.T),
        chunk.m.astype(np.uint8).tobytes(), _delta(chunk.p), chunk.q.astype("<i8").tobytes(),
    ]
    return bytes([FORMAT_COLUMNAR]) + msgpack.packb(body)


def encode_trades(trades: Sequence[AggTrade]) -> bytes:
    """Encode trades (sorted by id) as one value: columnar when exact, rows otherwise."""
    chunk = to_chunk(trades)
    if chunk.exact:
        return encode_chunk(chunk)
    rows = [[t.a, t.p, t.q, t.f, t.l, t.T, t.m] for t in trades]
    return bytes([FORMAT_ROWS]) + msgpack.packb(rows)


def decode_trades(value: bytes) -> TradeChunk:
    fmt = value[0]
    if fmt == FORMAT_COLUMNAR:
        _n, p_dec, q_dec, a, f, l_minus_f, times, m, p, q = msgpack.unpackb(value[1:])
        f_col = _undelta(f)
        return TradeChunk(
            _undelta(a), f_col, f_col + np.frombuffer(l_minus_f, dtype="<i8"), _undelta(times),
            np.frombuffer(m, dtype=np.uint8).astype(bool), _undelta(p), np.frombuffer(q, dtype="<i8").copy(),
            p_dec, q_dec,
        )
    if fmt == FORMAT_ROWS:
        rows = msgpack.unpackb(value[1:])
        cols = list(zip(*rows)) if rows else [()] * 7
        p_ints, p_dec = _rescaled(cols[1])
        q_ints, q_dec = _rescaled(cols[2])
        return TradeChunk(
            np.array(cols[0], dtype=np.int64), np.array(cols[3], dtype=np.int64), np.array(cols[4], dtype=np.int64),
            np.array(cols[5], dtype=np.int64), np.array(cols[6], dtype=bool), p_ints, q_ints, p_dec, q_dec,
            list(cols[1]), list(cols[2]), exact=False,
        )
    raise ValueError(f"unknown trade value format byte {fmt:#04x}")


def _rescaled(texts: Sequence[str]) -> tuple[np.ndarray, int]:
    """Strings with differing decimals as integers at the largest number of decimals (numeric columns of a
    rows-format chunk). Values beyond int64 become -1: such chunks keep their exact strings only."""
    decimals = max((decimals_of(t) for t in texts), default=0)
    values = []
    for text in texts:
        value = int(text.replace(".", "")) * 10 ** (decimals - decimals_of(text))
        values.append(value if value <= INT64_MAX else -1)
    return np.array(values, dtype=np.int64), decimals


def concat_chunks(chunks: Sequence[TradeChunk]) -> TradeChunk:
    """One set of columns for many chunks, prices and quantities scaled to one number of decimals."""
    if not chunks:
        empty = np.empty(0, dtype=np.int64)
        return TradeChunk(empty, empty, empty, empty, np.empty(0, dtype=bool), empty, empty, 0, 0)
    p_dec = max(c.p_decimals for c in chunks)
    q_dec = max(c.q_decimals for c in chunks)

    def scaled(column: str, decimals: int, attr: str) -> np.ndarray:
        return np.concatenate([getattr(c, column) * 10 ** (decimals - getattr(c, attr)) for c in chunks])

    return TradeChunk(
        np.concatenate([c.a for c in chunks]), np.concatenate([c.f for c in chunks]),
        np.concatenate([c.l for c in chunks]), np.concatenate([c.T for c in chunks]),
        np.concatenate([c.m for c in chunks]), scaled("p", p_dec, "p_decimals"), scaled("q", q_dec, "q_decimals"),
        p_dec, q_dec, exact=all(c.exact and c.p_decimals == p_dec and c.q_decimals == q_dec for c in chunks),
    )


# --- book snapshots -------------------------------------------------------------------------------------

SNAPSHOT_FORMAT = 0x01


def snapshot_key(symbol: str, second: int) -> bytes:
    return f"{symbol}:{second:010d}".encode()


def snapshot_prefix(symbol: str) -> bytes:
    return f"{symbol}:".encode()


def snapshot_key_second(key: bytes) -> int:
    return int(key[-10:])


@dataclass
class BookSnapshot:
    """The top levels of a symbol's book at one second: prices and quantities as int64 scaled by 10**decimals."""

    symbol: str
    second: int
    """Unix seconds the snapshot was taken in (its key)."""
    update_id: int
    """The book's last applied update id."""
    event_ms: int
    """Event time E of the last applied diff."""
    bids: np.ndarray
    """(k, 2) int64: price, quantity; best first."""
    asks: np.ndarray
    price_decimals: int
    qty_decimals: int

    def levels(self, side: str) -> list[tuple[str, str]]:
        rows = self.bids if side == "bids" else self.asks
        return [(format_scaled(p, self.price_decimals), format_scaled(q, self.qty_decimals)) for p, q in rows.tolist()]


def encode_snapshot(snap: BookSnapshot) -> bytes:
    """Format 0x01: msgpack [update_id, event_ms, price_decimals, qty_decimals, n_bids, n_asks, bids, asks] with
    the levels as little-endian int64 (price, quantity) pairs, best first."""
    bids = np.ascontiguousarray(snap.bids, dtype="<i8").reshape(-1, 2)
    asks = np.ascontiguousarray(snap.asks, dtype="<i8").reshape(-1, 2)
    body = [snap.update_id, snap.event_ms, snap.price_decimals, snap.qty_decimals, len(bids), len(asks),
            bids.tobytes(), asks.tobytes()]
    return bytes([SNAPSHOT_FORMAT]) + msgpack.packb(body)


def decode_snapshot(symbol: str, second: int, value: bytes) -> BookSnapshot:
    if value[0] != SNAPSHOT_FORMAT:
        raise ValueError(f"unknown snapshot value format byte {value[0]:#04x}")
    update_id, event_ms, p_dec, q_dec, _nb, _na, bids, asks = msgpack.unpackb(value[1:])
    return BookSnapshot(symbol, second, update_id, event_ms, np.frombuffer(bids, dtype="<i8").reshape(-1, 2),
                        np.frombuffer(asks, dtype="<i8").reshape(-1, 2), p_dec, q_dec)
