"""Replay of recorded Binance traffic: depth and bookTicker frames byte for byte, raw trades as aggTrades.

Capture formats (detected per line):

- hftbacktest 2024 (``spot_btcusdt_20240808.gz``, gzip): ``<receive ns> <frame>`` where the frame is a combined
  envelope ``{"stream":"btcusdt@depth@100ms","data":{...}}`` or, once, a bare REST depth body
  ``{"lastUpdateId":...,"bids":[...],"asks":[...]}``.
- cryptofeed 2021 (``BINANCE.ws.1.0``): ``<unix s>: <frame>``; its ``BINANCE.http.0.0``:
  ``<url> -> <unix s>: <REST depth body>`` (the symbol comes from the URL).

Rules: depthUpdate and bookTicker frames are sent exactly as recorded (the recorded envelope on a combined
connection that names the stream the same way, the recorded ``data`` text on a raw one). ``@trade`` frames become
aggTrades: a run of consecutive trades with the same ``T``, ``p`` and ``m`` is one aggregate, ``a`` numbered from
the first raw trade id of the capture, ``f``/``l`` its first/last raw ids, ``q`` the exact decimal sum, sent when
the run's last trade was received. Recorded ``@aggTrade`` frames are sent as recorded. Timing follows the
receive times divided by ``speed`` (``"max"``: as fast as the clients take it), from the moment the first
client connects (or at once with ``replay_start="immediate"``). At the end the streams stay open and idle.

The REST depth snapshot is the recorded body until the replay passes its line, then the true book (snapshot +
every applied diff); the true book starts from the snapshot, so ``book_at`` knows ids from its lastUpdateId on.
"""
from __future__ import annotations

import asyncio
import gzip
import re
from decimal import Decimal

import orjson

from .ledger import ASK, BID, BookLedger, TradeLedger
from .symbols import fmt, spec_for, units

DEPTH, BOOK_TICKER, AGG, SNAPSHOT = range(4)
_CRYPTOFEED_WS = re.compile(r"^(\d+(?:\.\d+)?): (.*)$")
_CRYPTOFEED_HTTP = re.compile(r"^(\S+) -> (\d+(?:\.\d+)?): (.*)$")


def _lines(path: str):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as fh:
        for line in fh:
            yield line.rstrip("\n")


def read_capture(path: str):
    """Yield ``(receive_ns, symbol_or_None, stream_or_None, text)`` for every frame or REST body in a file."""
    for line in _lines(path):
        if not line:
            continue
        m = _CRYPTOFEED_HTTP.match(line)
        if m and m.group(1).startswith("http"):
            found = re.search(r"symbol=([A-Z0-9]+)", m.group(1))
            yield int(Decimal(m.group(2)) * 10**9), found.group(1) if found else None, None, m.group(3)
            continue
        m = _CRYPTOFEED_WS.match(line)
        if m:
            ns, text = int(Decimal(m.group(1)) * 10**9), m.group(2)
        else:
            head, _, text = line.partition(" ")
            if not head.isdigit():
                continue  # cryptofeed's "wss://... <-> ts" header line
            ns = int(head)
        if text.startswith('{"stream":"'):
            stream = text[11:text.index('"', 11)]
            yield ns, stream.split("@", 1)[0].upper(), stream, text
        elif text.startswith('{"lastUpdateId"'):
            yield ns, None, None, text


