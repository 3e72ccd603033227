"""What the service records, as values to compute with: trades as columns, book seconds, volume by price.

- ``TradeColumns``: aggregate trades as numpy columns, prices and quantities exact scaled integers
  (``decimals``). What storage reads back, what the analytics compute on, what ``QueryTradeColumns`` answers.
- ``BookSecond``: the top levels of a symbol's book at the end of one exchange-time second (what is stored once
  a second while the book is synced; see ``docs/storage.md``).
- ``PriceVolumes``: volume by exact price of a set of trades (the per-minute rollups that let a 7-day volume
  profile skip raw trades, and the raw trades at a window's edges), with an exact merge.

Pure code: how these are laid out on disk is ``tradeactors.storage``'s business alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tradeactors import decimals
from tradeactors.protocol import AggTrade


@dataclass
class TradeColumns:
    """Aggregate trades as columns (numpy int64 unless noted), in id order when read from storage."""

    a: np.ndarray
    """Aggregate trade id."""
    f: np.ndarray
    """First raw trade id."""
    l: np.ndarray  # noqa: E741 - the wire name
    """Last raw trade id."""
    T: np.ndarray
    """Trade time, ms."""
    m: np.ndarray
    """bool: the buyer was the maker (the taker sold)."""
    p: np.ndarray
    """Price scaled by 10**p_decimals."""
    q: np.ndarray
    """Quantity scaled by 10**q_decimals."""
    p_decimals: int
    q_decimals: int
    p_text: list[str] | None = None
    """The exact strings, only where the columns alone cannot give them back (mixed decimals)."""
    q_text: list[str] | None = None
    exact: bool = True
    """Whether the columns alone give the exact strings back (False: rescaled from mixed decimals)."""

    @classmethod
    def empty(cls) -> TradeColumns:
        none = np.empty(0, dtype=np.int64)
        return cls(none, none, none, none, np.empty(0, dtype=bool), none, none, 0, 0)

    @classmethod
    def from_trades(cls, trades: Sequence[AggTrade]) -> TradeColumns:
        """Columns of trades (in the order given) without going through bytes.

        ``exact`` tells whether the columns alone give the strings back; if not (mixed decimals in a column, or a
        value beyond int64), prices and quantities are rescaled to their largest number of decimals."""
        if not trades:
            return cls.empty()
        a, p, q, f, last, times, m = zip(*trades)
        prices, quantities = decimals.scale_exact(p), decimals.scale_exact(q)
        exact = prices is not None and quantities is not None
        if prices is None:
            prices = decimals.scale_any(p)
        if quantities is None:
            quantities = decimals.scale_any(q)
        return cls(np.array(a, dtype=np.int64), np.array(f, dtype=np.int64), np.array(last, dtype=np.int64),
                   np.array(times, dtype=np.int64), np.array(m, dtype=bool), prices[0], quantities[0],
                   prices[1], quantities[1], exact=exact)

    @classmethod
    def concat(cls, parts: Sequence[TradeColumns]) -> TradeColumns:
        """One set of columns for many, prices and quantities brought to one number of decimals."""
        if not parts:
            return cls.empty()
        p_dec = max(c.p_decimals for c in parts)
        q_dec = max(c.q_decimals for c in parts)
        return cls(
            np.concatenate([c.a for c in parts]), np.concatenate([c.f for c in parts]),
            np.concatenate([c.l for c in parts]), np.concatenate([c.T for c in parts]),
            np.concatenate([c.m for c in parts]),
            np.concatenate([decimals.rescale(c.p, c.p_decimals, p_dec) for c in parts]),
            np.concatenate([decimals.rescale(c.q, c.q_decimals, q_dec) for c in parts]),
            p_dec, q_dec, exact=all(c.exact and c.p_decimals == p_dec and c.q_decimals == q_dec for c in parts),
        )

    def __len__(self) -> int:
        return len(self.a)

    def prices(self) -> list[str]:
        if self.p_text is not None:
            return self.p_text
        return [decimals.format_scaled(v, self.p_decimals) for v in self.p.tolist()]

    def quantities(self) -> list[str]:
        if self.q_text is not None:
            return self.q_text
        return [decimals.format_scaled(v, self.q_decimals) for v in self.q.tolist()]

    def trades(self) -> list[AggTrade]:
        return [
            AggTrade(a, p, q, f, last, t, m)
            for a, p, q, f, last, t, m in zip(
                self.a.tolist(), self.prices(), self.quantities(), self.f.tolist(), self.l.tolist(),
                self.T.tolist(), self.m.tolist(),
            )
        ]

    def span(self, lo: int, hi: int) -> TradeColumns:
        """Trades lo..hi-1 (views, no copy)."""
        p_text = self.p_text[lo:hi] if self.p_text is not None else None
        q_text = self.q_text[lo:hi] if self.q_text is not None else None
        return TradeColumns(self.a[lo:hi], self.f[lo:hi], self.l[lo:hi], self.T[lo:hi], self.m[lo:hi],
                            self.p[lo:hi], self.q[lo:hi], self.p_decimals, self.q_decimals, p_text, q_text,
                            self.exact)

    def select(self, mask: np.ndarray) -> TradeColumns:
        keep = mask.tolist()
        p_text = [x for x, k in zip(self.p_text, keep) if k] if self.p_text is not None else None
        q_text = [x for x, k in zip(self.q_text, keep) if k] if self.q_text is not None else None
        return TradeColumns(self.a[mask], self.f[mask], self.l[mask], self.T[mask], self.m[mask], self.p[mask],
                            self.q[mask], self.p_decimals, self.q_decimals, p_text, q_text, self.exact)


@dataclass
class BookSecond:
    """The top levels of a symbol's book at the end of one exchange-time second: the book after the last depth
    diff whose event time falls in that second (prices and quantities int64 scaled by 10**decimals)."""

    symbol: str
    second: int
    """Unix seconds (exchange time): the second this book closes."""
    update_id: int
    """The book's last applied update id: the book equals the exchange's book at this id."""
    event_ms: int
    """Event time E of that diff (inside ``second``)."""
    bids: np.ndarray
    """(k, 2) int64: price, quantity; best first."""
    asks: np.ndarray
    price_decimals: int
    qty_decimals: int

    def levels(self, side: str) -> list[tuple[str, str]]:
        rows = self.bids if side == "bids" else self.asks
        return [(decimals.format_scaled(p, self.price_decimals), decimals.format_scaled(q, self.qty_decimals))
                for p, q in rows.tolist()]


SMALL_ROLLUP = 64
"""Trades added, or prices in a rollup, up to which ``PriceVolumes.with_trades`` runs in plain Python."""


@dataclass
class PriceVolumes:
    """Volume by exact price: columns sorted by price, integers scaled by 10**decimals."""

    price: np.ndarray
    volume: np.ndarray
    buy: np.ndarray
    """The part of ``volume`` bought by the taker (``m`` false)."""
    count: np.ndarray
    """Aggregate trades at the price."""
    p_decimals: int
    q_decimals: int
    first_time: int
    last_time: int

    @property
    def trades(self) -> int:
        return int(self.count.sum())

    @classmethod
    def of_trades(cls, columns: TradeColumns) -> PriceVolumes:
        """Aggregate trade columns (at least one trade) by exact price."""
        prices, inverse = np.unique(columns.p, return_inverse=True)
        n = len(prices)
        q = columns.q
        return cls(prices.astype(np.int64), _sum_by(inverse, q, n), _sum_by(inverse, np.where(columns.m, 0, q), n),
                   np.bincount(inverse, minlength=n).astype(np.int64), columns.p_decimals, columns.q_decimals,
                   int(columns.T.min()), int(columns.T.max()))

    def rescaled(self, p_decimals: int, q_decimals: int) -> PriceVolumes:
        if (p_decimals, q_decimals) == (self.p_decimals, self.q_decimals):
            return self
        return PriceVolumes(decimals.rescale(self.price, self.p_decimals, p_decimals),
                            decimals.rescale(self.volume, self.q_decimals, q_decimals),
                            decimals.rescale(self.buy, self.q_decimals, q_decimals), self.count, p_decimals,
                            q_decimals, self.first_time, self.last_time)

    @classmethod
    def with_trades(cls, existing: PriceVolumes | None, columns: TradeColumns) -> PriceVolumes:
        """``merge([existing, of_trades(columns)])`` (at least one trade), computed in plain Python when both are
        small: a flush of a whole market writes hundreds of symbols' rollups a second, mostly a trade or two into a
        minute of a few prices each, where numpy's per-call cost (``unique``, ``add.at``) was most of the
        StorageActor's time."""
        scales = (columns.p_decimals, columns.q_decimals)
        if len(columns.p) > SMALL_ROLLUP or (existing is not None and (
                len(existing.price) > SMALL_ROLLUP or (existing.p_decimals, existing.q_decimals) != scales)):
            merged = cls.merge([existing, cls.of_trades(columns)])
            assert merged is not None
            return merged
        acc: dict[int, list[int]] = {}
        first, last = int(columns.T.min()), int(columns.T.max())
        if existing is not None:
            for p, v, b, c in zip(existing.price.tolist(), existing.volume.tolist(), existing.buy.tolist(),
                                  existing.count.tolist(), strict=True):
                acc[p] = [v, b, c]
            first, last = min(first, existing.first_time), max(last, existing.last_time)
        for p, q, m in zip(columns.p.tolist(), columns.q.tolist(), columns.m.tolist(), strict=True):
            entry = acc.get(p)
            if entry is None:
                entry = acc[p] = [0, 0, 0]
            entry[0] += q
            entry[2] += 1
            if not m:
                entry[1] += q
        prices = sorted(acc)
        rows = [acc[p] for p in prices]
        return cls(np.array(prices, dtype=np.int64), np.array([r[0] for r in rows], dtype=np.int64),
                   np.array([r[1] for r in rows], dtype=np.int64), np.array([r[2] for r in rows], dtype=np.int64),
                   *scales, first, last)

    @classmethod
    def merge(cls, parts: Sequence[PriceVolumes | None]) -> PriceVolumes | None:
        """One PriceVolumes for many (rollups of many minutes, raw edges), at the finest scale among them; None
        when there is no trade at all. Equal to aggregating all their trades at once."""
        present = [p for p in parts if p is not None and len(p.price)]
        if not present:
            return None
        if len(present) == 1:
            return present[0]
        p_dec = max(p.p_decimals for p in present)
        q_dec = max(p.q_decimals for p in present)
        present = [p.rescaled(p_dec, q_dec) for p in present]
        prices, inverse = np.unique(np.concatenate([p.price for p in present]), return_inverse=True)
        n = len(prices)
        return cls(
            prices, _sum_by(inverse, np.concatenate([p.volume for p in present]), n),
            _sum_by(inverse, np.concatenate([p.buy for p in present]), n),
            _sum_by(inverse, np.concatenate([p.count for p in present]), n), p_dec, q_dec,
            min(p.first_time for p in present), max(p.last_time for p in present),
        )


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``values`` grouped by ``index`` (bincount would go through float64)."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, values.astype(np.int64))
    return out
