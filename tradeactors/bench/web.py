"""``tradeactors bench web [--symbols N] [--requests R]``: server time of the operator surface at N symbols.

Builds a ``service.Service`` that is never started (no database, no exchange) and gives it N symbols' worth of
what a running one has: a real pykka actor per symbol registered as ``stream:<symbol>`` in its Directory (and in
its Supervisor's specs) that answers ``GetStatus`` with a stream status of the real shape, storage, backfill,
cleanup and depth-snapshot actors answering likewise, and every per-symbol metric series of ``metrics.Metrics``
set for every symbol. So ``Service.status()`` and ``Service.health()`` run their real code, asking N actors at
once, and the real Flask app serves them through waitress on a loopback socket.

Timed over that socket, ``--requests`` times each (a warm-up request first): ``GET /api/dashboard``,
``GET /api/status``, ``GET /api/status?limit=50`` (one page), ``GET /api/status?symbols=BTCUSDT,ETHUSDT`` (two symbols'
actors asked) and ``GET /metrics``; the median and p90 of the
round trip in ms (server time plus a loopback transfer), the process's CPU time per request and the response
size; and, in-process, one round of ``GetStatus`` asks to every actor, the floor of the first three. Baseline in
the same run: the same with 2 symbols; ``ratio`` = the N-symbol median / the 2-symbol median.

A few symbols are made to need attention (disconnected, book unsynced, holes, stalled, lagging), as in a real
market, so the summary and the attention ordering have work to do.

Last line: one JSON object ``{"bench": "web", "symbols", "dashboard_ms", "status_ms", "status_page_ms",
"metrics_ms", "ask_round_ms", "load_average", ...}`` (see BENCHMARKS.md); the machine's load average says how
far the timings can be trusted: other work on the cores moves them as much as the code does.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
import time
from typing import Any

import pykka
import requests

from tradeactors import config as configuration
from tradeactors.actors.messages import GetStatus
from tradeactors.actors.supervisor import ActorSpec
from tradeactors.metrics import Metrics

PATHS = ("/api/dashboard", "/api/status", "/api/status?limit=50", "/api/status?symbols=BTCUSDT,ETHUSDT",
         "/metrics")
KEYS = {"/api/dashboard": "dashboard", "/api/status": "status", "/api/status?limit=50": "status_page",
        "/api/status?symbols=BTCUSDT,ETHUSDT": "status_two", "/metrics": "metrics"}


def symbol_names(count: int) -> list[str]:
    """``count`` distinct symbol names of Binance's shape (``S0000USDT``, ...), BTCUSDT and ETHUSDT first."""
    names = ["BTCUSDT", "ETHUSDT"][:count]
    return names + [f"S{i:04d}USDT" for i in range(count - len(names))]


def stream_status(index: int, now_ms: int) -> dict[str, Any]:
    """A StreamActor's ``GetStatus`` answer of the real shape; every 97th symbol reconnecting, every 89th with an
    unsynced book, every 211th stalled (connected, silent for two minutes)."""
    reconnecting, unsynced, stalled = index % 97 == 5, index % 89 == 7, index % 211 == 11
    book_state = "syncing" if unsynced else "synced"
    return {
        "state": "reconnecting" if reconnecting else "connected", "connections": 1 + (index % 3),
        "planned_reconnects": 0, "trades_received": 1000 + index * 7, "duplicates_dropped": 0,
        "last_trade_id": 5_000_000 + index, "last_trade_time": now_ms - 1000 - (index % 50) * 100,
        "malformed_frames": 0, "drains": 10, "last_message_age_ms": 120_000 if stalled else 80 + index % 900,
        "reader_alive": True, "reader_died": None, "down_for_s": 4.2 if reconnecting else 0.0,
        "book": {"state": book_state, "update_id": 9_000_000 + index, "resyncs": index % 4,
                 "last_stored_second": now_ms // 1000 - 1, "unsynced_for_s": 12.5 if unsynced else 0.0,
                 "counters": {"resyncs": index % 4, "applied": 1000 + index, "buffered": 0}},
    }


