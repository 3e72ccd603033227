"""``web/overview.py``: a symbol's state as operators see it, why it needs attention, trades/min between reads,
counts, filters, order and the cut of per-symbol maps. Pure: dicts in, dicts out."""

from __future__ import annotations

import pytest

from tradeactors.web import overview


def status(state="connected", age_ms=100, down_s=0.0, book="synced", **extra) -> dict:
    return {"state": state, "last_message_age_ms": age_ms, "down_for_s": down_s, "trades_received": 5,
            "last_trade_id": 9, "last_trade_time": 1, "book": {"state": book, "unsynced_for_s": 0.0, "resyncs": 0},
            **extra}


@pytest.mark.parametrize("answer,expected", [
    (status(), "connected"),
    (status(age_ms=60_001), "stalled"),
    (status(age_ms=None), "connected"),  # nothing received yet on a fresh connection
    (status("reconnecting", down_s=59), "reconnecting"),
    (status("reconnecting", down_s=61), "down"),
    (status("connecting", down_s=61), "down"),
    (status("stopped", down_s=600), "stopped"),
    ({"state": "unavailable", "error": "stream:X did not answer within 2s"}, "unavailable"),
    ({"state": "weird"}, "unavailable"),
])
def test_stream_state(answer, expected):
    assert overview.stream_state(answer, down_alert=60) == expected


def test_reasons_come_most_urgent_first_and_a_fine_symbol_has_none():
    assert overview.reasons("connected", "synced", 0, 0.3) == []
    assert overview.reasons("reconnecting", "buffering", 2, 11.0) == ["not_connected", "unsynced", "holes",
                                                                      "lagging"]
    assert overview.reasons("unavailable", "unavailable", 0, None) == ["unavailable"]
    assert overview.reasons("stalled", "synced", 0, 10.0) == ["stalled"]  # 10 s is the limit, not past it


def test_trade_rates_span_about_a_minute_and_skip_a_counter_that_went_down():
    rates = overview.TradeRates(window_s=60)
    assert rates.per_minute() == {}
    rates.observe(0.0, {"A": 0, "B": 100})
    rates.observe(0.2, {"A": 999, "B": 999})  # the same instant: ignored
    rates.observe(30.0, {"A": 30, "B": 10, "C": 5})
    assert rates.per_minute() == {"A": 60.0}  # B went down (a new registry), C has no earlier read
    for t in range(31, 200):
        rates.observe(float(t), {"A": 2 * t})
    assert rates.per_minute()["A"] == pytest.approx(120.0)
    assert 60 <= 199 - rates._reads[0][0] <= 61


def rows():
    answer = {"symbols": {"BBB": status(), "AAA": status("reconnecting", down_s=3), "CCC": status(book="syncing"),
                          "DDD": {"state": "unavailable", "error": "x"}, "EEE": status(age_ms=90_000)},
              "storage": {"holes": {"BBB": [[1, 2]], "AAA": []}},
              "backfill": {"last_gap": {"BBB": {"from_id": 1}}}}
    values = {"store_lag": {"EEE": 12.0, "BBB": 0.5}, "reconnects": {"AAA": 3.0}, "connection_failures": {}}
    return overview.symbol_rows(answer, values, {"BBB": 30.0, "AAA": 120.0}, down_alert=60)


def test_rows_carry_what_the_table_shows():
    by_symbol = {r["symbol"]: r for r in rows()}
    assert list(by_symbol) == ["BBB", "AAA", "CCC", "DDD", "EEE"]
    assert by_symbol["BBB"]["attention"] == ["holes"] and by_symbol["BBB"]["last_gap"] == {"from_id": 1}
    assert (by_symbol["AAA"]["state"], by_symbol["AAA"]["reconnects"], by_symbol["AAA"]["rank"]) == \
        ("reconnecting", 3, 2)
    assert by_symbol["DDD"]["book"] == "unavailable" and by_symbol["DDD"]["attention"] == ["unavailable"]
    assert by_symbol["EEE"]["attention"] == ["stalled", "lagging"]
    assert by_symbol["CCC"]["attention"] == ["unsynced"] and by_symbol["CCC"]["trades_per_min"] is None


def test_summary_counts():
    summary = overview.summary(rows())
    assert summary["symbols"] == 5
    assert {k: v for k, v in summary["streams"].items() if v} == {"connected": 2, "reconnecting": 1,
                                                                  "unavailable": 1, "stalled": 1}
    assert summary["books"] == {"synced": 3, "syncing": 1, "unavailable": 1}
    assert (summary["attention"], summary["holes"], summary["trades_per_min"]) == (5, 1, 150.0)


def test_select_and_order():
    chosen = overview.select(rows(), "attention")
    assert [r["symbol"] for r in overview.ordered(chosen)] == ["DDD", "AAA", "EEE", "CCC", "BBB"]
    assert [r["symbol"] for r in overview.select(rows(), "lagging")] == ["EEE"]
    assert [r["symbol"] for r in overview.select(rows(), None, "C")] == ["CCC"]
    assert [r["symbol"] for r in overview.ordered(rows(), "trades_per_min", descending=True)] == \
        ["AAA", "BBB", "CCC", "DDD", "EEE"]  # unknown rates last when descending, ties by name
    assert [r["symbol"] for r in overview.ordered(rows(), "symbol", descending=True)] == \
        ["EEE", "DDD", "CCC", "BBB", "AAA"]
    assert [r["symbol"] for r in overview.ordered(rows(), "store_lag")] == ["AAA", "CCC", "DDD", "BBB", "EEE"]


def test_only_symbols_cuts_maps_keyed_by_symbol_and_keeps_the_rest():
    part = {"holes": {"AAA": [], "BBB": [[1, 2]], "GONE": []}, "size_on_disk": 7, "queued": ["AAA"], "empty": {},
            "by_kind": {"gap": 1}, "NOTSYMBOLS": {"XXX": 1}}
    # GONE is no longer collected (storage keeps it until retention): the map is still keyed by symbol.
    assert overview.only_symbols(part, {"BBB"}, {"AAA", "BBB"}) == {
        "holes": {"BBB": [[1, 2]]}, "size_on_disk": 7, "queued": ["AAA"], "empty": {}, "by_kind": {"gap": 1},
        "NOTSYMBOLS": {"XXX": 1}}
    assert overview.only_symbols("error", set(), set()) == "error"