class ReplayMarket:
    """One symbol's recorded market: its events, true book and published trades."""

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.spec = spec_for(symbol)
        self.events: list[tuple] = []
        self.snapshot_body: bytes | None = None
        self.snapshot_index: int | None = None
        self.position = 0
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._book: BookLedger | None = None
        self._trades: TradeLedger | None = None
        self._raw_trades: list[tuple] = []

    @property
    def book(self) -> BookLedger:
        """The true book at every update id (made by ``finish``)."""
        assert self._book is not None, "finish() sets up the ledgers"
        return self._book

    @property
    def trades(self) -> TradeLedger:
        """Every aggregate trade (made by ``finish``)."""
        assert self._trades is not None, "finish() sets up the ledgers"
        return self._trades

    # --- loading --------------------------------------------------------------------------------------------

    def add(self, ns: int, stream: str | None, text: str) -> None:
        if stream is None:
            self.snapshot_body = text.encode()
            self.snapshot_index = len(self.events)
            self.events.append((ns, SNAPSHOT, None, None))
            return
        kind = stream.split("@", 1)[1]
        payload = text[len(stream) + 20:-1]   # '{"stream":"' + stream + '","data":' ... '}'
        if kind.startswith("depth"):
            self.events.append((ns, DEPTH, payload, text))
        elif kind == "bookTicker":
            self.events.append((ns, BOOK_TICKER, payload, text))
        elif kind == "trade":
            self._raw_trades.append((ns, len(self.events), orjson.loads(payload)))
            self.events.append(())  # placeholder, filled by finish()
        elif kind == "aggTrade":
            d = orjson.loads(payload)
            self.events.append((ns, AGG, payload, (units(d["p"]), units(d["q"]), d["f"], d["l"], d["T"], d["m"],
                                                   d["a"])))

    def finish(self) -> None:
        """Aggregate the raw trades, set up the ledgers from the snapshot."""
        runs: list[list] = []
        for ns, idx, t in self._raw_trades:
            last = runs[-1][-1][2] if runs else None
            if last is not None and (last["T"], last["p"], last["m"]) == (t["T"], t["p"], t["m"]) \
                    and t["t"] == last["t"] + 1:
                runs[-1].append((ns, idx, t))
            else:
                runs.append([(ns, idx, t)])
        base = self._raw_trades[0][2]["t"] if self._raw_trades else 0
        for i, run in enumerate(runs):
            ns, idx, last = run[-1]
            first = run[0][2]
            decimals = len(first["q"].partition(".")[2])
            total = sum(Decimal(t["q"]) for _, _, t in run)
            q = f"{total:.{decimals}f}"
            a = base + i
            payload = (f'{{"e":"aggTrade","E":{last["E"]},"s":"{self.symbol}","a":{a},"p":"{first["p"]}",'
                       f'"q":"{q}","f":{first["t"]},"l":{last["t"]},"T":{last["T"]},'
                       f'"m":{"true" if last["m"] else "false"},"M":true}}')
            self.events[idx] = (ns, AGG, payload, (units(first["p"]), units(q), first["t"], last["t"], last["T"],
                                                   last["m"], a))
        self.events = [e for e in self.events if e]  # placeholders of trades folded into a run are left empty
        self.events.sort(key=lambda e: e[0])  # stable: same-ns events keep file order
        self.snapshot_index = next((i for i, e in enumerate(self.events) if e[1] == SNAPSHOT), None)
        first_agg = next((e[3][6] for e in self.events if e[1] == AGG), 0)
        self._trades = TradeLedger(first_agg)
        if self.snapshot_body is not None:
            snap = orjson.loads(self.snapshot_body)
            self.bids = {units(p): units(q) for p, q in snap["bids"]}
            self.asks = {units(p): units(q) for p, q in snap["asks"]}
            self._book = BookLedger(snap["lastUpdateId"], self.bids, self.asks)
        else:
            first_u = next((orjson.loads(e[2])["U"] - 1 for e in self.events if e[1] == DEPTH), 0)
            self._book = BookLedger(first_u, {}, {})
        self._raw_trades = []

    # --- replaying ------------------------------------------------------------------------------------------

    def apply_depth(self, payload: str) -> None:
        """Fold a recorded diff into the true book (diffs the snapshot already covers are skipped)."""
        d = orjson.loads(payload)
        if d["u"] <= self.book.current_update_id:
            return
        uid, side, price, qty = [], [], [], []
        for s, key, book in ((BID, "b", self.bids), (ASK, "a", self.asks)):
            for p, q in d[key]:
                pu, qu = units(p), units(q)
                if qu:
                    book[pu] = qu
                else:
                    book.pop(pu, None)
                uid.append(d["u"])
                side.append(s)
                price.append(pu)
                qty.append(qu)
        self.book.extend(uid, side, price, qty, live_bids=self.bids, live_asks=self.asks)
        self.book.set_current(d["u"])

    def record_trade(self, info: tuple) -> None:
        price, qty, first, last, t, m, _ = info
        self.trades.extend([price], [qty], [first], [last], [t], [m])

    def depth_body(self, limit: int) -> bytes:
        """The recorded REST body until the replay passes it, then the true book."""
        if self.snapshot_body is not None and self.snapshot_index is not None \
                and self.position <= self.snapshot_index:
            snap = orjson.loads(self.snapshot_body)
            if limit >= max(len(snap["bids"]), len(snap["asks"])):
                return self.snapshot_body
            return orjson.dumps({"lastUpdateId": snap["lastUpdateId"], "bids": snap["bids"][:limit],
                                 "asks": snap["asks"][:limit]})
        bids = [[fmt(p), fmt(self.bids[p])] for p in sorted(self.bids, reverse=True)[:limit]]
        asks = [[fmt(p), fmt(self.asks[p])] for p in sorted(self.asks)[:limit]]
        return orjson.dumps({"lastUpdateId": self.book.current_update_id, "bids": bids, "asks": asks})


