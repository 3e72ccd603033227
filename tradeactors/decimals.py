"""Exact decimals as scaled integers: the one place that turns Binance's decimal strings into integers and back.

Binance sends prices and quantities as decimal strings (``"61234.56000000"``, 8 decimals on spot). Everything
that computes with them (the order book, storage, rollups, the analytics) holds them as integer counts of
``10**-decimals`` instead: ``"61234.56000000"`` at 8 decimals is ``6123456000000``. Scaling never rounds; values
at different scales are brought to the larger one by multiplying by a power of ten. Pure code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat

import numpy as np

INT64_MAX = 2**63 - 1
_POW10: list[int] = [10**n for n in range(40)]


def pow10(n: int) -> int:
    """``10**n`` for n >= 0 (from a table: a typed int, and cheaper than the power on the book's path)."""
    return _POW10[n] if n < 40 else int(10**n)


def decimals_of(text: str) -> int:
    """Digits after the dot: ``"1.50"`` -> 2, ``"3"`` -> 0."""
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


def to_scaled(text: str, decimals: int) -> int:
    """``text`` as a count of ``10**-decimals`` (``text`` has at most that many decimals): ``"1.5", 3`` -> 1500."""
    dot = text.find(".")
    if dot < 0:
        return int(text) * pow10(decimals)
    return int(text[:dot] + text[dot + 1:]) * pow10(decimals - (len(text) - dot - 1))


def format_scaled(value: int, decimals: int) -> str:
    """The decimal string of a scaled integer: ``6123456000000, 8`` -> ``"61234.56000000"``."""
    if decimals == 0:
        return str(value)
    sign, digits = ("-", str(-value)) if value < 0 else ("", str(value))
    digits = digits.rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def factor(from_decimals: int, to_decimals: int) -> int:
    """What to multiply a count of ``10**-from_decimals`` by to count ``10**-to_decimals`` (never fewer)."""
    if to_decimals < from_decimals:
        raise ValueError(f"cannot rescale {from_decimals} decimals to fewer ({to_decimals}) without rounding")
    return pow10(to_decimals - from_decimals)


def rescale(values: np.ndarray, from_decimals: int, to_decimals: int) -> np.ndarray:
    """int64 counts at ``from_decimals`` as counts at ``to_decimals`` (the same array when the scales agree)."""
    if from_decimals == to_decimals:
        return values
    scaled: np.ndarray = values * np.int64(factor(from_decimals, to_decimals))
    return scaled


def scale_exact(texts: Sequence[str]) -> tuple[np.ndarray, int] | None:
    """Decimal strings as int64 counts at their one shared number of decimals, or None when that would not give
    every string back exactly (``format_scaled``): strings with differing decimals, or digits beyond int64.

    On every storage write, so the loops run in C (``map``, numpy)."""
    if not texts:
        return np.empty(0, dtype=np.int64), 0
    decimals = decimals_of(texts[0])
    dots = np.fromiter(map(str.find, texts, repeat(".")), dtype=np.int64, count=len(texts))
    if decimals:
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        if dots.min() < 0 or ((lengths - dots) != decimals + 1).any():
            return None
        digits: Iterator[str] = map(str.replace, texts, repeat("."), repeat(""))
    else:
        if dots.max() >= 0:
            return None
        digits = iter(texts)
    try:
        return np.array(list(map(int, digits)), dtype=np.int64), decimals
    except OverflowError:
        return None


def scale_any(texts: Sequence[str]) -> tuple[np.ndarray, int]:
    """Decimal strings with differing decimals as int64 counts at the largest of them (numbers to compute with;
    the strings themselves must be kept to give them back). A value beyond int64 becomes -1."""
    decimals = max((decimals_of(t) for t in texts), default=0)
    values = [to_scaled(text, decimals) for text in texts]
    return np.array([v if v <= INT64_MAX else -1 for v in values], dtype=np.int64), decimals
