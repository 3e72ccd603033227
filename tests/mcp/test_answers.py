"""What the service's answers become for an assistant: messages to relay as they stand, and the direct answer
to "is data being collected, and how much is there?"."""

from __future__ import annotations

import pytest

from tradeactors.mcp import answers

SHORT = "needs at least 1000 aggregate trades in the window, has 203; collecting since 1796180597787, about 16 s more"


def error(code, message, **details):
    return {"error": {"code": code, "message": message, "details": details}}


@pytest.mark.parametrize("seconds,words", [(0, "about 0 seconds"), (1, "about 1 second"), (16, "about 16 seconds"),
                                           (89, "about 89 seconds"), (95, "about 2 minutes"),
                                           (3600, "about 60 minutes"), (5400, "about 2 hours"),
                                           (3 * 86400, "about 3 days")])
def test_a_wait_is_said_in_the_unit_a_person_would_use(seconds, words):
    assert answers.duration(seconds) == words


def test_times_are_iso_8601_utc():
    assert answers.iso(1796180597787) == "2026-12-02T03:03:17.787Z"
    assert answers.iso(None) is None


def test_short_history_says_collection_is_in_progress_and_the_estimated_wait():
    body = error("insufficient_historical_data", SHORT, required=1000, available=203,
                 collecting_since=1796180597787, estimated_wait_seconds=16)
    failure = answers.service_error("get_volume_profile", "BTCUSDT", 422, body, "http://x", False)
    assert failure.message == (
        "Data collection is in progress for BTCUSDT: this analysis needs at least 1000 aggregate trades in its "
        "window and 203 are stored so far (collecting since 2026-12-02T03:03:17.787Z). At the observed rate that "
        "is about 16 seconds until enough; please try again then.")
    assert failure.error()["error"]["details"]["estimated_wait_seconds"] == 16
    assert failure.code == "insufficient_historical_data"


def test_nothing_collected_yet_says_so_and_where_to_look():
    details = {"required": 2, "available": 0, "collecting_since": None, "estimated_wait_seconds": None}
    failure = answers.insufficient_data("ETHUSDT", "needs at least 2 book seconds in the window, has 0", details)
    assert failure.message.startswith("Data collection has not started yet for ETHUSDT: nothing is stored so far")
    assert "at least 2 book seconds" in failure.message and "get_collection_status" in failure.message


def test_collected_before_but_not_in_the_window_points_at_the_stream():
    details = {"required": 1000, "available": 0, "collecting_since": 1796180597787, "estimated_wait_seconds": None}
    failure = answers.insufficient_data("BTCUSDT", "needs at least 1000 aggregate trades in the window", details)
    assert "collecting since 2026-12-02T03:03:17.787Z" in failure.message
    assert "stream may be disconnected" in failure.message


def test_a_shortfall_without_the_stores_details_still_reads_well():
    failure = answers.insufficient_data("BTCUSDT", "odd", {"required": 1000, "available": 3})
    assert failure.message == ("Not enough data yet for BTCUSDT: this analysis needs at least 1000 records in its "
                               "window and it holds 3. Please try again later.")


def test_the_services_invalid_parameter_names_the_field_and_its_range():
    body = error("invalid_parameter", "depth_levels: must be in 1..20, got 99", field="depth_levels", minimum=1,
                 maximum=20)
    failure = answers.service_error("get_order_flow", "BTCUSDT", 400, body, "http://x", False)
    assert failure.message == ("Invalid argument for get_order_flow: depth_levels: must be in 1..20, got 99. "
                               "Correct it and call get_order_flow again.")
    assert failure.details == {"field": "depth_levels", "minimum": 1, "maximum": 20}


def test_an_unknown_symbol_lists_the_collected_ones():
    body = error("unknown_symbol", "symbol 'XRPUSDT' is not collected", symbol="XRPUSDT",
                 collected=["BTCUSDT", "ETHUSDT"])
    failure = answers.service_error("get_order_flow", "XRPUSDT", 404, body, "http://x", False)
    assert failure.message == "XRPUSDT is not collected by this service; the symbols it collects are: BTCUSDT, ETHUSDT."


def test_401_says_how_to_give_the_token_or_that_it_was_refused():
    body = error("unauthorized", "missing or invalid bearer token")
    missing = answers.service_error("get_trades", "BTCUSDT", 401, body, "http://127.0.0.1:8080", False)
    assert "requires a bearer token" in missing.message and "TRADEACTORS_API_TOKEN" in missing.message
    wrong = answers.service_error("get_trades", "BTCUSDT", 401, body, "http://127.0.0.1:8080", True)
    assert "was refused" in wrong.message and wrong.code == "unauthorized"


def test_503_and_other_answers_are_explained():
    busy = answers.service_error("get_order_flow", "BTCUSDT", 503, error("unavailable", "query is not running"),
                                 "http://x", False)
    assert busy.message.startswith("The tradeactors service is temporarily unavailable (query is not running)")
    html = answers.service_error("get_order_flow", "BTCUSDT", 502, None, "http://x", False)
    assert html.message.startswith("The tradeactors service at http://x answered HTTP 502 without a JSON error")


STATUS = {
    "symbols": {
        "BTCUSDT": {"state": "connected", "last_trade_time": 1_000_059_000, "book": {"state": "synced"}},
        "ETHUSDT": {"state": "reconnecting", "last_trade_time": None, "book": {"state": "waiting_snapshot"}},
    },
    "storage": {"stored_ids": {"BTCUSDT": [[10, 19], [25, 34]], "ETHUSDT": []},
                "holes": {"BTCUSDT": [[20, 24]], "ETHUSDT": []},
                "book_seconds_written": {"BTCUSDT": 50, "ETHUSDT": 0}, "size_on_disk": 1234, "write_errors": 0},
}


def test_collection_status_answers_per_symbol_what_how_much_since_when_and_health():
    health = {"status": "unhealthy", "reasons": ["stream ETHUSDT: not connected for 75s (reconnecting; alert after "
                                                 "60s)"]}
    firsts = {"BTCUSDT": {"a": 10, "T": 1_000_000_000}, "ETHUSDT": None}
    answer = answers.collection_status(STATUS, health, firsts, 1_000_060_000, "http://127.0.0.1:8080")
    btc, eth = answer["symbols"]["BTCUSDT"], answer["symbols"]["ETHUSDT"]
    assert btc["trades_stored"] == 20 and btc["trades_missing_being_filled"] == 5
    assert btc["first_trade_time"] == "1970-01-12T13:46:40.000Z" and btc["collecting_for_seconds"] == 60
    assert btc["last_trade_age_seconds"] == 1.0 and btc["book_state"] == "synced"
    assert btc["healthy"] is True and btc["problems"] == []
    assert eth["trades_stored"] == 0 and eth["first_trade_time"] is None and eth["healthy"] is False
    assert eth["problems"] == health["reasons"]
    assert answer["healthy"] is False and answer["now_ms"] == 1_000_060_000
    assert answer["summary"][0] == ("BTCUSDT: stream connected, 20 trades stored since 1970-01-12T13:46:40.000Z "
                                    "(about 60 seconds), book synced")
    assert answer["summary"][1].startswith("ETHUSDT: stream reconnecting, 0 trades stored, book waiting_snapshot; "
                                           "problems: stream ETHUSDT: not connected")
    assert answer["storage"] == {"size_on_disk": 1234, "write_errors": 0}
