"""Exact integer sums and decimal formatting shared by the analytics.

Quantities are int64 scaled by ``10**q_decimals`` (8 on Binance), so a day of a low-priced coin's volume can pass
int64 (5e7 coins per trade · 1e8 · millions of trades). numpy sums wrap silently; these helpers stay exact: they
sum int64 directly when the bound ``max|v| · n < 2**63`` proves it safe and otherwise split every value into
32-bit halves whose sums cannot overflow, recombining them as Python ints. Results are int64 arrays when every
value fits and object arrays of Python ints otherwise; callers only ever read them with ``int()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import numpy as np

from tradeactors.decimals import INT64_MAX, format_scaled

_LOW_MASK = (1 << 32) - 1


def _safe_in_int64(values: np.ndarray) -> bool:
    if values.dtype == object or len(values) == 0:
        return values.dtype != object
    bound = max(abs(int(values.max())), abs(int(values.min())))
    return bound * len(values) <= INT64_MAX


def fit_int64(values: Iterable[int]) -> np.ndarray:
    """Python ints as an int64 array when all fit, else as an object array (exact either way)."""
    ints = list(values)
    if all(-INT64_MAX - 1 <= v <= INT64_MAX for v in ints):
        return np.array(ints, dtype=np.int64)
    out = np.empty(len(ints), dtype=object)
    out[:] = ints
    return out


def exact_sum(values: np.ndarray) -> int:
    """Σ values as a Python int, never wrapped."""
    if len(values) == 0:
        return 0
    if _safe_in_int64(values):
        return int(values.sum())
    if values.dtype == object:
        return sum(int(v) for v in values)
    return (int((values >> 32).sum()) << 32) + int((values & _LOW_MASK).sum())


def sums_at(size: int, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``out[i] = Σ values[index == i]`` for i < size, exactly (np.add.at is unbuffered and integer-exact)."""
    if values.dtype == object:
        # Python-int adds in C loops: sort by index, add each run with reduceat, scatter into place.
        out = np.zeros(size, dtype=object)
        if len(values):
            order = np.argsort(index, kind="stable")
            ordered = index[order]
            starts = np.flatnonzero(np.diff(ordered, prepend=ordered[0] - 1))
            out[ordered[starts]] = np.add.reduceat(values[order], starts)
        return fit_int64(out.tolist())
    if _safe_in_int64(values):
        out = np.zeros(size, dtype=np.int64)
        np.add.at(out, index, values)
        return out
    high = np.zeros(size, dtype=np.int64)
    low = np.zeros(size, dtype=np.int64)
    np.add.at(high, index, values >> 32)
    np.add.at(low, index, values & _LOW_MASK)
    return fit_int64((h << 32) + lo for h, lo in zip(high.tolist(), low.tolist()))


def fmt_signed(value: int, decimals: int) -> str:
    """format_scaled for any sign: -5, 2 -> '-0.05'."""
    value = int(value)
    return ("-" if value < 0 else "") + format_scaled(abs(value), decimals)


def fmt_half(twice: int, decimals: int) -> str:
    """The exact decimal of ``twice / 2`` scaled by 10**decimals: one more digit only when it is odd."""
    twice = int(twice)
    if twice % 2 == 0:
        return fmt_signed(twice // 2, decimals)
    return fmt_signed(twice * 5, decimals + 1)


def fmt_ratio(value: Fraction | float, decimals: int) -> str:
    """A non-exact quantity (a mean, a microprice) in scaled units, rounded half-even to ``decimals``."""
    if isinstance(value, Fraction):
        scaled = Decimal(value.numerator) / Decimal(value.denominator)
    else:
        scaled = Decimal(repr(float(value)))
    return fmt_signed(int(scaled.to_integral_value(ROUND_HALF_EVEN)), decimals)


def exact_fraction(value: int | float | str | Decimal | Fraction) -> Fraction:
    """A parameter as the exact fraction a person meant: 0.7 -> 7/10 (not the binary double's expansion)."""
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)
