"""``GET /api/openapi.json``: an OpenAPI 3.1 description of every ``/api/*`` endpoint and ``/metrics``.

Written by hand, next to the views, except what the code already states once: every query parameter (name,
range, default, description) comes from ``tradeactors.parameters``, which the views parse with, and every error
response's status and code from ``web/responses.ERRORS``. tests/web/test_openapi.py keeps the rest true: every
route is documented, every documented path is routed, every documented range is enforced.
"""

from __future__ import annotations

from flask import Blueprint

from tradeactors import parameters
from tradeactors._version import __version__
from tradeactors.errors import InsufficientData, InvalidParameter, Unavailable, UnknownSymbol
from tradeactors.parameters import (
    ATTENTION_REASONS,
    MAX_BOOK_SECONDS,
    MAX_WINDOW_HOURS,
    MAX_WINDOW_MS,
    RECENT_LOG_RECORDS,
    STREAM_STATES,
)
from tradeactors.web.responses import ERRORS as ERROR_STATUS
from tradeactors.web.responses import json_response

bp = Blueprint("openapi", __name__, url_prefix="/api")


def _parameter(p: parameters.Parameter) -> dict:
    param = {"name": p.name, "in": "query", "required": p.required, "description": p.description,
             "schema": p.schema()}
    if p.example is not None:
        param["example"] = p.example
    return param


def _parameters(path: str) -> list[dict]:
    return [_parameter(p) for p in parameters.ENDPOINTS.get(path, ())]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _domain_error(error: type, description: str) -> dict:
    status, code = ERROR_STATUS[error]
    return {str(status): _error(f"{code}: {description}")}


ERRORS = {
    **_domain_error(InvalidParameter, "a parameter is missing, not an integer or out of range (`details.field` "
                                      "names it, `details.minimum`/`maximum` give the range)"),
    "401": _error("unauthorized: `api_token` is configured and the bearer token is missing or wrong"),
    **_domain_error(Unavailable, "an actor did not answer in time or is restarting"),
}
SYMBOL_ERRORS = {**ERRORS, **_domain_error(UnknownSymbol, "the symbol is not collected")}
ANALYTICS_ERRORS = {**SYMBOL_ERRORS,
                    **_domain_error(InsufficientData, "`details` has required, available, collecting_since and "
                                                      "estimated_wait_seconds")}


