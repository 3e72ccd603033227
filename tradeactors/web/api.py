"""JSON API views: health, status, stored trades, the live book and stored book seconds; their query parameters
are the tables of ``tradeactors.parameters``."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, request

from tradeactors import parameters
from tradeactors.errors import InvalidParameter
from tradeactors.parameters import MAX_BOOK_SECONDS
from tradeactors.web import overview
from tradeactors.web.responses import json_response

bp = Blueprint("api", __name__, url_prefix="/api")


def _service():
    return current_app.extensions["tradeactors"]


@bp.get("/health")
def health():
    healthy, reasons = _service().health()
    return json_response({"status": "ok" if healthy else "unhealthy", "reasons": reasons}, 200 if healthy else 503)


def symbol_rows(service, status: dict) -> list[dict[str, Any]]:
    """``overview.symbol_rows`` of ``status`` with the service's metric values and the trades/min since earlier
    requests (the app's ``TradeRates``, fed here with the ``trades_received`` counters)."""
    values = service.metrics.per_symbol("trades_received", "store_lag", "reconnects", "connection_failures")
    rates = current_app.extensions["tradeactors.rates"]
    rates.observe(time.monotonic(), values["trades_received"])
    return overview.symbol_rows(status, values, rates.per_minute(), service.config.stream_down_alert)


@bp.get("/status")
def status():
    """The service status with a ``summary`` of its symbols; ``symbols``, ``state``, ``offset`` and ``limit``
    choose which symbols it details (all, in the service's order, when none is given). A page lists its symbols in
    attention order and cuts the per-symbol maps of the other sections down to them."""
    service = _service()
    args = parameters.parse(parameters.STATUS, request.args, service.recording)  # history-only: no live status
    body = service.status(args["symbols"])
    rows = symbol_rows(service, body)
    summary = overview.summary(rows)
    paged = args["state"] is not None or args["offset"] or args["limit"] is not None
    if not paged and args["symbols"] is None:
        return json_response({**body, "summary": summary})
    chosen = overview.ordered(overview.select(rows, args["state"])) if paged else rows
    offset, limit = args["offset"], args["limit"]
    page = chosen[offset:offset + limit if limit is not None else None]
    keep = {row["symbol"] for row in page}
    everyone = set(service.symbols)
    details = {key: overview.only_symbols(value, keep, everyone) for key, value in body.items() if key != "symbols"}
    details["actors"] = {name: a for name, a in body.get("actors", {}).items()
                         if not name.startswith("stream:") or name[7:] in keep}
    return json_response({"symbols": {row["symbol"]: body["symbols"][row["symbol"]] for row in page}, **details,
                          "summary": summary, "page": {"offset": offset, "limit": limit, "matched": len(chosen),
                                                       "returned": len(page)}})


@bp.get("/trades")
def trades():
    service = _service()
    args = parameters.parse(parameters.TRADES, request.args, service.symbols)
    symbol, start, end = args["symbol"], args["start"], args["end"]
    page = service.query_trades(symbol, start, end, limit=args["limit"], after=args["cursor"])
    return json_response({
        "symbol": symbol,
        "start": start,
        "end": end,
        "count": len(page.trades),
        "trades": [{"a": t.a, "p": t.p, "q": t.q, "T": t.T, "m": t.m, "f": t.f, "l": t.l} for t in page.trades],
        "next_cursor": f"{page.next_cursor[0]}:{page.next_cursor[1]}" if page.next_cursor else None,
    })


PARQUET_BATCH_ROWS = 200_000
"""Trades asked of the QueryActor at a time for ``/api/trades.parquet``: each ask is short, so other queries
interleave with a long export."""


@bp.get("/trades.parquet")
def trades_parquet():
    """The trades of ``/api/trades``'s window as one Parquet file (docs/export.md), streamed row group by row
    group. Every check (parameters, range, symbol) and the scale of the file are settled before the first byte,
    so a bad request is the same 400/404 JSON as ``/api/trades``; a failure after that cuts the stream, and a
    Parquet file without its footer is refused by every reader."""
    from tradeactors.export import arrow, parquet

    service = _service()
    for name in ("limit", "cursor"):
        if request.args.get(name):
            raise InvalidParameter(name, "does not apply to /api/trades.parquet: the file holds the whole window "
                                         "[start, end] (at most 7 days); choose the window with start and end")
    args = parameters.parse(parameters.TRADES_PARQUET, request.args, service.symbols)
    symbol, start, end = args["symbol"], args["start"], args["end"]
    found = service.trade_decimals(symbol, start, end)
    scale = arrow.Scale(*found) if found is not None else arrow.Scale(0, 0)
    schema = arrow.trade_schema(symbol, scale, start, end)

    def batches():
        begin = start
        while begin is not None:
            columns, begin = service.trade_batch(symbol, begin, end, PARQUET_BATCH_ROWS)
            if len(columns):
                yield arrow.trade_batch(columns, schema, scale)

    return Response(parquet.stream(schema, batches()), mimetype=parquet.MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{symbol}-{start}-{end}.parquet"'})


def _levels_json(levels):
    return [[price, qty] for price, qty in levels]


@bp.get("/orderbook/l1")
def orderbook_l1():
    service = _service()
    symbol = parameters.parse(parameters.ORDERBOOK_L1, request.args, service.symbols)["symbol"]
    view = service.book(symbol, 1)
    body = {"symbol": symbol, "sync_state": view["sync_state"], "update_id": view["update_id"],
            "age_ms": view["age_ms"], "best_bid": None, "best_bid_qty": None, "best_ask": None, "best_ask_qty": None,
            "spread": None, "spread_bps": None, "mid": None}
    if view["bids"] and view["asks"]:
        (bid, bid_qty), (ask, ask_qty) = view["bids"][0], view["asks"][0]
        b, a = Decimal(bid), Decimal(ask)
        mid = (a + b) / 2
        body.update(best_bid=bid, best_bid_qty=bid_qty, best_ask=ask, best_ask_qty=ask_qty, spread=str(a - b),
                    mid=str(mid), spread_bps=float((a - b) / mid * 10_000) if mid else None)
    return json_response(body)


@bp.get("/orderbook/l2")
def orderbook_l2():
    service = _service()
    args = parameters.parse(parameters.ORDERBOOK_L2, request.args, service.symbols)
    symbol, depth = args["symbol"], args["depth"]
    view = service.book(symbol, depth)
    return json_response({"symbol": symbol, "sync_state": view["sync_state"], "update_id": view["update_id"],
                          "age_ms": view["age_ms"], "depth": depth, "bids": _levels_json(view["bids"]),
                          "asks": _levels_json(view["asks"])})


@bp.get("/snapshots")
def book_seconds():
    """Stored book seconds; the path and the ``snapshots`` key keep their first names for clients."""
    service = _service()
    args = parameters.parse(parameters.BOOK_SECONDS, request.args, service.symbols)
    symbol, start, end = args["symbol"], args["start"], args["end"]
    if end - start > MAX_BOOK_SECONDS:
        raise InvalidParameter("end", f"at most {MAX_BOOK_SECONDS} book seconds per request",
                               max_window_s=MAX_BOOK_SECONDS)
    found = service.book_seconds(symbol, start, end)
    return json_response({"symbol": symbol, "start": start, "end": end, "count": len(found), "snapshots": [
        {"second": s.second, "update_id": s.update_id, "event_time": s.event_ms,
         "bids": _levels_json(s.levels("bids")), "asks": _levels_json(s.levels("asks"))} for s in found]})
