"""Benchmark: how many frames per second the simulator publishes to one loopback client.

Starts ``python -m tradeactors.simulator --rate max`` (one symbol) in its own process, then receives for a few
seconds with (1) a raw-socket client that parses WebSocket frame headers in bulk (so the client is not the
bottleneck: this is the headline figure), and (2) a plain ``websocket-client`` loop with
``skip_utf8_validation=True`` (what a typical consumer gets). The bar: >= 100,000 frames/s.

    python -m tradeactors.bench.simulator [--seconds 5] [--symbol BTCUSDT]

The last line printed is one JSON object: ``{"bench": "simulator", "frames": N, "seconds": S,
"frames_per_s": X, "websocket_client_frames_per_s": Y, ...}``.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import sys
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


def raw_socket_client(url: str, seconds: float, context=None) -> tuple[int, float, int]:
    """Count whole frames for ``seconds``; returns (frames, elapsed, bytes)."""
    sock, rest = _handshake(url, context)
    frames = total = 0
    buf = bytearray(rest)
    start = time.perf_counter()
    deadline = start + seconds
    pos = 0
    while time.perf_counter() < deadline:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        buf += chunk
        n = len(buf)
        while pos + 2 <= n:
            b1 = buf[pos + 1] & 0x7F
            if b1 < 126:
                head, length = 2, b1
            elif b1 == 126:
                if pos + 4 > n:
                    break
                head, length = 4, int.from_bytes(buf[pos + 2:pos + 4], "big")
            else:
                if pos + 10 > n:
                    break
                head, length = 10, int.from_bytes(buf[pos + 2:pos + 10], "big")
            end = pos + head + length
            if end > n:
                break
            if buf[pos] & 0x0F == 0x9:
                _pong(sock, bytes(buf[pos + head:end]))
            else:
                frames += 1
            pos = end
        del buf[:pos]
        pos = 0
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


def run(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="tradeactors bench simulator", description=__doc__.splitlines()[0].replace("``", ""))
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--symbol", default="BTCUSDT")
    p.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                   help="wss:// with one TLS record per message, as Binance (default); --no-tls: ws://")
    args = p.parse_args(argv)
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
