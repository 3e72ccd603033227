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

Live replays (``live=True``, the command line's default): every time in a frame (depth and trade ``E``, trade
``T``) is moved so that the replayed market happens now: ``t' = origin + (t − base + k·period) / speed`` where
``origin`` is the wall-clock ms when the replay starts, ``base`` the capture's first event time, ``k`` the loop and
``period`` the capture's span plus ``LOOP_PAUSE_NS`` (``speed`` "max" counts as 1). The REST trades carry the same
times. The original times are metadata only: ``progress()`` (``/_sim/state``'s ``replay``) gives each symbol's
``time_offset_ms`` and the original time of the last event sent.

Loops (``loop=True``): at the end the capture starts again. Pass ``k`` adds ``k`` spans to every id, so aggregate
ids, first/last trade ids and update ids keep increasing: aggregate ids stay contiguous across the seam (no trade
is missing), update ids jump by ``LOOP_UPDATE_GAP`` more than the span, so a client sees a gap in the depth chain
and re-syncs from a fresh snapshot, as it would after a real exchange gap; the true book restarts from the recorded
snapshot (its ``lastUpdateId`` moved likewise). Frames of pass 0 of a replay that is not live go out byte for byte.
"""
from __future__ import annotations

import asyncio
import gzip
import re
import time
from decimal import Decimal

import orjson

from .ledger import ASK, BID, BookLedger, TradeLedger
from .symbols import fmt, spec_for, units

DEPTH, BOOK_TICKER, AGG, SNAPSHOT = range(4)
LOOP_PAUSE_NS = 1_000_000_000
"""Capture time between the last event of a pass and the first of the next one."""
LOOP_UPDATE_GAP = 1000
"""Update ids skipped at a loop's seam: the depth chain breaks there, so clients re-sync."""
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
        self.loop = 0
        self.agg_span = self.raw_span = self.update_span = 0
        """Added to aggregate ids, raw trade ids and update ids per loop (set by ``finish``)."""
        self.first_event_ms: int | None = None
        """The capture's first event time (E of a diff, T of a trade)."""
        self.last_original_ms: int | None = None
        """The original (recorded) time of the last event sent."""
        self._snapshot_levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._first_book_id = 0

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
                                                   d["a"], d["p"], d["q"], d["E"])))

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
            payload = agg_payload(self.symbol, last["E"], a, first["p"], q, first["t"], last["t"], last["T"],
                                  last["m"])
            self.events[idx] = (ns, AGG, payload, (units(first["p"]), units(q), first["t"], last["t"], last["T"],
                                                   last["m"], a, first["p"], q, last["E"]))
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
        self._snapshot_levels = (dict(self.bids), dict(self.asks))
        self._first_book_id = self._book.first_update_id
        self._raw_trades = []
        self._measure_spans()

    def _measure_spans(self) -> None:
        """What one pass of the capture spans: ids per loop and the first event time."""
        aggs = [e[3] for e in self.events if e[1] == AGG]
        if aggs:
            self.agg_span = aggs[-1][6] - aggs[0][6] + 1
            self.raw_span = max(t[3] for t in aggs) - min(t[2] for t in aggs) + 1
        depth = [orjson.loads(e[2]) for e in self.events if e[1] == DEPTH]
        ids = [self.book.first_update_id] + [d["U"] for d in depth] + [d["u"] for d in depth]
        self.update_span = max(ids) - min(ids) + 1 + LOOP_UPDATE_GAP
        times = [d["E"] for d in depth[:1]] + [t[4] for t in aggs[:1]]
        self.first_event_ms = min(times) if times else None

    def start_loop(self, loop: int) -> None:
        """Pass ``loop`` begins: the true book goes back to the recorded snapshot, its ids ``loop`` spans on."""
        self.loop, self.position = loop, 0
        bids, asks = self._snapshot_levels
        uid = self._first_book_id + loop * self.update_span
        changes: tuple[list, list, list, list] = ([], [], [], [])
        for side, live, wanted in ((BID, self.bids, bids), (ASK, self.asks, asks)):
            for price in set(live) | set(wanted):
                if live.get(price) != wanted.get(price):
                    changes[0].append(uid)
                    changes[1].append(side)
                    changes[2].append(price)
                    changes[3].append(wanted.get(price, 0))
        self.bids, self.asks = dict(bids), dict(asks)
        self.book.extend(*changes, live_bids=self.bids, live_asks=self.asks)
        self.book.set_current(uid)

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
        price, qty, first, last, t, m = info[:6]
        self.trades.extend([price], [qty], [first], [last], [t], [m])

    def shifted_depth(self, payload: str, retime) -> str:
        """A diff of this pass: ids moved by the loop, ``E`` by ``retime``."""
        d = orjson.loads(payload)
        self.last_original_ms = d["E"]
        d["E"] = retime(d["E"])
        d["U"] += self.loop * self.update_span
        d["u"] += self.loop * self.update_span
        return orjson.dumps(d).decode()

    def shifted_ticker(self, payload: str) -> str:
        d = orjson.loads(payload)
        d["u"] += self.loop * self.update_span
        return orjson.dumps(d).decode()

    def shifted_trade(self, info: tuple, retime) -> tuple[str, tuple]:
        """An aggregate of this pass: ids moved by the loop, ``E`` and ``T`` by ``retime``."""
        price, qty, first, last, t, m, a, p_text, q_text, e = info
        a += self.loop * self.agg_span
        first += self.loop * self.raw_span
        last += self.loop * self.raw_span
        t, e = retime(t), retime(e)
        payload = agg_payload(self.symbol, e, a, p_text, q_text, first, last, t, m)
        return payload, (price, qty, first, last, t, m, a, p_text, q_text, e)

    def depth_body(self, limit: int) -> bytes:
        """The recorded REST body until the replay passes it, then the true book."""
        if self.snapshot_body is not None and self.snapshot_index is not None \
                and self.position <= self.snapshot_index:
            snap = orjson.loads(self.snapshot_body)
            if limit >= max(len(snap["bids"]), len(snap["asks"])) and self.loop == 0:
                return self.snapshot_body
            return orjson.dumps({"lastUpdateId": snap["lastUpdateId"] + self.loop * self.update_span,
                                 "bids": snap["bids"][:limit], "asks": snap["asks"][:limit]})
        bids = [[fmt(p), fmt(self.bids[p])] for p in sorted(self.bids, reverse=True)[:limit]]
        asks = [[fmt(p), fmt(self.asks[p])] for p in sorted(self.asks)[:limit]]
        return orjson.dumps({"lastUpdateId": self.book.current_update_id, "bids": bids, "asks": asks})