class ReplaySession:
    """All markets of a set of capture files, replayed on one shared clock."""

    def __init__(self, paths, speed=1.0, symbols=None) -> None:
        self.speed = speed
        markets: dict[str, ReplayMarket] = {}
        for path in paths:  # files of one symbol are given in order (…0808 before …0809)
            pending = []
            file_symbol = None
            for ns, symbol, stream, text in read_capture(path):
                if symbol is None:
                    pending.append((ns, text))  # a bare REST body: its symbol is the file's
                    continue
                file_symbol = file_symbol or symbol
                markets.setdefault(symbol, ReplayMarket(symbol)).add(ns, stream, text)
            for ns, text in pending:
                if file_symbol is None:
                    raise ValueError(f"{path}: a REST body but no frame to tell its symbol")
                markets.setdefault(file_symbol, ReplayMarket(file_symbol)).add(ns, None, text)
        if not markets:
            raise ValueError(f"no recorded frames in {', '.join(map(str, paths))}")
        for market in markets.values():
            market.finish()
        self.markets = markets
        self.first_ns = min(m.events[0][0] for m in markets.values() if m.events)
        self._origin: float | None = None

    def progress(self) -> dict:
        return {s: {"position": m.position, "events": len(m.events), "done": m.position >= len(m.events)}
                for s, m in self.markets.items()}

    async def run(self, symbol: str, exchange) -> None:
        """Send one symbol's events in time; returns (streams stay open) at the end of the data."""
        market = self.markets[symbol]
        hub = exchange.hub
        loop = asyncio.get_running_loop()
        await exchange.started.wait()
        if self._origin is None:
            self._origin = loop.time()
        fast = self.speed == "max"
        for i, (ns, kind, payload, extra) in enumerate(market.events):
            if fast:
                if i % 64 == 0:
                    await asyncio.sleep(0)
            else:
                delay = self._origin + (ns - self.first_ns) / 1e9 / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            while exchange.paused(symbol):
                await asyncio.sleep(0.05)
            market.position = i + 1
            if kind == DEPTH:
                market.apply_depth(payload)
                exchange.publish_depth(symbol, payload, extra)
            elif kind == AGG:
                market.record_trade(extra)
                hub.publish(symbol, "aggTrade", [payload])
            elif kind == BOOK_TICKER:
                hub.publish_raw(symbol, "bookTicker", payload, extra)
            if fast:
                await hub.drain(symbol, "aggTrade")
                await hub.drain(symbol, "depth")
