"""REST market data: depth limits and weights, aggTrades queries, exchangeInfo, headers, 429 then 418."""
import json
import time

import pytest

from tests.helpers import FakeClock

from .conftest import BOTH, rest_get, wait_for

get = rest_get


@BOTH
def test_every_response_carries_the_used_weight_header(sim):
    for path, params in (("/api/v3/ping", {}), ("/api/v3/time", {}), ("/api/v3/depth", {"symbol": "X"})):
        assert "X-MBX-USED-WEIGHT-1M" in get(sim, path, **params).headers


def test_ping_and_time(sim):
    assert get(sim, "/api/v3/ping").json() == {}
    assert abs(get(sim, "/api/v3/time").json()["serverTime"] - time.time() * 1000) < 5000


@pytest.mark.parametrize("limit,weight", [(None, 5), (5, 5), (100, 5), (101, 25), (500, 25), (1000, 50),
                                          (5000, 250)])
def test_depth_weight_follows_the_limit(make_sim, limit, weight):
    sim = make_sim(symbols=["BTCUSDT"])
    params = {"symbol": "BTCUSDT"} if limit is None else {"symbol": "BTCUSDT", "limit": limit}
    r = get(sim, "/api/v3/depth", **params)
    assert r.status_code == 200 and r.headers["X-MBX-USED-WEIGHT-1M"] == str(weight)
    body = r.json()
    assert list(body) == ["lastUpdateId", "bids", "asks"]
    assert len(body["bids"]) == min(limit or 100, len(body["bids"])) and len(body["bids"]) <= (limit or 100)


def test_depth_is_the_true_book_at_its_update_id(sim):
    sim.pause("BTCUSDT")
    body = get(sim, "/api/v3/depth", symbol="BTCUSDT", limit=5000).json()
    bids, asks = sim.book_at("BTCUSDT", body["lastUpdateId"])
    assert [tuple(x) for x in body["bids"]] == bids and [tuple(x) for x in body["asks"]] == asks
    assert len(bids) >= 200 and len(asks) >= 200


@pytest.mark.parametrize("limit", ["0", "5001", "abc", "-1"])
def test_invalid_depth_limit_is_a_1100_error(sim, limit):
    r = get(sim, "/api/v3/depth", symbol="BTCUSDT", limit=limit)
    assert r.status_code == 400 and r.json()["code"] == -1100


def test_unknown_symbol_is_a_1121_error(sim):
    for path in ("/api/v3/depth", "/api/v3/aggTrades", "/api/v3/exchangeInfo"):
        r = get(sim, path, symbol="DOGEUSDT")
        assert r.status_code == 400 and r.json() == {"code": -1121, "msg": "Invalid symbol."}


def test_exchange_info_lists_symbols_with_price_and_lot_filters(sim):
    r = get(sim, "/api/v3/exchangeInfo")
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "20"
    info = r.json()
    assert info["timezone"] == "UTC" and info["rateLimits"][0]["limit"] == 6000
    btc = {s["symbol"]: s for s in info["symbols"]}["BTCUSDT"]
    assert (btc["status"], btc["baseAsset"], btc["quoteAsset"]) == ("TRADING", "BTC", "USDT")
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    one = get(sim, "/api/v3/exchangeInfo", symbols=json.dumps(["ETHUSDT"])).json()
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSDT"]


def test_agg_trades_from_id_is_inclusive_and_limited(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], rate=500.0)
    wait_for(lambda: len(sim.published_ids("BTCUSDT")) > 50)
    sim.pause()
    truth = sim.published_trades("BTCUSDT")
    r = get(sim, "/api/v3/aggTrades", symbol="BTCUSDT", fromId=truth[10]["a"], limit=7)
    assert r.headers["X-MBX-USED-WEIGHT-1M"] == "4"
    assert r.json() == truth[10:17]
    assert list(r.json()[0]) == ["a", "p", "q", "f", "l", "T", "m", "M"]
    assert get(sim, "/api/v3/aggTrades", symbol="BTCUSDT", limit=3).json() == truth[-3:]
    assert get(sim, "/api/v3/aggTrades", symbol="BTCUSDT", fromId=truth[-1]["a"] + 1).json() == []
    assert get(sim, "/api/v3/aggTrades", symbol="BTCUSDT", limit=1001).status_code == 400


def test_agg_trades_by_time_window(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], rate=300.0)
    wait_for(lambda: len({t["T"] for t in sim.published_trades("BTCUSDT")}) > 5)
    sim.pause()
    truth = sim.published_trades("BTCUSDT")
    times = sorted({t["T"] for t in truth})
    start, end = times[1], times[-2]
    got = get(sim, "/api/v3/aggTrades", symbol="BTCUSDT", startTime=start, endTime=end, limit=1000).json()
    assert got == [t for t in truth if start <= t["T"] <= end][:1000]
    only_start = get(sim, "/api/v3/aggTrades", symbol="BTCUSDT", startTime=start).json()
    assert only_start[0] == next(t for t in truth if t["T"] >= start)
    r = get(sim, "/api/v3/aggTrades", symbol="BTCUSDT", startTime=0, endTime=3_600_001)
    assert r.status_code == 400 and r.json()["code"] == -1127


@BOTH
def test_spent_budget_gives_429_with_retry_after_then_418_ban(sim):
    clock = FakeClock()  # 20 s into a minute, and it stays there: the ledger's minute cannot end mid-test
    sim.exchange.weights.clock = clock
    sim.set_weight_budget(10)
    assert get(sim, "/api/v3/aggTrades", symbol="BTCUSDT").status_code == 200
    assert get(sim, "/api/v3/aggTrades", symbol="BTCUSDT").status_code == 200
    limited = get(sim, "/api/v3/aggTrades", symbol="BTCUSDT", limit=5)
    assert limited.status_code == 429 and limited.headers["X-MBX-USED-WEIGHT-1M"] == "8"
    assert limited.headers["Retry-After"] == "40"  # to the next minute
    banned = get(sim, "/api/v3/ping")
    assert banned.status_code == 418 and banned.headers["Retry-After"] == "120"
    clock.now += 60  # the ban outlives the minute
    assert get(sim, "/api/v3/ping").status_code == 418
    sim.set_weight_budget(6000)
    assert get(sim, "/api/v3/ping").status_code == 200


def test_the_budget_comes_back_with_the_next_minute(make_sim):
    sim = make_sim(symbols=["BTCUSDT"])
    clock = FakeClock()  # 20 s into a minute
    sim.exchange.weights.clock = clock
    sim.set_weight_budget(8)
    assert [get(sim, "/api/v3/aggTrades", symbol="BTCUSDT").status_code for _ in range(2)] == [200, 200]
    clock.now += 40  # the next minute, before any 429
    r = get(sim, "/api/v3/aggTrades", symbol="BTCUSDT")
    assert r.status_code == 200 and r.headers["X-MBX-USED-WEIGHT-1M"] == "4"
