"""`tradeactors bench query` end to end through the CLI, on tiny settings."""

from __future__ import annotations

from tests.helpers import bench


def test_query_benchmark():
    result = bench("query", "--hours", "1", "--runs", "1")
    # the benchmark itself checks that both layouts answer with the same trade count
    assert result["bench"] == "query" and result["hours"] == 1 and result["trades"] > 0
    assert result["seconds"] > 0 and result["baseline_seconds"] > 0 and result["bytes_per_trade"] > 0
