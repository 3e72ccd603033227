"""`tradeactors bench book` end to end through the CLI, on tiny settings: the figures in plausible bands (a
busy 2-core machine, not the bar BENCHMARKS.md measures on an idle one)."""

from __future__ import annotations

import pytest

from tests.helpers import bench


def test_book_benchmark():
    result = bench("book", "--seconds", "0.3")
    assert result["bench"] == "book"
    # The 2024 BTCUSDT capture after its snapshot, as BENCHMARKS.md describes it.
    assert result["frames"] == 6493 and result["levels_per_frame"] == 45.9
    # Measured 11-40k parses/s and 11-19k diffs/s: a floor 20 times lower still fails a book that stalls.
    assert result["parse_per_s"] >= 1000 and result["diffs_per_s"] >= 500
    # Parse + apply cannot be much faster than the parse alone, nor should it be 20 times slower.
    assert 0.05 <= result["ratio"] <= 1.5
    assert result["ratio"] == pytest.approx(result["diffs_per_s"] / result["parse_per_s"], rel=0.01, abs=0.001)
