"""Benchmark: how many frames per second the simulator publishes to one loopback client.

Starts ``python -m tradeactors.simulator --rate max`` (one symbol) in its own process, then receives for a few
seconds with (1) a raw-socket client that parses WebSocket frame headers in bulk (so the client is not the
bottleneck: this is the headline figure), and (2) a plain ``websocket-client`` loop with
``skip_utf8_validation=True`` (what a typical consumer gets). The bar: >= 100,000 frames/s.

    python -m tradeactors.bench.simulator [--seconds 5] [--symbol BTCUSDT]

The last line printed is one JSON object: ``{"bench": "simulator", "frames": N, "seconds": S,
"frames_per_s": X, "websocket_client_frames_per_s": Y, ...}``.

``--market N`` measures something else: what a whole market costs the simulator's own process. It runs
``tradeactors simulate --market N --trade-rate R --depth-rate D`` (TLS), opens ``--connections`` combined
connections that together carry every symbol's ``@aggTrade`` and ``@depth@100ms`` (each as many streams as fit in
an 8 KB URL, the rest by SUBSCRIBE messages under 4 KB, at most 1024 a connection) and reads them with raw TLS
sockets (pongs answered). Then, from ``/proc/<pid>/stat`` (user and system apart, % of one core): idle (activity
0: the symbols, the connections, no trades), steady (the rates asked for) and a burst (x10). The last line:
``{"bench": "simulator", "mode": "market", "symbols", "connections", "idle_cpu_user_pct",
"idle_cpu_system_pct", "cpu_user_pct", "cpu_system_pct", "burst_cpu_user_pct", "burst_cpu_system_pct",
"trades_per_s", "diffs_per_s", "burst_trades_per_s", "burst_diffs_per_s", "rss_mb", "threads",
"limit_violations"}``.

    python -m tradeactors.bench.simulator --market 1500 [--trade-rate 500] [--depth-rate 5000] [--connections 4]
        [--idle-seconds 20] [--seconds 30] [--burst-seconds 20]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

import websocket

from tradeactors.simulator import spawn_simulator


def _handshake(url: str, context=None) -> tuple[socket.socket, bytes]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname=parts.hostname)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                 .encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.decode(errors="replace"))
    return sock, rest


def _pong(sock: socket.socket, payload: bytes) -> None:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes((0x8A, 0x80 | len(payload))) + mask + masked)


def _split_frames(buf: bytearray, sock: socket.socket) -> tuple[list[tuple[int, int]], int]:
    """The (start, end) of the payload of every whole frame at the front of ``buf`` but pings (answered with a pong
    at once), and how many bytes those frames take. The benchmark's own reader: it must cost less than what it
    measures, so it looks at headers only."""
    spans: list[tuple[int, int]] = []
    pos, n = 0, len(buf)
    while pos + 2 <= n:
        b1 = buf[pos + 1] & 0x7F
        head, length = 2, b1
        if b1 == 126:
            if pos + 4 > n:
                break
            head, length = 4, int.from_bytes(buf[pos + 2:pos + 4], "big")
        elif b1 == 127:
            if pos + 10 > n:
                break
            head, length = 10, int.from_bytes(buf[pos + 2:pos + 10], "big")
        end = pos + head + length
        if end > n:
            break
        if buf[pos] & 0x0F == 0x9:
            _pong(sock, bytes(buf[pos + head:end]))
        else:
            spans.append((pos + head, end))
        pos = end
    return spans, pos


def raw_socket_client(url: str, seconds: float, context=None) -> tuple[int, float, int]:
    """Count whole frames for ``seconds``; returns (frames, elapsed, bytes)."""
    sock, rest = _handshake(url, context)
    frames = total = 0
    buf = bytearray(rest)
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        buf += chunk
        spans, taken = _split_frames(buf, sock)
        frames += len(spans)
        del buf[:taken]
    elapsed = time.perf_counter() - start
    sock.close()
    return frames, elapsed, total


def websocket_client_loop(url: str, seconds: float, context=None) -> tuple[int, float]:
    ws = websocket.create_connection(url, timeout=10, skip_utf8_validation=True,
                                     sslopt={"context": context} if context is not None else None)
    frames = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        ws.recv()
        frames += 1
    elapsed = time.perf_counter() - start
    ws.close(timeout=0.2)
    return frames, elapsed


def _send_text(sock, text: str) -> None:
    """One masked client text frame (a client must mask, RFC 6455 5.3)."""
    payload = text.encode()
    n = len(payload)
    head = bytes((0x81, 0x80 | n)) if n < 126 else bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    mask = os.urandom(4)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    sock.sendall(head + mask + (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big"))


class MarketReader:
    """One combined connection carrying ``streams``, read by a thread that counts aggTrade and depth frames."""

    def __init__(self, ws_url: str, streams: list[str], context) -> None:
        url: list[str] = []
        rest = list(streams)
        while rest and len("/stream?streams=" + "/".join([*url, rest[0]])) < 8000:
            url.append(rest.pop(0))
        self.sock, self.buf = _handshake(f"{ws_url}/stream?streams={'/'.join(url)}", context)
        self.frames = self.trades = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        chunks: list[list[str]] = []
        current: list[str] = []
        for name in rest:
            if len(json.dumps({"method": "SUBSCRIBE", "params": [*current, name], "id": 0})) > 4000:
                chunks.append(current)
                current = []
            current.append(name)
        chunks += [current] if current else []
        if len(chunks) > 4:
            raise ValueError("too many SUBSCRIBE messages for one second: use more --connections")
        for i, params in enumerate(chunks):
            _send_text(self.sock, json.dumps({"method": "SUBSCRIBE", "params": params, "id": i}))
        self.thread = threading.Thread(target=self._read, name="market-reader", daemon=True)
        self.thread.start()

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.frames, self.trades

    def _read(self) -> None:
        sock, buf = self.sock, bytearray(self.buf)
        sock.settimeout(0.5)
        while not self._stop.is_set():
            try:
                chunk = sock.recv(1 << 20)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            spans, taken = _split_frames(buf, sock)
            frames = len(spans)
            trades = sum(1 for begin, _end in spans if buf.find(b"@aggTrade", begin, begin + 64) >= 0)
            del buf[:taken]
            with self._lock:
                self.frames += frames
                self.trades += trades

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))


def _market_counts(client) -> tuple[int, int, int]:
    """(aggTrades made, depth diffs sent, ticks) so far, from the simulator's own state."""
    state = client.state()
    parts = state["symbols"].values()
    return sum(p["trades"] for p in parts), sum(p["depth_updates_sent"] for p in parts), state["market"]["ticks"]