def _json(description: str, schema: dict | None = None) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def _get(summary: str, ok: dict, errors: dict, tag: str) -> dict:
    """A GET operation; its ``parameters`` are filled in from ``parameters.ENDPOINTS`` below ``PATHS``."""
    return {"get": {"summary": summary, "tags": [tag], "parameters": [], "responses": {"200": ok, **errors}}}


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
        "Liveness/readiness: 200 when every actor is alive and every stream connected or reconnecting",
        _json("healthy", {"type": "object", "properties": {"status": {"const": "ok"},
                                                           "reasons": {"type": "array", "items": {"type": "string"}}}}),
        {"401": ERRORS["401"], "503": _json("unhealthy: `status` is `unhealthy` and `reasons` says why")}, "service"),
    "/api/status": _get(
        "Per recording symbol: connection and book state, last trade, counters; the symbol set; per actor: alive "
        "and restarts; storage, backfill, cleanup, depth snapshots (REST, to sync books) and REST weight; a summary "
        "of the symbols. Without parameters every recording symbol in the service's order; with symbols, state, "
        "offset or limit only those, a page in attention order with the per-symbol maps of the other sections cut "
        "to its symbols",
        _json("the service status", _ref("Status")), SYMBOL_ERRORS, "service"),
    "/api/trades": _get(
        "Stored trades with start <= T <= end, ordered by aggregate id, paged (pass next_cursor back as cursor); "
        f"at most {MAX_WINDOW_HOURS // 24} days ({MAX_WINDOW_MS} ms) per request",
        _json("one page of trades", {"type": "object", "properties": {
            "symbol": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"},
            "count": {"type": "integer"}, "trades": {"type": "array", "items": TRADE},
            "next_cursor": {"type": ["string", "null"]}}}),
        SYMBOL_ERRORS, "data"),
    "/api/trades.parquet": _get(
        "The trades of /api/trades's window (start <= T <= end, by aggregate id) as one Parquet file, streamed: "
        "decimal128 prices and quantities at the range's scale, timestamp[ms, UTC], int64 ids, the taker side "
        "(docs/export.md). The whole window (at most 7 days), no paging: limit and cursor are refused",
        {"description": "a Parquet file (zstd, row groups of 1,000,000 trades)",
         "content": {"application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}}},
        SYMBOL_ERRORS, "data"),
    "/api/orderbook/l1": _get(
        "The live local book's best bid and ask",
        _json("best levels, spread and mid (null while the book has no side)"), SYMBOL_ERRORS, "data"),
    "/api/orderbook/l2": _get(
        "The live local book's top levels",
        _json("top levels, best first", {"type": "object", "properties": {
            "symbol": {"type": "string"}, "sync_state": {"type": "string"}, "update_id": {"type": ["integer", "null"]},
            "age_ms": {"type": ["integer", "null"]}, "depth": {"type": "integer"}, "bids": LEVELS, "asks": LEVELS}}),
        SYMBOL_ERRORS, "data"),
    "/api/snapshots": _get(
        "Stored book seconds (the top of the book at the end of each exchange-time second in which it changed, "
        f"while synced; under the key `snapshots`), at most {MAX_BOOK_SECONDS} seconds per request",
        _json("book seconds"), SYMBOL_ERRORS, "data"),
    "/api/volume_profile": _get(
        "Volume profile: dense tick-aligned histogram, point of control and value area (docs/analytics.md)",
        _json("the profile", _ref("VolumeProfile")), ANALYTICS_ERRORS, "analytics"),
    "/api/liquidity_vacuums": _get(
        "Runs of bins whose volume is below threshold_ratio x the median bin volume",
        _json("vacuum zones sorted by price"), ANALYTICS_ERRORS, "analytics"),
    "/api/order_flow": _get(
        "Order flow over the window: flow rates and direction, cumulative delta, OFI, depth imbalance, microprice",
        _json("order-flow figures"), ANALYTICS_ERRORS, "analytics"),
    "/api/microstructure_health": _get(
        "Spread stability, depth, flow balance and update rate scores and an overall health level",
        _json("health scores"), ANALYTICS_ERRORS, "analytics"),
    "/api/market_anomalies": _get(
        "Deterministic anomaly detectors (quote stuffing, spread blowout, depth collapse, flash-crash risk, "
        "price jump, iceberg order) over the window against a baseline",
        _json("anomalies and the analysis window"), ANALYTICS_ERRORS, "analytics"),
    "/api/dashboard": _get(
        "Everything the dashboard shows in one request: health, the summary, one page of the symbol table "
        "(filtered by q and state, sorted, paged), the other status sections without their per-symbol maps, "
        "service-wide metric values, recent warnings",
        _json("dashboard data", {"type": "object", "properties": {
            "now_ms": {"type": "integer"}, "version": {"type": "string"}, "config": {"type": "object"},
            "health": {"type": "object", "properties": {
                "healthy": {"type": "boolean"}, "reasons": {"type": "array", "items": {"type": "string"}},
                "reasons_total": {"type": "integer"}}},
            "summary": _ref("Summary"), "page": _ref("Page"),
            "rows": {"type": "array", "items": _ref("SymbolRow")},
            "status": {"type": "object", "description": "Status without symbols; actors lists every actor but "
                                                        "StreamActors beyond 50 that are alive and never restarted, "
                                                        "stream_actors counts them"},
            "metrics": {"type": "object"}, "logs": {"type": "array", "items": LOG_RECORD}}}),
        ERRORS, "operators"),
    "/api/logs/recent": _get(
        f"The last (at most {RECENT_LOG_RECORDS}) WARNING-or-worse log records of this process, oldest first",
        _json("recent records", {"type": "object", "properties": {
            "count": {"type": "integer"}, "capacity": {"type": "integer"},
            "records": {"type": "array", "items": LOG_RECORD}}}),
        {"400": ERRORS["400"], "401": ERRORS["401"]}, "operators"),
    "/api/openapi.json": _get("This document", _json("OpenAPI 3.1"), {"401": ERRORS["401"]}, "operators"),
    "/metrics": {"get": {
        "summary": "Prometheus metrics, text exposition format 0.0.4 (see docs/operations.md)", "tags": ["operators"],
        "parameters": [],
        "responses": {"200": {"description": "metrics",
                              "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}},
                      "401": ERRORS["401"]}}},
}
for _path, _item in PATHS.items():
    _item["get"]["parameters"] = _parameters(_path)

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
                                                     "stopped", "unavailable"],
                          "description": "the StreamActor's own state; summary.streams also counts stalled and "
                                         "down, as the dashboard shows them"},
                "connections": {"type": "integer"}, "trades_received": {"type": "integer"},
                "last_trade_id": {"type": ["integer", "null"]}, "last_trade_time": {"type": ["integer", "null"]},
                "book": {"type": "object", "properties": {"state": {"type": "string"},
                                                          "update_id": {"type": ["integer", "null"]},
                                                          "resyncs": {"type": "integer"}}}}}},
            "actors": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                "alive": {"type": "boolean"}, "restarts": {"type": "integer"}}}},
            "storage": {"type": "object"}, "backfill": {"type": "object"}, "cleanup": {"type": "object"},
            "depth_snapshots": {"type": "object"}, "rest": {"type": "object"},
            "symbol_set": {"type": "object", "description": "the symbol set: `selection` (a list or ALL with its "
                           "filters), exchangeInfo reads, `last_error`, `recording` (how many symbols record now) and "
                           "`history_only` (symbols with stored history, not recording)"},
            "summary": _ref("Summary"),
            "page": {**_ref("Page"), "description": "only when symbols, state, offset or limit was given"}}},
        "Summary": {"type": "object", "description": "counts over the symbols asked for (all without `symbols`)",
                    "properties": {
            "symbols": {"type": "integer"},
            "streams": {"type": "object", "description": "symbols by stream state",
                        "properties": {state: {"type": "integer"} for state in STREAM_STATES}},
            "books": {"type": "object", "description": "symbols by book state (synced, syncing, buffering, ...)",
                      "additionalProperties": {"type": "integer"}},
            "attention": {"type": "integer", "description": "symbols needing attention for any reason"},
            "attention_by_reason": {"type": "object", "properties": {r: {"type": "integer"}
                                                                     for r in ATTENTION_REASONS}},
            "holes": {"type": "integer", "description": "open holes in the stored ids"},
            "trades_per_min": {"type": ["number", "null"],
                               "description": "received, over about the last minute of requests"}}},
        "Page": {"type": "object", "properties": {
            "offset": {"type": "integer"}, "limit": {"type": ["integer", "null"]},
            "matched": {"type": "integer", "description": "symbols the filters chose"},
            "returned": {"type": "integer"}, "total": {"type": "integer"}}},
        "SymbolRow": {"type": "object", "properties": {
            "symbol": {"type": "string"}, "state": {"type": "string", "enum": list(STREAM_STATES)},
            "book": {"type": "string"}, "attention": {"type": "array", "items": {"enum": list(ATTENTION_REASONS)}},
            "rank": {"type": "integer", "description": "the most urgent reason's place (0 first); "
                                                       f"{len(ATTENTION_REASONS)} = none"},
            "trades_per_min": {"type": ["number", "null"]}, "store_lag_s": {"type": ["number", "null"]},
            "reconnects": {"type": "integer"}, "connection_failures": {"type": "integer"},
            "holes": {"type": "integer"}, "last_gap": {"type": ["object", "null"]},
            "last_trade_id": {"type": ["integer", "null"]}, "last_trade_time": {"type": ["integer", "null"]},
            "trades_received": {"type": ["integer", "null"]}}},
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
