"""InsufficientData as the pure analytics raise it and as ``tools`` completes it from the store: the details the
HTTP 422 and in-process callers get (required, available, collecting_since, estimated_wait_seconds, in order)."""

from __future__ import annotations

import pytest

from tests.helpers import BASE_T, trades
from tradeactors import storage, tools
from tradeactors.errors import InsufficientData, TradeactorsError

HOUR_MS = 3_600_000


def test_the_pure_error_holds_only_required_and_available():
    error = InsufficientData(2, 1, "book seconds")
    assert isinstance(error, TradeactorsError)
    assert error.details == {"required": 2, "available": 1}
    assert error.message == str(error) == "needs at least 2 book seconds in the window, has 1"


def test_on_an_empty_store_nothing_is_collected_and_no_wait_is_promised(db):
    error = tools.insufficient(db, "BTCUSDT", 1000, 0, BASE_T - HOUR_MS, BASE_T)
    assert list(error.details.items()) == [("required", 1000), ("available", 0), ("collecting_since", None),
                                           ("estimated_wait_seconds", None)]
    assert error.message == "needs at least 1000 aggregate trades in the window, has 0; nothing collected yet"


def test_the_wait_is_what_is_missing_at_the_rate_seen_since_collection_began(db):
    storage.TradeWriter(db, ["BTCUSDT"]).write("BTCUSDT", trades(1, 50, t0=BASE_T))
    # 50 trades over the 10 s since the first one: 5/s, so the 950 missing take 190 s.
    error = tools.insufficient(db, "BTCUSDT", 1000, 50, BASE_T + 10_000 - HOUR_MS, BASE_T + 10_000)
    assert error.details == {"required": 1000, "available": 50, "collecting_since": BASE_T,
                             "estimated_wait_seconds": 190}
    assert error.message.endswith(f"has 50; collecting since {BASE_T}, about 190 s more")


def test_collected_but_nothing_in_the_window_gives_since_without_a_wait(db):
    storage.TradeWriter(db, ["BTCUSDT"]).write("BTCUSDT", trades(1, 5, t0=BASE_T))
    error = tools.insufficient(db, "BTCUSDT", 2, 0, BASE_T + HOUR_MS, BASE_T + 2 * HOUR_MS, "book seconds")
    assert (error.details["collecting_since"], error.details["estimated_wait_seconds"]) == (BASE_T, None)
    assert error.message.endswith(f"has 0; collecting since {BASE_T}")


@pytest.mark.parametrize("tool", ["volume_profile", "liquidity_vacuums", "order_flow", "microstructure_health"])
def test_every_tool_on_a_fresh_store_raises_it_with_the_store_details(db, tool):
    with pytest.raises(InsufficientData) as info:
        tools.run(db, tool, "BTCUSDT", {}, BASE_T)
    assert set(info.value.details) == {"required", "available", "collecting_since", "estimated_wait_seconds"}
    assert info.value.details["available"] == 0


def test_market_anomalies_on_a_fresh_store_says_so_in_its_answer_instead(db):
    body = tools.run(db, "market_anomalies", "BTCUSDT", {}, BASE_T)
    assert body["insufficient_data"] is True and body["anomalies"] == []
