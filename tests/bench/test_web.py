"""`tradeactors bench web` end to end through the CLI, on small settings: it runs, and its JSON line has every
figure, with no timing bar (timings belong to BENCHMARKS.md, measured on purpose, not to a loaded test runner)."""

from __future__ import annotations

from tests.helpers import bench


def test_web_benchmark():
    result = bench("web", "--symbols", "60", "--requests", "2")
    assert (result["bench"], result["symbols"]) == ("web", 60)
    # 19 per-symbol series for each of 60 symbols, plus the service-wide ones and the histogram.
    assert 60 * 19 < result["metric_samples"] < 60 * 19 + 100
    for key in ("dashboard", "status", "status_page", "status_two", "metrics"):
        assert result[f"{key}_ms"] > 0 and result[f"{key}_baseline_ms"] > 0 and result[f"{key}_kb"] > 0, key
    # A page of 50 is smaller than the whole status of 60 symbols, and the dashboard sends one page.
    assert result["status_two_kb"] < result["status_page_kb"] < result["status_kb"]
    assert result["ask_round_ms"] > 0
