"""``GET /api/openapi.json``: an OpenAPI 3.1 description of every ``/api/*`` endpoint and ``/metrics``.

Written by hand, next to the views, and kept true by tests/web/test_openapi.py: every route is documented, every
documented path exists (the analytics paths are documented from ANALYTICS.md), and every documented integer
range is the one the view enforces. Parameter helpers keep the ranges in one place per endpoint.
"""

from __future__ import annotations

from flask import Blueprint

from tradeactors import __version__
from tradeactors.web.responses import json_response

bp = Blueprint("openapi", __name__, url_prefix="/api")

MAX_MS = 10**13 - 1


def _int(name: str, low: int, high: int, description: str, *, required: bool = False, default: int | None = None,
         example: int | None = None) -> dict:
    schema = {"type": "integer", "minimum": low, "maximum": high}
    if default is not None:
        schema["default"] = default
    param = {"name": name, "in": "query", "required": required, "description": description, "schema": schema}
    if example is not None:
        param["example"] = example
    return param


def _number(name: str, description: str, *, exclusive_min: float | None = None, maximum: float | None = None,
            exclusive_max: float | None = None, default: float | None = None) -> dict:
    schema: dict = {"type": "number"}
    if exclusive_min is not None:
        schema["exclusiveMinimum"] = exclusive_min
    if maximum is not None:
        schema["maximum"] = maximum
    if exclusive_max is not None:
        schema["exclusiveMaximum"] = exclusive_max
    if default is not None:
        schema["default"] = default
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


SYMBOL = {"name": "symbol", "in": "query", "required": True, "example": "BTCUSDT",
          "description": "a collected symbol; trimmed and upper-cased (404 unknown_symbol if not collected)",
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9 ]{2,40}$", "maxLength": 40}}
TICK_SIZE = {"name": "tick_size", "in": "query", "required": False,
             "description": "bin size (decimal > 0), rounded up to a multiple of the exchange tick; the effective "
                            "value is reported",
             "schema": {"type": "string", "pattern": "^[0-9]*\\.?[0-9]+$"}}
DURATION_HOURS = _int("duration_hours", 1, 168, "window [now - duration, now] on trade time, hours", default=24)
WINDOW_SECS = _int("window_duration_secs", 10, 300, "window [now - W, now], seconds", default=60)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


ERRORS = {
    "400": _error("invalid_parameter: a parameter is missing, not an integer or out of range (`details.field` "
                  "names it, `details.minimum`/`maximum` give the range)"),
    "401": _error("unauthorized: `api_token` is configured and the bearer token is missing or wrong"),
    "503": _error("unavailable: an actor did not answer in time or is restarting"),
}
SYMBOL_ERRORS = {**ERRORS, "404": _error("unknown_symbol: the symbol is not collected")}
ANALYTICS_ERRORS = {**SYMBOL_ERRORS,
                    "422": _error("insufficient_historical_data: `details` has required, available, "
                                  "collecting_since and estimated_wait_seconds")}


def _json(description: str, schema: dict | None = None) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _get(summary: str, parameters: list[dict], ok: dict, errors: dict, tag: str) -> dict:
    return {"get": {"summary": summary, "tags": [tag], "parameters": parameters,
                    "responses": {"200": ok, **errors}}}


LEVELS = {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}],
                                     "description": "[price, quantity] as decimal strings, best first"}}
TRADE = {"type": "object", "required": list("apqTmfl"), "properties": {
    "a": {"type": "integer", "description": "aggregate trade id"},
    "p": {"type": "string", "description": "price, the exact decimal string Binance sent"},
    "q": {"type": "string", "description": "quantity, the exact decimal string Binance sent"},
    "T": {"type": "integer", "description": "trade time, ms"},
    "m": {"type": "boolean", "description": "buyer is maker (the taker sold)"},
    "f": {"type": "integer", "description": "first raw trade id"},
    "l": {"type": "integer", "description": "last raw trade id"}}}
LOG_RECORD = {"type": "object", "properties": {
    "seq": {"type": "integer"}, "ts": {"type": "integer", "description": "ms since the epoch"},
    "level": {"type": "string", "enum": ["WARNING", "ERROR", "CRITICAL"]}, "thread": {"type": "string"},
    "logger": {"type": "string"}, "message": {"type": "string"}}}

