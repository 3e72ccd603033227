"""Analytics through the real service on the simulator: a fresh service's 422, rollup-based results equal to the
raw computation, the book-based tools over stored book seconds. The endpoints' parameter and error contract is
tested without a service in tests/web/test_analytics.py, the tools' InsufficientData in
tests/analytics/test_insufficient.py."""

from __future__ import annotations

import time

import requests

from tests.helpers import wait_for
from tradeactors import analytics, storage, tools
from tradeactors.actors.messages import Analyze


def get(service, path, **params):
    return requests.get(f"{service.http.url}{path}", params=params, timeout=30)


def test_a_fresh_service_answers_422_with_a_sensible_wait(service_factory, sim):
    service = service_factory()
    wait_for(lambda: len(storage.trade_ids(service.db, "BTCUSDT")) >= 50, timeout=20, message="50 trades")
    response = get(service, "/api/volume_profile", symbol="BTCUSDT", duration_hours=1)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "insufficient_historical_data"
    details = error["details"]
    assert details["required"] == 1000 and 50 <= details["available"] < 1000
    assert details["collecting_since"] <= int(time.time() * 1000)
    # the simulator trades ~50/s: the wait is what is missing at that rate, give or take start-up
    expected = (1000 - details["available"]) / 50
    assert 0.4 * expected <= details["estimated_wait_seconds"] <= 3 * expected


def test_volume_profile_from_rollups_equals_the_raw_computation(service_factory, sim):
    sim.set_regime("BTCUSDT", rate=800)
    service = service_factory()
    wait_for(lambda: len(storage.trade_ids(service.db, "BTCUSDT")) >= 3000, timeout=30, message="3000 trades")
    now = int(time.time() * 1000)
    body = service.ask("query", Analyze("volume_profile", "BTCUSDT", {"duration_hours": 1}, now), timeout=30)
    raw = storage.read_columns(service.db, "BTCUSDT", now - 3_600_000, now)
    tick = tools.tick_units(service.db, "BTCUSDT", raw.p_decimals, raw.p)
    expected = analytics.volume_profile(analytics.tick_volumes(raw, tick), symbol="BTCUSDT", tick=tick,
                                        p_decimals=raw.p_decimals, q_decimals=raw.q_decimals)
    assert body == expected
    assert body["trade_count"] == len(raw) >= 3000
    assert body["tick_size"] == "0.01000000"  # the exchange's tick from the cached exchangeInfo
    response = get(service, "/api/volume_profile", symbol="btcusdt", duration_hours=1, value_area_pct="0.5")
    assert response.status_code == 200 and response.json()["value_area_pct_actual"] >= 0.5
    vacuums = get(service, "/api/liquidity_vacuums", symbol="BTCUSDT", duration_hours=1)
    assert vacuums.status_code == 200


def test_the_book_based_tools_over_stored_book_seconds_of_a_steady_market(service_factory, sim):
    service = service_factory()
    wait_for(lambda: len(storage.read_book_seconds(service.db, "BTCUSDT", int(time.time()) - 60,
                                                    int(time.time()))) >= 4, timeout=20, message="4 book seconds")
    flow = get(service, "/api/order_flow", symbol="BTCUSDT", window_duration_secs=30, depth_levels=10)
    assert flow.status_code == 200, flow.text
    assert flow.json()["snapshot_count"] >= 4 and flow.json()["flow_direction"] in (
        "STRONG_BUY", "MODERATE_BUY", "NEUTRAL", "MODERATE_SELL", "STRONG_SELL")
    health = get(service, "/api/microstructure_health", symbol="BTCUSDT", window_duration_secs=30)
    assert health.status_code == 200, health.text
    body = health.json()
    assert 0 <= body["overall_score"] <= 100 and body["health_level"] in ("Excellent", "Good", "Fair", "Poor",
                                                                         "Critical")
    assert body["stale"] is False
    anomalies = get(service, "/api/market_anomalies", symbol="BTCUSDT", window_duration_secs=30)
    assert anomalies.status_code == 200, anomalies.text
    assert anomalies.json()["anomalies"] == []


def test_the_cached_exchange_tick_wins_over_the_finest_step_seen(tmp_path):
    import numpy as np

    from tradeactors.storage import Database, TradeWriter

    db = Database(tmp_path / "db")
    try:
        prices = np.array([6_000_000_000_000, 6_000_010_000_000], dtype=np.int64)  # every price ends in 0.10
        assert tools.tick_units(db, "BTCUSDT", 8, prices) == 10_000_000  # fallback: the data's finest step
        TradeWriter(db, ["BTCUSDT"]).store_symbol_info("BTCUSDT", {"tickSize": "0.01000000", "stepSize": "0.00001000"})
        assert tools.tick_units(db, "BTCUSDT", 8, prices) == 1_000_000  # the exchange's tick, from the cache
    finally:
        db.close()
