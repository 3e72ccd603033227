"""The API's parameters, written once: name, kind, range, default, whether required, and what they mean.

The HTTP views parse their query strings with these tables, ``web/openapi.py`` documents them from the same
tables, ``tools.py`` takes the analytics defaults from them, and the MCP server (``mcp/catalog.py``) builds its
tools' input schemas and checks their arguments with them, which is why nothing here imports Flask. ``schema()`` gives
a parameter's JSON Schema, the form both OpenAPI and MCP tool descriptions use.

Parsing is strict: a value is never clamped or guessed; anything outside the range raises
``errors.InvalidParameter`` naming the field and the allowed range (``details.minimum``/``maximum`` for numbers),
an unknown symbol raises ``errors.UnknownSymbol``.

Kinds: ``symbol`` (trimmed, upper-cased, must be collected), ``int`` (closed range ``low..high``), ``float`` (a
plain decimal number in a range whose ends ``low_open``/``high_open`` may exclude), ``decimal`` (a positive decimal
kept as its text, e.g. a bin size), ``cursor`` (the ``T:a`` of a previous page, parsed to ``(T, a)``),
``symbols`` (a comma-separated list of collected symbols, parsed to a tuple), ``choice`` (one of ``choices``) and
``search`` (a piece of a symbol's name to look for, upper-cased; empty matches every symbol).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tradeactors.analytics.anomalies import MAX_BASELINE_MINUTES
from tradeactors.analytics.orderflow import MAX_DEPTH_LEVELS
from tradeactors.errors import InvalidParameter, UnknownSymbol

SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")
INT_RE = re.compile(r"^[+-]?[0-9]{1,19}$")
FLOAT_RE = re.compile(r"^[+-]?([0-9]{1,12}(\.[0-9]{0,12})?|\.[0-9]{1,12})$")
CURSOR_RE = re.compile(r"^[0-9]{1,13}:[0-9]{1,19}$")
SEARCH_RE = re.compile(r"^[A-Z0-9]{0,20}$")

SYMBOL_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9 ]{2,40}$", "maxLength": 40}
"""What a client may send: any case, surrounding spaces; the parser trims and upper-cases it."""
DECIMAL_SCHEMA = {"type": "string", "pattern": "^[0-9]*\\.?[0-9]+$"}

MAX_MS = 10**13 - 1
"""The largest trade time the API accepts: 13 digits of milliseconds (until the year 2286)."""
MAX_WINDOW_HOURS = 168
"""The longest window one query reads (7 days, the retention): trades pages and the analytics' duration_hours."""
MAX_WINDOW_MS = MAX_WINDOW_HOURS * 3_600_000
MAX_BOOK_SECONDS = 3600
"""Book seconds per /api/snapshots request: an hour of one-second books is a few MB of JSON."""
RECENT_LOG_RECORDS = 100
"""WARNING-or-worse records the process keeps in memory for /api/logs/recent (its ``limit`` asks for fewer)."""

KINDS = ("symbol", "int", "float", "decimal", "cursor", "symbols", "choice", "search")
MAX_LISTED_SYMBOLS = 100
"""Symbols one ``symbols`` parameter may list (a longer filter is better paged)."""


