"""``tradeactors bench market``: the real service recording a whole market over TLS, each in its own process.

The simulator (``tradeactors simulate --market N --total-rate R --depth-rate D --tls``) makes N symbols with a
heavy-tailed activity profile; the service (``tradeactors start --symbols ALL``) finds them in exchangeInfo and
records them into a temporary data dir. Both are processes of their own, so that the service's CPU, RSS and
threads are read from ``/proc/<pid>`` alone (user and system apart, % of one core), as an operator would see them.

Phases: start -> every symbol connected (``connected_s``) and every book synced (``books_synced_s``), from
``/api/status?limit=1``'s summary; steady for ``--minutes`` (``/metrics`` scraped every ``--sample-interval``
seconds for the per-symbol store lag); a burst (activity x10) for ``--burst-seconds``; idle (activity 0) for
``--idle-seconds``, its CPU measured after it settles. Receive lag per phase: the p99 of the
``tradeactors_receive_lag_seconds`` histogram's bucket deltas between the phase's first and last scrape, reported
as the upper bound of the bucket holding the 99th percentile (``"+Inf"`` beyond the top bucket; null without
samples: readers that do not observe it). Then the market is paused, the service catches up and stops (SIGTERM,
exit 0) and its database is read back: every symbol's stored ids against the simulator's published ids.

Baseline, before the service starts (so they do not compete) at the steady rates: a bare websocket-client reader
in a subprocess, one thread per combined-stream connection of at most ``BASELINE_SYMBOLS_PER_CONNECTION`` symbols'
``@aggTrade`` and ``@depth@100ms``, parsing every frame with orjson; its CPU measured the same way.
``ratio`` = service steady CPU / baseline CPU.

Last line: one JSON object (see BENCHMARKS.md, "Whole market").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from tradeactors import storage
from tradeactors.simulator import SimulatorClient, spawn_simulator

BASELINE_SYMBOLS_PER_CONNECTION = 150
"""Symbols per baseline connection: 300 streams, a URL well under Binance's ~8 KB."""
RECEIVE_LAG = "tradeactors_receive_lag_seconds"
STORE_LAG = "tradeactors_store_lag_seconds"
_BUCKET = re.compile(rf'^{RECEIVE_LAG}_bucket{{le="([^"]+)"}} (\S+)$', re.M)
_STORE_LAG = re.compile(rf'^{STORE_LAG}{{symbol="([^"]+)"}} (\S+)$', re.M)
TICK = os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    """A progress line: a run lasts minutes, the operator should see where it is."""
    print(f"[market {time.strftime('%H:%M:%S')}] {text}", flush=True)


# --- a process as /proc sees it ----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of every thread of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def proc_status(pid: int) -> tuple[float, int]:
    """(VmRSS in MB, threads) of ``pid``."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "Threads"):
                values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0) / 1024, values.get("Threads", 0)


class CpuWindow:
    """CPU of a process over a window of wall time, as % of one core, user and system apart."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.t0 = time.monotonic()
        self.cpu0 = cpu_seconds(pid)

    def close(self) -> dict[str, float]:
        user, system = cpu_seconds(self.pid)
        elapsed = time.monotonic() - self.t0
        return {"user_pct": round(100 * (user - self.cpu0[0]) / elapsed, 2),
                "system_pct": round(100 * (system - self.cpu0[1]) / elapsed, 2), "seconds": round(elapsed, 1)}


# --- /metrics ----------------------------------------------------------------------------------------------------


def lag_buckets(text: str) -> dict[float, float]:
    """The receive-lag histogram's cumulative buckets ``{upper bound: count}`` (empty if it is not exposed)."""
    return {float(le): float(count) for le, count in _BUCKET.findall(text)}


def store_lags(text: str) -> dict[str, float]:
    """``{symbol: seconds}`` of the per-symbol store-lag gauge."""
    return {symbol: float(value) for symbol, value in _STORE_LAG.findall(text)}


def p99_bound(before: dict[float, float], after: dict[float, float]) -> tuple[float | str | None, int]:
    """(upper bound of the bucket holding the 99th percentile of what was observed between two scrapes, samples).
    Buckets are all a histogram keeps, so the bound is as fine as the answer gets; ``"+Inf"`` past the top bucket,
    None without samples."""
    bounds = sorted(after)
    if not bounds:
        return None, 0
    total = after[bounds[-1]] - before.get(bounds[-1], 0.0)
    if total <= 0:
        return None, 0
    for bound in bounds:
        if after[bound] - before.get(bound, 0.0) >= 0.99 * total:
            return (bound if bound != float("inf") else "+Inf"), int(total)
    return "+Inf", int(total)


