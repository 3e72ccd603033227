"""``tradeactors bench ingest``: the service's receive path under the real transport (TLS), each mode against a
baseline measured in the same run. The simulator runs in its own process and, over TLS, sends each message in
its own TLS record as Binance does.

Throughput (default): the simulator publishes synthetic aggTrades as fast as it can for N symbols. Baseline: a
bare websocket-client receive loop on one aggTrade stream (``skip_utf8_validation=True``), over the same
transport. Measured: trades persisted per second by the real service (Stream -> Buffer -> Storage -> RocksDB);
then the market is paused, the service catches up and the stored ids are compared with the published ones (lost,
duplicated). ``--transport both`` (default) runs TLS and then plaintext and reports both; the headline is TLS.

Realistic (``--realistic``): 2 symbols at 100 trades/s each plus depth for ``--minutes``: RSS every 10 s, CPU of
the service (user and system apart) as a share of one core and by thread kind. Baseline: a bare websocket-client
thread receiving the same streams on its own connection, its CPU measured per thread in the same run.

Burst (``--burst``): one symbol at ``--rate`` trades/s (5,000) plus depth for ``--seconds`` (30): receive lag
(trade time ``T`` -> handed over by the reader) p50/p99/max, the book's sync state sampled every 0.25 s, lost and
duplicated. Baseline: the lag of a bare websocket-client loop on the same aggTrade stream in the same run.

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
import orjson
import websocket

from tradeactors import config as configuration
from tradeactors import logsetup, storage
from tradeactors.actors.messages import WatchTrades
from tradeactors.service import Service
from tradeactors.simulator import spawn_simulator

SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "TRXUSDT"]
BASELINE_THREAD = "Baseline"


def rss_mb() -> float:
    """Current resident set size of this process, MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1e6


def thread_cpu_seconds() -> dict[int, tuple[float, float]]:
    """(user, system) CPU seconds of each thread of this process, by native thread id (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # the thread ended
        out[int(tid)] = (int(fields[11]) / tick, int(fields[12]) / tick)
    return out


def cpu_by_thread(before: dict, after: dict, seconds: float) -> dict[str, dict[str, float]]:
    """% of one core per thread kind (Reader-BTCUSDT and Reader-ETHUSDT -> Reader), user and system apart; every
    live kind is listed: a quiet thread shows 0.0 (the kernel counts in 10 ms ticks)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    shares: dict[str, list[float]] = {}
    for tid, (user, system) in after.items():
        kind = names.get(tid, "other").split("-")[0]
        u0, s0 = before.get(tid, (0.0, 0.0))
        share = shares.setdefault(kind, [0.0, 0.0])
        share[0] += (user - u0) / seconds * 100
        share[1] += (system - s0) / seconds * 100
    ordered = sorted(shares.items(), key=lambda kv: -sum(kv[1]))
    return {k: {"user": round(u, 2), "system": round(s, 2)} for k, (u, s) in ordered}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def connect(sim, path: str) -> websocket.WebSocket:
    sslopt = {"context": sim.client_ssl_context()} if sim.ca_file else None
    return websocket.create_connection(f"{sim.ws_url}{path}", timeout=10, skip_utf8_validation=True, sslopt=sslopt)


def raw_receive_rate(sim, symbol: str, seconds: float) -> tuple[int, float]:
    """Frames per second a loop that only receives gets from one aggTrade stream."""
    ws = connect(sim, f"/ws/{symbol.lower()}@aggTrade")
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


