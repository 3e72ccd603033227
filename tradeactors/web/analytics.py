"""Analytics endpoints (parameters, ranges and defaults as in ANALYTICS.md): /api/volume_profile,
/api/liquidity_vacuums, /api/order_flow, /api/microstructure_health, /api/market_anomalies.

Each view only parses its parameters; the QueryActor reads the window and runs the pure analytics function.
"""

from __future__ import annotations

from flask import Blueprint, current_app

from tradeactors.web.responses import json_response
from tradeactors.web.params import decimal_param, float_param, int_param, symbol_param

bp = Blueprint("analytics", __name__, url_prefix="/api")


def _run(tool: str, **params):
    service = current_app.extensions["tradeactors"]
    symbol = symbol_param(service.symbols)
    return json_response(service.analyze(tool, symbol, params))


@bp.get("/volume_profile")
def volume_profile():
    return _run("volume_profile", duration_hours=int_param("duration_hours", 1, 168, default=24),
                tick_size=decimal_param("tick_size"),
                value_area_pct=float_param("value_area_pct", 0, 1, 0.70, low_open=True))


@bp.get("/liquidity_vacuums")
def liquidity_vacuums():
    return _run("liquidity_vacuums", duration_hours=int_param("duration_hours", 1, 168, default=24),
                tick_size=decimal_param("tick_size"),
                threshold_ratio=float_param("threshold_ratio", 0, 1, 0.20, low_open=True, high_open=True))


@bp.get("/order_flow")
def order_flow():
    return _run("order_flow", window_duration_secs=int_param("window_duration_secs", 10, 300, default=60),
                depth_levels=int_param("depth_levels", 1, 20, default=20))


@bp.get("/microstructure_health")
def microstructure_health():
    return _run("microstructure_health",
                window_duration_secs=int_param("window_duration_secs", 10, 300, default=60))


@bp.get("/market_anomalies")
def market_anomalies():
    return _run("market_anomalies", window_duration_secs=int_param("window_duration_secs", 10, 300, default=60),
                baseline_minutes=int_param("baseline_minutes", 5, 1440, default=60))