# --- the service, as a process -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """``tradeactors start --symbols ALL`` against the simulator, with a data dir and HTTP port of its own. The
    environment's ``TRADEACTORS_*`` variables are left out, so that a shell's settings do not change the run."""

    def __init__(self, sim: SimulatorClient, data_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / "service.log"
        argv = [sys.executable, "-m", "tradeactors", "start", "--symbols", "ALL", "--ws-url", sim.ws_url,
                "--rest-url", sim.rest_url, "--data-dir", str(data_dir), "--http", f"127.0.0.1:{self.port}",
                "--log-level", "WARNING"]
        if sim.ca_file:
            argv += ["--ca-file", sim.ca_file]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEACTORS_")}
        self._log: IO[bytes] = open(self.log_path, "wb")  # noqa: SIM115 - open for the process's life
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.pid = self.proc.pid
        self.started = time.monotonic()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, path: str, timeout: float = 30.0) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=timeout) as resp:
            return bytes(resp.read())

    def get_json(self, path: str) -> dict[str, Any] | None:
        """The answer, or None while the HTTP server is not up yet or answers an error."""
        try:
            body: dict[str, Any] = json.loads(self.get(path))
            return body
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            return None

    def metrics(self, attempts: int = 3) -> str:
        """``/metrics``, asked again after a failure: one slow scrape on a loaded machine should not end a run
        of many minutes."""
        for _ in range(attempts - 1):
            try:
                return self.get("/metrics").decode()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if not self.alive():
                    raise
                time.sleep(1.0)
        return self.get("/metrics").decode()

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and the exit code (an orderly stop is 0); killed past ``timeout``."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --- the baseline: a bare websocket-client reader in a subprocess ------------------------------------------------


def baseline_main() -> int:
    """The baseline subprocess: symbols and URLs as JSON on stdin's first line; prints ``ready`` once every
    connection is open, reads until stdin's next line, then prints its counts as JSON."""
    import orjson
    import websocket

    from tradeactors.simulator.tls import client_context

    job = json.loads(sys.stdin.readline())
    context = client_context(job["ca_file"]) if job["ca_file"] else None
    symbols: list[str] = job["symbols"]
    per = job["per_connection"]
    counts: list[list[int]] = []
    sockets = []
    for i in range(0, len(symbols), per):
        streams = "/".join(f"{s.lower()}@{kind}" for s in symbols[i:i + per] for kind in ("aggTrade", "depth@100ms"))
        ws = websocket.create_connection(f"{job['ws_url']}/stream?streams={streams}", timeout=30,
                                         skip_utf8_validation=True,
                                         sslopt={"context": context} if context else None)
        ws.settimeout(None)
        sockets.append(ws)
        count = [0, 0]
        counts.append(count)

        def read(ws=ws, count=count) -> None:
            while True:
                try:
                    frame = ws.recv()
                except Exception:
                    return
                data = orjson.loads(frame)["data"]
                count[0 if data.get("e") == "aggTrade" else 1] += 1

        threading.Thread(target=read, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps({"connections": len(sockets), "trades": sum(c[0] for c in counts),
                      "diffs": sum(c[1] for c in counts)}), flush=True)
    return 0


def measure_baseline(sim: SimulatorClient, symbols: list[str], seconds: float) -> dict[str, Any]:
    """Run the baseline reader for ``seconds`` (after it connected) and measure its process."""
    code = "import sys; from tradeactors.bench.market import baseline_main; sys.exit(baseline_main())"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None  # PIPEs
    try:
        proc.stdin.write(json.dumps({"ws_url": sim.ws_url, "ca_file": sim.ca_file, "symbols": symbols,
                                     "per_connection": BASELINE_SYMBOLS_PER_CONNECTION}) + "\n")
        proc.stdin.flush()
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the baseline reader did not start (exit code {proc.poll()})")
        window = CpuWindow(proc.pid)
        time.sleep(seconds)
        cpu = window.close()
        rss, threads = proc_status(proc.pid)
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        counts = json.loads(proc.stdout.readline())
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {**cpu, **counts, "rss_mb": round(rss, 1), "threads": threads,
            "trades_per_s": round(counts["trades"] / cpu["seconds"], 1),
            "diffs_per_s": round(counts["diffs"] / cpu["seconds"], 1)}


