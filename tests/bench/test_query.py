"""`tradeactors bench query` end to end through the CLI, on tiny settings: the figures in plausible bands (a
busy 2-core machine, not the bars BENCHMARKS.md measures on an idle one)."""

from __future__ import annotations

from tests.helpers import bench


def test_query_benchmark():
    result = bench("query", "--hours", "1", "--runs", "1")
    # the benchmark itself checks that both layouts answer with the same trade count
    assert result["bench"] == "query" and result["hours"] == 1 and result["trades"] == 3600 * 100
    # Measured 0.004-0.03 s for ours and 0.35-0.5 s for the seeds' scan; a second or more would be a bug.
    assert 0 < result["seconds"] < 5 and 0 < result["baseline_seconds"] < 60
    # ratio = baseline / ours, computed before the JSON rounded them (to 1 ms, 0.1 ms and 0.1)
    seconds, baseline = result["seconds"], result["baseline_seconds"]
    assert (baseline - 0.0005) / (seconds + 0.00005) - 0.05 <= result["ratio"] \
        <= (baseline + 0.0005) / max(seconds - 0.00005, 1e-9) + 0.05
    assert result["ratio"] >= 0.2  # ours reads rollups, the seeds' layout decodes every trade in Python
    # Bytes on disk after a full compaction do not depend on the machine: ~8 (bar 12) against ~10.4.
    assert 4 <= result["bytes_per_trade"] < result["baseline_bytes_per_trade"] <= 20
    assert 10 <= result["peak_rss_mb"] <= 1000