def storage_status(symbols: list[str]) -> dict[str, Any]:
    """The StorageActor's answer: per-symbol holes (every 131st symbol has one), gaps and stored id ranges."""
    return {"batches_written": 123_456, "write_errors": 0, "pending_trades": 0, "pending_book_seconds": 0,
            "size_on_disk": 7 * 2**30,
            "holes": {s: ([[100, 120]] if i % 131 == 13 else []) for i, s in enumerate(symbols)},
            "exchange_gaps": {s: [] for s in symbols},
            "stored_ids": {s: [[1, 5_000_000 + i]] for i, s in enumerate(symbols)},
            "book_seconds_written": dict.fromkeys(symbols, 3600)}


def backfill_status(symbols: list[str], now_ms: int) -> dict[str, Any]:
    gap = {"from_id": 100, "to_id": 120, "fetched": 21, "missing": 0, "filled_at": now_ms - 60_000, "via": "hole"}
    return {"trades_backfilled": dict.fromkeys(symbols[::50], 21), "last_gap": {s: dict(gap) for s in symbols[::50]},
            "last_catch_up": {}, "worker_alive": True, "worker_died": None}


class StatusActor(pykka.ThreadingActor):
    """Answers ``GetStatus`` with a fixed dict (the actors of the benchmark's service stand-in)."""

    def __init__(self, answer: dict[str, Any]):
        super().__init__()
        self.answer = answer

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, GetStatus):
            return self.answer
        return None


def populate_metrics(metrics: Metrics, symbols: list[str]) -> int:
    """Set every per-symbol series of ``metrics`` for every symbol, as a running service would after a while;
    every 151st symbol lags (store lag 30 s). Returns the number of samples the registry then exposes."""
    per_symbol_counters = [metrics.trades_received, metrics.trades_stored, metrics.duplicates_dropped,
                           metrics.frames_malformed, metrics.reconnects, metrics.connection_failures,
                           metrics.gaps_found, metrics.gaps_filled, metrics.gaps_unfillable, metrics.trades_backfilled,
                           metrics.book_seconds_stored, metrics.book_seconds_lost, metrics.book_seconds_skipped]
    for i, symbol in enumerate(symbols):
        for counter in per_symbol_counters:
            counter.labels(symbol).inc(i % 17)
        metrics.book_resyncs.labels(symbol, "gap").inc(i % 3)
        metrics.depth_snapshot_requests.labels(symbol, "ok").inc()
        metrics.buffer_depth.labels(symbol).set(i % 5)
        metrics.store_lag.labels(symbol).set(30.0 if i % 151 == 17 else 0.4)
        metrics.stream_down_seconds.labels(symbol).set(0)
        metrics.book_unsynced_seconds.labels(symbol).set(0)
    return sum(len(family.samples) for family in metrics.registry.collect())


class Market:
    """A never-started ``Service`` with ``count`` symbols' actors and metrics, served over loopback."""

    def __init__(self, count: int, data_dir: str):
        from tradeactors.service import Service
        from tradeactors.web import create_app
        from tradeactors.web.server import HttpServer

        self.symbols = symbol_names(count)
        config = configuration.load(None, env={}, overrides={
            "symbols": ",".join(self.symbols), "data_dir": data_dir, "http": "127.0.0.1:0"})
        self.service = Service(config)
        now_ms = int(time.time() * 1000)
        self.samples = populate_metrics(self.service.metrics, self.symbols)
        parts = {"storage": storage_status(self.symbols), "backfill": backfill_status(self.symbols, now_ms),
                 "cleanup": {"runs": 3}, "depth_snapshots": {"fetched": count, "queued": [], "worker_alive": True,
                                                             "worker_died": None}}
        answers = {**{f"stream:{s}": stream_status(i, now_ms) for i, s in enumerate(self.symbols)}, **parts}
        self.answers = answers
        """What each actor answers, by name: the same dict every time, so a caller may change it in place."""
        self.refs = []
        for name, answer in answers.items():
            ref = StatusActor.start(answer)
            self.refs.append(ref)
            self.service.directory.register(name, ref)
            self.service.supervisor.specs.append(ActorSpec(name, functools.partial(lambda r: r, ref), ref=ref))
        self.http = HttpServer(create_app(config, self.service), "127.0.0.1", 0)
        self.http.start()

    def close(self) -> None:
        self.http.close()
        for ref in self.refs:
            ref.stop(block=False)
        for ref in self.refs:
            ref.actor_stopped.wait(5)


