"""The local order book: exact levels, diffs applied, top-N views. Pure code: no I/O, threads or clocks.

Binance's snapshot + diff sync procedure that feeds it is ``booksync.BookSync``.

``OrderBook`` holds exact levels: prices and quantities are Python ints counting units of ``10**-decimals``, one
price scale and one quantity scale per book (the most decimals seen so far). Strings come back at the book's
scale, which for Binance spot is always 8 decimals, i.e. exactly as Binance formats them (``"61234.56000000"``);
should a book ever see strings with differing decimals, they all come back at the largest scale seen (``"1.5"``
next to ``"1.25"`` comes back as ``"1.50"``).

Each side is a dict ``key -> qty`` plus a heap of its keys, kept lazily (a removed level leaves its key in the
heap until it reaches the top; the heap is rebuilt when it holds twice as many keys as levels). Keys are the
price for asks and the negated price for bids, so that on both sides the best level is the smallest key. That
makes a diff cost one dict operation per level (plus a C heap push for a new level), where a sorted container
costs a Python-level insertion or removal for the ~35 of the ~46 levels of a BTCUSDT diff that come and go: the
book must keep up with the frame parser (see ``tradeactors bench book``). Reading the best level is O(1)
amortised; ``top(n)`` is O(levels * log n).

A snapshot from ``/api/v3/depth?limit=L`` holds at most L levels per side. When a side came back full, the book
cannot know every level beyond its deepest price (the "boundary"). The diff stream reports every change at any
price, so a level that a diff sets out there is exact and stays exact; what is missing are the levels out there
that have not changed since the snapshot (Binance's documentation says the same). ``known_levels`` says how many
levels from the best are complete; ``prune_unknown`` drops the rest. ``BookSync`` asks for a fresh snapshot, while
staying in sync, when the best price comes within ``edge_levels`` of the boundary, and re-bases on it. By default
it keeps the exact levels beyond the boundary rather than pruning them, so that the top of the book stays right
if the price runs past the boundary before the fresh snapshot arrives: in the 2024 BTCUSDT capture (one
snapshot, no re-base) the best bid crossed the boundary and matched bookTicker at all 160 such points, where
pruning would have left no bids. ``BookSync(prune=True)`` keeps books without levels beyond the boundary instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heapify, heappop, heappush, nsmallest

import numpy as np

from tradeactors.decimals import decimals_of, factor, format_scaled, to_scaled
from tradeactors.protocol import DECIMAL_RE

SIDES = ("bids", "asks")
_UNBOUNDED = float("inf")


class _Unusual(Exception):
    """A string the fast path of ``apply`` does not handle (other decimals than the book's)."""


class OrderBook:
    """A local order book with exact levels (integer counts at one decimal scale; per side a dict and a heap)."""

    __slots__ = ("_bound", "_heaps", "_known", "_levels", "_pd", "_qd", "_top", "_zero", "keep_unknown", "update_id")

    def __init__(self, update_id: int = 0, price_decimals: int = 0, qty_decimals: int = 0):
        self.update_id = update_id
        """The last applied update id: the snapshot's lastUpdateId, then each applied diff's ``u``."""
        self.keep_unknown = True
        """False: ``apply`` ignores levels beyond the boundary, so the book only holds complete levels."""
        self._levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
        """Per side (bids, asks): key -> quantity; the key is -price for bids, price for asks."""
        self._heaps: tuple[list[int], list[int]] = ([], [])
        """Per side: every key of ``_levels`` and maybe keys removed since (lazy deletion)."""
        self._bound: list[float | int] = [_UNBOUNDED, _UNBOUNDED]
        """Per side: the key of the deepest snapshot level if that side came back full; keys above it are
        beyond the boundary."""
        self._known = [0, 0]
        """Per side: how many levels have a key <= the boundary."""
        self._top: list[tuple[int, list[int]] | None] = [None, None]
        """Per side: (n, the best n keys) as last read, until a level at or above the n-th appears or goes (a book
        second reads the top 20 of every book every second; most diffs change levels further down)."""
        self._set_scale(price_decimals, qty_decimals)

    def _set_scale(self, price_decimals: int, qty_decimals: int) -> None:
        self._pd, self._qd = price_decimals, qty_decimals
        self._zero = "0." + "0" * qty_decimals if qty_decimals else None

    @classmethod
    def from_snapshot(cls, last_update_id: int, bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]],
                      depth_limit: int | None = None) -> OrderBook:
        """The book of a ``/api/v3/depth`` body; ``depth_limit`` is the ``limit`` it was requested with.

        Raises ValueError for a level that is not ``[price, qty]`` as decimal strings.
        """
        for level in (*bids, *asks):
            if not (len(level) >= 2 and all(type(text) is str and DECIMAL_RE.match(text) for text in level[:2])):
                raise ValueError(f"snapshot level {level!r} is not [price, qty] as decimal strings")
        book = cls(last_update_id, max((decimals_of(level[0]) for level in (*bids, *asks)), default=0),
                   max((decimals_of(level[1]) for level in (*bids, *asks)), default=0))
        book.apply(bids, asks, last_update_id)
        for index, snapshot_side in enumerate((bids, asks)):
            levels = book._levels[index]
            if depth_limit is not None and len(snapshot_side) >= depth_limit and levels:
                book._bound[index] = max(levels)
        return book

    # --- changes ---------------------------------------------------------------------------------------------

    def apply(self, bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]], update_id: int) -> None:
        """Apply one diff's levels (quantity 0 removes a level, any other sets it) and set ``update_id``.

        The strings are expected to be validated already (``protocol.parse_frame`` does).
        """
        for index, side in ((0, bids), (1, asks)):
            try:
                changed = self._apply_usual(index, side)
            except (_Unusual, IndexError, ValueError):
                # Setting a level is idempotent, so the levels done by the fast path may be done again.
                self._top[index] = None
                for level in side:
                    self._apply_level(index, level[0], level[1])
                continue
            top = self._top[index]
            if top is not None and changed is not None and (len(top[1]) < top[0] or changed <= top[1][-1]):
                self._top[index] = None
        self.update_id = update_id

    def _apply_usual(self, index: int, side: Sequence[Sequence[str]]) -> int | None:
        """The fast path: every level is [price, qty] with exactly the book's decimals (always so for Binance
        spot). Raises _Unusual, IndexError or ValueError at the first level that is not, for the general path.
        Returns the best key that appeared or went (None: only quantities changed)."""
        pd, qd = self._pd, self._qd
        if not (pd and qd):
            raise _Unusual
        pdot, qdot, zero = -pd - 1, -qd - 1, self._zero
        levels, heap, bound = self._levels[index], self._heaps[index], self._bound[index]
        keep_unknown = self.keep_unknown
        negate = index == 0
        known = 0
        changed = None
        try:
            for p, q in side:
                if p[pdot] != ".":
                    raise _Unusual
                key = -int(p.replace(".", "")) if negate else int(p.replace(".", ""))
                if q == zero:
                    if key in levels:
                        del levels[key]
                        if key <= bound:
                            known -= 1
                        if changed is None or key < changed:
                            changed = key
                    continue
                if q[qdot] != ".":
                    raise _Unusual
                if key not in levels:
                    if key <= bound:
                        known += 1
                    elif not keep_unknown:
                        continue
                    heappush(heap, key)
                    if changed is None or key < changed:
                        changed = key
                qty = int(q.replace(".", ""))
                if not qty:
                    raise _Unusual  # a zero written differently: the general path removes the level
                levels[key] = qty
        finally:
            self._known[index] += known
        if len(heap) > 2 * len(levels) + 64:
            heap[:] = levels
            heapify(heap)
        return changed

    def _apply_level(self, index: int, price: str, qty: str) -> None:
        """The general path: rescales the book first if a string has more decimals than it."""
        pd, qd = max(self._pd, decimals_of(price)), max(self._qd, decimals_of(qty))
        if pd != self._pd or qd != self._qd:
            self._rescale(pd, qd)
        key, count = to_scaled(price, pd) * (-1 if index == 0 else 1), to_scaled(qty, qd)
        levels, bound = self._levels[index], self._bound[index]
        if count:
            if key not in levels:
                if key > bound and not self.keep_unknown:
                    return
                heappush(self._heaps[index], key)
                self._known[index] += key <= bound
            levels[key] = count
        elif key in levels:
            del levels[key]
            self._known[index] -= key <= bound

    def _rescale(self, price_decimals: int, qty_decimals: int) -> None:
        """Move the whole book to more decimals (exact: every count is multiplied by a power of ten)."""
        pf, qf = factor(self._pd, price_decimals), factor(self._qd, qty_decimals)
        self._top = [None, None]
        for index in (0, 1):
            levels = {key * pf: qty * qf for key, qty in self._levels[index].items()}
            self._levels[index].clear()
            self._levels[index].update(levels)
            self._heaps[index][:] = levels
            heapify(self._heaps[index])
            if self._bound[index] != _UNBOUNDED:
                self._bound[index] *= pf
        self._set_scale(price_decimals, qty_decimals)

    def prune_unknown(self) -> int:
        """Drop the levels beyond a full snapshot side's deepest price, where the book cannot know every level.

        Returns how many were dropped; costs nothing when there are none.
        """
        dropped = 0
        for index in (0, 1):
            levels, bound = self._levels[index], self._bound[index]
            if len(levels) > self._known[index]:
                beyond = [key for key in levels if key > bound]
                for key in beyond:
                    del levels[key]
                dropped += len(beyond)
                self._top[index] = None
        return dropped

    # --- reading ---------------------------------------------------------------------------------------------

    @property
    def price_decimals(self) -> int:
        return self._pd

    @property
    def qty_decimals(self) -> int:
        return self._qd

    def _best_key(self, index: int) -> int | None:
        heap, levels = self._heaps[index], self._levels[index]
        while heap:
            key = heap[0]
            if key in levels:
                return key
            heappop(heap)
        return None

    def _best(self, index: int) -> tuple[str, str] | None:
        key = self._best_key(index)
        if key is None:
            return None
        return format_scaled(abs(key), self._pd), format_scaled(self._levels[index][key], self._qd)

    def best_bid(self) -> tuple[str, str] | None:
        """(price, qty) of the highest bid as exact decimal strings, or None if there are no bids."""
        return self._best(0)

    def best_ask(self) -> tuple[str, str] | None:
        """(price, qty) of the lowest ask as exact decimal strings, or None if there are no asks."""
        return self._best(1)

    def _top_keys(self, index: int, n: int) -> list[int]:
        top = self._top[index]
        if top is not None and top[0] == n:
            return top[1]
        levels = self._levels[index]
        keys = sorted(levels)[:n] if n >= len(levels) // 8 else nsmallest(n, levels)
        self._top[index] = (n, keys)
        return keys

    def top(self, n: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The best ``n`` levels per side, best first (bids descending, asks ascending), as exact strings."""
        pd, qd = self._pd, self._qd
        return tuple(  # type: ignore[return-value]
            [(format_scaled(abs(key), pd), format_scaled(self._levels[index][key], qd))
             for key in self._top_keys(index, n)]
            for index in (0, 1))

    def top_scaled(self, n: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The best ``n`` levels per side as int64 arrays of shape (k, 2): [price, qty] in units of
        ``10**-price_decimals`` and ``10**-qty_decimals``, best first; then those two numbers of decimals."""
        sides = []
        for index in (0, 1):
            levels, keys = self._levels[index], self._top_keys(index, n)
            rows = np.empty((len(keys), 2), dtype=np.int64)
            rows[:, 0] = keys
            rows[:, 1] = [levels[key] for key in keys]
            if index == 0:
                np.negative(rows[:, 0], out=rows[:, 0])  # a bid's key is minus its price
            sides.append(rows)
        return sides[0], sides[1], self._pd, self._qd

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask: the book is certainly wrong."""
        bid, ask = self._best_key(0), self._best_key(1)
        return bid is not None and ask is not None and -bid >= ask

    def known_levels(self, side: str) -> int:
        """Levels of ``side`` ("bids" or "asks") from the best to the snapshot's boundary, inclusive: all of
        the side's levels when its snapshot was not full."""
        return self._known[SIDES.index(side)]

    def is_bounded(self, side: str) -> bool:
        """True when the snapshot's ``side`` came back full, so that levels beyond its deepest are unknown."""
        return self._bound[SIDES.index(side)] != _UNBOUNDED

    def _near_edge(self, edge_levels: int) -> bool:
        """True when a side whose snapshot was full has fewer than ``edge_levels`` known levels."""
        known, bound = self._known, self._bound
        return (known[0] < edge_levels and bound[0] != _UNBOUNDED) or \
            (known[1] < edge_levels and bound[1] != _UNBOUNDED)

    def __len__(self) -> int:
        return len(self._levels[0]) + len(self._levels[1])

    def __repr__(self) -> str:
        return (f"OrderBook(update_id={self.update_id}, bids={len(self._levels[0])}, "
                f"asks={len(self._levels[1])}, best_bid={self.best_bid()}, best_ask={self.best_ask()})")
