"""Messages between actors: small immutable tuples, one per request or event."""

from __future__ import annotations

from typing import NamedTuple

from tradeactors.protocol import AggTrade, DepthUpdate
from tradeactors.records import BookSecond
from tradeactors.symbolset import Selection


class Trades(NamedTuple):
    """StreamActor -> BufferActor: trades received live, in arrival order."""

    symbol: str
    trades: list[AggTrade]


class TradeBatch(NamedTuple):
    """Reader thread -> BufferActor: one drain's trades of every symbol on a connection, one ``Trades`` each."""

    batches: list[Trades]


class Flush(NamedTuple):
    """Ticker -> BufferActor: hand every buffered trade to the StorageActor now."""


class StoreTrades(NamedTuple):
    """BufferActor (tell) or BackfillActor (ask) -> StorageActor: trades of one symbol, one WriteBatch.

    Answers the number of trades written (those already stored are dropped) when asked.
    """

    symbol: str
    trades: list[AggTrade]
    flushed_at_ms: int
    """Wall-clock time of the flush, for the log line and the lag metric."""
    source: str = "live"
    """"live" or "backfill", for the log line."""


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


class QueryTradeColumns(NamedTuple):
    """Caller -> QueryActor (ask): every stored trade with start_ms <= T <= end_ms as numpy columns
    (a ``records.TradeColumns``: a, f, l, T, m, and p/q as int64 scaled by 10**p_decimals / 10**q_decimals)."""

    symbol: str
    start_ms: int
    end_ms: int


class QueryTradeDecimals(NamedTuple):
    """Caller -> QueryActor (ask): the widest (price, quantity) decimals stored for trades with start_ms <= T <=
    end_ms, or None when there is no trade: the one scale an exporter writes the range at."""

    symbol: str
    start_ms: int
    end_ms: int


class QueryTradeBatch(NamedTuple):
    """Caller -> QueryActor (ask): the trades of whole seconds from ``start_ms`` on (T <= end_ms) until at least
    ``min_rows``, as ``(records.TradeColumns in id order, next start ms or None)``: a long range read in pieces
    (``GET /api/trades.parquet``), so that no one ask holds the actor long."""

    symbol: str
    start_ms: int
    end_ms: int
    min_rows: int


class GetStatus(NamedTuple):
    """Caller -> any actor (ask): a dict describing the actor's state for /api/status."""


class GetAllHoles(NamedTuple):
    """Caller -> StorageActor (ask): {symbol: missing id ranges} of every symbol that has any (one ask for a whole
    market instead of one per symbol)."""


class GetHoles(NamedTuple):
    """Caller -> StorageActor (ask): the missing id ranges of a symbol, oldest first, as [(lo, hi), ...].

    Missing = between the first and the last stored id, neither stored nor confirmed missing at the exchange.
    """

    symbol: str


class RecordExchangeGap(NamedTuple):
    """BackfillActor -> StorageActor (ask): REST confirms these ids do not exist; stop looking for them."""

    symbol: str
    lo: int
    hi: int


class GetLastId(NamedTuple):
    """Caller -> StorageActor (ask): the highest stored aggregate id of a symbol, or None."""

    symbol: str


class CatchUp(NamedTuple):
    """Reader thread -> BackfillActor: the symbol's stream (re)connected or is down; fetch from REST the trades
    after the last stored id up to the present, so that trades published while it was down are stored even if no
    live trade comes to open a hole (a quiet symbol, a paused market)."""

    symbol: str
    reason: str
    after_id: int | None = None
    """The last id the reader received (it may not be stored yet): the tail starts after the later of this and
    the last stored id."""
    since_ms: int | None = None
    """When the symbol's streams first went live (ms): with no id known yet (a quiet symbol whose connection dropped
    before its first trade), the tail starts at the first trade from then on."""


class HolesFound(NamedTuple):
    """StorageActor -> BackfillActor: a symbol has missing ids; fill them now rather than at the next poll."""

    symbol: str


class DeleteBefore(NamedTuple):
    """CleanupActor -> StorageActor (ask): delete every trade with T < cutoff_ms (second-aligned)."""

    cutoff_ms: int


class ThreadDied(NamedTuple):
    """A thread an actor owns -> that actor: the thread ended on an unexpected exception. The actor raises, so
    that it fails and the Supervisor restarts it with a fresh thread: a dead thread is never silent."""

    thread: str
    """The thread's name, e.g. ``Reader-BTCUSDT`` or ``Backfill-worker``."""
    reason: str
    """The exception, as ``Type: message``."""


class InjectFailure(NamedTuple):
    """Operator drill and test hook (tell): the receiving actor raises, as a bug would, and is restarted."""

    reason: str = "injected failure"
    thread: bool = False
    """True: the actor's own thread (a StreamActor's reader, a worker) raises at its next step instead, as a bug
    in it would; the thread reports ``ThreadDied`` and the actor is restarted."""


class BookSecondClosed(NamedTuple):
    """StreamActor -> BufferActor: the book's top levels at the end of one exchange-time second, while synced."""

    book: BookSecond


class StoreBookSeconds(NamedTuple):
    """BufferActor -> StorageActor: a flush's book seconds of one symbol, one WriteBatch."""

    symbol: str
    books: list[BookSecond]


