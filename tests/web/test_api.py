"""The data endpoints' HTTP contract (/api/health, /status, /trades, /orderbook/l1, /orderbook/l2, /snapshots):
what each view asks the facade and how it renders the answer or the error. On the stand-in facade
(tests/web/conftest.py), except the two tests at the end that go through the real service."""

from __future__ import annotations

import time

import pytest
import requests

from tests.helpers import wait_for
from tradeactors import config as configuration
from tradeactors import storage
from tradeactors.errors import Unavailable
from tradeactors.service import Service
from tradeactors.web import create_app

MAX_MS = 10**13 - 1


@pytest.mark.parametrize("query,field,details", [
    ("start=0&end=1", "symbol", {}),
    ("symbol=BTC-USDT&start=0&end=1", "symbol", {}),
    ("symbol=%27%3B%20DROP&start=0&end=1", "symbol", {}),
    ("symbol=BTCUSDT&end=1", "start", {"minimum": 0, "maximum": MAX_MS}),
    ("symbol=BTCUSDT&start=abc&end=1", "start", {"minimum": 0, "maximum": MAX_MS}),
    ("symbol=BTCUSDT&start=1.5&end=2", "start", {"minimum": 0, "maximum": MAX_MS}),
    ("symbol=BTCUSDT&start=-1&end=2", "start", {"minimum": 0, "maximum": MAX_MS}),
    ("symbol=BTCUSDT&start=0&end=99999999999999999999", "end", {"minimum": 0, "maximum": MAX_MS}),
    ("symbol=BTCUSDT&start=5&end=1", "end", {"start": 5, "end": 1}),
    ("symbol=BTCUSDT&start=0&end=604800001", "end", {"max_window_ms": 604800000}),
    ("symbol=BTCUSDT&start=0&end=1&limit=0", "limit", {"minimum": 1, "maximum": 10000}),
    ("symbol=BTCUSDT&start=0&end=1&limit=10001", "limit", {"minimum": 1, "maximum": 10000}),
    ("symbol=BTCUSDT&start=0&end=1&cursor=xyz", "cursor", {}),
])
def test_bad_trades_parameters_are_400_naming_the_field(client, query, field, details):
    response = client.get(f"/api/trades?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["details"] == {"field": field, **details}
    assert error["message"].startswith(f"{field}: ")


def test_an_unknown_symbol_is_404_listing_the_collected_ones(client, standin):
    response = client.get("/api/trades?symbol=dogeusdt&start=0&end=1")
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": "unknown_symbol", "message": "symbol 'DOGEUSDT' is not collected",
                                             "details": {"symbol": "DOGEUSDT", "collected": ["BTCUSDT", "ETHUSDT"]}}}
    assert standin.calls == []


def test_an_unknown_path_is_a_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_a_trades_page_is_asked_with_the_parsed_parameters_and_rendered_field_by_field(client, standin):
    standin.page = standin.page._replace(next_cursor=(1_700_000_000_500, 102))
    response = client.get("/api/trades?symbol=%20btcusdt%20&start=1699999999000&end=1700000001000")
    assert response.status_code == 200
    assert standin.calls == [("query_trades", "BTCUSDT", 1_699_999_999_000, 1_700_000_001_000, 1000, None)]
    assert response.get_json() == {
        "symbol": "BTCUSDT", "start": 1_699_999_999_000, "end": 1_700_000_001_000, "count": 2,
        "trades": [{"a": 101, "p": "60000.01000000", "q": "0.00100000", "T": 1_700_000_000_000, "m": True,
                    "f": 200, "l": 201},
                   {"a": 102, "p": "60000.02000000", "q": "0.25000000", "T": 1_700_000_000_500, "m": False,
                    "f": 202, "l": 202}],
        "next_cursor": "1700000000500:102"}


def test_the_next_cursor_comes_back_as_the_time_and_id_to_resume_after(client, standin):
    standin.page = standin.page._replace(trades=[])
    response = client.get("/api/trades?symbol=ETHUSDT&start=5&end=9&limit=10000&cursor=1700000000500:102")
    assert response.get_json() == {"symbol": "ETHUSDT", "start": 5, "end": 9, "count": 0, "trades": [],
                                   "next_cursor": None}
    assert standin.calls == [("query_trades", "ETHUSDT", 5, 9, 10000, (1_700_000_000_500, 102))]


def test_health_is_200_when_healthy_and_503_with_the_reasons_otherwise(client, standin):
    healthy = client.get("/api/health")
    assert (healthy.status_code, healthy.get_json()) == (200, {"status": "ok", "reasons": []})
    standin.healthy, standin.reasons = False, ["stream BTCUSDT: not connected for 90s"]
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unhealthy", "reasons": ["stream BTCUSDT: not connected for 90s"]}


def test_status_is_the_facade_status_as_is(client):
    assert client.get("/api/status").get_json() == {
        "symbols": {"BTCUSDT": {"state": "connected"}, "ETHUSDT": {"state": "connected"}}, "actors": {}}


def test_level_one_gives_best_levels_spread_mid_and_bps(client, standin):
    body = client.get("/api/orderbook/l1?symbol=BTCUSDT").get_json()
    assert standin.calls == [("book", "BTCUSDT", 1)]
    assert body == {"symbol": "BTCUSDT", "sync_state": "synced", "update_id": 77, "age_ms": 12,
                    "best_bid": "100.50", "best_bid_qty": "1.000", "best_ask": "100.75", "best_ask_qty": "0.500",
                    "spread": "0.25", "spread_bps": pytest.approx(0.25 / 100.625 * 10_000), "mid": "100.625"}


