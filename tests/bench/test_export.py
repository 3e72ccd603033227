"""``tradeactors bench export`` at a small size: it runs through the CLI, both sides export every trade, and the
figures are plausible (a file smaller than the raw columns, a positive rate, CPU and RSS reported apart)."""

from __future__ import annotations

from tests.helpers import bench


def test_bench_export_small():
    result = bench("export", "--hours", "1", "--baseline-hours", "0.25", timeout=180)
    assert result["bench"] == "export" and result["trades"] == 360_000
    # The first quarter hour of trades at random times in the hour: about a quarter of them.
    assert abs(result["baseline_trades"] - 90_000) < 3_000 and result["baseline_hours"] == 0.25
    assert 1 < result["bytes_per_trade"] < 40  # the raw columns alone are 41 bytes a trade
    assert result["trades_per_second"] > 0 and result["baseline_trades_per_second"] > 0
    assert result["user_cpu_seconds"] > 0 and result["system_cpu_seconds"] >= 0
    assert 50 < result["peak_rss_mb"] < 2000 and result["row_groups"] == 1