def agg_payload(symbol: str, e: int, a: int, p: str, q: str, f: int, last: int, t: int, m: bool) -> str:
    return (f'{{"e":"aggTrade","E":{e},"s":"{symbol}","a":{a},"p":"{p}","q":"{q}","f":{f},"l":{last},"T":{t},'
            f'"m":{"true" if m else "false"},"M":true}}')


class ReplaySession:
    """All markets of a set of capture files, replayed on one shared clock (see the module docstring for
    ``live`` and ``loop``)."""

    def __init__(self, paths, speed=1.0, symbols=None, live=False, loop=False) -> None:
        self.speed = speed
        self.live = bool(live)
        self.loop = bool(loop)
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
        last_ns = max(m.events[-1][0] for m in markets.values() if m.events)
        self.period_ns = last_ns - self.first_ns + LOOP_PAUSE_NS
        """Capture time from the start of one pass to the start of the next."""
        firsts = [m.first_event_ms for m in markets.values() if m.first_event_ms is not None]
        self.base_ms = min(firsts) if firsts else 0
        """The capture's first event time: it becomes ``origin_ms`` in a live replay."""
        self._origin: float | None = None
        self.origin_ms: int | None = None
        """Wall-clock ms when the replay started (live replays)."""

    def retime(self, t: int, loop: int) -> int:
        """The time ``t`` (ms) of the capture as sent in pass ``loop``: now-based in a live replay; otherwise the
        recorded time, moved on by ``loop`` periods (times keep increasing across a loop's seam)."""
        if not self.live or self.origin_ms is None:
            return t + round(loop * self.period_ns / 1e6)
        scale = 1.0 if self.speed == "max" else float(self.speed)
        return self.origin_ms + round((t - self.base_ms + loop * self.period_ns / 1e6) / scale)

    def progress(self) -> dict:
        out = {}
        for s, m in self.markets.items():
            info = {"position": m.position, "events": len(m.events), "loop": m.loop,
                    "done": not self.loop and m.position >= len(m.events), "live": self.live,
                    "original_time_ms": m.last_original_ms,
                    "id_steps": {"aggregate": m.agg_span, "trade": m.raw_span, "update": m.update_span}}
            if self.live and self.origin_ms is not None and m.last_original_ms is not None:
                info["time_offset_ms"] = self.retime(m.last_original_ms, m.loop) - m.last_original_ms
            out[s] = info
        return out

    async def run(self, symbol: str, exchange) -> None:
        """Send one symbol's events in time; returns (streams stay open) at the end of the data, unless it loops."""
        market = self.markets[symbol]
        loop = asyncio.get_running_loop()
        await exchange.started.wait()
        if self._origin is None:
            self._origin = loop.time()
            self.origin_ms = int(time.time() * 1000)
        k = 0
        while True:
            await self._run_pass(market, exchange, k)
            if not self.loop:
                return
            k += 1
            market.start_loop(k)

    async def _run_pass(self, market: ReplayMarket, exchange, k: int) -> None:
        """Pass ``k`` of one symbol's events; the recorded frames verbatim in pass 0 of a replay that is not live."""
        symbol, hub, loop = market.symbol, exchange.hub, asyncio.get_running_loop()
        assert self._origin is not None
        fast = self.speed == "max"
        verbatim = k == 0 and not self.live

        def retime(t: int) -> int:
            return self.retime(t, k)

        offset_ns = k * self.period_ns
        for i, (ns, kind, payload, extra) in enumerate(market.events):
            if fast:
                if i % 64 == 0:
                    await asyncio.sleep(0)
            else:
                delay = self._origin + (ns - self.first_ns + offset_ns) / 1e9 / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            while exchange.paused(symbol):
                await asyncio.sleep(0.05)
            market.position = i + 1
            if kind == DEPTH:
                if not verbatim:
                    payload = market.shifted_depth(payload, retime)
                    extra = _envelope_like(extra, payload)
                market.apply_depth(payload)
                exchange.publish_depth(symbol, payload, extra)
            elif kind == AGG:
                market.last_original_ms = extra[4]
                if not verbatim:
                    payload, extra = market.shifted_trade(extra, retime)
                market.record_trade(extra)
                hub.publish(symbol, "aggTrade", [payload])
            elif kind == BOOK_TICKER:
                if k:
                    payload = market.shifted_ticker(payload)
                    extra = _envelope_like(extra, payload)
                hub.publish_raw(symbol, "bookTicker", payload, extra)
            if fast:
                await hub.drain(symbol, "aggTrade")
                await hub.drain(symbol, "depth")


def _envelope_like(frame: str, payload: str) -> str:
    """The recorded combined frame around a new payload (the same stream name)."""
    return frame[:frame.index('"data":') + 7] + payload + "}"
