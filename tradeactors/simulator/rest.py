"""Binance spot REST market-data endpoints, answered from the simulator's true state.

``handle(exchange, method, path, query) -> (status, headers, body)``; runs on the loop thread (called from the
WebSocket server's ``process_request``). Bodies are JSON, errors Binance-style: ``{"code":-1121,"msg":"Invalid
symbol."}``. Every response carries ``X-MBX-USED-WEIGHT-1M``.

    GET /api/v3/depth?symbol=BTCUSDT&limit=5
      -> {"lastUpdateId":1000000123,"bids":[["59999.99000000","0.09112000"],...],"asks":[[...],...]}
    GET /api/v3/aggTrades?symbol=BTCUSDT&fromId=100000000&limit=2
      -> [{"a":100000000,"p":"60000.01000000","q":"0.00330000","f":300000000,"l":300000001,
           "T":1723161255342,"m":false,"M":true}, ...]
    GET /api/v3/exchangeInfo?symbol=BTCUSDT -> {"timezone":"UTC","serverTime":..,"rateLimits":[..],"symbols":[..]}
    GET /api/v3/ping -> {}          GET /api/v3/time -> {"serverTime":1723161255342}
"""
from __future__ import annotations

import json
import time

import orjson

from .symbols import fmt
from .weights import depth_weight

HOUR_MS = 3_600_000

MISSING_SYMBOL = (-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
INVALID_SYMBOL = (-1121, "Invalid symbol.")
FAILURE_BODIES = {
    429: (-1003, "Too many requests; current limit is being exceeded. Please use WebSocket Streams."),
    418: (-1003, "Way too many requests; IP banned. Please use WebSocket Streams."),
}


class ApiError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _int(query: dict, name: str, default=None, lo=None, hi=None):
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ApiError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    value = int(raw)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ApiError(-1100, f"Illegal value for parameter '{name}': {value}; allowed {lo}..{hi}.")
    return value


def _market(exchange, query: dict):
    symbol = query.get("symbol")
    if not symbol:
        raise ApiError(*MISSING_SYMBOL)
    market = exchange.markets.get(symbol)
    if market is None:
        raise ApiError(*INVALID_SYMBOL)
    return market


def depth(exchange, query):
    limit = _int(query, "limit", 100, 1, 5000)
    return exchange.depth_body(_market(exchange, query).symbol, limit)


def agg_trades(exchange, query):
    ledger = _market(exchange, query).trades
    limit = _int(query, "limit", 500, 1, 1000)
    from_id = _int(query, "fromId")
    start, end = _int(query, "startTime"), _int(query, "endTime")
    if start is not None and end is not None and end - start > HOUR_MS:
        raise ApiError(-1127, "More than 1 hours between startTime and endTime.")
    if start is not None and end is None:
        end = start + HOUR_MS
    elif end is not None and start is None:
        start = end - HOUR_MS
    lo, hi = ledger.index_range(from_id, start, end, None if from_id is not None or start is not None else limit)
    # Like Binance: the first ``limit`` trades that exist from there (an exchange gap is skipped, not returned
    # as an empty page).
    return orjson.dumps(ledger.trades(lo, hi, limit))


def exchange_info(exchange, query):
    names = list(exchange.markets)
    if query.get("symbol"):
        names = [query["symbol"]]
    elif query.get("symbols"):
        try:
            names = json.loads(query["symbols"])
        except ValueError:
            raise ApiError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    if any(n not in exchange.markets for n in names):
        raise ApiError(*INVALID_SYMBOL)
    symbols = []
    for name in names:
        spec = exchange.markets[name].spec
        symbols.append({
            "symbol": name, "status": exchange.symbol_status(name), "baseAsset": spec.base, "baseAssetPrecision": 8,
            "quoteAsset": spec.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
            "isSpotTradingAllowed": True, "permissions": ["SPOT"],
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": fmt(spec.tick), "maxPrice": fmt(spec.max_price),
                 "tickSize": fmt(spec.tick)},
                {"filterType": "LOT_SIZE", "minQty": fmt(spec.step), "maxQty": fmt(spec.max_qty),
                 "stepSize": fmt(spec.step)},
            ],
        })
    return orjson.dumps({
        "timezone": "UTC", "serverTime": int(time.time() * 1000),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": exchange.weights.budget},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [], "symbols": symbols,
    })


def _weight(path: str, query: dict) -> int:
    if path == "/api/v3/depth":
        try:
            return depth_weight(int(query.get("limit") or 100))
        except ValueError:
            return 5
    return {"/api/v3/aggTrades": 4, "/api/v3/exchangeInfo": 20}.get(path, 1)


ROUTES = {
    "/api/v3/depth": depth,
    "/api/v3/aggTrades": agg_trades,
    "/api/v3/exchangeInfo": exchange_info,
    "/api/v3/ping": lambda exchange, query: b"{}",
    "/api/v3/time": lambda exchange, query: orjson.dumps({"serverTime": int(time.time() * 1000)}),
}


def _error(code: int, msg: str) -> bytes:
    return orjson.dumps({"code": code, "msg": msg})


def handle(exchange, method: str, path: str, query: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    """Answer one REST request: injected failure, then the weight ledger, then the endpoint."""
    route = ROUTES.get(path)
    if route is None:
        return 404, [], _error(-1000, f"Unknown endpoint {path}")
    now = time.time()
    status, until = exchange.rest_failure
    if now < until:
        retry = [("Retry-After", str(max(1, round(until - now))))] if status in (418, 429) else []
        code, msg = FAILURE_BODIES.get(status, (-1001, "Internal error; unable to process your request."))
        return status, [*retry, ("X-MBX-USED-WEIGHT-1M", str(exchange.weights.used))], _error(code, msg)
    verdict = exchange.weights.charge(_weight(path, query))  # at the ledger's own clock (tests drive it)
    headers = [("X-MBX-USED-WEIGHT-1M", str(verdict.used))]
    if verdict.status != 200:
        return verdict.status, [*headers, ("Retry-After", str(verdict.retry_after))], \
            _error(*FAILURE_BODIES[verdict.status])
    if method != "GET":
        return 405, headers, _error(-1000, f"{method} is not allowed here")
    try:
        return 200, headers, route(exchange, query)
    except ApiError as exc:
        return exc.status, headers, _error(exc.code, exc.msg)