PATHS = {
    "/api/health": _get(
        "Liveness/readiness: 200 when every actor is alive and every stream connected or reconnecting", [],
        _json("healthy", {"type": "object", "properties": {"status": {"const": "ok"},
                                                           "reasons": {"type": "array", "items": {"type": "string"}}}}),
        {"401": ERRORS["401"], "503": _json("unhealthy: `status` is `unhealthy` and `reasons` says why")}, "service"),
    "/api/status": _get(
        "Per symbol: connection and book state, last trade, counters; per actor: alive and restarts; storage, "
        "backfill, cleanup, depth snapshots (REST, to sync books) and REST weight", [], _json("the service status", _ref("Status")),
        ERRORS, "service"),
    "/api/trades": _get(
        "Stored trades with start <= T <= end, ordered by aggregate id, paged (pass next_cursor back as cursor); "
        "at most 7 days (604800000 ms) per request",
        [SYMBOL,
         _int("start", 0, MAX_MS, "window start, ms since the epoch (inclusive)", required=True, example=0),
         _int("end", 0, MAX_MS, "window end, ms (inclusive); end >= start and end - start <= 604800000",
              required=True, example=1),
         _int("limit", 1, 10000, "trades per page", default=1000),
         {"name": "cursor", "in": "query", "required": False, "description": "next_cursor of the previous page",
          "schema": {"type": "string", "pattern": "^[0-9]{1,13}:[0-9]{1,19}$"}}],
        _json("one page of trades", {"type": "object", "properties": {
            "symbol": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"},
            "count": {"type": "integer"}, "trades": {"type": "array", "items": TRADE},
            "next_cursor": {"type": ["string", "null"]}}}),
        SYMBOL_ERRORS, "data"),
    "/api/orderbook/l1": _get(
        "The live local book's best bid and ask", [SYMBOL],
        _json("best levels, spread and mid (null while the book has no side)"), SYMBOL_ERRORS, "data"),
    "/api/orderbook/l2": _get(
        "The live local book's top levels", [SYMBOL, _int("depth", 1, 5000, "levels per side", default=20)],
        _json("top levels, best first", {"type": "object", "properties": {
            "symbol": {"type": "string"}, "sync_state": {"type": "string"}, "update_id": {"type": ["integer", "null"]},
            "age_ms": {"type": ["integer", "null"]}, "depth": {"type": "integer"}, "bids": LEVELS, "asks": LEVELS}}),
        SYMBOL_ERRORS, "data"),
    "/api/snapshots": _get(
        "Stored book seconds (the top of the book at the end of each exchange-time second in which it changed, "
        "while synced; under the key `snapshots`), at most 3600 seconds per request",
        [SYMBOL,
         _int("start", 0, MAX_MS // 1000, "first second (unix seconds, inclusive)", required=True, example=0),
         _int("end", 0, MAX_MS // 1000, "last second (inclusive); end - start <= 3600", required=True, example=1)],
        _json("book seconds"), SYMBOL_ERRORS, "data"),
    "/api/volume_profile": _get(
        "Volume profile: dense tick-aligned histogram, point of control and value area (ANALYTICS.md)",
        [SYMBOL, DURATION_HOURS, TICK_SIZE,
         _number("value_area_pct", "fraction of the volume in the value area", exclusive_min=0, maximum=1,
                 default=0.70)],
        _json("the profile", _ref("VolumeProfile")), ANALYTICS_ERRORS, "analytics"),
    "/api/liquidity_vacuums": _get(
        "Runs of bins whose volume is below threshold_ratio x the median bin volume",
        [SYMBOL, DURATION_HOURS, TICK_SIZE,
         _number("threshold_ratio", "vacuum threshold as a fraction of the median bin volume", exclusive_min=0,
                 exclusive_max=1, default=0.20)],
        _json("vacuum zones sorted by price"), ANALYTICS_ERRORS, "analytics"),
    "/api/order_flow": _get(
        "Order flow over the window: flow rates and direction, cumulative delta, OFI, depth imbalance, microprice",
        [SYMBOL, WINDOW_SECS, _int("depth_levels", 1, 20, "book levels per side considered", default=20)],
        _json("order-flow figures"), ANALYTICS_ERRORS, "analytics"),
    "/api/microstructure_health": _get(
        "Spread stability, depth, flow balance and update rate scores and an overall health level",
        [SYMBOL, WINDOW_SECS], _json("health scores"), ANALYTICS_ERRORS, "analytics"),
    "/api/market_anomalies": _get(
        "Deterministic anomaly detectors (quote stuffing, spread blowout, depth collapse, flash-crash risk, "
        "price jump, iceberg order) over the window against a baseline",
        [SYMBOL, WINDOW_SECS,
         _int("baseline_minutes", 5, 1440, "minutes of history before the window used as the baseline",
              default=60)],
        _json("anomalies and the analysis window"), ANALYTICS_ERRORS, "analytics"),
    "/api/dashboard": _get(
        "Everything the dashboard shows in one request: status, per-symbol metric values, recent warnings", [],
        _json("dashboard data", {"type": "object", "properties": {
            "now_ms": {"type": "integer"}, "version": {"type": "string"}, "config": {"type": "object"},
            "status": _ref("Status"), "metrics": {"type": "object"},
            "logs": {"type": "array", "items": LOG_RECORD}}}),
        ERRORS, "operators"),
    "/api/logs/recent": _get(
        "The last (at most 100) WARNING-or-worse log records of this process, oldest first",
        [_int("limit", 1, 100, "records to return (the newest)", default=100)],
        _json("recent records", {"type": "object", "properties": {
            "count": {"type": "integer"}, "capacity": {"type": "integer"},
            "records": {"type": "array", "items": LOG_RECORD}}}),
        {"400": ERRORS["400"], "401": ERRORS["401"]}, "operators"),
    "/api/openapi.json": _get("This document", [], _json("OpenAPI 3.1"), {"401": ERRORS["401"]}, "operators"),
    "/metrics": {"get": {
        "summary": "Prometheus metrics, text exposition format 0.0.4 (see docs/operations.md)", "tags": ["operators"],
        "parameters": [],
        "responses": {"200": {"description": "metrics",
                              "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}},
                      "401": ERRORS["401"]}}},
}

COMPONENTS = {
    "schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "details"], "properties": {
                "code": {"type": "string", "enum": ["invalid_parameter", "unknown_symbol", "not_found",
                                                    "method_not_allowed", "insufficient_historical_data",
                                                    "unauthorized", "unavailable", "http_error",
                                                    "internal_error"]},
                "message": {"type": "string", "description": "for people; starts with the field's name for "
                                                             "invalid_parameter"},
                "details": {"type": "object", "description": "machine-readable: field, minimum, maximum, ..."}}}}},
        "Status": {"type": "object", "properties": {
            "symbols": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                "state": {"type": "string", "enum": ["starting", "connecting", "connected", "reconnecting",
                                                     "stopped", "unavailable"]},
                "connections": {"type": "integer"}, "trades_received": {"type": "integer"},
                "last_trade_id": {"type": ["integer", "null"]}, "last_trade_time": {"type": ["integer", "null"]},
                "book": {"type": "object", "properties": {"state": {"type": "string"},
                                                          "update_id": {"type": ["integer", "null"]},
                                                          "resyncs": {"type": "integer"}}}}}},
            "actors": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                "alive": {"type": "boolean"}, "restarts": {"type": "integer"}}}},
            "storage": {"type": "object"}, "backfill": {"type": "object"}, "cleanup": {"type": "object"},
            "depth_snapshots": {"type": "object"}, "rest": {"type": "object"}}},
        "VolumeProfile": {"type": "object", "properties": {
            "symbol": {"type": "string"}, "time_period_start": {"type": "integer"},
            "time_period_end": {"type": "integer"}, "price_range_low": {"type": "string"},
            "price_range_high": {"type": "string"}, "tick_size": {"type": "string"}, "bin_size": {"type": "string"},
            "bin_count": {"type": "integer"}, "histogram": {"type": "array", "items": {"type": "object", "properties": {
                "price_low": {"type": "string"}, "price_high": {"type": "string"}, "price_level": {"type": "string"},
                "volume": {"type": "string"}, "buy_volume": {"type": "string"}, "sell_volume": {"type": "string"},
                "quote_volume": {"type": "string"}, "trade_count": {"type": "integer"},
                "percentage_of_total": {"type": "number"}}}},
            "total_volume": {"type": "string"}, "trade_count": {"type": "integer"},
            "point_of_control": {"type": "string"}, "poc_volume": {"type": "string"},
            "value_area_high": {"type": "string"}, "value_area_low": {"type": "string"},
            "value_area_volume": {"type": "string"}, "value_area_pct_actual": {"type": "number"}}},
    },
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                   "description": "required on /api/* and /metrics when `api_token` is set"}},
}


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "tradeactors", "version": __version__,
                 "description": "Binance market-data recorder: operators' and analytics API. Errors are "
                                "`{error: {code, message, details}}`; prices and quantities are decimal strings."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {}],
        "paths": PATHS,
        "components": COMPONENTS,
    }


@bp.get("/openapi.json")
def openapi_json():
    return json_response(document())