def _phase(client, pid: int, readers: list[MarketReader], factor: float, seconds: float) -> dict:
    """CPU of the simulator process, what it made and what the clients received over ``seconds`` at activity
    ``factor``. Rates are the simulator's own counts: a Python client may fall behind a burst."""
    client.set_activity(factor)
    time.sleep(min(2.0, seconds / 4))  # let the new rate settle before measuring
    made0, counts0, cpu0, t0 = _market_counts(client), [r.counts() for r in readers], _cpu_seconds(pid), \
        time.monotonic()
    time.sleep(seconds)
    cpu1, t1, counts1, made1 = _cpu_seconds(pid), time.monotonic(), [r.counts() for r in readers], \
        _market_counts(client)
    elapsed = t1 - t0
    received = sum(b[0] - a[0] for a, b in zip(counts0, counts1))
    return {"user_pct": round(100 * (cpu1[0] - cpu0[0]) / elapsed, 2),
            "system_pct": round(100 * (cpu1[1] - cpu0[1]) / elapsed, 2),
            "trades_per_s": round((made1[0] - made0[0]) / elapsed, 1),
            "diffs_per_s": round((made1[1] - made0[1]) / elapsed, 1),
            "ticks_per_s": round((made1[2] - made0[2]) / elapsed, 1),
            "received_per_s": round(received / elapsed, 1)}