class StoreFlush(NamedTuple):
    """BufferActor -> StorageActor: one flush of every symbol (each written as before: a WriteBatch per symbol's
    trades and per symbol's book seconds). One message a second instead of two per symbol."""

    trades: list[StoreTrades]
    books: list[StoreBookSeconds]


class Depth(NamedTuple):
    """Reader thread -> StreamActor: one depth diff, in arrival order."""

    update: DepthUpdate


class Diffs(NamedTuple):
    """Reader thread -> StreamActor: the symbol's depth diffs of one drain, in arrival order."""

    updates: list[DepthUpdate]
    received: int
    """Trades the symbol's feed has received so far (its activity counts them)."""


class ConnectionLost(NamedTuple):
    """Reader thread -> StreamActor: the connection failed (not a planned replacement): the depth stream has a
    hole, so the book is discarded until it resyncs."""

    reason: str


class WatchBook(NamedTuple):
    """Caller -> StreamActor (ask): call ``callback(update_id, best_bid, best_ask)`` in the actor's thread after
    every applied diff. A diagnostic hook (tests compare the live book against recorded bookTicker frames)."""

    callback: object


class WatchTrades(NamedTuple):
    """Caller -> StreamActor (ask): call ``callback(trades)`` in the reader thread at every hand-over of live
    trades, right after the drain that read them. A diagnostic hook (the burst benchmark measures receive lag)."""

    callback: object


class FetchDepthSnapshot(NamedTuple):
    """StreamActor -> DepthSnapshotActor: fetch /api/v3/depth for the symbol and tell the StreamActor the result.
    Queued by activity (a symbol already queued keeps its place, refreshed)."""

    symbol: str
    limit: int
    """The most levels wanted (the book's ``depth_limit``); the DepthSnapshotActor may ask for fewer
    (``snapshotschedule.choose_limit``) and says which in ``DepthSnapshotFetched.limit``."""
    reason: str
    activity: float = 0.0
    """Book levels changed plus trades per minute, recently (``snapshotschedule.ActivityRate``): the priority.
    0 = unknown (the DepthSnapshotActor then uses the symbol's last known)."""
    rebase: bool = False
    """The book is synced and asks because its price came near the edge of its snapshot: it needs more levels."""


class BookActivity(NamedTuple):
    """StreamActor -> DepthSnapshotActor, every few seconds while its book waits for a snapshot: its activity now,
    which moves its queued request (a symbol not queued is only remembered)."""

    symbol: str
    activity: float


class BookState(NamedTuple):
    """StreamActor -> DepthSnapshotActor: the book lost (``synced`` False) or regained its sync; also the answer to
    ``DepthSnapshotRequestsLost``. Counts the books out of sync and times "every book synced"."""

    symbol: str
    synced: bool


class DepthSnapshotRequestsLost(NamedTuple):
    """DepthSnapshotActor -> every StreamActor, when it (re)starts: requests queued before were lost with the
    previous actor (or dropped while it restarted); a book still waiting for a depth snapshot asks again, a synced
    one answers ``BookState``."""


class DepthSnapshotFetched(NamedTuple):
    """DepthSnapshotActor -> StreamActor: a REST depth snapshot."""

    symbol: str
    last_update_id: int
    bids: list
    asks: list
    limit: int | None = None
    """The limit it was fetched with: a side with that many levels has unknown levels beyond (None: the book's
    ``depth_limit``)."""


class GetBook(NamedTuple):
    """Caller -> StreamActor (ask): the live book's top ``depth`` levels, update id, age and sync state."""

    depth: int = 20


class QueryBookSeconds(NamedTuple):
    """Caller -> QueryActor (ask): stored book seconds with start_s <= second <= end_s, in time order."""

    symbol: str
    start_s: int
    end_s: int


class StoreSymbolInfo(NamedTuple):
    """DepthSnapshotActor -> StorageActor: the exchange's tick and step sizes of a symbol, cached in ``meta``."""

    symbol: str
    info: dict
    """{"tickSize": "0.01000000", "stepSize": "0.00001000"}"""


class Analyze(NamedTuple):
    """Caller -> QueryActor (ask): run one analytics tool (``docs/analytics.md``) over the stored history.

    ``tool``: volume_profile, liquidity_vacuums, order_flow, microstructure_health or market_anomalies;
    ``params``: the tool's parameters, already range-checked. Answers the tool's JSON-ready dict; raises
    ``errors.InvalidParameter``, ``errors.UnknownSymbol`` or ``errors.InsufficientData``.
    """

    tool: str
    symbol: str
    params: dict
    now_ms: int | None = None
    """The end of the window (default: now); tests pin it."""


class SymbolsChanged(NamedTuple):
    """Service -> every actor that keeps per-symbol state (buffer, storage, backfill, depth snapshots, query):
    the recorded symbols changed at runtime. ``added`` is told before their StreamActors start, ``removed`` after
    theirs stopped (each change in one message, so that a symbol's last trades reach the buffer first)."""

    added: tuple[str, ...]
    """Symbols that start recording now."""
    removed: tuple[str, ...]
    """Symbols whose StreamActor has stopped: flush what is buffered, stop fetching for them."""
    known: tuple[str, ...]
    """The symbols queries accept from now on: recording, recorded earlier in this run, or with stored history."""


class ReadSymbols(NamedTuple):
    """Service (on SIGHUP) -> SymbolSetActor: read the symbol set again now, with this selection (the configuration
    file may have changed it)."""

    selection: Selection
    refresh_seconds: float
    reason: str
