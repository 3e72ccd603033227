"""Per-minute volume by price: the rollups that let a 7-day volume profile skip raw trades. Pure code.

The TradeWriter keeps one rollup per symbol per minute of trade time, updated in the same WriteBatch as the
trades it summarises (so it counts exactly the trades stored, each once). A rollup holds, for every distinct
price traded in that minute: volume (sum of quantities), buy volume (taker bought: ``m`` false) and the number
of aggregate trades, plus the minute's first and last trade time. Prices are exact integers; binning by the
exchange tick happens at query time, so a rollup never depends on tick size. Merging rollups and raw trades
gives exactly what the raw trades alone would give (the analytics tests check it).

Value format 0x01: msgpack ``[p_decimals, q_decimals, first_T, last_T, trades, price, volume, buy, count]``
with the four columns as little-endian int64 bytes, prices ascending.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgpack
import numpy as np

ROLLUP_FORMAT = 0x01
MINUTE_MS = 60_000


def rollup_key(symbol: str, minute_ms: int) -> bytes:
    return f"rollup:{symbol}:{minute_ms:013d}".encode()


def rollup_prefix(symbol: str) -> bytes:
    return f"rollup:{symbol}:".encode()


def rollup_key_minute(key: bytes) -> int:
    return int(key[-13:])


@dataclass
class PriceVolumes:
    """Volume by exact price: columns sorted by price, integers scaled by 10**decimals."""

    price: np.ndarray
    volume: np.ndarray
    buy: np.ndarray
    count: np.ndarray
    p_decimals: int
    q_decimals: int
    first_time: int
    last_time: int

    @property
    def trades(self) -> int:
        return int(self.count.sum())

    def rescaled(self, p_decimals: int, q_decimals: int) -> "PriceVolumes":
        if (p_decimals, q_decimals) == (self.p_decimals, self.q_decimals):
            return self
        pf, qf = 10 ** (p_decimals - self.p_decimals), 10 ** (q_decimals - self.q_decimals)
        return PriceVolumes(self.price * pf, self.volume * qf, self.buy * qf, self.count, p_decimals, q_decimals,
                            self.first_time, self.last_time)


def from_trades(p: np.ndarray, q: np.ndarray, m: np.ndarray, t: np.ndarray, p_decimals: int,
                q_decimals: int) -> PriceVolumes:
    """Aggregate trade columns (one scale) by exact price."""
    prices, inverse = np.unique(p, return_inverse=True)
    n = len(prices)
    volume = _sum_by(inverse, q, n)
    buy = _sum_by(inverse, np.where(m, 0, q), n)
    count = np.bincount(inverse, minlength=n).astype(np.int64)
    return PriceVolumes(prices.astype(np.int64), volume, buy, count, p_decimals, q_decimals, int(t.min()), int(t.max()))


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``values`` grouped by ``index`` (bincount would go through float64)."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, values.astype(np.int64))
    return out


def merge(parts: list[PriceVolumes]) -> PriceVolumes | None:
    """One PriceVolumes for many (rollups of many minutes, raw edges), at the finest scale among them."""
    parts = [p for p in parts if p is not None and len(p.price)]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    p_dec = max(p.p_decimals for p in parts)
    q_dec = max(p.q_decimals for p in parts)
    parts = [p.rescaled(p_dec, q_dec) for p in parts]
    prices, inverse = np.unique(np.concatenate([p.price for p in parts]), return_inverse=True)
    n = len(prices)
    return PriceVolumes(
        prices, _sum_by(inverse, np.concatenate([p.volume for p in parts]), n),
        _sum_by(inverse, np.concatenate([p.buy for p in parts]), n),
        _sum_by(inverse, np.concatenate([p.count for p in parts]), n), p_dec, q_dec,
        min(p.first_time for p in parts), max(p.last_time for p in parts),
    )


def encode(rollup: PriceVolumes) -> bytes:
    cols = [np.ascontiguousarray(c, dtype="<i8").tobytes() for c in (rollup.price, rollup.volume, rollup.buy,
                                                                      rollup.count)]
    return bytes([ROLLUP_FORMAT]) + msgpack.packb(
        [rollup.p_decimals, rollup.q_decimals, rollup.first_time, rollup.last_time, rollup.trades, *cols])


def decode(value: bytes) -> PriceVolumes:
    if value[0] != ROLLUP_FORMAT:
        raise ValueError(f"unknown rollup value format byte {value[0]:#04x}")
    p_dec, q_dec, first, last, _trades, price, volume, buy, count = msgpack.unpackb(value[1:])
    col = lambda raw: np.frombuffer(raw, dtype="<i8")  # noqa: E731
    return PriceVolumes(col(price), col(volume), col(buy), col(count), p_dec, q_dec, first, last)