def run_market(args) -> int:
    """The ``--market N`` mode (see the module docstring)."""
    client = spawn_simulator(["--market", str(args.market), "--trade-rate", str(args.trade_rate),
                              "--depth-rate", str(args.depth_rate)])
    assert client.process is not None
    pid = client.process.pid
    readers: list[MarketReader] = []
    try:
        client.set_activity(0)
        symbols = [s.lower() for s in client.state()["symbols"]]
        streams = [f"{s}@{kind}" for s in symbols for kind in ("aggTrade", "depth@100ms")]
        per = -(-len(streams) // args.connections)
        if per > 1024:
            raise SystemExit(f"{len(streams)} streams need at least {-(-len(streams) // 1024)} connections")
        context = client.client_ssl_context()
        for i in range(args.connections):
            readers.append(MarketReader(client.ws_url, streams[i * per:(i + 1) * per], context))
            time.sleep(1.0)  # each connection's SUBSCRIBE messages in their own second (5 messages/s/IP is not a
            # Binance rule, but it keeps the bench far from any limit)
        idle = _phase(client, pid, readers, 0, args.idle_seconds)
        steady = _phase(client, pid, readers, 1, args.seconds)
        burst = _phase(client, pid, readers, 10, args.burst_seconds)
        rss_mb, threads = _status(pid, "VmRSS") / 1024, _status(pid, "Threads")
        violations = client.limit_violations()
    finally:
        for reader in readers:
            reader.close()
        client.close()
    for name, phase in (("idle", idle), ("steady", steady), ("burst x10", burst)):
        print(f"{name:>9}: simulator CPU user {phase['user_pct']:6.2f} % system {phase['system_pct']:6.2f} % of a "
              f"core; made {phase['trades_per_s']:7,.0f} aggTrades/s {phase['diffs_per_s']:7,.0f} diffs/s "
              f"({phase['ticks_per_s']:.1f} ticks/s); clients received {phase['received_per_s']:7,.0f} frames/s")
    print(f"simulator RSS {rss_mb:.0f} MB, {threads} threads; limit violations {violations}")
    print(json.dumps({"bench": "simulator", "mode": "market", "transport": "tls", "symbols": len(symbols),
                      "connections": args.connections, "streams": len(streams),
                      "idle_cpu_user_pct": idle["user_pct"], "idle_cpu_system_pct": idle["system_pct"],
                      "cpu_user_pct": steady["user_pct"], "cpu_system_pct": steady["system_pct"],
                      "burst_cpu_user_pct": burst["user_pct"], "burst_cpu_system_pct": burst["system_pct"],
                      "trades_per_s": steady["trades_per_s"], "diffs_per_s": steady["diffs_per_s"],
                      "burst_trades_per_s": burst["trades_per_s"], "burst_diffs_per_s": burst["diffs_per_s"],
                      "idle_trades_per_s": idle["trades_per_s"], "ticks_per_s": steady["ticks_per_s"],
                      "burst_ticks_per_s": burst["ticks_per_s"], "received_per_s": steady["received_per_s"],
                      "burst_received_per_s": burst["received_per_s"], "rss_mb": round(rss_mb, 1), "threads": threads,
                      "limit_violations": violations, "cpus": os.cpu_count()}))
    return 0


def run(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="tradeactors bench simulator", description=__doc__.splitlines()[0].replace("``", ""))
    p.add_argument("--seconds", type=float, default=None, help="measured seconds (5; --market: steady phase, 30)")
    p.add_argument("--symbol", default="BTCUSDT")
    p.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                   help="wss:// with one TLS record per message, as Binance (default); --no-tls: ws://")
    p.add_argument("--market", type=int, metavar="N", help="measure a whole market of N symbols instead")
    p.add_argument("--trade-rate", type=float, default=500.0, help="--market: aggTrades/s in all")
    p.add_argument("--depth-rate", type=float, default=5000.0, help="--market: depth diffs/s in all")
    p.add_argument("--connections", type=int, default=4, help="--market: combined connections")
    p.add_argument("--idle-seconds", type=float, default=20.0)
    p.add_argument("--burst-seconds", type=float, default=20.0)
    args = p.parse_args(argv)
    if args.market is not None:
        args.seconds = 30.0 if args.seconds is None else args.seconds
        return run_market(args)
    args.seconds = 5.0 if args.seconds is None else args.seconds
    client = spawn_simulator(["--port", "0", "--symbols", args.symbol, "--rate", "max",
                              "--tls" if args.tls else "--no-tls"])
    context = client.client_ssl_context() if args.tls else None
    try:
        url = f"{client.ws_url}/ws/{args.symbol.lower()}@aggTrade"
        frames, elapsed, nbytes = raw_socket_client(url, args.seconds, context)
        fps = frames / elapsed
        print(f"raw-socket client:       {frames:>10,} frames in {elapsed:.2f} s = {fps:>10,.0f} frames/s "
              f"({nbytes / elapsed / 1e6:.1f} MB/s, {nbytes / max(frames, 1):.0f} B/frame)")
        wc_frames, wc_elapsed = websocket_client_loop(url, args.seconds, context)
        wc_fps = wc_frames / wc_elapsed
        print(f"websocket-client (skip_utf8_validation): {wc_frames:,} frames in {wc_elapsed:.2f} s "
              f"= {wc_fps:,.0f} frames/s")
        trades = client.state()["symbols"][args.symbol]["trades"]
    finally:
        client.close()
    print(f"bar: >= 100,000 frames/s to one loopback client: {'met' if fps >= 100_000 else 'NOT met'}")
    print(json.dumps({"bench": "simulator", "transport": "tls" if args.tls else "plain", "frames": frames,
                      "seconds": round(elapsed, 3),
                      "frames_per_s": round(fps), "bytes_per_s": round(nbytes / elapsed),
                      "websocket_client_frames": wc_frames,
                      "websocket_client_frames_per_s": round(wc_fps), "trades_generated": trades,
                      "bar_frames_per_s": 100_000, "cpus": os.cpu_count()}))
    return 0


if __name__ == "__main__":
    sys.exit(run())
