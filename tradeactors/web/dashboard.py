"""The operator dashboard (``GET /``), its data endpoint (``GET /api/dashboard``) and the recent-warnings log
(``GET /api/logs/recent``).

The page is one HTML template plus ``static/dashboard.js`` and ``static/dashboard.css``: no CDN, no framework,
charts are inline SVG. It polls ``/api/dashboard`` every 2 s (one request per refresh: health, counts by state,
the one page of the symbol table it shows, filtered and sorted here, and the other sections) and keeps its own
history of the rows it has shown for the sparklines, and of the storage size for its growth rate. At 1,500
symbols the page never holds more than one page of rows (at most 500) in the DOM.

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
from tradeactors.web import overview
from tradeactors.web.api import symbol_rows
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


GLOBAL_METRICS = {
    "batches_written": "tradeactors_batches_written_total",
    "bytes_written": "tradeactors_bytes_written_total",
    "storage_errors": "tradeactors_storage_errors_total",
    "storage_pending_trades": "tradeactors_storage_pending_trades",
}
INDIVIDUAL_STREAM_ACTORS = 50
"""Up to this many StreamActors the actor tree lists each; beyond, only those dead or restarted (and counts)."""
MAX_REASONS = 50
"""Health reasons sent to the page (``reasons_total`` says how many there were): 1,500 symbols can all fail."""


def global_values(metrics) -> dict:
    """The service-wide metric values the storage panel shows (None = never set)."""
    wanted = set(GLOBAL_METRICS.values())
    found = {}
    for metric in (metrics.batches_written, metrics.bytes_written, metrics.storage_errors, metrics.storage_pending):
        for family in metric.collect():
            for sample in family.samples:
                if sample.name in wanted:
                    found[sample.name] = sample.value
    return {key: found.get(name) for key, name in GLOBAL_METRICS.items()}


def actor_tree(actors: dict) -> tuple[dict, dict]:
    """(the actors to list, counts of the StreamActors): every actor that is not a StreamActor, and the
    StreamActors themselves while there are few, else only those dead or restarted."""
    streams = {name: a for name, a in actors.items() if name.startswith("stream:")}
    few = len(streams) <= INDIVIDUAL_STREAM_ACTORS
    listed = {name: a for name, a in actors.items()
              if not name.startswith("stream:") or few or not a["alive"] or a["restarts"]}
    counts = {"streams": len(streams), "alive": sum(a["alive"] for a in streams.values()),
              "restarts": sum(a["restarts"] for a in streams.values())}
    return listed, counts


@bp.get("/api/dashboard")
def dashboard_data():
    """One refresh of the page: health, the summary, one page of the symbol table (filtered, sorted) and the
    sections without their per-symbol maps, so that the answer stays small at 1,500 symbols."""
    service = _service()
    args = parameters.parse(parameters.DASHBOARD, request.args)
    healthy, reasons, status = service.health_and_status()
    rows = symbol_rows(service, status)
    chosen = overview.ordered(overview.select(rows, args["state"], args["q"]), args["sort"], args["order"] == "desc")
    offset, limit = args["offset"], args["limit"]
    page = chosen[offset:offset + limit]
    everyone = set(status["symbols"])
    actors, stream_actors = actor_tree(status.get("actors", {}))
    sections = {key: overview.only_symbols(value, set(), everyone) for key, value in status.items()
                if key not in ("symbols", "actors")}
    c = service.config
    return json_response({
        "now_ms": int(time.time() * 1000),
        "version": __version__,
        "config": {"symbols": list(service.symbols), "stream_timeout": c.stream_timeout,
                   "stream_down_alert": c.stream_down_alert, "book_unsynced_alert": c.book_unsynced_alert},
        "health": {"healthy": healthy, "reasons": reasons[:MAX_REASONS], "reasons_total": len(reasons)},
        "summary": overview.summary(rows),
        "page": {"offset": offset, "limit": limit, "matched": len(chosen), "total": len(rows)},
        "rows": page,
        "status": {**sections, "actors": actors, "stream_actors": stream_actors},
        "metrics": global_values(service.metrics),
        "logs": recent_log.recent(20),
    })
