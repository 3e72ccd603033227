"""`tradeactors bench analytics` end to end through the CLI: it reproduces the real-market figures that
docs/analytics.md ("On the real market") carries."""

from __future__ import annotations

from tests.helpers import bench


def test_analytics_benchmark_reproduces_the_documented_figures():
    result = bench("analytics")
    assert result["bench"] == "analytics"
    btc, eth = result["BTCUSDT"], result["ETHUSDT"]
    assert btc["levels"] == {"Excellent": 9, "Good": 1, "Fair": 0, "Poor": 0, "Critical": 0}
    assert eth["levels"] == {"Excellent": 8, "Good": 2, "Fair": 0, "Poor": 0, "Critical": 0}
    assert btc["score"] == {"min": 61.9, "p10": 84.9, "median": 92.8, "max": 99.0}
    assert eth["score"] == {"min": 62.2, "p10": 76.5, "median": 95.2, "max": 99.9}
    assert btc["firings"]["PriceJump"] == 2 and btc["firings_per_hour"]["PriceJump"] == 12.0
    assert sum(btc["firings"].values()) == 2 and sum(eth["firings"].values()) == 0
    assert btc["good_or_better"] >= 0.8 and eth["good_or_better"] >= 0.8
