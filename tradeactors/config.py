"""Configuration: an INI file, ``TRADEACTORS_*`` environment variables and command-line options.

Precedence: command line > environment > config file > defaults. Every value is validated at start-up and
every error is reported at once, each naming the key, where the value came from and what is allowed, so that
a bad deployment fails fast (exit code 2) instead of looping under supervisord.

The schema is the ``Config`` dataclass itself: each field carries its ``Option`` (INI section, parser, default,
help, and a metavar if it is also a command-line option). ``SCHEMA``, the command-line options (``cli.py``) and
their help are derived from it. Environment variables are ``TRADEACTORS_`` + the key in upper case
(``TRADEACTORS_DATA_DIR``).
"""

from __future__ import annotations

import configparser
import dataclasses
import difflib
import logging
import os
import re
import ssl
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeactors import symbolset, tls

log = logging.getLogger(__name__)

SYMBOL_RE = symbolset.SYMBOL_RE
ASSET_RE = re.compile(r"^[A-Z0-9]{2,12}$")
ENV_PREFIX = "TRADEACTORS_"
ALL = symbolset.ALL
"""``symbols = ALL``: every spot symbol whose exchangeInfo status is TRADING (filtered by ``quote_assets`` and
``exclude``), re-read every ``symbols_refresh`` seconds and on SIGHUP."""
SYMBOL_SET_KEYS = ("symbols", "quote_assets", "exclude", "symbols_refresh")
"""The keys a SIGHUP applies to the running service; any other key needs a restart."""


class ConfigError(Exception):
    """One or more invalid configuration values; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


# --- value parsers: each takes the raw string and returns the typed value or raises ValueError(allowed) ---


def parse_symbols(raw: str) -> tuple[str, ...]:
    """A comma-separated list of symbols, or ``ALL`` alone (returned as ``("ALL",)``)."""
    if raw.strip().upper() == ALL:
        return (ALL,)
    symbols = []
    for part in raw.split(","):
        symbol = part.strip().upper()
        if symbol == ALL:
            raise ValueError(f"{raw.strip()!r}: ALL stands alone (every trading symbol), not in a list")
        if not SYMBOL_RE.match(symbol):
            raise ValueError(
                f"{part.strip()!r} is not a symbol: allowed are 2-20 letters or digits, comma-separated "
                "(e.g. BTCUSDT,ETHUSDT), or ALL"
            )
        if symbol not in symbols:
            symbols.append(symbol)
    if not symbols:
        raise ValueError("at least one symbol is required (e.g. BTCUSDT,ETHUSDT), or ALL")
    return tuple(symbols)


def _name_list(pattern: re.Pattern[str], what: str, example: str) -> Callable[[str], tuple[str, ...]]:
    """A comma-separated list of upper-cased names matching ``pattern``; empty is allowed (no filter)."""

    def parse(raw: str) -> tuple[str, ...]:
        names: list[str] = []
        for part in raw.split(","):
            name = part.strip().upper()
            if not name:
                continue
            if not pattern.match(name):
                raise ValueError(f"{part.strip()!r} is not {what}: allowed is empty or a comma-separated list "
                                 f"(e.g. {example})")
            if name not in names:
                names.append(name)
        return tuple(names)

    return parse


def _url_parser(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        url = raw.strip().rstrip("/")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"{raw!r} is not a URL with scheme {' or '.join(schemes)} and a host")
        try:
            parts.port  # noqa: B018 - validates the port number
        except ValueError:
            raise ValueError(f"{raw!r} has an invalid port") from None
        return url

    return parse


def parse_hostport(raw: str) -> tuple[str, int]:
    host, sep, port = raw.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{raw!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    host = host.strip("[]")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"port {port!r} in {raw!r} is not a number in 0..65535")
    return host, int(port)


def _number_parser(kind: type, low: float, high: float) -> Callable[[str], Any]:
    def parse(raw: str) -> Any:
        try:
            value = kind(raw.strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not {'an integer' if kind is int else 'a number'} in {low}..{high}") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is outside the allowed range {low}..{high}")
        return value

    return parse


def _choice_parser(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        for choice in choices:
            if raw.strip().lower() == choice.lower():
                return choice
        raise ValueError(f"{raw!r} is not one of {', '.join(choices)}")

    return parse


def _token(raw: str) -> str:
    token = raw.strip()
    if token and (len(token) < 16 or not token.isprintable() or " " in token):
        raise ValueError("must be empty (no protection) or at least 16 printable characters without spaces")
    return token


DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)


def _depth_limit(raw: str) -> int:
    if not raw.strip().isdigit() or int(raw) not in DEPTH_LIMITS:
        raise ValueError(f"{raw!r} is not one of Binance's depth limits {', '.join(map(str, DEPTH_LIMITS))}")
    return int(raw)


def parse_ca_file(raw: str) -> Path | None:
    """Empty: the system's trust store only. Otherwise a readable PEM bundle of CA certificates, trusted in
    addition to the system's for wss:// and https:// (certificate and host-name checks always stay on)."""
    if not raw.strip():
        return None
    path = Path(raw.strip()).expanduser()
    try:
        tls.client_context(path)
    except ssl.SSLError as exc:
        raise ValueError(f"{str(path)!r} holds no usable PEM CA certificate ({exc.reason or exc}): allowed is "
                         "empty (the system's trust store) or a readable PEM file of CA certificates") from None
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r} ({exc.strerror or exc}): allowed is empty (the system's "
                         "trust store) or a readable PEM file of CA certificates") from None
    return path


