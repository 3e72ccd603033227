"""`tradeactors bench book` end to end through the CLI, on tiny settings."""

from __future__ import annotations

from tests.helpers import bench


def test_book_benchmark():
    result = bench("book", "--seconds", "0.3")
    assert result["bench"] == "book" and result["ratio"] > 0
