"""Small constructors for trade columns and book snapshots used by the analytics tests."""

from __future__ import annotations

import numpy as np

from tradeactors.records import BookSecond, TradeColumns

SYMBOL = "TESTUSDT"


def trades(prices, quantities, sells=None, times=None, *, p_decimals=0, q_decimals=0, raw_counts=None) -> TradeColumns:
    """Trades with scaled integer prices/quantities; ``sells[i]`` true means m = true (the taker sold)."""
    n = len(prices)
    a = np.arange(n, dtype=np.int64)
    f = a * 10
    last = f + (np.asarray(raw_counts, dtype=np.int64) - 1 if raw_counts is not None else 0)
    return TradeColumns(
        a, f, last,
        np.asarray(times if times is not None else 1_000 + a, dtype=np.int64),
        np.asarray(sells if sells is not None else [False] * n, dtype=bool),
        np.asarray(prices, dtype=np.int64), np.asarray(quantities, dtype=np.int64), p_decimals, q_decimals,
    )


def snapshot(second, bids, asks, update_id=0, *, price_decimals=2, qty_decimals=3) -> BookSecond:
    """``bids``/``asks``: lists of (scaled price, scaled quantity), best first."""
    return BookSecond(
        SYMBOL, second, update_id, second * 1000,
        np.asarray(bids, dtype=np.int64).reshape(-1, 2), np.asarray(asks, dtype=np.int64).reshape(-1, 2),
        price_decimals, qty_decimals,
    )


def ladder(best, step, quantities, direction):
    """Levels best, best ± step, ... with the given quantities (direction -1 for bids, +1 for asks)."""
    return [(best + direction * step * i, q) for i, q in enumerate(quantities)]
