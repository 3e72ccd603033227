"""``tradeactors bench analytics``: the analytics on the real market, from the bundled 2024 captures.

The stored book seconds and trades are rebuilt in-process through the service's own code: the simulator's replay
reads the capture (``@trade`` frames aggregated into aggTrades as the simulator sends them), every depth frame is
parsed by ``protocol.parse_frame`` and fed to ``BookSync`` (the REST snapshot answered at the moment the capture
recorded it), and book seconds close by the StreamActor's own rule (``bookseconds.BookSeconds``): the book after
the last diff whose event time falls in that second, its top ``BOOK_LEVELS`` levels per side, once the next
second's diff continues the chain.
``tests/e2e/test_replay_analytics.py`` checks the same code path end to end (replay → service → RocksDB).

Then every whole minute of each capture is one window: ``microstructure_health`` with the book seconds before
the window as its baseline (as the service reads the hour before), and ``detect_market_anomalies`` likewise.
The report prints the distribution of health scores and levels, the windows below Good with their causes, and
each detector's firings (per hour and each firing with its context). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradeactors import analytics
from tradeactors.bookseconds import BookSeconds
from tradeactors.booksync import BookSync, NeedSnapshot
from tradeactors.decimals import format_scaled
from tradeactors.protocol import AggTrade, DepthUpdate, parse_frame
from tradeactors.records import BookSecond, TradeColumns
from tradeactors.simulator import captures
from tradeactors.simulator.replay import AGG, DEPTH, SNAPSHOT, ReplaySession

SYMBOLS = ("BTCUSDT", "ETHUSDT")
TICK_SIZE = {"BTCUSDT": "0.01000000", "ETHUSDT": "0.01000000"}
"""PRICE_FILTER.tickSize of the symbols at the time of the capture."""
BOOK_LEVELS = 20
"""Levels per side in a book second (the service's ``book_second_levels`` default)."""
WINDOW_SECS = 60
BASELINE_MINUTES = 60


@dataclass
class Market:
    symbol: str
    books: list[BookSecond]
    trades: TradeColumns


def load_market(symbol: str) -> Market:
    """The book seconds and aggregate trades the service would store from the symbol's bundled capture."""
    session = ReplaySession([str(p) for p in captures.capture_2024_files(symbol)], speed="max")
    market = session.markets[symbol]
    sync = BookSync(symbol, depth_limit=1000)
    seconds = BookSeconds(symbol, BOOK_LEVELS)
    books: list[BookSecond] = []
    trades: list[AggTrade] = []
    snapshot = json.loads(market.snapshot_body) if market.snapshot_body is not None else None
    waiting = False
    for _ns, kind, payload, extra in market.events:
        if kind == AGG:
            _price, _qty, first, last, t, m, a, p_text, q_text, _e = extra
            trades.append(AggTrade(a, p_text, q_text, first, last, t, m))
        elif kind == SNAPSHOT and waiting and snapshot is not None:
            waiting = False
            _answer(sync, sync.on_snapshot(snapshot["lastUpdateId"], snapshot["bids"], snapshot["asks"]))
        elif kind == DEPTH:
            update = parse_frame(payload)
            assert isinstance(update, DepthUpdate)
            events, closed = seconds.on_diff(sync, update)
            if closed is not None:
                books.append(closed)
            waiting = waiting or (any(isinstance(e, NeedSnapshot) for e in events) and sync.state != "synced")
            _answer(sync, events)
    closed = seconds.close(sync)
    if closed is not None:
        books.append(closed)
    return Market(symbol, books, TradeColumns.from_trades(trades))


def _answer(sync: BookSync, events: Iterable[object]) -> None:
    """A "near the edge" snapshot request of a synced book: the capture holds one snapshot only, so the fresh one
    is the book's own best 1000 levels (as ``bench book`` does)."""
    for event in list(events):
        if isinstance(event, NeedSnapshot) and sync.state == "synced" and sync.book is not None:
            bids, asks = sync.book.top(1000)
            sync.on_snapshot(sync.book.update_id, [list(x) for x in bids], [list(x) for x in asks])


def minute_windows(market: Market) -> list[tuple[int, list[BookSecond], list[BookSecond], TradeColumns]]:
    """(start second, window book seconds, baseline book seconds, window trades) of every whole minute."""
    books = market.books
    seconds = np.asarray([b.second for b in books])
    first, last = int(seconds[0]), int(seconds[-1])
    out = []
    for start in range(first, last - WINDOW_SECS + 2, WINDOW_SECS):
        window = [b for b in books if start <= b.second < start + WINDOW_SECS]
        baseline = [b for b in books if start - 60 * BASELINE_MINUTES <= b.second < start]
        start_ms, end_ms = start * 1000, (start + WINDOW_SECS) * 1000 - 1
        mask = (start_ms <= market.trades.T) & (end_ms >= market.trades.T)
        out.append((start, window, baseline, market.trades.select(mask)))
    return out


def health_of(market: Market, start: int, window, baseline, trades) -> dict[str, Any]:
    start_ms, end_ms = start * 1000, (start + WINDOW_SECS) * 1000 - 1
    return analytics.microstructure_health(window, baseline, trades, symbol=market.symbol, now_ms=end_ms,
                                           window_start_ms=start_ms, window_end_ms=end_ms)


def anomalies_of(market: Market, start: int, window, baseline, trades) -> list[dict[str, Any]]:
    start_ms, end_ms = start * 1000, (start + WINDOW_SECS) * 1000 - 1
    body = analytics.detect_market_anomalies(window, baseline, trades, symbol=market.symbol, now_ms=end_ms,
                                             window_start_ms=start_ms, window_end_ms=end_ms,
                                             baseline_minutes=BASELINE_MINUTES, tick_size=TICK_SIZE[market.symbol])
    return list(body["anomalies"])


DETECTORS = ("QuoteStuffing", "SpreadBlowout", "DepthCollapse", "FlashCrashRisk", "PriceJump", "IcebergOrder")
CONTEXT_SECS = 3


@dataclass
class Window:
    symbol: str
    start: int
    """Unix second the minute starts (original capture time)."""
    books: list[BookSecond]
    baseline: list[BookSecond]
    trades: TradeColumns
    health: dict[str, Any]
    anomalies: list[dict[str, Any]]


def evaluate(market: Market) -> list[Window]:
    """Health and anomalies of every whole minute of a market."""
    out = []
    for start, window, baseline, trades in minute_windows(market):
        out.append(Window(market.symbol, start, window, baseline, trades,
                          health_of(market, start, window, baseline, trades),
                          anomalies_of(market, start, window, baseline, trades)))
    return out


def utc(second: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))


