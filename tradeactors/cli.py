"""Command line: ``tradeactors start | demo | simulate | bench``.

Exit codes: 0 after an orderly stop; 2 bad configuration (or bad command line); 1 any other fatal failure.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from tradeactors import config as configuration
from tradeactors import logsetup
from tradeactors._version import __version__

log = logging.getLogger("tradeactors")

BENCHMARKS = ("simulator", "ingest", "book", "query", "export", "analytics", "web", "market")
REPLAY_SYMBOLS = ("BTCUSDT", "ETHUSDT")
"""The symbols of the bundled real captures that ``demo --replay`` replays."""
SUBPROGRAMS = {"mcp": "tradeactors.mcp.cli", "export": "tradeactors.export.cli"}
"""Subcommands with options of their own: each module's ``main(argv)`` parses them and returns the exit code."""
EXIT_CONFIG = 2
"""Bad configuration or command line: supervisord goes FATAL instead of restarting in a loop."""


def _service_options(parser: argparse.ArgumentParser) -> None:
    """``--config`` and one option per configuration key that has a metavar, help and default from the schema."""
    parser.add_argument("--config", metavar="FILE", help="INI configuration file (see etc/tradeactors.ini)")
    for key in configuration.command_line_keys():
        option = configuration.SCHEMA[key]
        default = f" (default {option.default})" if option.default else ""
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, metavar=option.metavar,
                            help=f"{option.help}{default}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradeactors",
        description="Records Binance spot trades and order books into RocksDB and answers analytics over them.")
    parser.add_argument("--version", action="version", version=f"tradeactors {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    start = sub.add_parser("start", help="run the service in the foreground")
    _service_options(start)

    demo = sub.add_parser("demo", help="run the service on the built-in exchange simulator (no network)")
    _service_options(demo)
    demo.add_argument("--rate", type=float, default=20.0, help="simulated trades per second per symbol (default 20)")
    demo.add_argument("--sim-port", type=int, default=0, help="simulator port (default: any free port)")
    demo.add_argument("--replay", action="store_true",
                      help="replay the bundled real 2024 BTCUSDT and ETHUSDT captures instead of a synthetic market: "
                           "moved to now and looped (the symbols become BTCUSDT,ETHUSDT)")
    demo.add_argument("--replay-speed", type=float, default=1.0, help="replay speed, 1 = as recorded (default 1)")
    demo.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True,
                      help="the simulator speaks wss:// and https:// with a CA made at start, as Binance speaks TLS "
                           "(default); --no-tls: plaintext ws:// and http://")

    sub.add_parser("simulate", help="run the exchange simulator alone (see `tradeactors simulate --help`)",
                   add_help=False)
    sub.add_parser("mcp", help="serve the analytics to assistants over MCP (see `tradeactors mcp --help`)",
                   add_help=False)
    sub.add_parser("export", help="export trades or book seconds to Parquet or CSV (see `tradeactors export --help`)",
                   add_help=False)

    bench = sub.add_parser("bench", help="run a benchmark", add_help=False)
    bench.add_argument("name", choices=BENCHMARKS)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, str | None]:
    return {key: getattr(args, key, None) for key in configuration.command_line_keys()}


def load_config(args: argparse.Namespace, **forced: str) -> configuration.Config:
    overrides = _overrides(args)
    overrides.update(forced)
    cfg = configuration.load(args.config, overrides=overrides)
    configuration.check_data_dir(cfg)
    return cfg


def _config_failure(exc: configuration.ConfigError) -> int:
    print("tradeactors: configuration error:", file=sys.stderr)
    for line in exc.errors:
        print(f"  {line}", file=sys.stderr)
    return EXIT_CONFIG


def cmd_start(args: argparse.Namespace) -> int:
    from tradeactors import service

    try:
        cfg = load_config(args)
    except configuration.ConfigError as exc:
        return _config_failure(exc)
    logsetup.configure(cfg.log_level, cfg.log_format)
    # SIGHUP builds the configuration again the same way: the file and environment as they are then, and the
    # command line, which still takes precedence.
    return service.run(cfg, reload_config=lambda: load_config(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from tradeactors import service
    from tradeactors.simulator import Simulator

    if args.data_dir is None:
        args.data_dir = "./demo-data"
    forced = {"ws_url": "ws://127.0.0.1:1", "rest_url": "http://127.0.0.1:1"}
    replay = None
    if args.replay:
        from tradeactors.simulator import captures

        replay = [str(f) for symbol in REPLAY_SYMBOLS for f in captures.capture_2024_files(symbol)]
        forced["symbols"] = ",".join(REPLAY_SYMBOLS)
    try:
        cfg = load_config(args, **forced)
    except configuration.ConfigError as exc:
        return _config_failure(exc)
    logsetup.configure(cfg.log_level, cfg.log_format)
    # With symbols = ALL the simulator lists its default market and the service records all of it.
    sim_symbols = list(REPLAY_SYMBOLS) if cfg.all_symbols else list(cfg.symbols)
    sim = Simulator(symbols=sim_symbols, rate=args.rate, port=args.sim_port, tls=args.tls, replay=replay,
                    replay_speed=args.replay_speed, replay_live=True, replay_loop=True)
    sim.start()
    log.info("demo: exchange simulator at %s (REST %s, CA %s)", sim.ws_url, sim.rest_url, sim.ca_file or "none")
    try:
        # The demo talks only to its simulator: the simulator's CA is the one to trust.
        ca_file = Path(sim.ca_file) if sim.ca_file else None
        return service.run(cfg.replace(ws_url=sim.ws_url, rest_url=sim.rest_url, ca_file=ca_file))
    finally:
        sim.stop()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "simulate":
        from tradeactors.simulator import main as simulate

        return simulate(argv[1:])
    if argv and argv[0] in SUBPROGRAMS:
        module = importlib.import_module(SUBPROGRAMS[argv[0]])
        return module.main(argv[1:])
    if argv and argv[0] == "bench" and len(argv) > 1 and argv[1] in BENCHMARKS:
        module = importlib.import_module(f"tradeactors.bench.{argv[1]}")
        return module.run(argv[2:])
    args = build_parser().parse_args(argv)
    return {"start": cmd_start, "demo": cmd_demo}[args.command](args)
