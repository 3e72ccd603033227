"""Analytics endpoints (ANALYTICS.md): /api/volume_profile, /api/liquidity_vacuums, /api/order_flow,
/api/microstructure_health, /api/market_anomalies."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("analytics", __name__, url_prefix="/api")