def time_requests(url: str, path: str, count: int) -> dict[str, float]:
    """Median and p90 round trip (ms) of ``count`` GETs after one warm-up, the answer's size (KB), and the CPU
    time of this process per request (ms: the server's, every actor's and the client's)."""
    times = []
    with requests.Session() as session:
        size = len(session.get(url + path, timeout=60).content)
        cpu = time.process_time()
        for _ in range(count):
            began = time.perf_counter()
            response = session.get(url + path, timeout=60)
            times.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
        cpu = time.process_time() - cpu
    times.sort()
    return {"median_ms": round(statistics.median(times), 1),
            "p90_ms": round(times[min(len(times) - 1, int(len(times) * 0.9))], 1), "kb": round(size / 1024, 1),
            "cpu_ms": round(cpu / count * 1000, 1)}


def time_asks(market: Market, count: int) -> float:
    """Median ms of one round of ``GetStatus`` asks to every actor (``Service._ask_status``), the floor of every
    request above."""
    times = []
    for _ in range(count + 1):
        began = time.perf_counter()
        market.service._ask_status(market.service.symbols)
        times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times[1:]), 1)


def measure(count: int, requests_each: int) -> tuple[dict[str, dict[str, float]], int, float]:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as data_dir:
        market = Market(count, data_dir)
        try:
            timed = {path: time_requests(market.http.url, path, requests_each) for path in PATHS}
            return timed, market.samples, time_asks(market, requests_each)
        finally:
            market.close()


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="tradeactors bench web", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--symbols", type=int, default=1500, help="symbols of the big run (default 1500)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per path (default 20)")
    args = parser.parse_args(argv)
    if args.symbols < 2 or args.requests < 1:
        parser.error("--symbols must be >= 2 and --requests >= 1")

    baseline, _, small_asks = measure(2, args.requests)
    big, samples, asks = measure(args.symbols, args.requests)
    result: dict[str, Any] = {"bench": "web", "symbols": args.symbols, "metric_samples": samples,
                              "ask_round_ms": asks, "ask_round_baseline_ms": small_asks,
                              "load_average": round(os.getloadavg()[0], 1)}
    print(f"{'path':<36} {'2 symbols':>12} {f'{args.symbols} symbols':>16} {'p90':>8} {'CPU':>8} {'size':>10} "
          f"{'ratio':>7}")
    for path in PATHS:
        small, large = baseline[path], big[path]
        ratio = large["median_ms"] / max(small["median_ms"], 0.1)
        print(f"{path:<36} {small['median_ms']:>9.1f} ms {large['median_ms']:>13.1f} ms {large['p90_ms']:>5.0f} ms "
              f"{large['cpu_ms']:>5.0f} ms {large['kb']:>7.0f} KB {ratio:>7.1f}")
        key = KEYS[path]
        result.update({f"{key}_ms": large["median_ms"], f"{key}_p90_ms": large["p90_ms"], f"{key}_kb": large["kb"],
                       f"{key}_cpu_ms": large["cpu_ms"], f"{key}_baseline_ms": small["median_ms"],
                       f"{key}_ratio": round(ratio, 1)})
    print(f"one round of GetStatus asks to every actor: {small_asks:.1f} ms at 2 symbols, {asks:.1f} ms at "
          f"{args.symbols} ({samples:,} metric samples exposed)")
    print(json.dumps(result))
    return 0
