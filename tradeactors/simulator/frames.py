"""Wire payloads and WebSocket frame bytes, built as text for speed (no dict -> JSON round trip).

Payloads, exactly as Binance spot sends them::

    {"e":"aggTrade","E":1723161255343,"s":"BTCUSDT","a":100000000,"p":"61837.63000000","q":"0.02000000",
     "f":300000000,"l":300000001,"T":1723161255342,"m":true,"M":true}
    {"e":"depthUpdate","E":1723161255408,"s":"BTCUSDT","U":50093239208,"u":50093239224,
     "b":[["61837.63000000","3.78826000"]],"a":[["61838.04000000","0.00000000"]]}
    {"e":"serverShutdown","E":1723161255408}

On a combined connection (``/stream?streams=...``) each payload is wrapped as
``{"stream":"btcusdt@aggTrade","data":<payload>}``; serverShutdown there uses the stream name ``!serverShutdown``.
"""
from __future__ import annotations

import json

from .symbols import fmt


def agg_trade(event_ms: int, symbol: str, agg_id: int, price: str, qty: str, first: int, last: int,
              trade_ms: int, buyer_is_maker: bool) -> str:
    """One aggTrade payload."""
    m = "true" if buyer_is_maker else "false"
    return (f'{{"e":"aggTrade","E":{event_ms},"s":"{symbol}","a":{agg_id},"p":"{price}","q":"{qty}",'
            f'"f":{first},"l":{last},"T":{trade_ms},"m":{m},"M":true}}')


def depth_update(event_ms: int, symbol: str, first_uid: int, last_uid: int,
                 bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> str:
    """One depthUpdate payload; ``bids``/``asks`` are (price, qty) in units, qty 0 = remove the level."""
    b = ",".join(f'["{fmt(p)}","{fmt(q)}"]' for p, q in bids)
    a = ",".join(f'["{fmt(p)}","{fmt(q)}"]' for p, q in asks)
    return (f'{{"e":"depthUpdate","E":{event_ms},"s":"{symbol}","U":{first_uid},"u":{last_uid},'
            f'"b":[{b}],"a":[{a}]}}')


def server_shutdown(event_ms: int) -> str:
    return f'{{"e":"serverShutdown","E":{event_ms}}}'


SHUTDOWN_STREAM = "!serverShutdown"


def envelope(stream: str, payload: str) -> str:
    """The combined-stream form of ``payload``."""
    return f'{{"stream":"{stream}","data":{payload}}}'


def malformed(kind: str, payload: str) -> str:
    """A broken version of ``payload``.

    ``truncated``: the JSON cut in half; ``nonjson``: text that is not JSON at all; ``missing_field``: valid JSON
    without the trade id ``a`` (or ``u`` for a depth update).
    """
    if kind == "truncated":
        return payload[: max(1, len(payload) // 2)]
    if kind == "nonjson":
        return "<html><body>502 Bad Gateway</body></html>"
    if kind == "missing_field":
        data = json.loads(payload)
        data.pop("a" if data.get("e") == "aggTrade" else "u", None)
        return json.dumps(data, separators=(",", ":"))
    raise ValueError(f"unknown malformed kind {kind!r}: expected truncated, nonjson or missing_field")


MALFORMED_KINDS = ("truncated", "nonjson", "missing_field")

_HEADERS: dict[int, bytes] = {}


def _header(n: int) -> bytes:
    h = _HEADERS.get(n)
    if h is None:
        # FIN + text opcode; a server's frames are never masked (RFC 6455 5.1).
        if n < 126:
            h = bytes((0x81, n))
        elif n < 65536:
            h = bytes((0x81, 126)) + n.to_bytes(2, "big")
        else:
            h = bytes((0x81, 127)) + n.to_bytes(8, "big")
        if n < 4096:
            _HEADERS[n] = h
    return h


def text_frames(texts: list[str]) -> list[bytes]:
    """One unfragmented text frame per message, each its own bytes object, for ``transport.writelines``.

    Kept apart, not joined: over TLS asyncio encrypts each item of a ``writelines`` call as its own TLS record
    (one ``SSL_write`` each, all records still leaving in one socket send), which is how Binance sends, one
    message per record. Joined, many messages would share a record and a client's ``recv`` would return
    several at once, hiding readers that assume otherwise. Over plain TCP ``writelines`` joins them anyway.
    """
    header = _header
    out: list[bytes] = []
    append = out.append
    for t in texts:
        b = t.encode()
        append(header(len(b)) + b)
    return out
