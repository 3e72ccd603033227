"""The exchange itself: the markets, the subscribers, the REST state and every fault, on the loop thread.

:class:`Exchange` methods are plain synchronous functions that must run on the simulator's event loop thread;
:class:`~tradeactors.simulator.server.Simulator` forwards its public methods here, and the ``/_sim`` control API
calls them directly. Market drivers are coroutines started by :meth:`Exchange.start`: one per symbol for the
few-symbol markets and replays, a single :class:`~.market.MarketDriver` for a whole market (``specs``), where a
task per symbol would wake the loop thousands of times a second for nothing. It also holds Binance's WebSocket
limits and their counters (:mod:`.limits`), which the server consults.

Faults and what the client sees:

- ``drop_connections``: TCP aborted, no close frame.
- ``stall``: nothing is sent for N s (pings still answered); frames of that time are never sent, so afterwards
  the client sees ``a`` and ``U`` jump.
- ``refuse_connections``: WebSocket handshakes answered ``503`` for N s (REST still works).
- ``send_malformed``: one broken frame (``truncated`` / ``nonjson`` / ``missing_field``), then normal frames.
- ``skip_depth_updates``: the next N depthUpdates are not sent (the true book still changes).
- ``duplicate_next``: the next aggTrade and/or depthUpdate frame is sent twice.
- ``server_shutdown``: serverShutdown event, connection closed ``shutdown_grace`` s later.
- ``rest_fail``: REST answers 429/418 (with ``Retry-After``) or 5xx for N s.
- ``rest_fault``: the next N REST replies broken below HTTP's status: ``truncate`` / ``reset`` / ``nonjson``
  (see :mod:`.restfaults`).

Listings and halts (``list_symbol``, ``set_symbol_status``): a symbol listed while the simulator runs appears in
exchangeInfo as ``TRADING`` and trades at once; a symbol whose status is not ``TRADING`` (e.g. ``BREAK``) shows
that status in exchangeInfo and makes no trade and no book change (its connections stay open and go quiet), until
it is set back to ``TRADING``.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time

import orjson

from . import frames
from .hub import Hub
from .limits import Limits, Violations
from .market import MarketDriver
from .replay import ReplayMarket, ReplaySession
from .restfaults import RestFaults
from .symbols import SymbolSpec, spec_for
from .synthetic import SyntheticMarket
from .universe import Activity
from .weights import WeightLedger

log = logging.getLogger(__name__)

SYMBOL_STATUSES = ("PRE_TRADING", "TRADING", "POST_TRADING", "END_OF_DAY", "HALT", "AUCTION_MATCH", "BREAK")
"""exchangeInfo's ``status`` values, as Binance documents them."""
MAX_BATCH = 256
"""Taker orders per batch when rate="max" (~280 frames; one writelines call per connection)."""


def now_ms() -> int:
    return int(time.time() * 1000)


LISTED_ORDERS_PER_S = 0.5
"""Taker orders per second of a symbol listed at runtime into a whole market with no rate given: a quiet new
listing (the median symbol trades below one a second)."""

