"""Ground truth: every aggregate trade the exchange made and every change of its order book.

Written by the market on the simulator's loop thread, read by tests from any thread (each ledger has a lock).
Storage is columnar (``array.array``) because a benchmark run may publish tens of millions of trades.
"""
from __future__ import annotations

import bisect
import threading
from array import array
from typing import Any

import numpy as np

from .symbols import fmt


class TradeLedger:
    """All aggregate trades of one symbol, in id order; ids are contiguous from ``first_id``.

    A trade as returned by :meth:`trades` (the REST ``/api/v3/aggTrades`` item, strings as on the wire)::

        {"a": 100000000, "p": "60000.01000000", "q": "0.01230000", "f": 300000000, "l": 300000001,
         "T": 1723161255342, "m": true, "M": true}
    """

    def __init__(self, first_id: int) -> None:
        self.first_id = first_id
        self._lock = threading.Lock()
        self._price = array("q")
        self._qty = array("q")
        self._first = array("q")
        self._last = array("q")
        self._time = array("q")
        self._maker = array("b")
        self._hidden: list[tuple[int, int]] = []

    def hide(self, lo: int, hi: int) -> None:
        """Ids lo..hi never existed at the exchange (an exchange-side gap): REST and ``ids()`` leave them out."""
        with self._lock:
            self._hidden.append((lo, hi))

    def _visible(self, trade_id: int) -> bool:
        return not any(lo <= trade_id <= hi for lo, hi in self._hidden)

    def extend(self, price, qty, first, last, time, maker) -> None:
        """Append a batch of trades (parallel sequences); ids follow on from the last one."""
        with self._lock:
            self._price.extend(price)
            self._qty.extend(qty)
            self._first.extend(first)
            self._last.extend(last)
            self._time.extend(time)
            self._maker.extend(maker)

    def __len__(self) -> int:
        return len(self._time)

    @property
    def last_id(self) -> int | None:
        """Id of the newest trade, None before the first."""
        n = len(self._time)
        return self.first_id + n - 1 if n else None

    def ids(self) -> np.ndarray:
        """All ids that exist (hidden ids left out), as a numpy int64 array."""
        ids = np.arange(self.first_id, self.first_id + len(self._time), dtype=np.int64)
        for lo, hi in list(self._hidden):
            ids = ids[(ids < lo) | (ids > hi)]
        return ids

    def index_range(self, from_id=None, start_ms=None, end_ms=None, limit=None) -> tuple[int, int]:
        """Positions ``[lo, hi)`` of the trades with id >= from_id and start_ms <= T <= end_ms, at most ``limit``.

        Without any bound: the most recent ``limit`` trades (REST semantics).
        """
        with self._lock:
            n = len(self._time)
            lo, hi = 0, n
            if from_id is not None:
                lo = max(lo, min(n, from_id - self.first_id))
            if start_ms is not None:
                lo = max(lo, bisect.bisect_left(self._time, start_ms))
            if end_ms is not None:
                hi = min(hi, bisect.bisect_right(self._time, end_ms))
            if from_id is None and start_ms is None and end_ms is None and limit is not None:
                return max(0, hi - limit), hi
            if limit is not None:
                hi = min(hi, lo + limit)
            return lo, max(lo, hi)

    def trades(self, lo: int = 0, hi: int | None = None, limit: int | None = None) -> list[dict]:
        """Trades at positions ``[lo, hi)`` that exist, at most ``limit``, as REST-style dicts (see above)."""
        with self._lock:
            hi = len(self._time) if hi is None else min(hi, len(self._time))
            out: list[dict[str, Any]] = []
            for i in range(lo, hi):
                if limit is not None and len(out) >= limit:
                    break
                if self._hidden and not self._visible(self.first_id + i):
                    continue
                out.append({"a": self.first_id + i, "p": fmt(self._price[i]), "q": fmt(self._qty[i]),
                            "f": self._first[i], "l": self._last[i],
                            "T": self._time[i], "m": bool(self._maker[i]), "M": True})
            return out


BID, ASK = 0, 1


class BookLedger:
    """The true order book of one symbol at every update id, rebuilt on demand.

    A change log (update id, side, price, new qty; qty 0 removes the level) plus full checkpoints every
    ``CHECKPOINT`` changes, so :meth:`book_at` replays at most that many changes. Several changes may share one
    update id (a replayed diff); the book at id X is the book after every change with id <= X.
    """

    CHECKPOINT = 20_000

    def __init__(self, update_id: int, bids: dict[int, int], asks: dict[int, int]) -> None:
        self._lock = threading.Lock()
        self.first_update_id = update_id
        self._current = update_id
        self._uid = array("q")
        self._side = array("b")
        self._price = array("q")
        self._qty = array("q")
        self._checkpoints: list[tuple[int, int, dict, dict]] = [(update_id, 0, dict(bids), dict(asks))]
        self._since_checkpoint = 0

    @property
    def current_update_id(self) -> int:
        return self._current

    def extend(self, uid, side, price, qty, live_bids=None, live_asks=None) -> None:
        """Append changes (parallel sequences, ids non-decreasing); checkpoint from the live book if given."""
        with self._lock:
            self._uid.extend(uid)
            self._side.extend(side)
            self._price.extend(price)
            self._qty.extend(qty)
            if len(self._uid):
                self._current = max(self._current, self._uid[-1])
            self._since_checkpoint += len(uid)
            if self._since_checkpoint >= self.CHECKPOINT and live_bids is not None:
                self._checkpoints.append((self._current, len(self._uid), dict(live_bids), dict(live_asks)))
                self._since_checkpoint = 0

    def set_current(self, update_id: int) -> None:
        """Advance the current id without a change (a replayed diff with no levels)."""
        with self._lock:
            self._current = max(self._current, update_id)

    def book_units(self, update_id: int) -> tuple[dict[int, int], dict[int, int]]:
        """The book at ``update_id`` as {price: qty} dicts in units."""
        with self._lock:
            if not self.first_update_id <= update_id <= self._current:
                raise ValueError(f"update id {update_id} outside the known range "
                                 f"{self.first_update_id}..{self._current}")
            k = bisect.bisect_right([c[0] for c in self._checkpoints], update_id) - 1
            _, pos, bids, asks = self._checkpoints[k]
            bids, asks = dict(bids), dict(asks)
            end = bisect.bisect_right(self._uid, update_id, lo=pos)
            sides = (bids, asks)
            for i in range(pos, end):
                book = sides[self._side[i]]
                if self._qty[i]:
                    book[self._price[i]] = self._qty[i]
                else:
                    book.pop(self._price[i], None)
            return bids, asks

    def book_at(self, update_id: int, depth: int | None = None):
        """``(bids, asks)`` at ``update_id``: lists of ``(price_str, qty_str)``, best first, ``depth`` levels."""
        bids, asks = self.book_units(update_id)
        return levels(bids, True, depth), levels(asks, False, depth)


def levels(book: dict[int, int], descending: bool, depth: int | None = None) -> list[tuple[str, str]]:
    """A side as ``[(price_str, qty_str), ...]`` best first, at most ``depth`` levels."""
    return [(fmt(p), fmt(book[p])) for p in sorted(book, reverse=descending)[:depth]]