# --- the run -----------------------------------------------------------------------------------------------------


def sim_last_ids(sim: SimulatorClient) -> dict[str, int | None]:
    return {s: v["last_trade_id"] for s, v in sim.state()["symbols"].items()}


def sim_made(sim: SimulatorClient) -> tuple[int, int]:
    """(aggTrades made, depth diffs sent) so far, all symbols."""
    parts = sim.state()["symbols"].values()
    return sum(p["trades"] for p in parts), sum(p["depth_updates_sent"] for p in parts)


def start_up(service: ServiceProcess, sim: SimulatorClient, n: int, timeout: float) -> dict[str, Any]:
    """Seconds from the start until every symbol is connected and until every book is synced (None: not within
    ``timeout``), polling the status summary every second; and each symbol's last published id when every symbol
    was connected (or at the timeout): from there on the service must have every trade."""
    connected_s = synced_s = None
    at_connected: dict[str, int | None] | None = None
    summary: dict[str, Any] = {}
    deadline = service.started + timeout
    next_report = time.monotonic() + 15
    while time.monotonic() < deadline and (connected_s is None or synced_s is None):
        if not service.alive():
            raise RuntimeError(f"the service exited ({service.proc.returncode}):\n{service.log_tail()}")
        body = service.get_json("/api/status?limit=1")
        now = time.monotonic() - service.started
        if body is not None:
            summary = body["summary"]
            streams, books = summary["streams"], summary["books"]
            if summary["symbols"] >= n:
                if connected_s is None and streams["connected"] + streams["stalled"] >= n:
                    connected_s = round(now, 1)
                    at_connected = sim_last_ids(sim)
                    say(f"all {n} symbols connected after {connected_s} s")
                if synced_s is None and books.get("synced", 0) >= n:
                    synced_s = round(now, 1)
                    say(f"all {n} books synced after {synced_s} s")
        if time.monotonic() >= next_report:
            next_report += 15
            if summary:
                say(f"{now:.0f} s: {summary['symbols']} symbols, streams {summary['streams']}, books "
                    f"{summary['books']}")
        time.sleep(1.0)
    return {"connected_s": connected_s, "books_synced_s": synced_s, "summary": summary,
            "at_connected": at_connected if at_connected is not None else sim_last_ids(sim)}


def timed_phase(service: ServiceProcess, sim: SimulatorClient, seconds: float, interval: float,
                on_sample: Callable[[str], None] | None = None) -> dict[str, Any]:
    """CPU, receive lag and what the simulator made over ``seconds``, with ``/metrics`` scraped every ``interval``
    seconds (``on_sample`` gets each scrape); RSS and threads at every scrape."""
    first = service.metrics()
    made0, window = sim_made(sim), CpuWindow(service.pid)
    end = time.monotonic() + seconds
    rss: list[float] = []
    last = first
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))
        if not service.alive():
            raise RuntimeError(f"the service exited ({service.proc.returncode}):\n{service.log_tail()}")
        mb, threads = proc_status(service.pid)
        rss.append(mb)
        if on_sample is not None:
            last = service.metrics()
            on_sample(last)
    cpu = window.close()
    made1 = sim_made(sim)
    if on_sample is None:
        last = service.metrics()  # after the window: a scrape is not the phase's own cost
    lag, samples = p99_bound(lag_buckets(first), lag_buckets(last))
    mb, threads = proc_status(service.pid)
    rss.append(mb)
    return {**cpu, "recv_lag_p99_s": lag, "recv_lag_samples": samples, "rss_mb_max": round(max(rss), 1),
            "threads": threads, "trades_per_s": round((made1[0] - made0[0]) / cpu["seconds"], 1),
            "diffs_per_s": round((made1[1] - made0[1]) / cpu["seconds"], 1)}


def caught_up(service: ServiceProcess, last: dict[str, int | None]) -> bool:
    """Every trade the simulator published is received and stored, with no open hole."""
    body = service.get_json("/api/status")
    if body is None or "error" in body.get("storage", {}):
        return False
    stored, holes = body["storage"]["stored_ids"], body["storage"]["holes"]
    for symbol, last_id in last.items():
        if last_id is None:
            continue
        received = body["symbols"].get(symbol, {}).get("last_trade_id") or 0
        ranges = stored.get(symbol) or []
        if received < last_id or not ranges or ranges[-1][1] < last_id or holes.get(symbol):
            return False
    return True