class BaselineReceiver:
    """A bare websocket-client loop in its own thread (named ``Baseline``): receives the same streams as the
    service on its own connection, and records each trade's receive lag (ms after its trade time T)."""

    def __init__(self, sim, streams: list[str], record_lag: bool = False):
        self.ws = connect(sim, "/stream?streams=" + "/".join(streams))
        self.record_lag = record_lag
        self.lags: list[float] = []
        self.frames = 0
        self._running = True
        self.thread = threading.Thread(target=self._run, name=BASELINE_THREAD, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self._running:
            try:
                frame = self.ws.recv()
            except Exception:
                return
            self.frames += 1
            if self.record_lag:
                data = orjson.loads(frame)["data"]
                if data.get("e") == "aggTrade":
                    self.lags.append(time.time() * 1000 - data["T"])

    def close(self) -> None:
        self._running = False
        self.ws.abort()
        self.thread.join(5)


def make_service(sim, symbols, data_dir) -> Service:
    overrides = {"symbols": ",".join(symbols), "data_dir": data_dir, "ws_url": sim.ws_url, "rest_url": sim.rest_url,
                 "http": "127.0.0.1:0", "backoff_initial": "0.1", "backoff_max": "1"}
    if sim.ca_file:
        overrides["ca_file"] = sim.ca_file
    return Service(configuration.load(None, env={}, overrides=overrides))


def wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def simulator(transport: str, *args: str):
    return spawn_simulator([*args, "--tls" if transport == "tls" else "--no-tls"])


def completeness(service, sim, symbols) -> tuple[int, int, int]:
    """(stored, lost, duplicated) against the simulator's published ids, from the first id stored."""
    stored = lost = duplicated = 0
    for s in symbols:
        ids = storage.trade_ids(service.db, s)
        published = np.asarray(sim.published_ids(s))
        expected = published[published >= ids[0]] if len(ids) else published
        unique = np.unique(ids)
        duplicated += int(len(ids) - len(unique))
        lost += len(np.setdiff1d(expected, unique, assume_unique=True))
        stored += len(unique)
    return stored, lost, duplicated


def throughput_once(args, transport: str) -> dict:
    symbols = SYMBOLS[: args.symbols]
    sim = simulator(transport, "--symbols", ",".join(symbols), "--rate", "max", "--seed", "1")
    try:
        raw_count, raw_tps = raw_receive_rate(sim, symbols[0], args.seconds)
        print(f"[{transport}] bare receive (1 stream): {raw_count} frames, {raw_tps:,.0f} frames/s")
        with tempfile.TemporaryDirectory() as data_dir:
            service = make_service(sim, symbols, data_dir)
            service.start()
            times0 = os.times()
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
            times1 = os.times()
            stored, lost, duplicated = completeness(service, sim, symbols)
            backfilled = sum(int(service.metrics.value("tradeactors_trades_backfilled_total", symbol=s))
                             for s in symbols)
            service.stop()
        elapsed = done - began
        pipeline_tps = (stored - backfilled) / elapsed
        print(f"[{transport}] service end to end ({len(symbols)} symbols): {stored} trades stored in "
              f"{elapsed:.2f}s ({paused_at - began:.1f}s publishing, {done - paused_at:.2f}s catching up), "
              f"{pipeline_tps:,.0f} trades/s; backfilled {backfilled}; caught up: {ok}")
        return {"trades": stored, "lost": lost, "duplicated": duplicated, "backfilled": backfilled,
                "raw_tps": round(raw_tps), "pipeline_tps": round(pipeline_tps),
                "ratio": round(pipeline_tps / raw_tps, 3),
                "cpu_user_pct": round((times1.user - times0.user) / elapsed * 100, 1),
                "cpu_system_pct": round((times1.system - times0.system) / elapsed * 100, 1)}
    finally:
        sim.close()


def throughput(args) -> dict:
    transports = ["tls", "plain"] if args.transport == "both" else [args.transport]
    results = {t: throughput_once(args, t) for t in transports}
    head = results[transports[0]]
    return {"bench": "ingest", "symbols": args.symbols, "transport": transports[0], **head,
            "lost": sum(r["lost"] for r in results.values()),
            "duplicated": sum(r["duplicated"] for r in results.values()),
            "by_transport": results, "ratio_bar": 0.8, "peak_rss_mb": round(peak_rss_mb(), 1)}


def realistic(args) -> dict:
    symbols = SYMBOLS[:2]
    transport = "plain" if args.transport == "plain" else "tls"
    sim = simulator(transport, "--symbols", ",".join(symbols), "--rate", "100", "--seed", "1")
    streams = [f"{s.lower()}@{kind}" for s in symbols for kind in ("aggTrade", "depth@100ms")]
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            service = make_service(sim, symbols, data_dir)
            service.start()
            baseline = BaselineReceiver(sim, streams)
            time.sleep(args.warmup)  # connections, first flushes, the books synced
            samples = [rss_mb()]
            threads0, times0 = thread_cpu_seconds(), os.times()
            wall0 = time.perf_counter()
            end = wall0 + args.minutes * 60
            while time.perf_counter() < end:
                time.sleep(min(10, max(0.0, end - time.perf_counter())))
                samples.append(rss_mb())
            elapsed = time.perf_counter() - wall0
            threads = cpu_by_thread(threads0, thread_cpu_seconds(), elapsed)
            times1 = os.times()
            frames = baseline.frames
            baseline.close()
            assert service.db is not None  # started
            stored = sum(len(storage.trade_ids(service.db, s)) for s in symbols)
            status = service.status()["symbols"]
            service.stop()
        base = threads.pop(BASELINE_THREAD, {"user": 0.0, "system": 0.0})
        user = (times1.user - times0.user) / elapsed * 100 - base["user"]
        system = (times1.system - times0.system) / elapsed * 100 - base["system"]
        cpu = user + system
        reader = threads.get("Reader", {"user": 0.0, "system": 0.0})
        reader_cpu, base_cpu = reader["user"] + reader["system"], base["user"] + base["system"]
        half = len(samples) // 2
        growth = max(samples[half:]) - max(samples[: half + 1])
        print(f"[{transport}] RSS samples (MB): {', '.join(f'{x:.0f}' for x in samples)}")
        print(f"[{transport}] {stored} trades stored over {args.minutes} min; service CPU {cpu:.2f}% of one core "
              f"(user {user:.2f}%, system {system:.2f}%)")
        print(f"[{transport}] readers {reader_cpu:.2f}% for both symbols; bare websocket-client loop on the same "
              f"streams {base_cpu:.2f}% ({frames} frames)")
        print("CPU by thread kind (% of one core, user/system): " + ", ".join(
            f"{k} {v['user']:.2f}/{v['system']:.2f}" for k, v in threads.items()))
        return {"bench": "ingest-realistic", "transport": transport, "symbols": 2, "rate_per_symbol": 100,
                "minutes": args.minutes, "trades": stored, "cpu_pct_one_core": round(cpu, 2),
                "cpu_user_pct": round(user, 2), "cpu_system_pct": round(system, 2), "cpu_bar_pct": 5.0,
                "cpu_vs_bar": round(cpu / 5.0, 3), "reader_cpu_pct": round(reader_cpu, 2),
                "baseline_recv_loop_cpu_pct": round(base_cpu, 2),
                "reader_vs_baseline": round(reader_cpu / base_cpu, 3) if base_cpu else None,
                "cpu_by_thread": threads, "rss_mb_start": round(samples[0], 1), "rss_mb_max": round(max(samples), 1),
                "rss_mb_growth_second_half": round(growth, 1),
                "books_synced": all(s["book"]["state"] == "synced" for s in status.values())}
    finally:
        sim.close()


def burst(args) -> dict:
    symbol = SYMBOLS[0]
    transport = "plain" if args.transport == "plain" else "tls"
    sim = simulator(transport, "--symbols", symbol, "--rate", str(args.rate), "--seed", "1")
    lags: list[np.ndarray] = []

    def on_trades(trades) -> None:
        now = time.time() * 1000
        lags.append(now - np.fromiter((t.T for t in trades), dtype=np.float64, count=len(trades)))

    try:
        with tempfile.TemporaryDirectory() as data_dir:
            service = make_service(sim, [symbol], data_dir)
            service.start()
            book = lambda: service.status()["symbols"][symbol]["book"]  # noqa: E731
            if not wait(lambda: book()["state"] == "synced", 60):
                raise RuntimeError("the book did not sync")
            service.ask(f"stream:{symbol}", WatchTrades(on_trades))
            baseline = BaselineReceiver(sim, [f"{symbol.lower()}@aggTrade"], record_lag=True)
            resyncs0, samples, unsynced = book()["resyncs"], 0, 0
            published0 = len(sim.published_ids(symbol))
            began = time.perf_counter()
            while time.perf_counter() - began < args.seconds:
                time.sleep(0.25)
                samples += 1
                unsynced += book()["state"] != "synced"
            elapsed = time.perf_counter() - began
            published = len(sim.published_ids(symbol)) - published0
            baseline.close()
            sim.pause()
            last = int(sim.published_ids(symbol)[-1])
            wait(lambda: service.status()["symbols"][symbol]["last_trade_id"] == last, 60)
            wait(lambda: not service.status()["storage"]["holes"][symbol] and service.status()["storage"]
                 ["stored_ids"][symbol][-1][1] >= last, 60)
            stored, lost, duplicated = completeness(service, sim, [symbol])
            resyncs = book()["resyncs"] - resyncs0
            service.stop()
        ours = np.concatenate(lags) if lags else np.zeros(1)
        base = np.asarray(baseline.lags) if baseline.lags else np.zeros(1)
        p50, p99, worst = np.percentile(ours, 50), np.percentile(ours, 99), ours.max()
        b50, b99 = np.percentile(base, 50), np.percentile(base, 99)
        print(f"[{transport}] {published / elapsed:,.0f} trades/s published for {elapsed:.0f}s; receive lag "
              f"(T -> handed over) p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms; bare websocket-client "
              f"loop p50 {b50:.0f} ms, p99 {b99:.0f} ms")
        print(f"[{transport}] book: {unsynced} of {samples} samples out of sync, {resyncs} resyncs; stored {stored}, "
              f"lost {lost}, duplicated {duplicated}")
        return {"bench": "ingest-burst", "transport": transport, "rate_asked": args.rate,
                "trades_per_s": round(published / elapsed), "seconds": round(elapsed, 1), "trades": stored,
                "lost": lost, "duplicated": duplicated, "lag_ms_p50": round(float(p50), 1),
                "lag_ms_p99": round(float(p99), 1), "lag_ms_max": round(float(worst), 1), "lag_bar_ms_p99": 1000,
                "baseline_lag_ms_p50": round(float(b50), 1), "baseline_lag_ms_p99": round(float(b99), 1),
                "lag_p99_vs_baseline": round(float(p99 / b99), 3) if b99 > 0 else None,
                "book_samples": samples, "book_unsynced_samples": unsynced, "book_resyncs": resyncs}
    finally:
        sim.close()


def run(argv) -> int:
    parser = argparse.ArgumentParser(
        prog="tradeactors bench ingest", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--symbols", type=int, default=1, choices=range(1, len(SYMBOLS) + 1), metavar="N")
    parser.add_argument("--seconds", type=float, default=None,
                        help="publishing time: per throughput measurement (default 5), or of --burst (default 30)")
    parser.add_argument("--transport", choices=["tls", "plain", "both"], default="both",
                        help="throughput: both (TLS, then plaintext beside it; default); realistic and burst: tls "
                             "unless plain")
    parser.add_argument("--realistic", action="store_true", help="2 symbols at 100 trades/s: RSS and CPU")
    parser.add_argument("--minutes", type=float, default=10.0, help="duration of --realistic")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before --realistic starts measuring")
    parser.add_argument("--burst", action="store_true", help="one symbol at --rate trades/s: receive lag, book sync")
    parser.add_argument("--rate", type=float, default=5000.0, help="trades per second of --burst")
    args = parser.parse_args(argv)
    logsetup.configure("WARNING")
    logging.getLogger("tradeactors").setLevel(logging.WARNING)
    if args.burst:
        args.seconds = 30.0 if args.seconds is None else args.seconds
        result = burst(args)
    elif args.realistic:
        result = realistic(args)
    else:
        args.seconds = 5.0 if args.seconds is None else args.seconds
        result = throughput(args)
    print(json.dumps(result))
    return 0
