"""QueryActor: time-range reads of the stored history, for the HTTP API and for in-process analytics callers.

Owns: nothing but a reference to the shared Database (reads run beside the StorageActor's writes).
Messages (ask): ``QueryTrades`` -> ``TradePage``; ``QueryTradeColumns`` -> ``records.TradeColumns`` (numpy
columns); ``QueryBookSeconds`` -> [``records.BookSecond``]; ``Analyze`` -> an analytics tool's result (see
``tools.py``); ``QueryTradeDecimals`` -> (p, q) decimals or None and ``QueryTradeBatch`` -> (columns, next start)
for exports; ``GetStatus`` -> dict. ``SymbolsChanged`` (tell, from the Service): the symbols queries accept from
now on (recording, or with stored history: a symbol that stopped recording stays queryable). ``InjectFailure``
(tell): raises. Invalid arguments raise
``InvalidParameter`` / ``UnknownSymbol`` back to the caller (an exception in an ask does not stop the actor).
The live book is not stored history: it is asked of the symbol's StreamActor (``Service.book``).
on_start/on_stop: nothing to set up or release. on_failure: not reachable (asks only).

Python API (in-process callers)::

    page = query_ref.ask(QueryTrades("BTCUSDT", start_ms, end_ms, limit=1000), timeout=10)
    page.trades        # list of AggTrade (exact strings), ordered by id
    page.next_cursor   # (T, a) to pass as ``after`` for the next page, or None

    cols = query_ref.ask(QueryTradeColumns("BTCUSDT", start_ms, end_ms), timeout=10)
    cols.a, cols.T, cols.m                     # int64, int64, bool arrays (m true = taker sold)
    cols.p / 10**cols.p_decimals               # prices; cols.p // tick_units gives exact integer ticks
"""

from __future__ import annotations

import time
from typing import NamedTuple

from tradeactors import storage, tools
from tradeactors.actors.base import Actor, handles
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import (
    Analyze,
    GetStatus,
    QueryBookSeconds,
    QueryTradeBatch,
    QueryTradeColumns,
    QueryTradeDecimals,
    QueryTrades,
    SymbolsChanged,
)
from tradeactors.errors import InvalidParameter, UnknownSymbol
from tradeactors.metrics import Metrics
from tradeactors.parameters import MAX_WINDOW_HOURS, MAX_WINDOW_MS
from tradeactors.protocol import AggTrade
from tradeactors.records import BookSecond, TradeColumns


class TradePage(NamedTuple):
    symbol: str
    start_ms: int
    end_ms: int
    trades: list[AggTrade]
    next_cursor: tuple[int, int] | None


def validate_range(symbols, symbol: str, start_ms: int, end_ms: int) -> None:
    if symbol not in symbols:
        raise UnknownSymbol(symbol, symbols)
    if start_ms < 0:
        raise InvalidParameter("start", "must be >= 0 (ms since the epoch)", minimum=0)
    if start_ms > end_ms:
        raise InvalidParameter("end", "must not be before start", start=start_ms, end=end_ms)
    if end_ms - start_ms > MAX_WINDOW_MS:
        raise InvalidParameter("end", f"window longer than {MAX_WINDOW_HOURS} hours", max_window_ms=MAX_WINDOW_MS)


class QueryActor(Actor):
    thread_name = "Query"

    def __init__(self, db: storage.Database, symbols, directory: Directory, metrics: Metrics):
        super().__init__()
        self.db = db
        self.directory = directory
        self.symbols = tuple(symbols)
        self.metrics = metrics

    @handles(QueryTrades)
    def _trades(self, message: QueryTrades) -> TradePage:
        validate_range(self.symbols, message.symbol, message.start_ms, message.end_ms)
        with self.metrics.query_seconds.labels("trades").time():
            trades, cursor = storage.read_trades(self.db, message.symbol, message.start_ms, message.end_ms,
                                                 message.limit, message.after)
        return TradePage(message.symbol, message.start_ms, message.end_ms, trades, cursor)

    @handles(QueryTradeColumns)
    def _trade_columns(self, message: QueryTradeColumns) -> TradeColumns:
        validate_range(self.symbols, message.symbol, message.start_ms, message.end_ms)
        with self.metrics.query_seconds.labels("trade_columns").time():
            return storage.read_columns(self.db, message.symbol, message.start_ms, message.end_ms)

    @handles(QueryTradeDecimals)
    def _trade_decimals(self, message: QueryTradeDecimals) -> tuple[int, int] | None:
        validate_range(self.symbols, message.symbol, message.start_ms, message.end_ms)
        with self.metrics.query_seconds.labels("trade_decimals").time():
            return storage.trade_decimals(self.db, message.symbol, message.start_ms, message.end_ms)

    @handles(QueryTradeBatch)
    def _trade_batch(self, message: QueryTradeBatch) -> tuple[TradeColumns, int | None]:
        validate_range(self.symbols, message.symbol, message.start_ms, message.end_ms)
        with self.metrics.query_seconds.labels("trade_batch").time():
            return storage.read_trade_batch(self.db, message.symbol, message.start_ms, message.end_ms,
                                            message.min_rows)

    @handles(QueryBookSeconds)
    def _book_seconds(self, message: QueryBookSeconds) -> list[BookSecond]:
        validate_range(self.symbols, message.symbol, message.start_s * 1000, message.end_s * 1000)
        with self.metrics.query_seconds.labels("book_seconds").time():
            return storage.read_book_seconds(self.db, message.symbol, message.start_s, message.end_s)

    @handles(Analyze)
    def _analyze(self, message: Analyze) -> dict:
        if message.symbol not in self.symbols:
            raise UnknownSymbol(message.symbol, self.symbols)
        now_ms = message.now_ms if message.now_ms is not None else int(time.time() * 1000)
        with self.metrics.query_seconds.labels(message.tool).time():
            return tools.run(self.db, message.tool, message.symbol, message.params, now_ms)

    @handles(SymbolsChanged)
    def _symbols_changed(self, message: SymbolsChanged) -> None:
        self.symbols = tuple(message.known)

    @handles(GetStatus)
    def _status(self, _message: GetStatus) -> dict:
        return {}
