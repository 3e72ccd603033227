"""Messages between actors: small immutable tuples, one per request or event."""

from __future__ import annotations

from typing import NamedTuple

from tradeactors.protocol import AggTrade


class Trades(NamedTuple):
    """StreamActor -> BufferActor: trades received live, in arrival order."""

    symbol: str
    trades: list[AggTrade]


class Flush(NamedTuple):
    """Ticker -> BufferActor: hand every buffered trade to the StorageActor now."""


class StoreTrades(NamedTuple):
    """BufferActor -> StorageActor: one flush of one symbol, written as one WriteBatch."""

    symbol: str
    trades: list[AggTrade]
    flushed_at_ms: int
    """Wall-clock time of the flush, for the log line and the lag metric."""


class RetryPending(NamedTuple):
    """Ticker -> StorageActor: try again to write what failed before."""


class QueryTrades(NamedTuple):
    """Caller -> QueryActor (ask): stored trades with start_ms <= T <= end_ms, ordered by aggregate id."""

    symbol: str
    start_ms: int
    end_ms: int
    limit: int | None = None
    """At most this many trades (None: all)."""
    after: tuple[int, int] | None = None
    """Cursor (T, a) of the last trade of the previous page."""


class GetStatus(NamedTuple):
    """Caller -> any actor (ask): a dict describing the actor's state for /api/status."""
