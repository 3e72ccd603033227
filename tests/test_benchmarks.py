"""Every benchmark runs end to end through the CLI on tiny settings and ends with its JSON line. Figures are not
asserted here (the benchmarks measure them, see BENCHMARKS.md); what is: nothing lost or duplicated, and the
fields BENCHMARKS.md documents are present."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import run_cli


def bench(*args, timeout=120) -> dict:
    done = run_cli("bench", *args, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ingest_throughput_loses_nothing():
    result = bench("ingest", "--seconds", "1")
    assert result["bench"] == "ingest" and result["symbols"] == 1 and result["trades"] > 0
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["raw_tps"] > 0 and result["pipeline_tps"] > 0 and result["ratio"] > 0


@pytest.mark.slow
def test_ingest_realistic_reports_cpu_by_thread():
    result = bench("ingest", "--realistic", "--minutes", "0.1", "--warmup", "2")
    assert result["bench"] == "ingest-realistic" and result["trades"] > 0
    assert result["cpu_pct_one_core"] > 0 and result["cpu_vs_bar"] == pytest.approx(result["cpu_pct_one_core"] / 5,
                                                                                   abs=0.01)
    shares = result["cpu_by_thread"]
    assert {"Reader", "Storage", "Buffer"} <= set(shares) and min(shares.values()) >= 0
    # the threads are a split of the process (give or take a 10 ms tick each), not extra to it
    assert sum(shares.values()) <= result["cpu_pct_one_core"] + 5


def test_book_benchmark():
    result = bench("book", "--seconds", "0.3")
    assert result["bench"] == "book" and result["ratio"] > 0


def test_query_benchmark():
    result = bench("query", "--hours", "1", "--runs", "1")
    # the benchmark itself checks that both layouts answer with the same trade count
    assert result["bench"] == "query" and result["hours"] == 1 and result["trades"] > 0
    assert result["seconds"] > 0 and result["baseline_seconds"] > 0 and result["bytes_per_trade"] > 0
