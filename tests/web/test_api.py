"""The data endpoints' HTTP contract (/api/health, /status, /trades, /orderbook/l1, /orderbook/l2, /snapshots):
what each view asks the facade and how it renders the answer or the error. On the stand-in facade
(tests/web/conftest.py), except the two tests at the end that go through the real service."""

from __future__ import annotations

import time

import pytest
import requests

from tests.helpers import wait_for
from tests.web.standin import StandIn
from tradeactors import config as configuration
from tradeactors import parameters, storage
from tradeactors.bench.web import stream_status, symbol_names
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


def test_status_is_the_facade_status_as_is_with_a_summary_added(client, standin):
    body = client.get("/api/status").get_json()
    summary = body.pop("summary")
    assert body == {"symbols": {"BTCUSDT": {"state": "connected"}, "ETHUSDT": {"state": "connected"}}, "actors": {}}
    assert standin.calls == [("status", None)]
    assert (summary["symbols"], summary["streams"]["connected"]) == (2, 2)


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


# --- /api/status at many symbols: summary, filter, paging --------------------------------------------------------


def market(count: int = 12) -> StandIn:
    """A stand-in with ``count`` symbols of the real status shape, all fine but: S0000 reconnecting, S0001 with an
    unsynced book, S0002 with a hole, S0003 lagging, S0004 whose actor did not answer."""
    symbols = symbol_names(count)
    standin = StandIn(symbols)
    now_ms = int(time.time() * 1000)
    standin.statuses = {s: stream_status(0, now_ms) for s in symbols}
    standin.statuses["S0000USDT"] = {**stream_status(0, now_ms), "state": "reconnecting", "down_for_s": 3.0}
    standin.statuses["S0001USDT"]["book"] = {**stream_status(0, now_ms)["book"], "state": "syncing"}
    standin.statuses["S0004USDT"] = {"state": "unavailable", "error": "stream:S0004USDT did not answer within 2s"}
    standin.sections = {"actors": {f"stream:{s}": {"alive": True, "restarts": 0} for s in symbols},
                        "storage": {"holes": {s: ([[5, 9]] if s == "S0002USDT" else []) for s in symbols},
                                    "size_on_disk": 1},
                        "backfill": {"last_gap": {"BTCUSDT": {"from_id": 1}}}}
    standin.metrics.store_lag.labels("S0003USDT").set(25.0)
    return standin


@pytest.fixture
def market_client():
    standin = market()
    return standin, create_app(standin.config, standin).test_client()


def test_the_summary_counts_symbols_by_stream_and_book_state_and_why_they_need_attention(market_client):
    _standin, client = market_client
    summary = client.get("/api/status").get_json()["summary"]
    assert summary["symbols"] == 12
    assert summary["streams"] == {"connected": 10, "connecting": 0, "reconnecting": 1, "starting": 0, "stalled": 0,
                                  "down": 0, "stopped": 0, "unavailable": 1}
    assert summary["books"] == {"synced": 10, "syncing": 1, "unavailable": 1}
    assert summary["attention"] == 5
    assert summary["attention_by_reason"] == {"unavailable": 1, "down": 0, "not_connected": 1, "stalled": 0,
                                              "unsynced": 1, "holes": 1, "lagging": 1}
    assert summary["holes"] == 1
    assert summary["trades_per_min"] is None  # one read of the counters: no rate yet


def test_a_page_lists_the_symbols_needing_attention_first_and_only_their_details(market_client):
    _standin, client = market_client
    body = client.get("/api/status?limit=4").get_json()
    assert list(body["symbols"]) == ["S0004USDT", "S0000USDT", "S0001USDT", "S0002USDT"]
    assert body["page"] == {"offset": 0, "limit": 4, "matched": 12, "returned": 4}
    assert body["summary"]["symbols"] == 12
    assert set(body["storage"]["holes"]) == set(body["symbols"])
    assert body["storage"]["size_on_disk"] == 1
    assert body["backfill"] == {"last_gap": {}}
    assert set(body["actors"]) == {f"stream:{s}" for s in body["symbols"]}
    rest = client.get("/api/status?limit=4&offset=4").get_json()
    assert list(rest["symbols"])[:2] == ["S0003USDT", "BTCUSDT"]  # lagging, then the fine ones by name
    assert client.get("/api/status?offset=12&limit=5").get_json()["symbols"] == {}


def test_state_selects_a_stream_state_a_reason_or_every_symbol_needing_attention(market_client):
    _standin, client = market_client

    def chosen(state):
        return list(client.get(f"/api/status?state={state}").get_json()["symbols"])

    assert chosen("reconnecting") == ["S0000USDT"]
    assert chosen("UNSYNCED") == ["S0001USDT"]
    assert chosen("holes") == ["S0002USDT"]
    assert chosen("lagging") == ["S0003USDT"]
    assert chosen("attention") == ["S0004USDT", "S0000USDT", "S0001USDT", "S0002USDT", "S0003USDT"]
    assert len(chosen("connected")) == 10
    assert chosen("stalled") == []


def test_symbols_asks_only_those_symbols_and_the_summary_covers_them(market_client):
    standin, client = market_client
    body = client.get("/api/status?symbols=ethusdt,%20S0000USDT,ETHUSDT").get_json()
    assert standin.calls == [("status", ("ETHUSDT", "S0000USDT"))]
    assert list(body["symbols"]) == ["ETHUSDT", "S0000USDT"]
    assert (body["summary"]["symbols"], body["summary"]["attention"]) == (2, 1)


def test_trades_per_minute_come_from_the_received_counters_between_requests(market_client, monkeypatch):
    standin, client = market_client
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    standin.metrics.trades_received.labels("BTCUSDT").inc(100)
    client.get("/api/status")
    clock[0] += 30
    standin.metrics.trades_received.labels("BTCUSDT").inc(50)
    standin.metrics.trades_received.labels("ETHUSDT").inc(10)
    summary = client.get("/api/status").get_json()["summary"]
    assert summary["trades_per_min"] == pytest.approx(100.0)  # (50 + 0) per 30 s; ETHUSDT had no earlier read


@pytest.mark.parametrize("query,field,details", [
    ("symbols=BTC-USDT", "symbols", {}),
    ("symbols=" + ",".join(["BTCUSDT"] * 101), "symbols", {"maximum": 100}),
    ("state=sleepy", "state", {"choices": list(parameters.STATE_FILTERS)}),
    ("offset=-1", "offset", {"minimum": 0, "maximum": 100_000}),
    ("offset=x", "offset", {"minimum": 0, "maximum": 100_000}),
    ("limit=0", "limit", {"minimum": 1, "maximum": 5000}),
    ("limit=5001", "limit", {"minimum": 1, "maximum": 5000}),
])
def test_bad_status_parameters_are_400_naming_the_field(market_client, query, field, details):
    standin, client = market_client
    response = client.get(f"/api/status?{query}")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["details"]) == ("invalid_parameter", {"field": field, **details})
    assert error["message"].startswith(f"{field}: ")
    assert standin.calls == []


def test_an_unknown_symbol_in_symbols_is_404(market_client):
    _standin, client = market_client
    response = client.get("/api/status?symbols=BTCUSDT,DOGEUSDT")
    assert response.status_code == 404
    assert response.get_json()["error"]["details"]["symbol"] == "DOGEUSDT"
