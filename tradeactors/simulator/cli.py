"""``simulate``: run the simulator in the foreground until SIGTERM/SIGINT (then exit 0).

Prints one line once bound, flushed, for whoever started us (``spawn_simulator`` waits for it)::

    simulator listening on wss://127.0.0.1:PORT (rest https://127.0.0.1:PORT, ca /tmp/.../ca.pem)
    simulator listening on ws://127.0.0.1:PORT (rest http://127.0.0.1:PORT)              # with --no-tls

TLS is the default because Binance speaks nothing else; ``--no-tls`` is for callers that want plaintext.
"""
from __future__ import annotations

import argparse
import logging
import signal
import threading

from . import captures
from .server import Simulator
from .symbols import spec_for


def _rate(text: str):
    if text == "max":
        return "max"
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("rate must be >= 0 or 'max'")
    return value


def _symbols(text: str) -> list[str]:
    try:
        return [spec_for(s.strip()).symbol for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradeactors simulate",
                                description="Binance spot market-data simulator on loopback")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port (printed)")
    p.add_argument("--symbols", type=_symbols, default=["BTCUSDT", "ETHUSDT"], help="comma separated")
    p.add_argument("--rate", type=_rate, default=10.0, help="taker orders per second per symbol, or 'max'")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--market", type=_count, metavar="N",
                   help="a whole market of N symbols (BTCUSDT, ETHUSDT, ... realistic names over USDT, USDC, FDUSD, "
                        "BTC, TRY, ...) with a heavy-tailed activity profile; --symbols and --rate are then unused")
    p.add_argument("--trade-rate", "--total-rate", type=_non_negative, metavar="R",
                   help="with --market: aggTrades per second in all (default 1500)")
    p.add_argument("--depth-rate", type=_non_negative, metavar="D",
                   help="with --market: depth diffs per second in all (default 6000, at most 10 per symbol)")
    p.add_argument("--enforce-limits", action=argparse.BooleanOptionalAction, default=True,
                   help="answer a crossed Binance WebSocket limit as Binance does (default), or only count it")
    p.add_argument("--replay", nargs="*", metavar="FILE",
                   help="capture files to replay instead of trading; none: the bundled real 2024 BTCUSDT and "
                        "ETHUSDT captures")
    p.add_argument("--original-times", action="store_true",
                   help="send the recorded times (default: every time moved to now, the originals in /_sim/state)")
    p.add_argument("--loop", action="store_true",
                   help="replay the capture again at its end, ids moved on by its span (clients re-sync at the seam)")
    p.add_argument("--replay-speed", type=lambda t: "max" if t == "max" else _positive(t), default=1.0)
    p.add_argument("--replay-start", choices=["first_client", "immediate"], default="first_client")
    p.add_argument("--ping-interval", type=_positive, default=20.0)
    p.add_argument("--pong-timeout", type=_positive, default=60.0)
    p.add_argument("--lifetime", type=_positive, default=86400.0)
    p.add_argument("--shutdown-grace", type=float, default=5.0)
    p.add_argument("--weight-budget", type=int, default=6000)
    p.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                   help="serve wss:// and https:// with a CA made at start (default), or plaintext")
    p.add_argument("--ca-file", metavar="PATH",
                   help="write the CA certificate (PEM) here, kept after exit (default: a temp file removed at exit)")
    p.add_argument("--log-level", default="WARNING")
    return p


def listening_line(sim: Simulator) -> str:
    """What we print once bound; ``client.spawn_simulator`` parses it."""
    ca = f", ca {sim.ca_file}" if sim.ca_file else ""
    return f"simulator listening on {sim.ws_url} (rest {sim.rest_url}{ca})"


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.ca_file and not args.tls:
        p.error("--ca-file needs TLS (drop --no-tls)")
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    if args.market is not None and args.replay is not None:
        p.error("--market makes a synthetic market: drop --replay")
    replay = args.replay
    if replay is not None and not replay:
        replay = [str(f) for symbol in ("BTCUSDT", "ETHUSDT") for f in captures.capture_2024_files(symbol)]
    sim = Simulator(symbols=args.symbols, rate=args.rate, seed=args.seed, replay=replay, host=args.host,
                    port=args.port, ping_interval=args.ping_interval, pong_timeout=args.pong_timeout,
                    lifetime=args.lifetime, shutdown_grace=args.shutdown_grace, weight_budget=args.weight_budget,
                    replay_speed=args.replay_speed, replay_start=args.replay_start, tls=args.tls,
                    ca_file=args.ca_file, replay_live=not args.original_times, replay_loop=args.loop,
                    market=args.market, trade_rate=args.trade_rate, depth_rate=args.depth_rate,
                    enforce_limits=args.enforce_limits)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sim.start()
    print(listening_line(sim), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0