class Exchange:
    def __init__(self, symbols, rate=10.0, seed=1, replay=None, replay_speed=1.0, replay_start="first_client",
                 shutdown_grace=5.0, weight_budget=6000, replay_live=False, replay_loop=False,
                 specs: list[SymbolSpec] | None = None, activity: Activity | None = None,
                 limits: Limits | None = None, enforce_limits: bool = True) -> None:
        """``specs`` + ``activity``: a whole market (see :mod:`.universe`), driven by one :class:`MarketDriver`
        instead of a task per symbol; ``symbols`` and ``rate`` are then not used."""
        self.seed = seed
        self.rate = rate
        self.shutdown_grace = shutdown_grace
        self.hub = Hub()
        self.weights = WeightLedger(weight_budget)
        self.rest_failure: tuple[int, float] = (0, 0.0)
        self.rest_faults = RestFaults()
        self.refuse_until = 0.0
        self._paused: set[str | None] = set()
        self._status: dict[str, str] = {}
        """Symbols whose exchangeInfo status is not TRADING."""
        self._skip_depth: dict[str, int] = {}
        self._skip_trades: dict[str, int] = {}
        self._stale_depth: dict[str, tuple[int, int]] = {}
        self.depth_sent: dict[str, int] = {}
        self._rates: dict[str, float] = {}
        self.limits = limits or Limits()
        self.enforce_limits = enforce_limits
        """False: limits are counted but nothing is refused or dropped (the 2-symbol default, whose tests ping
        faster than Binance does); True: Binance's answers."""
        self.violations = Violations()
        self.driver: MarketDriver | None = None
        self.replay: ReplaySession | None = None
        self.markets: dict[str, SyntheticMarket | ReplayMarket]
        if replay:
            self.replay = ReplaySession(replay, replay_speed, symbols, live=replay_live, loop=replay_loop)
            self.markets = dict(self.replay.markets)
        elif specs is not None:
            self.markets = {spec.symbol: SyntheticMarket(spec, seed, i) for i, spec in enumerate(specs)}
            self.driver = MarketDriver(self, list(self.markets), activity or Activity([0.0] * len(specs),
                                                                                     [0.0] * len(specs)), seed)
        else:
            self.markets = {s: SyntheticMarket(spec_for(s), seed, i) for i, s in enumerate(symbols)}
        self.replay_start = replay_start
        self.started: asyncio.Event | None = None
        """Set once trading starts (a replay waits for its first client); made on the loop."""
        self._tasks: list[asyncio.Task] = []

    # --- lifecycle (loop thread) ----------------------------------------------------------------------------

    def start(self) -> None:
        self.started = asyncio.Event()
        if self.replay is None or self.replay_start == "immediate":
            self.started.set()
        if self.driver is not None:
            self._tasks.append(asyncio.create_task(self.driver.run(), name="market-driver"))
            return
        for symbol, market in self.markets.items():
            rate = self.rate_of(symbol)
            if self.replay is not None:
                coro = self.replay.run(symbol, self)
            else:
                assert isinstance(market, SyntheticMarket)
                coro = self._run_max(market) if rate == "max" else self._run_paced(market, float(rate))
            self._tasks.append(asyncio.create_task(coro, name=f"market-{symbol}"))

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()

    def client_connected(self) -> None:
        """A WebSocket client subscribed: a replay waiting for its first client starts now."""
        if self.started is not None:
            self.started.set()

    def rate_of(self, symbol: str) -> float | str:
        """Taker orders per second of ``symbol``, or "max"."""
        if self.driver is not None and symbol in self._driven():
            return self.driver.rate(symbol)
        rate: float | str = self.rate.get(symbol, 10.0) if isinstance(self.rate, dict) else self.rate
        rate = self._rates.get(symbol, rate)
        return "max" if rate == "max" else float(rate)

    def _driven(self) -> list[str]:
        assert self.driver is not None
        return self.driver.symbols

    def set_activity(self, factor: float) -> None:
        """Scale every rate of a whole market (trades and book changes): 0 = idle, 10 = a burst."""
        if self.driver is None:
            raise ValueError("set_activity needs a whole market (market=N)")
        self.driver.set_factor(float(factor))

    def limit_violations(self) -> dict[str, int]:
        """How many times each Binance limit was crossed: ``{kind: count}`` (see :mod:`.limits`)."""
        return self.violations.snapshot()

    def paused(self, symbol: str) -> bool:
        return None in self._paused or symbol in self._paused or symbol in self._status

    def symbol_status(self, symbol: str) -> str:
        """The symbol's exchangeInfo status."""
        return self._status.get(symbol, "TRADING")

    def publish_depth(self, symbol: str, payload: str | None, frame: str | None = None) -> None:
        """Send a depthUpdate unless a skip fault swallows it (the book changed all the same)."""
        if payload is None:
            return
        if self._skip_depth.get(symbol):
            self._skip_depth[symbol] -= 1
            return
        self.depth_sent[symbol] = self.depth_sent.get(symbol, 0) + 1
        if frame is None:
            self.hub.publish(symbol, "depth", [payload])
        else:
            self.hub.publish_raw(symbol, "depth", payload, frame)

    # --- synthetic market drivers ---------------------------------------------------------------------------

    async def _run_paced(self, market: SyntheticMarket, rate: float) -> None:
        """Poisson taker orders at ``rate``/s (steerable), background maker churn, a depthUpdate per 100 ms."""
        loop = asyncio.get_running_loop()
        timing = random.Random(f"timing:{self.seed}:{market.symbol}")
        churn_rate = 20.0
        now = loop.time()
        next_trade = now + timing.expovariate(rate) if rate > 0 else float("inf")
        next_churn, next_depth = now + timing.expovariate(churn_rate), now + 0.1
        symbol = market.symbol
        while True:
            delay = min(next_trade, next_churn, next_depth) - loop.time()
            await asyncio.sleep(max(0.002, delay) if delay > 0 else 0)
            now = loop.time()
            if self.paused(symbol):
                await asyncio.sleep(0.05)
                now = loop.time()
                next_trade, next_churn, next_depth = now, now, now + 0.1
                continue
            ms = now_ms()
            out: list[str] = []
            if rate != self.rate_of(symbol):
                rate = float(self.rate_of(symbol))  # a regime sets a number: "max" is chosen at start only
                next_trade = now + timing.expovariate(rate) if rate > 0 else float("inf")
            while next_trade <= now:
                market.taker_order(ms, out)
                next_trade += timing.expovariate(rate)
            while next_churn <= now:
                market.churn_once()
                next_churn += timing.expovariate(churn_rate)
            market.commit()
            self.hub.publish(symbol, "aggTrade", self._without_skipped(symbol, out))
            if now >= next_depth:
                next_depth = max(next_depth + 0.1, now + 0.05)
                self.publish_depth(symbol, market.depth_diff(ms))

    async def _run_max(self, market: SyntheticMarket) -> None:
        """As fast as the slowest aggTrade listener takes it; a bounded pace when nobody listens."""
        loop = asyncio.get_running_loop()
        symbol, next_depth = market.symbol, loop.time() + 0.1
        while True:
            if self.paused(symbol):
                await asyncio.sleep(0.05)
                continue
            ms = now_ms()
            out: list[str] = []
            for _ in range(MAX_BATCH):
                market.taker_order(ms, out)
            market.commit()
            sent = self.hub.publish(symbol, "aggTrade", self._without_skipped(symbol, out))
            if loop.time() >= next_depth:
                next_depth = loop.time() + 0.1
                self.publish_depth(symbol, market.depth_diff(ms))
            if sent:
                await self.hub.drain(symbol, "aggTrade")
                await asyncio.sleep(0)
            else:
                # Nobody to send to: keep trading (REST must have the trades) at ~5k orders/s, not 100% CPU.
                await asyncio.sleep(0.05)

    # --- faults and controls --------------------------------------------------------------------------------

    def _symbols(self, symbol: str | None) -> list[str]:
        if symbol is None:
            return list(self.markets)
        if symbol not in self.markets:
            raise ValueError(f"unknown symbol {symbol!r}; served: {', '.join(self.markets)}")
        return [symbol]

    def drop_connections(self, symbol=None) -> int:
        self._symbols(symbol)
        return self.hub.drop(symbol)

    def stall(self, seconds: float, symbol=None) -> None:
        self._symbols(symbol)
        self.hub.stall(float(seconds), symbol)

    def refuse_connections(self, seconds: float) -> None:
        self.refuse_until = time.monotonic() + float(seconds)

    def refusing(self) -> bool:
        return time.monotonic() < self.refuse_until

    def send_malformed(self, symbol=None, kind="truncated") -> int:
        if kind not in frames.MALFORMED_KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(frames.MALFORMED_KINDS)}")
        wanted = set(self._symbols(symbol))
        count = 0
        for sub in self.hub.matching(symbol):
            keys = sorted((k for k in sub.streams if k[0] in wanted), key=lambda k: k[1] != "aggTrade")
            key = keys[0]
            payload = self.hub.last_payload.get(key) or frames.agg_trade(
                now_ms(), key[0], 1, "1.00000000", "1.00000000", 1, 1, now_ms(), False)
            if sub.combined and kind != "nonjson":
                full = frames.envelope(sub.streams[key], payload)
                text = frames.malformed(kind, full) if kind == "truncated" else \
                    frames.envelope(sub.streams[key], frames.malformed(kind, payload))
            else:
                text = frames.malformed(kind, payload)
            count += self.hub.send_text(sub, text)
        return count

    def _without_skipped(self, symbol: str, out: list) -> list:
        """Leave out the aggTrades of an exchange gap (their ids are hidden from REST too)."""
        skip = self._skip_trades.get(symbol)
        if not skip or not out:
            return out
        n = min(skip, len(out))
        self._skip_trades[symbol] = skip - n
        return out[n:]

    def skip_trade_ids(self, symbol: str, count: int = 1) -> int:
        """An exchange-side gap: the next ``count`` aggregate ids are never sent and REST does not know them.

        Returns the first skipped id. Synthetic markets only."""
        (symbol,) = self._symbols(symbol)
        market = self.markets[symbol]
        if not hasattr(market, "next_agg"):
            raise ValueError("skip_trade_ids works on synthetic markets only")
        first = market.next_agg
        market.trades.hide(first, first + int(count) - 1)
        self._skip_trades[symbol] = self._skip_trades.get(symbol, 0) + int(count)
        return first

    def stale_depth(self, symbol: str, updates_behind: int = 50, count: int = 1) -> None:
        """The next ``count`` REST depth snapshots of ``symbol`` show the book ``updates_behind`` update ids ago
        (a snapshot older than the stream the client already buffers)."""
        (symbol,) = self._symbols(symbol)
        self._stale_depth[symbol] = (int(updates_behind), int(count))

    def depth_body(self, symbol: str, limit: int) -> bytes:
        market = self.markets[symbol]
        behind, count = self._stale_depth.get(symbol, (0, 0))
        if count <= 0 or not hasattr(market, "book"):
            return market.depth_body(limit)
        self._stale_depth[symbol] = (behind, count - 1)
        uid = max(market.book.first_update_id, market.book.current_update_id - behind)
        bids, asks = market.book.book_at(uid, limit)
        return orjson.dumps({"lastUpdateId": uid, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]})

    def skip_depth_updates(self, symbol=None, count=1) -> None:
        for s in self._symbols(symbol):
            self._skip_depth[s] = self._skip_depth.get(s, 0) + int(count)

    def duplicate_next(self, symbol=None, stream="aggTrade") -> None:
        kinds = {"aggTrade": ["aggTrade"], "depth": ["depth"], "both": ["aggTrade", "depth"]}.get(stream)
        if kinds is None:
            raise ValueError(f"unknown stream {stream!r}; expected aggTrade, depth or both")
        for s in self._symbols(symbol):
            for kind in kinds:
                self.hub.duplicate_next(s, kind)

    def server_shutdown(self, symbol=None) -> int:
        self._symbols(symbol)
        return self.hub.server_shutdown(symbol, self.shutdown_grace)

    def rest_fail(self, status: int, seconds: float) -> None:
        status = int(status)
        if status not in (418, 429, 500, 502, 503, 504):
            raise ValueError(f"status {status} not one of 418, 429, 500, 502, 503, 504")
        self.rest_failure = (status, time.time() + float(seconds))

    def rest_fault(self, kind: str, count: int = 1, path: str | None = None) -> None:
        self.rest_faults.add(kind, count, path)

    def set_weight_budget(self, n: int) -> None:
        self.weights.set_budget(int(n))

    def pause(self, symbol=None) -> None:
        self._symbols(symbol)
        self._paused.add(symbol)

    def resume(self, symbol=None) -> None:
        self._symbols(symbol)
        if symbol is None:
            self._paused.clear()
        self._paused.discard(symbol)

    def set_regime(self, symbol=None, rate=None, spread=None, depth=None, churn=None, jump=None, sweep=None,
                   pull=None, iceberg=None, one_sided=None) -> None:
        """Steer a synthetic market: trade ``rate`` (paced markets only), spread/depth/churn multipliers, a
        price ``jump`` in ticks, a ``sweep`` of that many levels by the next taker, a ``pull`` of resting size."""
        for s in self._symbols(symbol):
            market = self.markets[s]
            if not hasattr(market, "set_regime"):
                raise ValueError("a replayed market cannot be steered")
            if rate is not None:
                if rate == "max" or self.rate_of(s) == "max":
                    raise ValueError("switching to or from rate='max' needs a restart")
                self._rates[s] = float(rate)
                if self.driver is not None and s in self._driven():
                    self.driver.set_rate(s, float(rate))
            if self.driver is not None and s in self._driven():
                self.driver.poke(s)
            market.set_regime(spread=spread, depth=depth, churn=churn, jump=jump, sweep=sweep, pull=pull,
                              iceberg=iceberg, one_sided=one_sided)

    # --- listings and halts ---------------------------------------------------------------------------------------

    def list_symbol(self, symbol: str, rate: float | None = None) -> str:
        """List a new synthetic symbol while running: TRADING in exchangeInfo, trading at once at ``rate`` taker
        orders/s (default: the simulator's rate). Returns the symbol as served (upper-case)."""
        if self.replay is not None:
            raise ValueError("a replayed market cannot list symbols")
        spec = spec_for(symbol)
        if spec.symbol in self.markets:
            raise ValueError(f"{spec.symbol} is already listed")
        if rate is not None:
            if float(rate) < 0:
                raise ValueError(f"rate {rate} is negative")
            self._rates[spec.symbol] = float(rate)
        market = SyntheticMarket(spec, self.seed, len(self.markets))
        self.markets[spec.symbol] = market
        if self.driver is not None:  # a whole market: the new symbol joins the one timer, not a task of its own
            orders = float(rate) if rate is not None else LISTED_ORDERS_PER_S
            self.driver.add(spec.symbol, orders, makers=max(1.0, 4 * orders))
        elif self.started is not None:  # running: trade now (otherwise start() starts it with the others)
            coro = self._run_max(market) if self.rate_of(spec.symbol) == "max" else \
                self._run_paced(market, float(self.rate_of(spec.symbol)))
            self._tasks.append(asyncio.create_task(coro, name=f"market-{spec.symbol}"))
        log.info("listed %s", spec.symbol)
        return spec.symbol

    def set_symbol_status(self, symbol: str, status: str) -> None:
        """Set the symbol's exchangeInfo status; anything but TRADING (e.g. BREAK) stops its trading."""
        (symbol,) = self._symbols(symbol)
        if status not in SYMBOL_STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(SYMBOL_STATUSES)}")
        if status == "TRADING":
            self._status.pop(symbol, None)
        else:
            self._status[symbol] = status
        log.info("%s status %s", symbol, status)

    def connection_count(self, symbol=None) -> int:
        return len(self.hub.matching(symbol))

    def state(self) -> dict:
        """What ``GET /_sim/state`` answers."""
        symbols = {}
        connections = self.hub.connections_by_symbol()
        for s, m in self.markets.items():
            symbols[s] = {
                "connections": connections.get(s, 0), "trades": len(m.trades), "last_trade_id": m.trades.last_id,
                "update_id": m.book.current_update_id, "depth_updates_sent": self.depth_sent.get(s, 0),
                "paused": self.paused(s), "stalled": self.hub.stalled(s), "status": self.symbol_status(s),
            }
        return {"connections": len(self.hub.subs), "frames_sent": self.hub.frames_sent, "symbols": symbols,
                "replay": self.replay.progress() if self.replay else None,
                "weight_used": self.weights.used, "weight_used_max": self.weights.max_used,
                "weight_budget": self.weights.budget, "rest_faults": self.rest_faults.pending(),
                "limit_violations": self.limit_violations(), "limits_enforced": self.enforce_limits,
                "market": self.driver.totals() if self.driver is not None else None}
