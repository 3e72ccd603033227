"""The ``/_sim`` control API: faults, market controls and ground truth over plain HTTP (same port).

Parameters go in the query string (``websockets``' HTTP parser reads no request bodies), answers are JSON::

    POST /_sim/fault/drop?symbol=BTCUSDT              -> {"ok":true,"result":1}
    POST /_sim/fault/stall?seconds=3&symbol=BTCUSDT   -> {"ok":true,"result":null}
    GET  /_sim/state    -> {"connections":1,"frames_sent":..,"symbols":{"BTCUSDT":{"connections":1,"trades":..}}}
    GET  /_sim/trades?symbol=BTCUSDT&fromId=100000000&limit=1000 -> [{"a":..,"p":..,"q":..,"f":..,...}, ...]
    bad parameter -> 400 {"ok":false,"error":"..."}

Faults: ``drop`` (symbol), ``stall`` (seconds, symbol), ``refuse`` (seconds), ``malformed`` (symbol, kind),
``skip_depth`` (symbol, count), ``duplicate`` (symbol, stream), ``shutdown`` (symbol), ``rest_fail`` (status,
seconds), ``rest`` (kind = truncate / reset / nonjson, count, path: the next REST replies broken),
``skip_trades`` (symbol, count: an exchange-side id gap), ``stale_depth`` (symbol, behind, count). Controls:
``weight_budget`` (n), ``pause`` / ``resume`` (symbol), ``regime`` (symbol, rate, spread, depth, churn, jump),
``activity`` (factor: a whole market's rates scaled), ``list_symbol`` (symbol, rate: a new symbol, TRADING),
``symbol_status`` (symbol, status: e.g. BREAK or TRADING). Reads: ``state``, ``trades``, ``ids``, ``book`` (symbol,
updateId, depth), ``update_id`` (symbol), ``connections`` (symbol), ``limits`` (Binance limits crossed, by kind).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson


def _num(text: str):
    return float(text) if any(c in text for c in ".eE") else int(text)


Converter = Callable[[str], Any]
# path -> (exchange method, {query name: (keyword, converter)})
_SYMBOL: dict[str, tuple[str, Converter]] = {"symbol": ("symbol", str)}
COMMANDS: dict[str, tuple[str, dict[str, tuple[str, Converter]]]] = {
    "/_sim/fault/drop": ("drop_connections", _SYMBOL),
    "/_sim/fault/stall": ("stall", {"seconds": ("seconds", float), **_SYMBOL}),
    "/_sim/fault/refuse": ("refuse_connections", {"seconds": ("seconds", float)}),
    "/_sim/fault/malformed": ("send_malformed", {"kind": ("kind", str), **_SYMBOL}),
    "/_sim/fault/skip_depth": ("skip_depth_updates", {"count": ("count", int), **_SYMBOL}),
    "/_sim/fault/duplicate": ("duplicate_next", {"stream": ("stream", str), **_SYMBOL}),
    "/_sim/fault/skip_trades": ("skip_trade_ids", {"count": ("count", int), **_SYMBOL}),
    "/_sim/fault/stale_depth": ("stale_depth", {"behind": ("updates_behind", int), "count": ("count", int),
                                                **_SYMBOL}),
    "/_sim/fault/shutdown": ("server_shutdown", _SYMBOL),
    "/_sim/fault/rest_fail": ("rest_fail", {"status": ("status", int), "seconds": ("seconds", float)}),
    "/_sim/fault/rest": ("rest_fault", {"kind": ("kind", str), "count": ("count", int), "path": ("path", str)}),
    "/_sim/weight_budget": ("set_weight_budget", {"n": ("n", int)}),
    "/_sim/activity": ("set_activity", {"factor": ("factor", float)}),
    "/_sim/pause": ("pause", _SYMBOL),
    "/_sim/list_symbol": ("list_symbol", {"rate": ("rate", float), **_SYMBOL}),
    "/_sim/symbol_status": ("set_symbol_status", {"status": ("status", str), **_SYMBOL}),
    "/_sim/resume": ("resume", _SYMBOL),
    "/_sim/regime": ("set_regime", {"rate": ("rate", lambda v: v if v == "max" else float(v)),
                                    "spread": ("spread", float), "depth": ("depth", float),
                                    "churn": ("churn", float), "jump": ("jump", int), "sweep": ("sweep", int),
                                    "pull": ("pull", float), "iceberg": ("iceberg", float),
                                    "one_sided": ("one_sided", str), **_SYMBOL}),
}


def _reads(exchange, path: str, query: dict):
    symbol = query.get("symbol")
    if path == "/_sim/state":
        return exchange.state()
    if path == "/_sim/limits":
        return exchange.limit_violations()
    if path == "/_sim/connections":
        return {"count": exchange.connection_count(symbol or None)}
    if path not in ("/_sim/trades", "/_sim/ids", "/_sim/update_id", "/_sim/book"):
        return None
    market = exchange.markets.get(symbol or "")
    if market is None:
        raise ValueError(f"unknown symbol {symbol!r}; served: {', '.join(exchange.markets)}")
    if path == "/_sim/trades":
        ledger = market.trades
        lo = max(0, int(query.get("fromId", ledger.first_id)) - ledger.first_id)
        limit = query.get("limit")
        return ledger.trades(lo, None if limit is None else lo + int(limit))
    if path == "/_sim/ids":
        return {"first": market.trades.first_id, "count": len(market.trades)}
    if path == "/_sim/update_id":
        return {"update_id": market.book.current_update_id}
    if path == "/_sim/book":
        depth = query.get("depth")
        bids, asks = market.book.book_at(int(query["updateId"]), None if depth is None else int(depth))
        return {"bids": bids, "asks": asks}


def handle(exchange, method: str, path: str, query: dict) -> tuple[int, list, bytes]:
    try:
        if path in COMMANDS:
            if method != "POST":
                return 405, [], orjson.dumps({"ok": False, "error": f"use POST for {path}"})
            name, params = COMMANDS[path]
            unknown = set(query) - set(params)
            if unknown:
                raise ValueError(f"unknown parameter(s) {sorted(unknown)}; allowed: {sorted(params)}")
            kwargs = {kw: conv(query[q]) for q, (kw, conv) in params.items() if query.get(q, "") != ""}
            result = getattr(exchange, name)(**kwargs)
            return 200, [], orjson.dumps({"ok": True, "result": result})
        body = _reads(exchange, path, query)
        if body is None:
            return 404, [], orjson.dumps({"ok": False, "error": f"unknown control path {path}"})
        return 200, [], orjson.dumps(body)
    except (ValueError, KeyError, TypeError) as exc:
        return 400, [], orjson.dumps({"ok": False, "error": str(exc)})
