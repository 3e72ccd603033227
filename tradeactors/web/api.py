"""JSON API views: /api/health and /api/trades (more areas get their own blueprints)."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, request

from tradeactors.errors import InvalidParameter
from tradeactors.web import json_response
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
