"""``GET /metrics``: the service's Prometheus metrics in the text exposition format (version 0.0.4).

Each service has its own ``CollectorRegistry`` (``service.metrics.registry``), so several services in one
process (the tests) never mix their counters. At 1,500 symbols that is some 28,500 series: ``Metrics.exposition``
writes them in about a tenth of ``generate_latest``'s time (see BENCHMARKS.md, bench web).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Pinned rather than prometheus_client's CONTENT_TYPE_LATEST, which newer releases moved to version 1.0.0."""


@bp.get("/metrics")
def metrics() -> Response:
    service = current_app.extensions["tradeactors"]
    service.health()  # refreshes the health gauges (health_ok, stream_down_seconds, book_unsynced_seconds)
    return Response(service.metrics.exposition(), status=200, content_type=CONTENT_TYPE)
