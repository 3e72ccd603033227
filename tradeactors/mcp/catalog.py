"""The MCP tools: name, the API path each one calls, its parameters and what it is for (pure: no I/O).

The parameters are ``tradeactors.parameters``' tables, the ones the HTTP views parse with: a tool's input schema
is built from them and its arguments are checked with ``Parameter.parse`` before the service is called, so the
MCP tools and the API cannot drift apart, and a bad argument gets the API's own message (naming the parameter and
its range) even when the service is down. Only the prose written for assistants lives here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeactors import parameters
from tradeactors.errors import InvalidParameter, UnknownSymbol
from tradeactors.parameters import Parameter

TOO_EARLY = ("If the service has not collected enough history yet, the call fails with a message saying that "
             "collection is in progress and about how long to wait: tell the user.")

ANALYTICS: dict[str, tuple[str, str]] = {
    "volume_profile": ("get_volume_profile", (
        "Volume profile of a symbol's aggregate trades over the last duration_hours: traded volume per price bin "
        "(buy and sell volume, trade count), the point of control (POC: the price bin with the most volume) and "
        "the value area (VAL..VAH: the price range around the POC holding value_area_pct of the volume). Use it "
        "for fair value, support and resistance. Prices and quantities are exact decimal strings. Needs at least "
        "1000 trades in the window. " + TOO_EARLY)),
    "liquidity_vacuums": ("get_liquidity_vacuums", (
        "Liquidity vacuums of a symbol over the last duration_hours: price zones where little volume traded "
        "(bins below threshold_ratio times the median bin volume), where price tends to move fast when it "
        "returns. Each zone has its price range, volume deficit in percent and expected impact (FastMovement, "
        "ModerateMovement, Negligible). Needs at least 1000 trades in the window. " + TOO_EARLY)),
    "order_flow": ("get_order_flow", (
        "Order flow of a symbol over the last window_duration_secs seconds, from the recorded order book (one "
        "snapshot a second) and the trades: bid and ask flow rates and their direction (STRONG_BUY .. "
        "STRONG_SELL), cumulative delta (taker buy minus taker sell volume), order-flow imbalance (OFI), depth "
        "imbalance of the top depth_levels levels, spread in basis points, mid and microprice. Needs at least 2 "
        "recorded book seconds in the window. " + TOO_EARLY)),
    "microstructure_health": ("get_microstructure_health", (
        "Market microstructure health of a symbol over the last window_duration_secs seconds: an overall score "
        "0..100 and level (Excellent, Good, Fair, Poor, Critical) from spread stability, book depth, flow balance "
        "and update rate, each judged against the symbol's own normal over the baseline_minutes before the "
        "window (spread in ticks, depth per side, update rate), with the causes of any weak component and a "
        "recommended action; stale: true when the book has not been recorded for 5 s. Needs at least 2 "
        "recorded book seconds. " + TOO_EARLY)),
    "market_anomalies": ("detect_market_anomalies", (
        "Market anomalies of a symbol in the last window_duration_secs seconds against a baseline of the "
        "baseline_minutes before: quote stuffing, spread blowout, depth collapse, flash-crash risk, price jumps "
        "and iceberg orders, each with confidence, severity, affected prices and a recommended action. An empty "
        "list means nothing unusual; insufficient_data: true means too few book seconds were recorded yet.")),
}
"""The five analytics tools of ``parameters.TOOLS``: their MCP names (the earlier service's) and descriptions."""


@dataclass(frozen=True)
class Tool:
    """One MCP tool: ``name`` without any prefix, the API ``path`` it calls (None: answered from several),
    ``parameters`` in the order the schema lists them, ``checks`` in the order the API checks them (which error a
    call with several faults gets is the API's)."""

    name: str
    path: str | None
    description: str
    parameters: tuple[Parameter, ...] = ()
    checks: tuple[Parameter, ...] = ()

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments: each property is the parameter's ``schema()`` plus a description."""
        return {
            "type": "object",
            "properties": {p.name: {**p.schema(), "description": describe(p)} for p in self.parameters},
            "required": [p.name for p in self.parameters if p.required],
            "additionalProperties": False,
        }

    def query(self, arguments: Mapping[str, Any] | None) -> dict[str, str]:
        """The API query string for ``arguments`` (JSON values as an MCP client sends them), checked with the
        parameter table: raises ``InvalidParameter`` naming the field and its range, as the API would."""
        arguments = dict(arguments or {})
        known = {p.name for p in self.parameters}
        for name in arguments:
            if name not in known:
                names = ", ".join(p.name for p in self.parameters) or "none"
                raise InvalidParameter(name, f"is not a parameter of {self.name} (its parameters: {names})")
        query: dict[str, str] = {}
        for p in self.checks:
            text = as_text(p, arguments.get(p.name))
            try:
                p.parse(text)
            except UnknownSymbol as exc:  # well formed; whether it is collected is the service's to say
                text = exc.symbol
            if text is not None and text != "":
                query[p.name] = text
        return query


def as_text(p: Parameter, value: Any) -> str | None:
    """A JSON argument as the query-string text the API parses. JSON Schema counts 24.0 as an integer, so an
    integral float is one; other floats are written positionally (1e-05 -> 0.00001), as the API's number syntax
    has no exponent; anything else (true, a list) becomes its JSON text, which every kind refuses."""
    if value is None:
        return None
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if p.kind == "int" and value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, str):
        return value
    return json.dumps(value)


