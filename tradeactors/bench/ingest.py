"""``tradeactors bench ingest``: how fast the service persists trades, against the bare receive ceiling.

Throughput (default): the simulator, in its own process, publishes synthetic aggTrades as fast as it can for N
symbols. In the same run we measure (1) the bare receive ceiling: a websocket-client loop that only receives
(``skip_utf8_validation=True``), and (2) the service end to end: trades persisted per second by the real actors
(Stream -> Buffer -> Storage -> RocksDB). Then the market is paused, the service catches up, and the stored ids
are compared with the simulator's published ids: nothing lost, nothing duplicated.

Realistic (``--realistic``): 2 symbols at 100 trades/s each plus depth for ``--minutes`` (10 by default);
samples RSS every 10 s and reports CPU as a share of one core.

Last line: one JSON object (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import tempfile
import threading
import time

import numpy as np
import websocket

from tradeactors import config as configuration, history, logsetup
from tradeactors.service import Service
from tradeactors.simulator import spawn_simulator

SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "TRXUSDT"]


def rss_mb() -> float:
    """Current resident set size of this process, MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1e6


def thread_cpu_seconds() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process, by native thread id (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # the thread ended
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_by_thread(before: dict[int, float], after: dict[int, float], seconds: float) -> dict[str, float]:
    """% of one core per thread kind (Reader-BTCUSDT and Reader-ETHUSDT -> Reader), every live kind listed: a
    quiet thread shows 0.0 (the kernel counts in 10 ms ticks, so short runs round small shares down to nothing)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    shares: dict[str, float] = {}
    for tid, cpu in after.items():
        kind = names.get(tid, "other").split("-")[0]
        shares[kind] = shares.get(kind, 0.0) + (cpu - before.get(tid, 0.0)) / seconds * 100
    return dict(sorted(((k, round(v, 2)) for k, v in shares.items()), key=lambda kv: -kv[1]))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def raw_receive_rate(ws_url: str, symbol: str, seconds: float) -> tuple[int, float]:
    """Frames per second a loop that only receives gets from one aggTrade stream."""
    ws = websocket.create_connection(f"{ws_url}/ws/{symbol.lower()}@aggTrade", skip_utf8_validation=True)
    try:
        ws.recv()
        count, began = 0, time.perf_counter()
        deadline = began + seconds
        while True:
            ws.recv()
            count += 1
            if count % 1024 == 0 and time.perf_counter() >= deadline:
                break
        return count, count / (time.perf_counter() - began)
    finally:
        ws.close(timeout=0)


def make_service(sim, symbols, data_dir) -> Service:
    cfg = configuration.load(None, env={}, overrides={
        "symbols": ",".join(symbols), "data_dir": data_dir, "ws_url": sim.ws_url, "rest_url": sim.rest_url,
        "http": "127.0.0.1:0", "backoff_initial": "0.1", "backoff_max": "1",
    })
    return Service(cfg)


def wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def throughput(args) -> dict:
    symbols = SYMBOLS[: args.symbols]
    sim = spawn_simulator(["--symbols", ",".join(symbols), "--rate", "max", "--seed", "1", "--no-tls"])
    try:
        raw_count, raw_tps = raw_receive_rate(sim.ws_url, symbols[0], args.seconds)
        print(f"bare receive (1 stream): {raw_count} frames, {raw_tps:,.0f} frames/s")
        with tempfile.TemporaryDirectory() as data_dir:
            service = make_service(sim, symbols, data_dir)
            service.start()
            stored_before = 0
            began = time.perf_counter()
            time.sleep(args.seconds)
            sim.pause()
            paused_at = time.perf_counter()
            last = {s: int(sim.published_ids(s)[-1]) for s in symbols}

            def caught_up():
                status = service.status()
                return all((status["symbols"][s].get("last_trade_id") or 0) >= last[s] for s in symbols) and all(
                    status["storage"]["stored_ids"][s] and status["storage"]["stored_ids"][s][-1][1] >= last[s]
                    and not status["storage"]["holes"][s] for s in symbols)

            ok = wait(caught_up, 120)
            done = time.perf_counter()
            stored, lost, duplicated = 0, 0, 0
            for s in symbols:
                ids = history.trade_ids(service.db, s)
                published = np.asarray(sim.published_ids(s))
                expected = published[published >= ids[0]] if len(ids) else published
                unique = np.unique(ids)
                duplicated += int(len(ids) - len(unique))
                lost += int(len(np.setdiff1d(expected, unique, assume_unique=True)))
                stored += int(len(unique))
            backfilled = sum(int(service.metrics.trades_backfilled.labels(s)._value.get()) for s in symbols)
            service.stop()
        pipeline_tps = (stored - stored_before - backfilled) / (done - began)
        print(f"service end to end ({len(symbols)} symbols): {stored} trades stored in {done - began:.2f}s "
              f"({paused_at - began:.1f}s publishing, {done - paused_at:.2f}s catching up), "
              f"{pipeline_tps:,.0f} trades/s; backfilled {backfilled}; caught up: {ok}")
        return {"bench": "ingest", "symbols": len(symbols), "trades": stored, "lost": lost, "duplicated": duplicated,
                "raw_tps": round(raw_tps), "pipeline_tps": round(pipeline_tps),
                "ratio": round(pipeline_tps / raw_tps, 3), "peak_rss_mb": round(peak_rss_mb(), 1)}
    finally:
        sim.close()


def realistic(args) -> dict:
    symbols = SYMBOLS[:2]
    sim = spawn_simulator(["--symbols", ",".join(symbols), "--rate", "100", "--seed", "1", "--no-tls"])
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            service = make_service(sim, symbols, data_dir)
            service.start()
            time.sleep(args.warmup)  # connections, first flushes, the books synced
            samples = [rss_mb()]
            threads0 = thread_cpu_seconds()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            end = wall0 + args.minutes * 60
            while time.perf_counter() < end:
                time.sleep(min(10, max(0.0, end - time.perf_counter())))
                samples.append(rss_mb())
            elapsed = time.perf_counter() - wall0
            cpu = (time.process_time() - cpu0) / elapsed * 100
            threads = cpu_by_thread(threads0, thread_cpu_seconds(), elapsed)
            stored = sum(len(history.trade_ids(service.db, s)) for s in symbols)
            service.stop()
        half = len(samples) // 2
        growth = max(samples[half:]) - max(samples[: half + 1])
        print(f"RSS samples (MB): {', '.join(f'{x:.0f}' for x in samples)}")
        print(f"{stored} trades stored over {args.minutes} min; CPU {cpu:.2f}% of one core")
        print("CPU by thread kind (% of one core): " + ", ".join(f"{k} {v:.2f}" for k, v in threads.items()))
        return {"bench": "ingest-realistic", "symbols": 2, "rate_per_symbol": 100, "minutes": args.minutes,
                "trades": stored, "cpu_pct_one_core": round(cpu, 2), "cpu_bar_pct": 5.0,
                "cpu_vs_bar": round(cpu / 5.0, 3), "cpu_by_thread": threads, "rss_mb_start": round(samples[0], 1),
                "rss_mb_max": round(max(samples), 1), "rss_mb_growth_second_half": round(growth, 1)}
    finally:
        sim.close()


def run(argv) -> int:
    parser = argparse.ArgumentParser(prog="tradeactors bench ingest", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--symbols", type=int, default=1, choices=range(1, len(SYMBOLS) + 1), metavar="N")
    parser.add_argument("--seconds", type=float, default=5.0, help="publishing time per measurement")
    parser.add_argument("--realistic", action="store_true", help="2 symbols at 100 trades/s: RSS and CPU")
    parser.add_argument("--minutes", type=float, default=10.0, help="duration of --realistic")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before --realistic starts measuring")
    args = parser.parse_args(argv)
    logsetup.configure("WARNING")
    logging.getLogger("tradeactors").setLevel(logging.WARNING)
    result = realistic(args) if args.realistic else throughput(args)
    print(json.dumps(result))
    return 0
