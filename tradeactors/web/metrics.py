"""``GET /metrics``: the service's Prometheus metrics in the text exposition format (version 0.0.4).

Each service has its own ``CollectorRegistry`` (``service.metrics.registry``), so several services in one
process (the tests) never mix their counters.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import generate_latest

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Pinned rather than prometheus_client's CONTENT_TYPE_LATEST, which newer releases moved to version 1.0.0."""


@bp.get("/metrics")
def metrics() -> Response:
    service = current_app.extensions["tradeactors"]
    service.health()  # refreshes the health gauges (health_ok, stream_down_seconds, book_unsynced_seconds)
    return Response(generate_latest(service.metrics.registry), status=200, content_type=CONTENT_TYPE)
