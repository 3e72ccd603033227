"""`tradeactors bench ingest` (throughput, realistic load, burst) end to end through the CLI on tiny settings,
ending with its JSON line. What is asserted: nothing lost or duplicated, the fields BENCHMARKS.md documents, and
figures in plausible bands: wide enough for a 1-second run on a 2-core machine busy with other tests (these are
not the performance bars, which BENCHMARKS.md measures on an idle machine), narrow enough that a unit mix-up, a
wrong denominator or a stalled pipeline fails."""

from __future__ import annotations

import os

import pytest

from tests.helpers import bench

CORES_PCT = 100 * (os.cpu_count() or 1)
"""The most CPU a process can use, in % of one core."""


def test_ingest_throughput_over_tls_and_plaintext_loses_nothing():
    result = bench("ingest", "--seconds", "1")
    assert result["bench"] == "ingest" and result["symbols"] == 1 and result["transport"] == "tls"
    assert set(result["by_transport"]) == {"tls", "plain"}
    for figures in result["by_transport"].values():
        assert figures["lost"] == 0 and figures["duplicated"] == 0
        # The simulator publishes as fast as it can (20-75k trades/s on this machine): a second of it is
        # thousands of trades, and so is a second of the bare receive loop and of the pipeline.
        assert figures["trades"] >= 1000 and 0 <= figures["backfilled"] <= figures["trades"]
        assert figures["raw_tps"] >= 1000 and figures["pipeline_tps"] >= 1000
        assert 0.05 <= figures["ratio"] <= 5
        assert figures["ratio"] == pytest.approx(figures["pipeline_tps"] / figures["raw_tps"], rel=0.01, abs=0.001)
        # Thousands of trades parsed and written cost CPU, and no process uses more than all the cores.
        assert 1 <= figures["cpu_user_pct"] <= CORES_PCT and 0 <= figures["cpu_system_pct"] <= CORES_PCT
    assert result["ratio"] == result["by_transport"]["tls"]["ratio"] and result["lost"] == 0
    assert result["duplicated"] == 0 and 20 <= result["peak_rss_mb"] <= 2000


@pytest.mark.slow
def test_ingest_realistic_reports_cpu_by_thread_user_and_system_apart():
    warmup, minutes = 2, 0.05  # 3 s measured: CPU times tick every 10 ms, 1/3 % of a core over 3 s
    result = bench("ingest", "--realistic", "--minutes", str(minutes), "--warmup", str(warmup))
    assert result["bench"] == "ingest-realistic" and result["transport"] == "tls" and result["books_synced"]
    # 2 symbols at 100 trades/s, stored from the first connection: ~200 a second of warm-up and measurement
    expected = 2 * 100 * (warmup + minutes * 60)
    assert 0.5 * expected <= result["trades"] <= 1.5 * expected
    # Usual load costs a few % of a core (bar 5 %, measured 2-3 %); half a core would be a busy loop.
    cpu = result["cpu_pct_one_core"]
    assert 0 < cpu <= 50 and result["cpu_vs_bar"] == pytest.approx(cpu / 5, abs=0.01)
    assert cpu == pytest.approx(result["cpu_user_pct"] + result["cpu_system_pct"], abs=0.02)
    assert result["cpu_user_pct"] > 0 and result["cpu_system_pct"] >= 0
    shares = result["cpu_by_thread"]
    assert {"Reader", "Storage", "Buffer"} <= set(shares) and "Baseline" not in shares
    assert min(min(v.values()) for v in shares.values()) >= 0
    # The threads are a split of the process, not extra to it: their sum is the total, give or take a 10 ms tick
    # each and threads that come and go.
    assert sum(v["user"] + v["system"] for v in shares.values()) == pytest.approx(cpu, abs=1 + 0.2 * cpu)
    reader, baseline = result["reader_cpu_pct"], result["baseline_recv_loop_cpu_pct"]
    assert reader == pytest.approx(shares["Reader"]["user"] + shares["Reader"]["system"], abs=0.02)
    assert 0 < baseline <= 50 and result["reader_vs_baseline"] == pytest.approx(reader / baseline, rel=0.05, abs=0.05)
    assert 20 <= result["rss_mb_start"] <= result["rss_mb_max"] <= 500


def test_ingest_burst_reports_receive_lag_against_a_bare_loop():
    rate, seconds = 500, 2
    result = bench("ingest", "--burst", "--rate", str(rate), "--seconds", str(seconds))
    assert result["bench"] == "ingest-burst" and result["transport"] == "tls" and result["rate_asked"] == rate
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert 0.5 * rate <= result["trades_per_s"] <= 1.5 * rate  # the simulator keeps a rate this low
    assert seconds <= result["seconds"] <= seconds + 1.5
    assert result["trades"] >= 0.5 * result["trades_per_s"] * result["seconds"]
    # Lag from trade time to hand-over: mostly the reader's 100 ms gathering; seconds would mean it fell behind.
    assert 0 < result["lag_ms_p50"] <= result["lag_ms_p99"] <= result["lag_ms_max"] < 5000
    assert 0 <= result["baseline_lag_ms_p50"] <= result["baseline_lag_ms_p99"] < 5000
    assert result["baseline_lag_ms_p99"] > 0
    # The book is sampled every 0.25 s; a loopback depth stream has no gap, so nothing makes it resync.
    assert 4 <= result["book_samples"] <= result["seconds"] / 0.25 + 2
    assert 0 <= result["book_unsynced_samples"] <= result["book_samples"] and result["book_resyncs"] == 0
