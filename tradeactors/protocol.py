"""Binance spot market-data wire protocol: stream names, URLs and frame parsing. Pure code, no I/O.

A combined-stream frame wraps each payload in an envelope::

    {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1723161254326,"s":"BTCUSDT","a":26129,
     "p":"61234.56000000","q":"0.01230000","f":27781,"l":27783,"T":1723161254324,"m":true,"M":true}}

    {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161254400,"s":"BTCUSDT",
     "U":157,"u":160,"b":[["61234.55000000","0.50000000"]],"a":[["61234.56000000","0.00000000"]]}}

    {"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1723161254400}}

Raw ``/ws/<stream>`` connections send the bare payloads. ``m`` true means the buyer was the maker, i.e. the
taker sold. Prices and quantities are kept as the exact decimal strings Binance sent.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import orjson

DECIMAL_RE = re.compile(r"^[0-9]{1,30}(\.[0-9]{1,30})?$")
_LEVEL = rb'\["[0-9]{1,30}(?:\.[0-9]{1,30})?","[0-9]{1,30}(?:\.[0-9]{1,30})?"\]'
_SIDE = rb"\[(?:" + _LEVEL + rb"(?:," + _LEVEL + rb")*)?\]"
LEVELS_RE = re.compile(rb'"b":' + _SIDE + rb',"a":' + _SIDE)
"""A depth frame's ``b`` and ``a`` exactly as Binance writes them: lists of [decimal, decimal] strings. One regex
over the raw frame checks every level in C; a frame written otherwise is checked level by level in Python (the
same rule, ~5x slower: at a whole market's burst of 13,000 diffs a second that was the reader's largest cost)."""


class AggTrade(NamedTuple):
    """One aggregate trade, fields named as on the wire."""

    a: int
    """Aggregate trade id, contiguous per symbol."""
    p: str
    """Price, the exact decimal string sent."""
    q: str
    """Quantity, the exact decimal string sent."""
    f: int
    """First raw trade id."""
    l: int  # noqa: E741 - the wire name
    """Last raw trade id."""
    T: int
    """Trade time, ms since the epoch."""
    m: bool
    """Buyer is maker: true = the taker sold (sell volume)."""


class DepthUpdate(NamedTuple):
    """One diff of the order book: levels whose quantity changed between update ids U and u."""

    symbol: str
    U: int
    """First update id in this event."""
    u: int
    """Final update id in this event."""
    E: int
    """Event time, ms."""
    bids: list[list[str]]
    """[[price, qty], ...] as decimal strings; qty 0 removes the level."""
    asks: list[list[str]]


class ServerShutdown(NamedTuple):
    """The server will close this connection soon: reconnect now (open the new one first)."""

    E: int


class Ignored(NamedTuple):
    """A well-formed frame of a stream this service does not consume (e.g. bookTicker)."""

    stream: str


class MalformedFrame(ValueError):
    """A frame that is not valid JSON or lacks a required field; the caller logs, counts and skips it."""


def stream_names(symbol: str) -> list[str]:
    """The two streams recorded per symbol: aggregate trades and 100 ms depth diffs."""
    s = symbol.lower()
    return [f"{s}@aggTrade", f"{s}@depth@100ms"]


def combined_stream_url(ws_base: str, symbol: str) -> str:
    return f"{ws_base.rstrip('/')}/stream?streams={'/'.join(stream_names(symbol))}"


def _aggtrade(d: dict[str, Any]) -> AggTrade:
    p, q = d["p"], d["q"]
    a, f, last, t, m = d["a"], d["f"], d["l"], d["T"], d["m"]
    if not (
        type(a) is int and type(f) is int and type(last) is int and type(t) is int and type(m) is bool
        and type(p) is str and type(q) is str and DECIMAL_RE.match(p) and DECIMAL_RE.match(q)
        and a >= 0 and f <= last and t >= 0
    ):
        raise MalformedFrame("aggTrade field of the wrong type or value")
    return AggTrade(a, p, q, f, last, t, m)


def levels_checked(raw: bytes) -> bool:
    """True when the raw frame has one ``b`` and one ``a`` and both are lists of [decimal, decimal] strings."""
    return raw.count(b'"b":') == 1 and raw.count(b'"a":') == 1 and LEVELS_RE.search(raw) is not None


def _depth(d: dict[str, Any], raw: bytes | None = None) -> DepthUpdate:
    U, u, bids, asks = d["U"], d["u"], d["b"], d["a"]
    if not (type(U) is int and type(u) is int and u >= U and type(bids) is list and type(asks) is list):
        raise MalformedFrame("depthUpdate field of the wrong type or value")
    if raw is not None and levels_checked(raw):
        return DepthUpdate(d.get("s", ""), U, u, d.get("E", 0), bids, asks)
    for side in (bids, asks):
        for level in side:
            if not (type(level) is list and len(level) >= 2 and type(level[0]) is str and type(level[1]) is str
                    and DECIMAL_RE.match(level[0]) and DECIMAL_RE.match(level[1])):
                raise MalformedFrame("depthUpdate level is not [price, qty] as decimal strings")
    return DepthUpdate(d.get("s", ""), U, u, d.get("E", 0), bids, asks)


def parse_payload(d: object, stream: str = "", raw: bytes | None = None
                  ) -> AggTrade | DepthUpdate | ServerShutdown | Ignored:
    """``raw``: the frame's bytes, if at hand (a depth frame's levels are then checked in one regex)."""
    if type(d) is not dict:
        raise MalformedFrame("payload is not a JSON object")
    try:
        event = d.get("e")
        if event == "aggTrade":
            return _aggtrade(d)
        if event == "depthUpdate":
            return _depth(d, raw)
        if event == "serverShutdown":
            return ServerShutdown(d.get("E", 0) if type(d.get("E", 0)) is int else 0)
    except KeyError as exc:
        raise MalformedFrame(f"{event} without field {exc.args[0]!r}") from None
    if stream:
        return Ignored(stream)
    raise MalformedFrame(f"unknown event type {event!r}")


def parse_frame(text: str | bytes) -> AggTrade | DepthUpdate | ServerShutdown | Ignored:
    """Parse one frame, combined envelope or raw payload. Raises MalformedFrame."""
    try:
        d = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise MalformedFrame(f"not JSON: {exc}") from None
    if type(d) is dict and "data" in d and "stream" in d:
        stream = d["stream"]
        if type(stream) is not str:
            raise MalformedFrame("stream name is not a string")
        return parse_payload(d["data"], stream)
    return parse_payload(d)


def aggtrade_from_rest(d: dict[str, Any]) -> AggTrade:
    """A trade from ``/api/v3/aggTrades`` (same fields, no e/E/s). Raises MalformedFrame."""
    if type(d) is not dict:
        raise MalformedFrame("aggTrades item is not an object")
    try:
        return _aggtrade(d)
    except KeyError as exc:
        raise MalformedFrame(f"aggTrades item without field {exc.args[0]!r}") from None
