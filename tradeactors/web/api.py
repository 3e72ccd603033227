"""JSON API views: health, status, stored trades, the live book and stored book seconds; their query parameters
are the tables of ``tradeactors.parameters``."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, request

from tradeactors import parameters
from tradeactors.errors import InvalidParameter
from tradeactors.parameters import MAX_BOOK_SECONDS
from tradeactors.web.responses import json_response

bp = Blueprint("api", __name__, url_prefix="/api")


def _service():
    return current_app.extensions["tradeactors"]


@bp.get("/health")
def health():
    healthy, reasons = _service().health()
    return json_response({"status": "ok" if healthy else "unhealthy", "reasons": reasons}, 200 if healthy else 503)


@bp.get("/status")
def status():
    return json_response(_service().status())


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