def completeness(db_path: Path, sim: SimulatorClient, symbols: list[str],
                 at_connected: dict[str, int | None]) -> dict[str, int]:
    """Stored ids against published ids, every symbol. Expected: every id published after all symbols were
    connected (``at_connected``: each symbol's last id then), and every id from the first one stored (earlier
    ones the service could not have seen). Duplicated: ids stored more than once (in two chunks; RocksDB keys are
    per chunk, not per id)."""
    lost = duplicated = stored = 0
    db = storage.Database(db_path)
    try:
        for symbol in symbols:
            ids = storage.trade_ids(db, symbol)
            published = sim.published_ids(symbol)
            after = at_connected.get(symbol)
            start = (after + 1) if after is not None else (int(published[0]) if len(published) else 0)
            if len(ids):
                start = min(start, int(ids[0]))
            expected = published[published >= start]
            unique = np.unique(ids)
            duplicated += int(len(ids) - len(unique))
            lost += len(np.setdiff1d(expected, unique, assume_unique=True))
            stored += len(unique)
    finally:
        db.close()
    return {"stored": stored, "lost": lost, "duplicated": duplicated}


def run_market(args: argparse.Namespace) -> dict[str, Any]:
    """Every phase (see the module docstring); the service stops before its data dir goes."""
    with tempfile.TemporaryDirectory(prefix="bench-market-") as tmp:
        sim = spawn_simulator(["--market", str(args.symbols), "--total-rate", str(args.total_rate),
                               "--depth-rate", str(args.depth_rate), "--seed", str(args.seed), "--tls"])
        assert sim.process is not None
        service: ServiceProcess | None = None
        try:
            symbols = list(sim.state()["symbols"])
            say(f"simulator pid {sim.process.pid}: {len(symbols)} symbols at {sim.ws_url}, {args.total_rate:g} "
                f"aggTrades/s and {args.depth_rate:g} diffs/s in all")
            baseline = None
            if args.baseline:
                say(f"baseline: bare websocket-client reader, {args.baseline_seconds:g} s")
                baseline = measure_baseline(sim, symbols, args.baseline_seconds)
                say(f"baseline: CPU user {baseline['user_pct']} % system {baseline['system_pct']} % of a core, "
                    f"{baseline['connections']} connections, {baseline['trades_per_s']} trades/s "
                    f"{baseline['diffs_per_s']} diffs/s received")
            data_dir = Path(tmp) / "data"
            service = ServiceProcess(sim, data_dir)
            say(f"service pid {service.pid} on {service.base}; waiting for connections and books "
                f"(at most {args.connect_timeout:g} s)")
            startup = start_up(service, sim, len(symbols), args.connect_timeout)
            connections = sim.state()["connections"]

            worst: dict[str, list[float]] = {}

            def sample_store_lag(text: str) -> None:
                for symbol, value in store_lags(text).items():
                    worst.setdefault(symbol, []).append(value)

            say(f"steady for {args.minutes:g} min ({connections} connections at the simulator)")
            steady = timed_phase(service, sim, args.minutes * 60, args.sample_interval, sample_store_lag)
            say(f"steady: CPU user {steady['user_pct']} % system {steady['system_pct']} %, RSS {steady['rss_mb_max']} "
                f"MB, {steady['threads']} threads, receive lag p99 {steady['recv_lag_p99_s']} s")
            sim.set_activity(10)
            say(f"burst x10 for {args.burst_seconds:g} s")
            burst = timed_phase(service, sim, args.burst_seconds, args.sample_interval)
            say(f"burst: CPU user {burst['user_pct']} % system {burst['system_pct']} %, receive lag p99 "
                f"{burst['recv_lag_p99_s']} s")
            sim.set_activity(0)
            settle = min(10.0, args.idle_seconds / 2)
            say(f"idle for {args.idle_seconds:g} s (measured after {settle:g} s)")
            time.sleep(settle)
            idle = timed_phase(service, sim, args.idle_seconds - settle, args.sample_interval)
            say(f"idle: CPU user {idle['user_pct']} % system {idle['system_pct']} %")

            sim.pause()
            last = sim_last_ids(sim)
            done = wait_until(lambda: caught_up(service, last), args.catch_up_timeout, interval=2.0)
            say(f"market paused; service caught up: {done}")
            exit_code = service.stop()
            say(f"service stopped, exit code {exit_code}")
            checked = completeness(data_dir / "analytics", sim, symbols, startup["at_connected"])
            violations = sim.limit_violations()
        finally:
            if service is not None:
                service.stop()
            sim.close()

    lags = [float(np.percentile(v, 99)) for v in worst.values() if v]
    steady_cpu = steady["user_pct"] + steady["system_pct"]
    base_cpu = baseline["user_pct"] + baseline["system_pct"] if baseline else None
    return {
        "bench": "market", "symbols": len(symbols), "transport": "tls", "minutes": args.minutes,
        "cpu_user_pct": steady["user_pct"], "cpu_system_pct": steady["system_pct"],
        "burst_cpu_pct": round(burst["user_pct"] + burst["system_pct"], 2),
        "burst_cpu_user_pct": burst["user_pct"], "burst_cpu_system_pct": burst["system_pct"],
        "idle_cpu_pct": round(idle["user_pct"] + idle["system_pct"], 2),
        "rss_mb": max(steady["rss_mb_max"], burst["rss_mb_max"], idle["rss_mb_max"]), "threads": steady["threads"],
        "connected_s": startup["connected_s"], "books_synced_s": startup["books_synced_s"],
        "recv_lag_p99_s": steady["recv_lag_p99_s"], "recv_lag_samples": steady["recv_lag_samples"],
        "burst_recv_lag_p99_s": burst["recv_lag_p99_s"], "burst_recv_lag_samples": burst["recv_lag_samples"],
        "store_lag_p99_s": round(max(lags), 3) if lags else None,
        "lost": checked["lost"], "duplicated": checked["duplicated"], "stored": checked["stored"],
        "caught_up": done, "exit_code": exit_code, "service_connections": connections,
        "limit_violations": violations,
        "trades_per_s": steady["trades_per_s"], "diffs_per_s": steady["diffs_per_s"],
        "burst_trades_per_s": burst["trades_per_s"], "burst_diffs_per_s": burst["diffs_per_s"],
        "baseline_cpu_pct": round(base_cpu, 2) if base_cpu is not None else None,
        "baseline_cpu_user_pct": baseline["user_pct"] if baseline else None,
        "baseline_cpu_system_pct": baseline["system_pct"] if baseline else None,
        "baseline_connections": baseline["connections"] if baseline else None,
        "ratio": round(steady_cpu / base_cpu, 2) if base_cpu else None,
        "startup_summary": {k: startup["summary"].get(k) for k in ("streams", "books")},
        "cpus": os.cpu_count(),
    }


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tradeactors bench market",
                                     description=(__doc__ or "").splitlines()[0].replace("``", ""))
    parser.add_argument("--symbols", type=int, default=1500, help="symbols in the market (default 1500)")
    parser.add_argument("--minutes", type=float, default=10.0, help="steady phase (default 10)")
    parser.add_argument("--burst-seconds", type=float, default=60.0, help="activity x10 (default 60)")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="activity 0 (default 60)")
    parser.add_argument("--total-rate", type=float, default=500.0, help="aggTrades/s in all (default 500)")
    parser.add_argument("--depth-rate", type=float, default=5000.0, help="depth diffs/s in all (default 5000)")
    parser.add_argument("--baseline-seconds", type=float, default=60.0, help="baseline reader (default 60)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="skip the baseline (for the test only: a benchmark run must measure it)")
    parser.add_argument("--connect-timeout", type=float, default=1800.0,
                        help="seconds to wait for every symbol connected and every book synced (default 1800: "
                             "Binance's 300 connection attempts per 5 minutes make 1,500 per-symbol connections "
                             "take some 25 minutes)")
    parser.add_argument("--catch-up-timeout", type=float, default=120.0,
                        help="seconds for the service to store every published trade after the pause (default 120)")
    parser.add_argument("--sample-interval", type=float, default=15.0,
                        help="seconds between /metrics scrapes (15: a usual Prometheus scrape interval; each scrape "
                             "of 1,500 symbols' series is part of the steady CPU, as in production)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.symbols < 1 or args.minutes <= 0 or args.burst_seconds <= 0 or args.idle_seconds <= 0:
        parser.error("--symbols, --minutes, --burst-seconds and --idle-seconds must be positive")
    print(json.dumps(run_market(args)))
    return 0
