"""`tradeactors bench ingest` (throughput, realistic load, burst) end to end through the CLI on tiny settings,
ending with its JSON line. Figures are not asserted here (the benchmarks measure them, see BENCHMARKS.md); what
is: nothing lost or duplicated, and the fields BENCHMARKS.md documents are present."""

from __future__ import annotations

import pytest

from tests.helpers import bench


def test_ingest_throughput_over_tls_and_plaintext_loses_nothing():
    result = bench("ingest", "--seconds", "1")
    assert result["bench"] == "ingest" and result["symbols"] == 1 and result["transport"] == "tls"
    assert set(result["by_transport"]) == {"tls", "plain"}
    for figures in result["by_transport"].values():
        assert figures["trades"] > 0 and figures["lost"] == 0 and figures["duplicated"] == 0
        assert figures["raw_tps"] > 0 and figures["pipeline_tps"] > 0 and figures["ratio"] > 0
        assert figures["cpu_user_pct"] >= 0 and figures["cpu_system_pct"] >= 0
    assert result["ratio"] == result["by_transport"]["tls"]["ratio"] and result["lost"] == 0


@pytest.mark.slow
def test_ingest_realistic_reports_cpu_by_thread_user_and_system_apart():
    result = bench("ingest", "--realistic", "--minutes", "0.1", "--warmup", "2")
    assert result["bench"] == "ingest-realistic" and result["transport"] == "tls" and result["trades"] > 0
    assert result["cpu_pct_one_core"] > 0 and result["cpu_vs_bar"] == pytest.approx(result["cpu_pct_one_core"] / 5,
                                                                                   abs=0.01)
    assert result["cpu_pct_one_core"] == pytest.approx(result["cpu_user_pct"] + result["cpu_system_pct"], abs=0.02)
    shares = result["cpu_by_thread"]
    assert {"Reader", "Storage", "Buffer"} <= set(shares) and "Baseline" not in shares
    assert min(min(v.values()) for v in shares.values()) >= 0
    # the threads are a split of the process (give or take a 10 ms tick each), not extra to it
    assert sum(v["user"] + v["system"] for v in shares.values()) <= result["cpu_pct_one_core"] + 5
    assert result["baseline_recv_loop_cpu_pct"] >= 0 and "reader_vs_baseline" in result


def test_ingest_burst_reports_receive_lag_against_a_bare_loop():
    result = bench("ingest", "--burst", "--rate", "500", "--seconds", "2")
    assert result["bench"] == "ingest-burst" and result["transport"] == "tls" and result["trades"] > 0
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert 0 < result["lag_ms_p50"] <= result["lag_ms_p99"] <= result["lag_ms_max"]
    assert result["baseline_lag_ms_p99"] > 0 and result["book_samples"] >= 4
