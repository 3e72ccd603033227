"""A new user's first run on real data: ``tradeactors demo --replay`` replays the bundled 2024 captures live, and
every analytics tool answers from them."""

from __future__ import annotations

from decimal import Decimal

import requests

from tests.helpers import Process, wait_for

TOOLS = ("volume_profile", "liquidity_vacuums", "order_flow", "microstructure_health", "market_anomalies")


def test_demo_replay_answers_every_tool_from_the_real_capture(tmp_path):
    demo = Process("demo", "--replay", "--replay-speed", "10", "--no-tls", "--data-dir", str(tmp_path / "data"),
                   "--http", "127.0.0.1:0")
    try:
        api = demo.find(r"serving the API and dashboard at (\S+)/").group(1)

        def profile(symbol):
            response = requests.get(f"{api}/api/volume_profile", params={"symbol": symbol, "duration_hours": 1},
                                    timeout=10)
            if response.status_code == 422:  # still collecting: the wait is estimated from the replayed rate
                details = response.json()["error"]["details"]
                assert details["available"] == 0 or details["estimated_wait_seconds"] is not None
            return response.json() if response.status_code == 200 else None

        wait_for(lambda: profile("ETHUSDT"), timeout=60, interval=0.5, message="an ETHUSDT volume profile")
        body = profile("BTCUSDT")
        assert body is not None and body["trade_count"] >= 1000
        assert Decimal("61000") < Decimal(body["point_of_control"]) < Decimal("62500")  # BTC on 2024-08-08
        for tool in TOOLS:
            for symbol in ("BTCUSDT", "ETHUSDT"):
                response = requests.get(f"{api}/api/{tool}", params={"symbol": symbol}, timeout=10)
                assert response.status_code == 200, (tool, symbol, response.text)
        flow = requests.get(f"{api}/api/order_flow", params={"symbol": "BTCUSDT"}, timeout=10).json()
        assert flow["trade_count"] > 0 and flow["snapshot_count"] >= 2
        health = requests.get(f"{api}/api/microstructure_health", params={"symbol": "ETHUSDT"}, timeout=10).json()
        assert health["stale"] is False
        code, _ = demo.terminate()
    finally:
        demo.kill()
    assert code == 0, "".join(demo.lines[-20:])