def test_level_one_of_a_book_without_a_side_is_nulls(client, standin):
    standin.view = {**standin.view, "sync_state": "syncing", "asks": []}
    body = client.get("/api/orderbook/l1?symbol=BTCUSDT").get_json()
    assert body["sync_state"] == "syncing"
    assert [body[k] for k in ("best_bid", "best_bid_qty", "best_ask", "best_ask_qty", "spread", "spread_bps",
                              "mid")] == [None] * 7


def test_level_two_asks_for_depth_20_by_default_and_lists_price_quantity_pairs(client, standin):
    body = client.get("/api/orderbook/l2?symbol=ethusdt").get_json()
    assert standin.calls == [("book", "ETHUSDT", 20)]
    assert body == {"symbol": "ETHUSDT", "sync_state": "synced", "update_id": 77, "age_ms": 12, "depth": 20,
                    "bids": [["100.50", "1.000"], ["100.25", "2.000"], ["100.00", "3.000"]],
                    "asks": [["100.75", "0.500"], ["101.00", "4.000"]]}
    client.get("/api/orderbook/l2?symbol=ETHUSDT&depth=5000")
    assert standin.calls[-1] == ("book", "ETHUSDT", 5000)
    assert client.get("/api/orderbook/l2?symbol=ETHUSDT&depth=5001").get_json()["error"]["details"] == \
        {"field": "depth", "minimum": 1, "maximum": 5000}


def test_book_seconds_render_each_second_and_refuse_more_than_an_hour(client, standin):
    body = client.get("/api/snapshots?symbol=BTCUSDT&start=1700000000&end=1700003600").get_json()
    assert standin.calls == [("book_seconds", "BTCUSDT", 1_700_000_000, 1_700_003_600)]
    assert body == {"symbol": "BTCUSDT", "start": 1_700_000_000, "end": 1_700_003_600, "count": 1, "snapshots": [
        {"second": 1_700_000_000, "update_id": 76, "event_time": 1_700_000_000_900, "bids": [["100.50", "1.000"]],
         "asks": [["100.75", "0.500"]]}]}
    response = client.get("/api/snapshots?symbol=BTCUSDT&start=1700000000&end=1700003601")
    assert response.status_code == 400
    assert response.get_json()["error"] == {"code": "invalid_parameter",
                                            "message": "end: at most 3600 book seconds per request",
                                            "details": {"field": "end", "max_window_s": 3600}}


@pytest.mark.parametrize("path", ["/api/status", "/api/trades?symbol=BTCUSDT&start=0&end=1",
                                  "/api/orderbook/l1?symbol=BTCUSDT", "/api/orderbook/l2?symbol=BTCUSDT",
                                  "/api/snapshots?symbol=BTCUSDT&start=0&end=1"])
def test_an_unavailable_actor_is_a_503_with_the_facade_message(client, standin, path):
    standin.failure = Unavailable("query did not answer within 10s", actor="query")
    response = client.get(path)
    assert response.status_code == 503
    assert response.get_json() == {"error": {"code": "unavailable", "message": "query did not answer within 10s",
                                             "details": {"actor": "query"}}}


# --- through the real service --------------------------------------------------------------------------------


def test_the_real_facade_answers_503_for_an_actor_that_is_not_running(tmp_path):
    """Service.ask turns a missing actor into Unavailable: a service that was never started has none."""
    config = configuration.load(None, env={}, overrides={"data_dir": str(tmp_path), "symbols": "BTCUSDT"})
    response = create_app(config, Service(config)).test_client().get("/api/trades?symbol=BTCUSDT&start=0&end=1")
    assert response.status_code == 503
    assert response.get_json()["error"] == {"code": "unavailable", "message": "query is not running (restarting?)",
                                            "details": {"actor": "query"}}


def test_paging_a_live_service_returns_every_stored_trade_once_in_id_order(service_factory, sim):
    service = service_factory()
    wait_for(lambda: len(storage.trade_ids(service.db, "BTCUSDT")) >= 30, timeout=20, message="30 trades")
    sim.pause("BTCUSDT")
    last = int(sim.published_ids("BTCUSDT")[-1])

    def all_stored():
        # Nothing is published any more; once the last trade is stored and no hole is left, nothing can change.
        ids = storage.trade_ids(service.db, "BTCUSDT")
        return ids[-1] == last and len(ids) == ids[-1] - ids[0] + 1

    wait_for(all_stored, timeout=15, message="every published BTCUSDT trade stored")
    now = int(time.time() * 1000)
    start, end = now - 3_600_000, now + 60_000
    pages, cursor = [], None
    while True:
        params = {"symbol": "BTCUSDT", "start": start, "end": end, "limit": 7, **({"cursor": cursor} if cursor else {})}
        body = requests.get(f"{service.http.url}/api/trades", params=params, timeout=10).json()
        assert body["count"] == len(body["trades"]) <= 7
        pages.append([t["a"] for t in body["trades"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    ids = [a for page in pages for a in page]
    assert ids == sorted(set(ids)) and len(pages) > 2
    assert ids == storage.trade_ids(service.db, "BTCUSDT", start, end).tolist()
