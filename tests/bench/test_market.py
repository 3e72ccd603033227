"""`tradeactors bench market` end to end through the CLI on a tiny market: the service and the simulator each in
its own process, every phase, and the JSON line with every key the issue asks for. Asserted: nothing lost or
duplicated against the simulator's record, no Binance limit crossed, an orderly stop; no timing bars (those
belong to BENCHMARKS.md, measured on an idle machine). The p99 from histogram buckets is checked on its own."""

from __future__ import annotations

import math

from tests.helpers import bench
from tradeactors.bench.market import p99_bound

KEYS = ("bench", "symbols", "cpu_user_pct", "cpu_system_pct", "burst_cpu_pct", "idle_cpu_pct", "rss_mb", "threads",
        "connected_s", "books_synced_s", "recv_lag_p99_s", "burst_recv_lag_p99_s", "store_lag_p99_s", "lost",
        "duplicated", "limit_violations", "service_connections", "baseline_cpu_pct", "ratio")


def test_market_benchmark_records_a_small_market_completely():
    # --no-baseline only here: the baseline's minute is what a benchmark run must spend, not a test.
    result = bench("market", "--symbols", "20", "--minutes", "0.2", "--burst-seconds", "5", "--idle-seconds", "5",
                   "--no-baseline", "--connect-timeout", "120", timeout=280)
    assert all(key in result for key in KEYS), [key for key in KEYS if key not in result]
    assert result["bench"] == "market" and result["symbols"] == 20
    assert result["lost"] == 0 and result["duplicated"] == 0 and result["stored"] > 0
    assert result["caught_up"] and result["exit_code"] == 0
    assert result["limit_violations"] and all(v == 0 for v in result["limit_violations"].values())
    # Every symbol connected and synced within the timeout; one connection per symbol in the current design.
    assert result["connected_s"] is not None and result["books_synced_s"] is not None
    assert result["service_connections"] >= 1
    assert result["cpu_user_pct"] > 0 and result["rss_mb"] > 20 and result["threads"] > 1
    assert result["baseline_cpu_pct"] is None and result["ratio"] is None


def test_p99_is_the_upper_bound_of_the_bucket_holding_it():
    before = {0.1: 10.0, 1.0: 10.0, 5.0: 10.0, math.inf: 10.0}
    # 1,000 new observations: 985 at or under 0.1 s, 10 more under 1 s, 5 under 5 s: the 990th is in (0.1, 1].
    after = {0.1: 995.0, 1.0: 1005.0, 5.0: 1010.0, math.inf: 1010.0}
    assert p99_bound(before, after) == (1.0, 1000)
    assert p99_bound(before, before) == (None, 0)  # no samples in the phase: no figure
    assert p99_bound({}, {}) == (None, 0)  # the histogram is not exposed
    assert p99_bound({}, {1.0: 0.0, math.inf: 100.0})[0] == "+Inf"  # past the top bucket