def parse_path(raw: str) -> Path:
    if not raw.strip():
        raise ValueError("an empty path is not allowed")
    return Path(raw.strip()).expanduser()


@dataclass(frozen=True)
class Option:
    """How one configuration key is read: its INI section, parser, default (as text) and help."""

    section: str
    parse: Callable[[str], Any]
    default: str
    help: str
    metavar: str | None = None
    """Also a command-line option (``--data-dir DIR``) when set; every key is an INI key and an environment
    variable."""


def option(section: str, parse: Callable[[str], Any], default: str, help: str, metavar: str | None = None) -> Any:
    """A field of ``Config`` that carries its ``Option``: the dataclass is the one schema of the configuration."""
    return dataclasses.field(metadata={"option": Option(section, parse, default, help, metavar)})


@dataclass(frozen=True)
class Config:
    """The validated configuration. Each field declares its INI section, parser, default and help: the INI keys,
    the ``TRADEACTORS_<KEY>`` variables, the command-line options and their help all come from here."""

    symbols: tuple[str, ...] = option("service", parse_symbols, "BTCUSDT,ETHUSDT",
                                      "symbols to record, or ALL (every symbol exchangeInfo lists as TRADING)",
                                      "S1,S2|ALL")
    quote_assets: tuple[str, ...] = option("service", _name_list(ASSET_RE, "an asset", "USDT,FDUSD"), "",
                                           "with symbols = ALL: only symbols quoted in these assets (empty: any)",
                                           "A1,A2")
    exclude: tuple[str, ...] = option("service", _name_list(SYMBOL_RE, "a symbol", "BTCUSDT,ETHUSDT"), "",
                                      "with symbols = ALL: symbols never to record", "S1,S2")
    symbols_refresh: float = option("service", _number_parser(float, 1, 86400), "600",
                                    "with symbols = ALL: seconds between reads of exchangeInfo (weight 20) that "
                                    "start newly trading symbols and stop those that stopped trading")
    data_dir: Path = option("service", parse_path, "./data",
                            "database directory (RocksDB under <data_dir>/analytics)", "DIR")
    ws_url: str = option("service", _url_parser(("ws", "wss")), "wss://stream.binance.com:9443",
                         "WebSocket base URL", "URL")
    rest_url: str = option("service", _url_parser(("http", "https")), "https://api.binance.com", "REST base URL",
                           "URL")
    ca_file: Path | None = option("service", parse_ca_file, "",
                                  "PEM file of CA certificates trusted besides the system's, for wss:// and "
                                  "https:// (empty: the system's trust store only)", "FILE")
    http: tuple[str, int] = option("service", parse_hostport, "127.0.0.1:8080",
                                   "HOST:PORT of the HTTP API and dashboard", "HOST:PORT")
    api_token: str = option("service", lambda raw: _token(raw), "",
                            "bearer token required on /api/* and /metrics (empty: no token)")
    stream_timeout: float = option("stream", _number_parser(float, 0.1, 3600), "300",
                                   "seconds without a data message (pings do not count) before a stream is "
                                   "treated as dead")
    stream_down_alert: float = option("stream", _number_parser(float, 1, 86400), "60",
                                      "seconds a stream may be without a connection before /api/health answers 503")
    backoff_initial: float = option("stream", _number_parser(float, 0.01, 60), "1", "first reconnect delay, seconds")
    backoff_max: float = option("stream", _number_parser(float, 0.01, 3600), "60", "longest reconnect delay, seconds")
    connection_lifetime: float = option("stream", _number_parser(float, 1, 86400), "85800",
                                        "seconds after which a connection is replaced (Binance closes at 24 h)")
    connection_symbols: int = option("stream", _number_parser(int, 1, 500), "500",
                                     "symbols one multiplexed connection carries at most (each connection's URL also "
                                     "holds at most ~6 KB of stream names, ~150 symbols); fewer: a dropped "
                                     "connection resyncs fewer books at once, at the cost of more connections")
    depth_limit: int = option("book", lambda raw: _depth_limit(raw), "1000",
                              "the most levels asked of /api/v3/depth when syncing a book (first 100, deeper for a "
                              "book whose price runs to the edge of its snapshot)")
    book_unsynced_alert: float = option("book", _number_parser(float, 1, 86400), "60",
                                        "seconds a book may be out of sync before /api/health answers 503")
    book_second_levels: int = option("book", _number_parser(int, 1, 5000), "20",
                                     "levels per side stored in each book second")
    flush_interval: float = option("buffer", _number_parser(float, 0.05, 60), "1", "seconds between buffer flushes")
    flush_max_trades: int = option("buffer", _number_parser(int, 1, 1_000_000), "10000",
                                   "trades per symbol that trigger an early flush")
    retention_days: float = option("storage", _number_parser(float, 0.0001, 3650), "7", "days of history kept")
    cleanup_interval: float = option("storage", _number_parser(float, 1, 86400), "3600",
                                     "seconds between retention runs")
    rest_weight_budget: int = option("rest", _number_parser(int, 10, 1_000_000), "6000",
                                     "the IP's REST weight budget per minute (the service spends at most half)")
    log_level: str = option("log", _choice_parser("DEBUG", "INFO", "WARNING", "ERROR"), "INFO",
                            "DEBUG, INFO, WARNING or ERROR", "LEVEL")
    log_format: str = option("log", _choice_parser("text", "json"), "text", "text lines or JSON lines", "FORMAT")

    @property
    def all_symbols(self) -> bool:
        """``symbols = ALL``: the recorded symbols come from exchangeInfo, not from this list."""
        return self.symbols == (ALL,)

    @property
    def selection(self) -> symbolset.Selection:
        """What to record: the list, or ALL with its filters."""
        return symbolset.Selection.of(self.symbols, self.quote_assets, self.exclude)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "analytics"

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