def allowed(p: Parameter) -> str:
    """What the parameter accepts, in the words the API's messages use."""
    if p.kind == "int":
        return f"an integer in {p.low}..{p.high}"
    if p.kind == "float":
        left, right = "(" if p.low_open else "[", ")" if p.high_open else "]"
        return f"a number in {left}{p.low:g}, {p.high:g}{right}"
    if p.kind == "decimal":
        return 'a decimal number > 0 as a string, e.g. "0.5"'
    if p.kind == "cursor":
        return "a string T:a, as next_cursor gave it"
    return "e.g. BTCUSDT"


def describe(p: Parameter) -> str:
    """The parameter's description for assistants: what it means, its range and its default."""
    if p.required:
        tail = "required"
    elif p.default is None:
        tail = "optional"
    else:
        tail = f"default {p.default}"
    return f"{p.description}; {allowed(p)}; {tail}"


def _analytics(key: str) -> Tool:
    name, description = ANALYTICS[key]
    params = parameters.TOOLS[key]
    return Tool(name, f"/api/{key}", description, (parameters.SYMBOL, *params), (*params, parameters.SYMBOL))


def _tools() -> tuple[Tool, ...]:
    # Every tool of the table needs its MCP name and description: a tool added there fails here, loudly.
    missing = set(parameters.TOOLS) ^ set(ANALYTICS)
    if missing:
        raise RuntimeError(f"analytics tools without an MCP description (or gone): {sorted(missing)}")
    trades, book = parameters.ENDPOINTS["/api/trades"], parameters.ENDPOINTS["/api/orderbook/l2"]
    return (
        *(_analytics(key) for key in parameters.TOOLS),
        Tool("get_trades", "/api/trades", (
            "Stored aggregate trades of a symbol with start <= trade time T <= end (milliseconds since the "
            "epoch; at most 168 hours apart), ordered by aggregate id, at most limit per call. Each trade is "
            "{a: aggregate id, p: price, q: quantity (exact strings as Binance sent them), T: time in ms, "
            "m: true when the buyer was the maker (a taker sell), f/l: first/last trade id}. When next_cursor "
            "is not null, pass it back as cursor with the same symbol, start and end for the next page. "
            "get_collection_status gives the current time and the first stored trade's time."), trades, trades),
        Tool("get_orderbook", "/api/orderbook/l2", (
            "The live local order book of a symbol: the top depth levels of bids and asks as [price, quantity] "
            "exact strings, best first, with its update id, age in ms and sync state (synced, or why not)."),
             book, book),
        Tool("get_collection_status", None, (
            "Is market data being recorded, since when, and how much is there? Per symbol: the stream's state, "
            "the trades stored and the time of the first and last one, the order book's sync state, and any "
            "health problem; the service's overall health and the current time. Call it first when another "
            "tool says data is missing, or to pick a time window for get_trades.")),
    )


TOOLS: tuple[Tool, ...] = _tools()
"""Every tool, in the order tools/list shows them."""
