"""JSON API views: /api/health and /api/trades (more areas get their own blueprints)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Blueprint, current_app, request

from tradeactors.errors import InvalidParameter
from tradeactors.web.responses import json_response
from tradeactors.web.params import int_param, symbol_param

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_MS = 10**13 - 1
CURSOR_RE = re.compile(r"^([0-9]{1,13}):([0-9]{1,19})$")


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
    symbol = symbol_param(service.symbols)
    start = int_param("start", 0, MAX_MS)
    end = int_param("end", 0, MAX_MS)
    limit = int_param("limit", 1, 10000, default=1000)
    after = None
    cursor = request.args.get("cursor")
    if cursor:
        match = CURSOR_RE.match(cursor)
        if not match:
            raise InvalidParameter("cursor", "must be the next_cursor of a previous page (T:a)")
        after = (int(match.group(1)), int(match.group(2)))
    page = service.query_trades(symbol, start, end, limit=limit, after=after)
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
    symbol = symbol_param(service.symbols)
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
    symbol = symbol_param(service.symbols)
    depth = int_param("depth", 1, 5000, default=20)
    view = service.book(symbol, depth)
    return json_response({"symbol": symbol, "sync_state": view["sync_state"], "update_id": view["update_id"],
                          "age_ms": view["age_ms"], "depth": depth, "bids": _levels_json(view["bids"]),
                          "asks": _levels_json(view["asks"])})


@bp.get("/snapshots")
def book_seconds():
    """Stored book seconds; the path and the ``snapshots`` key keep their first names for clients."""
    service = _service()
    symbol = symbol_param(service.symbols)
    start = int_param("start", 0, MAX_MS // 1000)
    end = int_param("end", 0, MAX_MS // 1000)
    if end - start > 3600:
        raise InvalidParameter("end", "at most 3600 book seconds per request", max_window_s=3600)
    found = service.book_seconds(symbol, start, end)
    return json_response({"symbol": symbol, "start": start, "end": end, "count": len(found), "snapshots": [
        {"second": s.second, "update_id": s.update_id, "event_time": s.event_ms,
         "bids": _levels_json(s.levels("bids")), "asks": _levels_json(s.levels("asks"))} for s in found]})
