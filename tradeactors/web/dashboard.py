"""The operator dashboard (``GET /``), its data endpoint (``GET /api/dashboard``) and the recent-warnings log
(``GET /api/logs/recent``).

The page is one HTML template plus ``static/dashboard.js`` and ``static/dashboard.css``: no CDN, no framework,
charts are inline SVG. It polls ``/api/dashboard`` every 2 s (one request per refresh: the service status plus
the per-symbol metric values the page needs) and keeps its own history of those polls for the sparklines and
the storage growth rate.

``RecentLogHandler`` keeps the last 100 WARNING-or-worse records in memory. One handler serves the process: it
is attached to the root logger once (``install_log_handler``, called by ``create_app``), so building many apps
(the tests) never stacks handlers. Records are kept as plain dicts; the lock makes ``emit`` safe from every
actor thread.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from flask import Blueprint, current_app, make_response, render_template, request

from tradeactors import parameters
from tradeactors._version import __version__
from tradeactors.web.responses import json_response

bp = Blueprint("dashboard", __name__)

RECENT_LIMIT = parameters.RECENT_LOG_RECORDS
"""WARNING+ records kept in memory for ``/api/logs/recent`` (the most its ``limit`` parameter allows)."""


class RecentLogHandler(logging.Handler):
    """A bounded in-memory log of WARNING-or-worse records, newest last."""

    def __init__(self, capacity: int = RECENT_LIMIT):
        super().__init__(level=logging.WARNING)
        self._records: collections.deque[dict] = collections.deque(maxlen=capacity)
        self._records_lock = threading.Lock()
        self._seq = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break the caller's logging
            message = str(record.msg)
        with self._records_lock:
            self._seq += 1
            self._records.append({"seq": self._seq, "ts": int(record.created * 1000), "level": record.levelname,
                                  "thread": record.threadName, "logger": record.name, "message": message[:2000]})

    def recent(self, limit: int = RECENT_LIMIT) -> list[dict]:
        with self._records_lock:
            records = list(self._records)
        return records[-limit:] if limit else []


recent_log = RecentLogHandler()


def install_log_handler() -> RecentLogHandler:
    root = logging.getLogger()
    if recent_log not in root.handlers:
        root.addHandler(recent_log)
    return recent_log


def _service():
    return current_app.extensions["tradeactors"]


CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                           "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
"""Only the page's own files: no inline script, nothing from elsewhere."""


@bp.get("/")
def page():
    response = make_response(render_template("dashboard.html", version=__version__))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/logs/recent")
def logs_recent():
    limit = parameters.parse(parameters.RECENT_LOGS, request.args)["limit"]
    records = recent_log.recent(limit)
    return json_response({"count": len(records), "capacity": RECENT_LIMIT, "records": records})


SYMBOL_METRICS = {
    "trades_received": "tradeactors_trades_received_total",
    "trades_stored": "tradeactors_trades_stored_total",
    "reconnects": "tradeactors_reconnects_total",
    "connection_failures": "tradeactors_connection_failures_total",
    "gaps_found": "tradeactors_gaps_found_total",
    "gaps_filled": "tradeactors_gaps_filled_total",
    "gaps_unfillable": "tradeactors_gaps_unfillable_total",
    "buffer_trades": "tradeactors_buffer_trades",
    "store_lag_seconds": "tradeactors_store_lag_seconds",
}
GLOBAL_METRICS = {
    "batches_written": "tradeactors_batches_written_total",
    "bytes_written": "tradeactors_bytes_written_total",
    "storage_errors": "tradeactors_storage_errors_total",
    "storage_pending_trades": "tradeactors_storage_pending_trades",
}


def metric_values(registry, symbols) -> dict:
    """The metric values the dashboard shows, read from the service's own registry (None = never set).

    One pass over the registry: ``get_sample_value`` walks all of it on every call, which for 50 symbols (some
    500 lookups) took a second per refresh."""
    wanted = set(SYMBOL_METRICS.values()) | set(GLOBAL_METRICS.values())
    samples = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name in wanted:
                samples[(sample.name, sample.labels.get("symbol"))] = sample.value
    per_symbol = {s: {key: samples.get((name, s)) for key, name in SYMBOL_METRICS.items()} for s in symbols}
    totals = {key: samples.get((name, None)) for key, name in GLOBAL_METRICS.items()}
    return {"symbols": per_symbol, **totals}


@bp.get("/api/dashboard")
def dashboard_data():
    service = _service()
    healthy, reasons = service.health()
    c = service.config
    return json_response({
        "now_ms": int(time.time() * 1000),
        "version": __version__,
        "config": {"symbols": list(service.symbols), "stream_timeout": c.stream_timeout,
                   "stream_down_alert": c.stream_down_alert, "book_unsynced_alert": c.book_unsynced_alert},
        "health": {"healthy": healthy, "reasons": reasons},
        "status": service.status(),
        "metrics": metric_values(service.metrics.registry, service.symbols),
        "logs": recent_log.recent(20),
    })
