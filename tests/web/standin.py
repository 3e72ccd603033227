"""A stand-in for the service facade, so that the HTTP contract is tested in milliseconds, without actors, a
database or the exchange simulator (as the Flask tutorial tests its app against a test database).

``StandIn`` has what the views use of ``service.Service``: ``symbols``, ``recording``, ``config``, ``metrics``
and the methods ``health``, ``status``, ``health_and_status``, ``query_trades``,
``trade_decimals``, ``trade_batch``, ``book``, ``book_seconds``, ``analyze``. It answers canned data a test
may replace, records every call with its (parsed) arguments, and raises a test's ``failure`` (a domain error,
e.g. ``Unavailable``) from every method that asks an actor. Range checks that the QueryActor makes for every
caller (start after end, a window over 7 days) run here through the QueryActor's own ``validate_range``, so the
stand-in cannot drift from it.
"""

from __future__ import annotations

import numpy as np

from tradeactors import config as configuration
from tradeactors.actors.query import TradePage, validate_range
from tradeactors.metrics import Metrics
from tradeactors.protocol import AggTrade
from tradeactors.records import BookSecond, TradeColumns

SYMBOLS = ("BTCUSDT", "ETHUSDT")
TRADES = [AggTrade(101, "60000.01000000", "0.00100000", 200, 201, 1_700_000_000_000, True),
          AggTrade(102, "60000.02000000", "0.25000000", 202, 202, 1_700_000_000_500, False)]
BOOK = {"sync_state": "synced", "update_id": 77, "age_ms": 12,
        "bids": [("100.50", "1.000"), ("100.25", "2.000"), ("100.00", "3.000")],
        "asks": [("100.75", "0.500"), ("101.00", "4.000")]}
BOOK_SECOND = BookSecond("BTCUSDT", 1_700_000_000, 76, 1_700_000_000_900, np.array([[10050, 1000]]),
                         np.array([[10075, 500]]), 2, 3)


class StandIn:
    def __init__(self, symbols=SYMBOLS, **settings):
        self.symbols = tuple(symbols)
        self.recording = self.symbols
        """Symbols recording now; ``symbols`` (the known ones) also holds symbols with history only."""
        self.config = configuration.load(None, env={}, overrides={"symbols": ",".join(symbols), **settings})
        self.metrics = Metrics()
        self.calls: list[tuple] = []
        self.failure: Exception | None = None
        self.healthy, self.reasons = True, []
        self.page = TradePage("", 0, 0, list(TRADES), None)
        self.view = dict(BOOK)
        self.seconds = [BOOK_SECOND]
        self.analysis: dict | Exception = {"answer": "canned"}
        self.statuses: dict[str, dict] = {s: {"state": "connected"} for s in self.symbols}
        self.sections: dict[str, dict] = {"actors": {}}

    def _asked(self, *call) -> None:
        self.calls.append(call)
        if self.failure is not None:
            raise self.failure

    def health(self) -> tuple[bool, list[str]]:
        self.calls.append(("health",))
        self.metrics.health_ok.set(1 if self.healthy else 0)  # as Service.health refreshes its gauges
        return self.healthy, list(self.reasons)

    def status(self, symbols=None) -> dict:
        self._asked("status", symbols)
        return self._status(symbols)

    def _status(self, symbols=None) -> dict:
        return {"symbols": {s: self.statuses[s] for s in (self.symbols if symbols is None else symbols)},
                **self.sections}

    def health_and_status(self) -> tuple[bool, list[str], dict]:
        self._asked("health_and_status")
        healthy, reasons = self.health()
        return healthy, reasons, self._status()

    def query_trades(self, symbol, start_ms, end_ms, limit=None, after=None) -> TradePage:
        self._asked("query_trades", symbol, start_ms, end_ms, limit, after)
        validate_range(self.symbols, symbol, start_ms, end_ms)
        return self.page._replace(symbol=symbol, start_ms=start_ms, end_ms=end_ms)

    def trade_decimals(self, symbol, start_ms, end_ms):
        self._asked("trade_decimals", symbol, start_ms, end_ms)
        validate_range(self.symbols, symbol, start_ms, end_ms)
        return (8, 8) if self.page.trades else None

    def trade_batch(self, symbol, start_ms, end_ms, min_rows):
        """The canned page's trades in the window, all in one batch."""
        self._asked("trade_batch", symbol, start_ms, end_ms, min_rows)
        validate_range(self.symbols, symbol, start_ms, end_ms)
        return TradeColumns.from_trades([t for t in self.page.trades if start_ms <= t.T <= end_ms]), None

    def book(self, symbol, depth) -> dict:
        self._asked("book", symbol, depth)
        return {**self.view, "bids": self.view["bids"][:depth], "asks": self.view["asks"][:depth]}

    def book_seconds(self, symbol, start_s, end_s) -> list[BookSecond]:
        self._asked("book_seconds", symbol, start_s, end_s)
        validate_range(self.symbols, symbol, start_s * 1000, end_s * 1000)
        return list(self.seconds)

    def analyze(self, tool, symbol, params) -> dict:
        self._asked("analyze", tool, symbol, params)
        if isinstance(self.analysis, Exception):
            raise self.analysis
        return self.analysis