@dataclass(frozen=True)
class Parameter:
    """One query parameter. ``low``/``high`` bound numbers (inclusive unless ``low_open``/``high_open``); a
    parameter that is not ``required`` and absent (or empty) takes ``default``; ``example`` is what the OpenAPI
    document offers for required ones, a value that makes a valid request."""

    name: str
    kind: str
    description: str
    low: int | float | None = None
    high: int | float | None = None
    low_open: bool = False
    high_open: bool = False
    default: Any = None
    """A value of the kind's parsed type (the parsers return it as such), or None."""
    required: bool = False
    example: Any = None
    choices: tuple[str, ...] = ()
    """The values a ``choice`` may take."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.kind in ("int", "float"):
            self._bounds()  # raises unless both are given
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"{self.name}: choices are for, and required by, a choice")

    def _bounds(self) -> tuple[int | float, int | float]:
        """(low, high) of a number, which must have both."""
        if self.low is None or self.high is None:
            raise ValueError(f"{self.name}: a number needs both bounds")
        return self.low, self.high

    # The messages below are part of the HTTP contract (clients show them): keep their wording.

    def parse(self, raw: str | None, symbols: Sequence[str] = ()) -> Any:
        """The typed value of ``raw`` (the query string's text, None when absent); ``symbols``: the collected
        ones, for a ``symbol``. Raises InvalidParameter, or UnknownSymbol for a well-formed symbol not collected."""
        return getattr(self, f"_parse_{self.kind}")(raw, symbols)

    def _parse_symbol(self, raw: str | None, symbols: Sequence[str]) -> str:
        if raw is None or not raw.strip():
            raise InvalidParameter(self.name, "is required (e.g. BTCUSDT)")
        symbol = raw.strip().upper()
        if not SYMBOL_RE.match(symbol):
            raise InvalidParameter(self.name, "must be 2-20 letters or digits (e.g. BTCUSDT)")
        if symbol not in symbols:
            raise UnknownSymbol(symbol, symbols)
        return symbol

    def _parse_int(self, raw: str | None, _symbols: Sequence[str]) -> int:
        low, high = self._bounds()
        if raw is None or raw == "":
            if self.required:
                raise InvalidParameter(self.name, f"is required (an integer in {low}..{high})", minimum=low,
                                       maximum=high)
            return cast(int, self.default)
        if not INT_RE.match(raw.strip()):
            raise InvalidParameter(self.name, f"must be an integer in {low}..{high}", minimum=low, maximum=high)
        value = int(raw)
        if not low <= value <= high:
            raise InvalidParameter(self.name, f"must be in {low}..{high}, got {value}", minimum=low, maximum=high)
        return value

    def _parse_float(self, raw: str | None, _symbols: Sequence[str]) -> float:
        low, high = self._bounds()
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        allowed = f"a number in {left}{low:g}, {high:g}{right}"
        if raw is None or raw == "":
            if self.required:
                raise InvalidParameter(self.name, f"is required ({allowed})", minimum=low, maximum=high)
            return cast(float, self.default)
        if not FLOAT_RE.match(raw.strip()):
            raise InvalidParameter(self.name, f"must be {allowed}", minimum=low, maximum=high)
        value = float(raw)
        if value < low or value > high or (self.low_open and value == low) or (self.high_open and value == high):
            raise InvalidParameter(self.name, f"must be {allowed}, got {raw.strip()}", minimum=low, maximum=high)
        return value

    def _parse_decimal(self, raw: str | None, _symbols: Sequence[str]) -> str | None:
        if raw is None or raw == "":
            if self.required:
                raise InvalidParameter(self.name, "is required (a decimal number > 0, e.g. 0.5)")
            return cast(str | None, self.default)
        text = raw.strip()
        if not FLOAT_RE.match(text) or text.startswith(("-", "+")) or float(text) <= 0:
            raise InvalidParameter(self.name, "must be a decimal number > 0 (e.g. 0.5)")
        return text

    def _parse_cursor(self, raw: str | None, _symbols: Sequence[str]) -> tuple[int, int] | None:
        if not raw:
            if self.required:
                raise InvalidParameter(self.name, "is required (the next_cursor of a previous page, T:a)")
            return cast(tuple[int, int] | None, self.default)
        if not CURSOR_RE.match(raw):
            raise InvalidParameter(self.name, "must be the next_cursor of a previous page (T:a)")
        time_ms, _, trade_id = raw.partition(":")
        return int(time_ms), int(trade_id)  # int() drops the final newline that "$" lets through

    def _parse_symbols(self, raw: str | None, symbols: Sequence[str]) -> tuple[str, ...] | None:
        if raw is None or not raw.strip():
            if self.required:
                raise InvalidParameter(self.name, "is required (comma-separated symbols, e.g. BTCUSDT,ETHUSDT)")
            return cast(tuple[str, ...] | None, self.default)
        listed = [part.strip().upper() for part in raw.split(",") if part.strip()]
        if len(listed) > MAX_LISTED_SYMBOLS:
            raise InvalidParameter(self.name, f"lists at most {MAX_LISTED_SYMBOLS} symbols (page through more)",
                                   maximum=MAX_LISTED_SYMBOLS)
        for symbol in listed:
            if not SYMBOL_RE.match(symbol):
                raise InvalidParameter(self.name, "must be comma-separated symbols of 2-20 letters or digits (e.g. "
                                                  "BTCUSDT,ETHUSDT)")
        collected = set(symbols)
        for symbol in listed:
            if symbol not in collected:
                raise UnknownSymbol(symbol, symbols)
        return tuple(dict.fromkeys(listed))

    def _parse_choice(self, raw: str | None, _symbols: Sequence[str]) -> str | None:
        if raw is None or not raw.strip():
            if self.required:
                raise InvalidParameter(self.name, f"is required (one of {', '.join(self.choices)})",
                                       choices=list(self.choices))
            return cast(str | None, self.default)
        value = raw.strip().lower()
        if value not in self.choices:
            raise InvalidParameter(self.name, f"must be one of {', '.join(self.choices)}", choices=list(self.choices))
        return value

    def _parse_search(self, raw: str | None, _symbols: Sequence[str]) -> str:
        text = (raw or "").strip().upper()
        if not SEARCH_RE.match(text):
            raise InvalidParameter(self.name, "must be up to 20 letters or digits (a piece of a symbol, e.g. BTC)")
        return text

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameter's value, as clients send it."""
        schema: dict[str, Any]
        if self.kind == "symbol":
            return dict(SYMBOL_SCHEMA)
        if self.kind == "symbols":
            return {"type": "string", "pattern": "^[A-Za-z0-9 ,]*$",
                    "description": f"comma-separated, at most {MAX_LISTED_SYMBOLS}"}
        if self.kind == "search":
            return {"type": "string", "pattern": "^ *[A-Za-z0-9]{0,20} *$"}
        if self.kind == "choice":
            schema = {"type": "string", "enum": list(self.choices)}
            if self.default is not None:
                schema["default"] = self.default
            return schema
        if self.kind == "decimal":
            schema = dict(DECIMAL_SCHEMA)
        elif self.kind == "cursor":
            schema = {"type": "string", "pattern": CURSOR_RE.pattern}
        elif self.kind == "int":
            schema = {"type": "integer", "minimum": self.low, "maximum": self.high}
        else:
            schema = {"type": "number", ("exclusiveMinimum" if self.low_open else "minimum"): self.low,
                      ("exclusiveMaximum" if self.high_open else "maximum"): self.high}
        if self.default is not None:
            schema["default"] = self.default
        return schema


def parse(parameters: Sequence[Parameter], args: Mapping[str, str],
          symbols: Sequence[str] = ()) -> dict[str, Any]:
    """{name: value} for ``parameters`` read from ``args`` (the query string; a repeated name counts once, as
    ``args.get`` returns it), checked in the order given: a request with several faults gets the first one's
    error, so the order is part of the contract."""
    return {p.name: p.parse(args.get(p.name), symbols) for p in parameters}


def defaults(parameters: Sequence[Parameter]) -> dict[str, Any]:
    return {p.name: p.default for p in parameters if not p.required}


# --- the tables -------------------------------------------------------------------------------------------------

SYMBOL = Parameter("symbol", "symbol", "a collected symbol; trimmed and upper-cased (404 unknown_symbol if not "
                   "collected)", required=True, example="BTCUSDT")

DURATION_HOURS = Parameter("duration_hours", "int", "window [now - duration, now] on trade time, hours", low=1,
                           high=MAX_WINDOW_HOURS, default=24)
TICK_SIZE = Parameter("tick_size", "decimal", "bin size (decimal > 0), rounded up to a multiple of the exchange "
                      "tick; the effective value is reported")
VALUE_AREA_PCT = Parameter("value_area_pct", "float", "fraction of the volume in the value area", low=0, high=1,
                           low_open=True, default=0.70)
THRESHOLD_RATIO = Parameter("threshold_ratio", "float", "vacuum threshold as a fraction of the median bin volume",
                            low=0, high=1, low_open=True, high_open=True, default=0.20)
WINDOW_DURATION_SECS = Parameter("window_duration_secs", "int", "window [now - W, now], seconds", low=10, high=300,
                                 default=60)
DEPTH_LEVELS = Parameter("depth_levels", "int", "book levels per side considered", low=1, high=MAX_DEPTH_LEVELS,
                         default=MAX_DEPTH_LEVELS)
BASELINE_MINUTES = Parameter("baseline_minutes", "int", "minutes of history before the window used as the "
                             "baseline", low=5, high=MAX_BASELINE_MINUTES, default=60)

TOOLS: dict[str, tuple[Parameter, ...]] = {
    "volume_profile": (DURATION_HOURS, TICK_SIZE, VALUE_AREA_PCT),
    "liquidity_vacuums": (DURATION_HOURS, TICK_SIZE, THRESHOLD_RATIO),
    "order_flow": (WINDOW_DURATION_SECS, DEPTH_LEVELS),
    "microstructure_health": (WINDOW_DURATION_SECS, BASELINE_MINUTES),
    "market_anomalies": (WINDOW_DURATION_SECS, BASELINE_MINUTES),
}
"""Each analytics tool's parameters besides the symbol (which every tool takes first: ``Analyze(tool, symbol,
params)``). The narrower ranges here are the API's; the pure functions accept more for in-process callers."""

TRADES = (
    SYMBOL,
    Parameter("start", "int", "window start, ms since the epoch (inclusive)", low=0, high=MAX_MS, required=True,
              example=0),
    Parameter("end", "int", f"window end, ms (inclusive); end >= start and end - start <= {MAX_WINDOW_MS}", low=0,
              high=MAX_MS, required=True, example=1),
    Parameter("limit", "int", "trades per page", low=1, high=10000, default=1000),
    Parameter("cursor", "cursor", "next_cursor of the previous page"),
)
TRADES_PARQUET = TRADES[:3]
"""``/api/trades.parquet``: the window of ``/api/trades`` (the same parameters, the same 7-day limit); the file
holds all of it, so ``limit`` and ``cursor`` do not apply (the view rejects them rather than ignore them)."""
ORDERBOOK_L1 = (SYMBOL,)
ORDERBOOK_L2 = (SYMBOL, Parameter("depth", "int", "levels per side", low=1, high=5000, default=20))
BOOK_SECONDS = (
    SYMBOL,
    Parameter("start", "int", "first second (unix seconds, inclusive)", low=0, high=MAX_MS // 1000, required=True,
              example=0),
    Parameter("end", "int", f"last second (inclusive); end - start <= {MAX_BOOK_SECONDS}", low=0,
              high=MAX_MS // 1000, required=True, example=1),
)
RECENT_LOGS = (Parameter("limit", "int", "records to return (the newest)", low=1, high=RECENT_LOG_RECORDS,
                         default=RECENT_LOG_RECORDS),)

STREAM_STATES = ("connected", "connecting", "reconnecting", "starting", "stalled", "down", "stopped", "unavailable")
"""A symbol's stream as operators see it: the StreamActor's state, ``stalled`` when connected but silent, ``down``
when without a connection past ``stream_down_alert``, ``unavailable`` when its actor did not answer."""
ATTENTION_REASONS = ("unavailable", "down", "not_connected", "stalled", "unsynced", "holes", "lagging")
"""Why a symbol needs attention, most urgent first (``web/overview.py`` says when each applies)."""
STATE_FILTERS = ("attention", *STREAM_STATES, *(r for r in ATTENTION_REASONS if r not in STREAM_STATES))
"""What ``state`` selects: a stream state, a reason for attention, or ``attention`` (any reason)."""
SORT_COLUMNS = ("attention", "symbol", "state", "book", "last_trade", "trades_per_min", "store_lag", "reconnects")
MAX_PAGE_OFFSET = 100_000

STATE_FILTER = Parameter("state", "choice", "only the symbols in this state: a stream state, a reason for attention "
                         "(not_connected, unsynced book, open holes, lagging store), or attention (any reason)",
                         choices=STATE_FILTERS)
OFFSET = Parameter("offset", "int", "symbols to skip (paging)", low=0, high=MAX_PAGE_OFFSET, default=0)
STATUS = (
    Parameter("symbols", "symbols", "only these symbols (comma-separated, e.g. BTCUSDT,ETHUSDT); the summary then "
              "covers them only"),
    STATE_FILTER,
    OFFSET,
    Parameter("limit", "int", "symbols per page (all when absent), in attention order", low=1, high=5000),
)
"""``/api/status``: without parameters, every symbol, as before."""
DASHBOARD = (
    Parameter("q", "search", "only symbols whose name contains this (any case)", default=""),
    STATE_FILTER,
    Parameter("sort", "choice", "the table's column to sort by (attention: most urgent first, then by name)",
              choices=SORT_COLUMNS, default="attention"),
    Parameter("order", "choice", "sort order", choices=("asc", "desc"), default="asc"),
    OFFSET,
    Parameter("limit", "int", "rows per page", low=1, high=500, default=50),
)

ENDPOINTS: dict[str, tuple[Parameter, ...]] = {
    "/api/status": STATUS,
    "/api/dashboard": DASHBOARD,
    "/api/trades": TRADES,
    "/api/trades.parquet": TRADES_PARQUET,
    "/api/orderbook/l1": ORDERBOOK_L1,
    "/api/orderbook/l2": ORDERBOOK_L2,
    "/api/snapshots": BOOK_SECONDS,
    **{f"/api/{tool}": (SYMBOL, *params) for tool, params in TOOLS.items()},
    "/api/logs/recent": RECENT_LOGS,
}
"""Every path that takes query parameters, with them in the order the OpenAPI document lists them. The views of
the data endpoints check them in this order too; the analytics views check the tool's parameters before the
symbol (see ``web/analytics.py``)."""
