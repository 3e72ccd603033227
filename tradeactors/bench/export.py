"""``tradeactors bench export [--hours H] [--baseline-hours B]``: a day of trades to Parquet, against paging the
JSON API into pandas.

Builds H hours (default 24) of one symbol at 100 aggTrades/s the way ``bench query`` does (the same generator:
a random walk on the 0.01 tick around 60,000, sizes on the 0.00001 step, both sides), written through the
service's own ``storage.TradeWriter``. Then, each in a fresh process (so that its CPU and peak RSS are its own):

- ours: ``tradeactors export --format parquet`` of the whole window from the data directory (a RocksDB
  secondary, as beside a running service); then the file is read back with pyarrow and its row count checked;
- baseline, in the same run: a client paging ``GET /api/trades`` (10,000 trades a page, the API's maximum) from
  the real Flask app under waitress on a loopback socket, the real QueryActor behind it, into one pandas
  DataFrame, over the first B hours (default 2: the whole day would take minutes); its rate is per trade, so
  it is extrapolated to H hours linearly, and the JSON line says so (``baseline_hours``).

Figures: trades/s, bytes per trade of the file, user and system CPU seconds apart, peak RSS. Last line: one
JSON object (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tradeactors.bench import query
from tradeactors.bench.query import RATE, START_MS, SYMBOL, peak_rss_mb
from tradeactors.storage import Database


def build(hours: int, db: Database) -> int:
    """H hours of trades through the service's writer, one WriteBatch per second (``bench query``'s data)."""
    return query.build(hours, db)


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def measure_ours(data_dir: str, end_ms: int, out: str) -> dict:
    """In a fresh process: the CLI's export, timed, with this process's CPU and peak RSS."""
    from tradeactors.export.cli import main

    user0, sys0 = _cpu()
    began = time.perf_counter()
    code = main(["--symbol", SYMBOL, "--start", str(START_MS), "--end", str(end_ms), "--format", "parquet",
                 "--out", out, "--data-dir", data_dir])
    seconds = time.perf_counter() - began
    user1, sys1 = _cpu()
    assert code == 0, code
    return {"seconds": seconds, "user": user1 - user0, "system": sys1 - sys0, "peak_rss_mb": peak_rss_mb()}


def measure_baseline(data_dir: str, end_ms: int) -> dict:
    """In a fresh process: the real QueryActor and Flask app under waitress on loopback; a client pages
    /api/trades into pandas. CPU is the whole process's (server and client both run here, as both are work the
    baseline needs); RSS likewise."""
    import pandas as pd
    import pykka
    import requests

    from tradeactors import config as configuration
    from tradeactors.actors.directory import Directory
    from tradeactors.actors.messages import QueryTrades
    from tradeactors.actors.query import QueryActor
    from tradeactors.metrics import Metrics
    from tradeactors.web import create_app
    from tradeactors.web.server import HttpServer

    metrics = Metrics()
    scratch = tempfile.mkdtemp()
    db = Database(Path(data_dir) / "analytics", secondary_dir=scratch)
    query = QueryActor.start(db, [SYMBOL], Directory(metrics), metrics)

    class Facade:
        """What the /api/trades view asks of the service, answered by the real QueryActor."""

        symbols = (SYMBOL,)
        config = configuration.load(None, env={}, overrides={"symbols": SYMBOL})

        def __init__(self) -> None:
            self.metrics = metrics

        def query_trades(self, symbol, start_ms, stop_ms, limit=None, after=None):
            return query.ask(QueryTrades(symbol, start_ms, stop_ms, limit, after), timeout=60)

    server = HttpServer(create_app(Facade.config, Facade()), "127.0.0.1", 0)
    server.start()
    try:
        user0, sys0 = _cpu()
        began = time.perf_counter()
        frames, cursor = [], None
        with requests.Session() as http:
            while True:
                params: dict[str, str | int] = {"symbol": SYMBOL, "start": START_MS, "end": end_ms, "limit": 10_000}
                if cursor:
                    params["cursor"] = cursor
                page = http.get(f"{server.url}/api/trades", params=params, timeout=60).json()
                frames.append(pd.DataFrame.from_records(page["trades"]))
                cursor = page["next_cursor"]
                if not cursor:
                    break
        frame = pd.concat(frames, ignore_index=True)
        seconds = time.perf_counter() - began
        user1, sys1 = _cpu()
    finally:
        server.close()
        query.stop()
        pykka.ActorRegistry.stop_all()
        db.close()
    return {"seconds": seconds, "user": user1 - user0, "system": sys1 - sys0, "peak_rss_mb": peak_rss_mb(),
            "trades": len(frame)}


def _child(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "tradeactors.bench.export", *args], capture_output=True,
                          text=True, env=os.environ.copy())
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(argv) -> int:
    parser = argparse.ArgumentParser(prog="tradeactors bench export",
                                     description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--hours", type=int, default=24, choices=range(1, 169), metavar="H",
                        help="hours of history at 100 trades/s (1..168, default 24)")
    parser.add_argument("--baseline-hours", type=float, default=2.0, metavar="B",
                        help="hours the baseline pages through (default 2; at most --hours), extrapolated")
    args = parser.parse_args(argv)
    baseline_hours = min(args.baseline_hours, args.hours)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"{tmp}/data/analytics")
        began = time.perf_counter()
        print(f"building {args.hours} h at {RATE} trades/s ...", flush=True)
        trades = build(args.hours, db)
        db.compact("trades")
        db.close()
        print(f"built in {time.perf_counter() - began:.0f}s", flush=True)
        end_ms = START_MS + args.hours * 3_600_000 - 1
        out = f"{tmp}/export.parquet"
        ours = _child("--ours", f"{tmp}/data", str(end_ms), out)
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(out).metadata
        assert meta.num_rows == trades, (meta.num_rows, trades)
        file_bytes = os.path.getsize(out)
        baseline_end = START_MS + int(baseline_hours * 3_600_000) - 1
        baseline = _child("--baseline", f"{tmp}/data", str(baseline_end))
    ours_rate = trades / ours["seconds"]
    base_rate = baseline["trades"] / baseline["seconds"]
    print(f"ours: {trades:,} trades to Parquet in {ours['seconds']:.1f}s = {ours_rate:,.0f} trades/s, "
          f"{file_bytes / trades:.2f} bytes/trade, {meta.num_row_groups} row groups, CPU user {ours['user']:.1f}s "
          f"system {ours['system']:.1f}s, peak RSS {ours['peak_rss_mb']:.0f} MB")
    print(f"baseline (/api/trades JSON pages into pandas, {baseline_hours:g} h = {baseline['trades']:,} trades): "
          f"{baseline['seconds']:.1f}s = {base_rate:,.0f} trades/s, CPU user {baseline['user']:.1f}s system "
          f"{baseline['system']:.1f}s, peak RSS {baseline['peak_rss_mb']:.0f} MB; "
          f"{args.hours} h extrapolated: {trades / base_rate:.0f}s")
    print(json.dumps({
        "bench": "export", "hours": args.hours, "trades": trades, "seconds": round(ours["seconds"], 2),
        "trades_per_second": round(ours_rate), "bytes_per_trade": round(file_bytes / trades, 2),
        "file_bytes": file_bytes, "row_groups": meta.num_row_groups,
        "user_cpu_seconds": round(ours["user"], 2), "system_cpu_seconds": round(ours["system"], 2),
        "peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "baseline_hours": baseline_hours, "baseline_trades": baseline["trades"],
        "baseline_seconds": round(baseline["seconds"], 2), "baseline_trades_per_second": round(base_rate),
        "baseline_extrapolated_seconds": round(trades / base_rate, 1),
        "baseline_user_cpu_seconds": round(baseline["user"], 2),
        "baseline_system_cpu_seconds": round(baseline["system"], 2),
        "baseline_peak_rss_mb": round(baseline["peak_rss_mb"], 1), "ratio": round(ours_rate / base_rate, 1),
    }))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--ours"]:
        print(json.dumps(measure_ours(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    elif sys.argv[1:2] == ["--baseline"]:
        print(json.dumps(measure_baseline(sys.argv[2], int(sys.argv[3]))))
