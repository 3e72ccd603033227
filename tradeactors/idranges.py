"""A set of integer ids kept as sorted, disjoint, non-adjacent closed ranges. Pure code.

The StorageActor keeps one per symbol for the aggregate ids it has stored: it makes writes idempotent (ids
already stored are dropped) and shows the holes to fill from REST. Trades arrive in id order, so the set stays
a handful of ranges however many trades are stored.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator


class IdRanges:
    def __init__(self, ranges: Iterable[tuple[int, int]] = ()):
        self._lo: list[int] = []
        self._hi: list[int] = []
        for lo, hi in ranges:
            self.add_range(lo, hi)

    def __contains__(self, value: int) -> bool:
        i = bisect.bisect_right(self._lo, value) - 1
        return i >= 0 and value <= self._hi[i]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self._lo, self._hi))

    def __len__(self) -> int:
        return len(self._lo)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdRanges) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"IdRanges({list(self)!r})"

    @property
    def count(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self)

    @property
    def first(self) -> int | None:
        return self._lo[0] if self._lo else None

    @property
    def last(self) -> int | None:
        return self._hi[-1] if self._hi else None

    def add(self, value: int) -> None:
        self.add_range(value, value)

    def add_range(self, lo: int, hi: int) -> None:
        if lo > hi:
            raise ValueError(f"empty range {lo}..{hi}")
        # Ranges touching or overlapping [lo, hi] (adjacent ones merge too).
        i = bisect.bisect_left(self._hi, lo - 1)
        j = bisect.bisect_right(self._lo, hi + 1)
        if i < j:
            lo = min(lo, self._lo[i])
            hi = max(hi, self._hi[j - 1])
        self._lo[i:j] = [lo]
        self._hi[i:j] = [hi]

    def add_sorted(self, ids: Iterable[int]) -> None:
        """Add ids given in ascending order, one range per run of consecutive ids."""
        start = prev = -1
        for value in ids:
            if start >= 0 and value == prev + 1:
                prev = value
                continue
            if start >= 0:
                self.add_range(start, prev)
            start = prev = value
        if start >= 0:
            self.add_range(start, prev)

    def discard_below(self, value: int) -> None:
        """Forget every id below ``value`` (retention)."""
        i = bisect.bisect_right(self._hi, value - 1)
        del self._lo[:i], self._hi[:i]
        if self._lo and self._lo[0] < value:
            self._lo[0] = value

    def holes(self, lo: int | None = None, hi: int | None = None) -> list[tuple[int, int]]:
        """Missing ranges between the first and last stored id (or inside [lo, hi] when given)."""
        if not self._lo:
            return [(lo, hi)] if lo is not None and hi is not None and lo <= hi else []
        lo = self._lo[0] if lo is None else lo
        hi = self._hi[-1] if hi is None else hi
        out = []
        cursor = lo
        for rlo, rhi in self:
            if rhi < cursor:
                continue
            if rlo > hi:
                break
            if rlo > cursor:
                out.append((cursor, min(rlo - 1, hi)))
            cursor = max(cursor, rhi + 1)
        if cursor <= hi:
            out.append((cursor, hi))
        return out

    def to_list(self) -> list[list[int]]:
        return [[lo, hi] for lo, hi in self]