SCHEMA: dict[str, Option] = {f.name: f.metadata["option"] for f in dataclasses.fields(Config)}
"""Every key's Option, in the order of ``Config``'s fields."""
RENAMED: dict[str, str] = {"snapshot_levels": "book_second_levels"}
"""Old key -> new key: still read (INI and environment), with a warning, so that existing deployments start."""


def command_line_keys() -> list[str]:
    """The keys that are also command-line options (``--data-dir`` for ``data_dir``)."""
    return [key for key, opt in SCHEMA.items() if opt.metavar is not None]


def _read_ini(path: Path, errors: list[str]) -> dict[str, tuple[str, str]]:
    """Return {key: (raw value, origin)} from the INI file, recording unknown sections and keys as errors."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except OSError as exc:
        errors.append(f"config: cannot read {path}: {exc.strerror or exc}")
        return {}
    except configparser.Error as exc:
        errors.append(f"config: {path} is not a valid INI file: {exc.message.splitlines()[0]}")
        return {}
    sections = {opt.section for opt in SCHEMA.values()}
    values: dict[str, tuple[str, str]] = {}
    for section in parser.sections():
        if section not in sections:
            errors.append(f"config: unknown section [{section}] in {path}{_did_you_mean(section, sections)}")
            continue
        for key, raw in parser.items(section):
            if key in RENAMED and SCHEMA[RENAMED[key]].section == section:
                log.warning("config: %s [%s] %s is now called %s; please rename it", path, section, key, RENAMED[key])
                key = RENAMED[key]
            option = SCHEMA.get(key)
            if option is None or option.section != section:
                known = [k for k, o in SCHEMA.items() if o.section == section]
                errors.append(f"{section}.{key}: unknown key in {path}{_did_you_mean(key, known)}")
                continue
            values[key] = (raw, f"{path} [{section}]")
    return values


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load(
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str | None] | None = None,
) -> Config:
    """Build the validated Config; raise ConfigError listing every problem found.

    ``overrides`` are command-line values by key (None = not given).
    """
    env = os.environ if env is None else env
    errors: list[str] = []
    raw: dict[str, tuple[str, str]] = {key: (opt.default, "default") for key, opt in SCHEMA.items()}
    if config_file is not None:
        raw.update(_read_ini(Path(config_file), errors))
    for old, key in RENAMED.items():
        name = ENV_PREFIX + old.upper()
        if name in env:
            log.warning("config: %s is now called %s; please rename it", name, ENV_PREFIX + key.upper())
            raw[key] = (env[name], f"environment {name}")
    for key in SCHEMA:
        name = ENV_PREFIX + key.upper()
        if name in env:
            raw[key] = (env[name], f"environment {name}")
    for key, value in (overrides or {}).items():
        if value is not None:
            raw[key] = (value, f"--{key.replace('_', '-')}")
    values: dict[str, Any] = {}
    for key, option in SCHEMA.items():
        text, origin = raw[key]
        try:
            values[key] = option.parse(text)
        except ValueError as exc:
            errors.append(f"{key}: {exc} (from {origin})")
    if not errors and values["backoff_initial"] > values["backoff_max"]:
        errors.append("backoff_initial: must not exceed backoff_max")
    if not errors and values["symbols"] != (ALL,):
        for key in ("quote_assets", "exclude"):
            if values[key]:
                errors.append(f"{key}: applies only with symbols = ALL, and symbols is the list "
                              f"{','.join(values['symbols'])} (from {raw[key][1]})")
    if not errors and values["book_second_levels"] > values["depth_limit"]:
        errors.append("book_second_levels: must not exceed depth_limit (levels beyond the REST snapshot are unknown)")
    if errors:
        raise ConfigError(errors)
    return Config(**values)


def check_data_dir(config: Config) -> None:
    """Create the data directory if needed and prove it is writable; raise ConfigError naming data_dir if not."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=config.data_dir):
            pass
    except OSError as exc:
        raise ConfigError(
            [f"data_dir: {str(config.data_dir)!r} is not a writable directory ({exc.strerror or exc})"]
        ) from None