def mid_text(book: BookSecond) -> str:
    if not len(book.bids) or not len(book.asks):
        return "one-sided"
    bid, ask = int(book.bids[0, 0]), int(book.asks[0, 0])
    return (f"bid {format_scaled(bid, book.price_decimals)} ask {format_scaled(ask, book.price_decimals)} "
            f"({(ask - bid) / 10**book.price_decimals:g})")


def context(market: Market, anomaly: dict[str, Any]) -> list[str]:
    """The book around a firing: the best quotes of the book seconds from ``CONTEXT_SECS`` before to after."""
    second = anomaly["detection_timestamp"] // 1000
    lines = []
    for book in market.books:
        if second - CONTEXT_SECS <= book.second <= second + CONTEXT_SECS:
            mark = ">" if book.second == second else " "
            lines.append(f"      {mark} {utc(book.second)} {mid_text(book)}")
    return lines


def describe(anomaly: dict[str, Any]) -> str:
    shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in anomaly["metadata"].items()}
    return (f"{anomaly['anomaly_type']} {anomaly['severity']} (confidence {anomaly['confidence_score']:.3f}) at "
            f"{utc(anomaly['detection_timestamp'] // 1000)} levels {anomaly['affected_price_levels']} {shown}")


def summary(windows: list[Window]) -> dict[str, Any]:
    """Score distribution, levels and firings per detector (count and per hour) of one symbol's windows."""
    scores = np.asarray([w.health["overall_score"] for w in windows])
    levels = Counter(w.health["health_level"] for w in windows)
    good = sum(levels[name] for name in ("Excellent", "Good"))
    hours = len(windows) * WINDOW_SECS / 3600
    firings = Counter(a["anomaly_type"] for w in windows for a in w.anomalies)
    return {
        "windows": len(windows), "with_baseline": sum(w.health["baseline_available"] for w in windows),
        "levels": {name: levels[name] for name in ("Excellent", "Good", "Fair", "Poor", "Critical")},
        "good_or_better": good / len(windows),
        "score": {"min": round(float(scores.min()), 1), "p10": round(float(np.percentile(scores, 10)), 1),
                  "median": round(float(np.median(scores)), 1), "max": round(float(scores.max()), 1)},
        "firings": {name: firings[name] for name in DETECTORS},
        "firings_per_hour": {name: round(firings[name] / hours, 1) for name in DETECTORS},
        "hours": round(hours, 3),
    }


def report(markets: dict[str, Market]) -> tuple[list[str], dict[str, Any]]:
    lines: list[str] = []
    figures: dict[str, Any] = {}
    for symbol, market in markets.items():
        windows = evaluate(market)
        figures[symbol] = stats = summary(windows)
        lines.append(f"{symbol}: {len(market.books)} book seconds, {len(market.trades)} aggregate trades, "
                     f"{stats['windows']} whole minutes {utc(windows[0].start)} .. "
                     f"{utc(windows[-1].start + WINDOW_SECS - 1)} UTC ({stats['with_baseline']} with a baseline)")
        lines.append(f"  health: {stats['levels']}; Good or better {100 * stats['good_or_better']:.0f} %; "
                     f"overall score {stats['score']}")
        for w in windows:
            h = w.health
            parts = " ".join(f"{name[:6]} {h[name + '_score']:.0f}" for name in
                             ("spread_stability", "liquidity_depth", "flow_balance", "update_rate"))
            flag = "" if h["health_level"] in ("Excellent", "Good") else "   <- below Good"
            lines.append(f"    {utc(w.start)} {h['overall_score']:5.1f} {h['health_level']:9} {parts}{flag}")
            for cause in h["components_detail"]["causes"]:
                lines.append(f"        cause: {cause}")
        lines.append(f"  anomalies over {stats['hours']} h: {stats['firings']}; per hour {stats['firings_per_hour']}")
        for w in windows:
            for anomaly in w.anomalies:
                lines.append(f"    {describe(anomaly)}")
                lines.extend(context(market, anomaly))
    return lines, figures


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tradeactors bench analytics",
                                     description=__doc__.splitlines()[0].replace("``", ""))
    parser.parse_args(argv)
    began = time.perf_counter()
    markets = {symbol: load_market(symbol) for symbol in SYMBOLS}
    lines, figures = report(markets)
    print("\n".join(lines))
    print(json.dumps({"bench": "analytics", "seconds": round(time.perf_counter() - began, 1), **figures}))
    return 0
