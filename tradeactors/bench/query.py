"""``tradeactors bench query [--hours H]``: the 24-hour volume profile, ours against the seeds' design.

Builds a store of H hours (default 24) of one symbol at 100 aggTrades/s with realistic prices (a random walk on
the 0.01 tick around 60,000, sizes on the 0.00001 step, both sides), written through the service's own storage
path (``storage.TradeWriter``: columnar chunks plus per-minute rollups, one WriteBatch per second), and the same
trades in the seeds' layout (per-second msgpack lists of trade dicts with string prices) in a second database
with the same RocksDB options. Then it times ``get_volume_profile`` over the whole window in both: ours through
the QueryActor's read path (rollups + raw edges, then the analytics function), the seeds' by scanning and
decoding every batch in Python. Bytes on disk are measured after a full compaction.

Last line: one JSON object (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import numpy as np

from tradeactors import storage
from tradeactors.protocol import AggTrade
from tradeactors.storage import Database

SYMBOL = "BTCUSDT"
RATE = 100
START_MS = 1_723_075_200_000  # 2024-08-08 00:00 UTC


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child
    would report its parent's peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate_hour(rng: np.random.Generator, hour: int, first_id: int, price_ticks: int):
    """One hour of trades as columns: ids, times, prices in ticks of 0.01, quantities in steps, maker flags."""
    n = RATE * 3600
    times = START_MS + hour * 3_600_000 + np.sort(rng.integers(0, 3_600_000, n))
    walk = np.cumsum(rng.choice([-1, 0, 0, 0, 1], size=n))
    ticks = price_ticks + walk
    qty_steps = (rng.pareto(1.5, n) * 200 + 1).astype(np.int64)
    maker = rng.random(n) < 0.5
    return np.arange(first_id, first_id + n), times, ticks, qty_steps, maker, int(ticks[-1])


def seconds_of(times: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index ranges of each wall-clock second."""
    sec = times // 1000
    cuts = np.flatnonzero(np.diff(sec)) + 1
    bounds = np.concatenate([[0], cuts, [len(times)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def generated_seconds(hours: int) -> Iterator[tuple[int, list[AggTrade]]]:
    """(hour, the trades of one second) for H hours of one symbol at ~100 aggTrades/s, the same every run."""
    rng = np.random.default_rng(2024)
    first_id, price_ticks = 1, 6_000_000
    for hour in range(hours):
        ids, times, ticks, steps, maker, price_ticks = generate_hour(rng, hour, first_id, price_ticks)
        first_id += len(ids)
        prices = [f"{t // 100}.{t % 100:02d}000000" for t in ticks.tolist()]
        qtys = [f"{s // 100_000}.{s % 100_000:05d}000" for s in steps.tolist()]
        ids_l, times_l, maker_l = ids.tolist(), times.tolist(), maker.tolist()
        for lo, hi in seconds_of(times):
            yield hour, [AggTrade(ids_l[i], prices[i], qtys[i], ids_l[i], ids_l[i], times_l[i], maker_l[i])
                         for i in range(lo, hi)]


def build(hours: int, ours: Database, seeds: Database | None = None) -> int:
    """Write ``generated_seconds`` through the service's TradeWriter into ``ours``, one WriteBatch per second,
    and (for the baseline) into ``seeds`` in the seeds' one-msgpack-list-per-second layout."""
    writer = storage.TradeWriter(ours, [SYMBOL])
    total, current = 0, 0
    for hour, batch in generated_seconds(hours):
        if hour != current:
            print(f"  hour {current + 1}/{hours}: {total:,} trades", flush=True)
            current = hour
        writer.write(SYMBOL, batch)
        if seeds is not None:
            seeds_value = msgpack.packb([{"price": t.p, "quantity": t.q, "timestamp": t.T, "trade_id": t.a,
                                          "buyer_is_maker": t.m} for t in batch])
            seeds.write({"trades": [(f"trades:{SYMBOL}:{batch[0].T // 1000 * 1000:013d}".encode(), seeds_value)]})
        total += len(batch)
    print(f"  hour {hours}/{hours}: {total:,} trades", flush=True)
    return total


def seeds_volume_profile(db: Database, start_ms: int, end_ms: int) -> dict:
    """The seeds' design: scan every per-second batch, decode the dicts in Python, histogram the floats."""
    prices, qtys = [], []
    stop = f"trades:{SYMBOL}:{end_ms + 1:013d}".encode()
    for _key, value in db.scan("trades", f"trades:{SYMBOL}:{start_ms // 1000 * 1000:013d}".encode(), stop):
        for trade in msgpack.unpackb(value):
            if start_ms <= trade["timestamp"] <= end_ms:
                prices.append(float(trade["price"]))
                qtys.append(float(trade["quantity"]))
    p, q = np.array(prices), np.array(qtys)
    hist, edges = np.histogram(p, bins=100, weights=q)
    poc = int(np.argmax(hist))
    return {"trade_count": len(p), "total_volume": float(q.sum()),
            "point_of_control": (edges[poc] + edges[poc + 1]) / 2}


def our_volume_profile(db: Database, start_ms: int, end_ms: int) -> dict:
    from tradeactors.tools import volume_profile_from_store

    return volume_profile_from_store(db, SYMBOL, start_ms, end_ms)


def timed(fn: Callable[[], dict[str, Any]], runs: int) -> tuple[float, dict[str, Any]]:
    times: list[float] = []
    result: dict[str, Any] = {}
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def disk_bytes(db: Database, cfs) -> int:
    for cf in cfs:
        db.compact(cf)
    return sum(db.cf_size(cf) for cf in cfs)


def run(argv) -> int:
    parser = argparse.ArgumentParser(
        prog="tradeactors bench query", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--hours", type=int, default=24, choices=range(1, 169), metavar="H",
                        help="hours of history at 100 trades/s (1..168)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of our query (median reported)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ours, seeds = Database(f"{tmp}/ours"), Database(f"{tmp}/seeds")
        began = time.perf_counter()
        print(f"building {args.hours} h at {RATE} trades/s ...", flush=True)
        trades = build(args.hours, ours, seeds)
        print(f"built in {time.perf_counter() - began:.0f}s", flush=True)
        ours_bytes = disk_bytes(ours, ("trades", "rollups", "meta"))
        seeds_bytes = disk_bytes(seeds, ("trades",))
        ours.close()
        # Like a real [now - H, now] query, the window does not start or end on a minute: its edges are read
        # from raw trades, the whole minutes between from the rollups.
        start, end = START_MS + 30_500, START_MS + args.hours * 3_600_000 - 20_250
        # Our query runs in a fresh process, so that its peak RSS is the query's, not the data generator's.
        measured = subprocess.run(
            [sys.executable, "-m", "tradeactors.bench.query", "--measure", f"{tmp}/ours", str(start), str(end),
             str(args.runs)], capture_output=True, text=True, check=True)
        seconds, query_rss, profile = json.loads(measured.stdout.strip().splitlines()[-1])
        baseline_seconds, baseline = timed(lambda: seeds_volume_profile(seeds, start, end), 1)
        assert profile["trade_count"] == baseline["trade_count"], (profile["trade_count"], baseline["trade_count"])
        seeds.close()
    print(f"ours: {seconds:.3f}s median of {args.runs}; seeds' design: {baseline_seconds:.2f}s; "
          f"POC {profile['point_of_control']} vs {baseline['point_of_control']:.2f}")
    print(f"bytes per trade after compaction: ours {ours_bytes / trades:.2f}, seeds' layout {seeds_bytes / trades:.2f}")
    print(json.dumps({
        "bench": "query", "hours": args.hours, "trades": trades, "seconds": round(seconds, 4),
        "baseline_seconds": round(baseline_seconds, 3), "ratio": round(baseline_seconds / seconds, 1),
        "bytes_per_trade": round(ours_bytes / trades, 2), "baseline_bytes_per_trade": round(seeds_bytes / trades, 2),
        "peak_rss_mb": round(query_rss, 1), "bench_process_peak_rss_mb": round(peak_rss_mb(), 1),
    }))
    return 0


def measure(db_path: str, start: int, end: int, runs: int) -> None:
    """In a fresh process: time our query and report [median seconds, peak RSS MB, result]."""
    db = Database(db_path)
    seconds, profile = timed(lambda: our_volume_profile(db, start, end), runs)
    db.close()
    print(json.dumps([seconds, peak_rss_mb(), {"trade_count": profile["trade_count"],
                                              "point_of_control": profile["point_of_control"]}]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
