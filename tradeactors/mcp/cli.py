"""``tradeactors mcp``: serve the analytics to assistants over MCP, as a client of the running service.

The service is found through the usual settings (``--config``, ``TRADEACTORS_HTTP`` or ``[service] http``, and
``api_token``), read by ``tradeactors.config``. ``--http`` keeps its meaning there, the *service's* address, so
the MCP server's own address for streamable HTTP is ``--listen``; without it the server speaks stdio.

Logs go to stderr: in stdio mode stdout carries the protocol. Exit codes: 0 after an orderly stop, 2 for a bad
command line or configuration (naming the option or key), 1 when the listen address cannot be bound.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import re
import sys
from typing import Any

import anyio

from tradeactors import config as configuration
from tradeactors import logsetup
from tradeactors.mcp.upstream import DEFAULT_TIMEOUT, Upstream, base_url

log = logging.getLogger("tradeactors.mcp")

EXIT_CONFIG = 2
EXIT_FAILURE = 1
PREFIX_RE = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")
"""Tool names are letters, digits, ``_``, ``-`` and ``.``; a prefix adds to a name of at most 25 characters."""


class UsageError(Exception):
    """A bad command-line value: ``option`` names it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")


def parse_listen(raw: str) -> tuple[str, int]:
    """``HOST:PORT`` or a bare ``PORT`` (on 127.0.0.1): where the streamable-HTTP transport listens."""
    text = raw.strip()
    if text.isdigit():
        text = f"127.0.0.1:{text}"
    return configuration.parse_hostport(text)


def parse_timeout(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 600:
        raise ValueError(f"{raw!r} is not a number of seconds in 1..600")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradeactors mcp",
        description="Serve the analytics of a running tradeactors service to assistants over the Model Context "
                    "Protocol: stdio by default (for desktop assistants), streamable HTTP with --listen.")
    parser.add_argument("--config", metavar="FILE", help="INI configuration file: the service's address ([service] "
                        "http) and api_token are read from it, as the service reads them")
    parser.add_argument("--http", metavar="HOST:PORT", help="the running service's API address (default: the "
                        f"usual settings, else {configuration.SCHEMA['http'].default})")
    parser.add_argument("--listen", metavar="[HOST:]PORT", help="serve MCP over streamable HTTP at "
                        "http://HOST:PORT/mcp (HOST defaults to 127.0.0.1) instead of stdio")
    parser.add_argument("--tool-prefix", metavar="PREFIX", default="", help="prefix every tool name, e.g. "
                        "binance_ for binance_get_volume_profile (letters, digits, _ - .)")
    parser.add_argument("--timeout", metavar="SECONDS", default=str(DEFAULT_TIMEOUT),
                        help=f"seconds to wait for the service's answer, 1..600 (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--log-level", metavar="LEVEL", help="DEBUG, INFO, WARNING or ERROR (default: the usual "
                        "settings, else INFO); logs go to stderr")
    return parser


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The values of the options this command adds, checked; raises UsageError naming the option."""
    options: dict[str, Any] = {"listen": None}
    if args.listen is not None:
        try:
            options["listen"] = parse_listen(args.listen)
        except ValueError as exc:
            raise UsageError("--listen", str(exc)) from None
    if not PREFIX_RE.match(args.tool_prefix):
        raise UsageError("--tool-prefix", f"{args.tool_prefix!r} is not allowed: up to 64 letters, digits, _, - "
                         "or . (e.g. binance_)")
    try:
        options["timeout"] = parse_timeout(args.timeout)
    except ValueError as exc:
        raise UsageError("--timeout", str(exc)) from None
    return options


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the problem
        return int(exc.code or 0)
    try:
        options = _options(args)
        cfg = configuration.load(args.config, overrides={"http": args.http, "log_level": args.log_level})
    except UsageError as exc:
        print(f"tradeactors mcp: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except configuration.ConfigError as exc:
        print("tradeactors mcp: configuration error:", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        return EXIT_CONFIG
    logsetup.configure(cfg.log_level, cfg.log_format, stream=sys.stderr)
    for chatty in ("mcp", "httpx2", "uvicorn", "sse_starlette"):
        logging.getLogger(chatty).setLevel(logging.DEBUG if cfg.log_level == "DEBUG" else logging.WARNING)
    url = base_url(*cfg.http)
    # The SDK takes seconds to import: a bad option or setting is reported before that.
    from tradeactors.mcp import server as mcpserver

    if options["listen"] is None:
        return anyio.run(mcpserver.run_stdio, Upstream(url, cfg.api_token, options["timeout"]), args.tool_prefix)
    host, port = options["listen"]
    try:
        sock = mcpserver.bind(host, port)
    except OSError as exc:
        print(f"tradeactors mcp: --listen: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    if not cfg.api_token and not _loopback(host):
        log.warning("listening on %s without api_token: anyone who reaches it can call the tools", host)
    upstream = Upstream(url, cfg.api_token, options["timeout"])
    return anyio.run(mcpserver.run_http, upstream, args.tool_prefix, host, sock, cfg.api_token)
