"""WebSocket streams over a real socket: paths, envelopes, payload fields, id continuity, depth chaining."""
import itertools
from decimal import Decimal

import pytest
import websocket

from .conftest import BOTH, PLAIN, open_ws, rest_get, wait_for

AGG_FIELDS = ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"]


@BOTH
def test_raw_path_sends_bare_aggtrade_payloads(sim, connect):
    r = connect(sim, "/ws/btcusdt@aggTrade")
    t = r.json()
    assert list(t) == AGG_FIELDS
    assert t["e"] == "aggTrade" and t["s"] == "BTCUSDT" and t["M"] is True and isinstance(t["m"], bool)
    assert len(t["p"].split(".")[1]) == 8 and len(t["q"].split(".")[1]) == 8


def test_combined_path_wraps_payloads_in_stream_envelopes(sim, connect):
    r = connect(sim, "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade/btcusdt@depth@100ms")
    seen = set()
    for _ in range(400):
        frame = r.json()
        assert list(frame) == ["stream", "data"]
        seen.add(frame["stream"])
        if len(seen) == 3:
            break
    assert seen == {"btcusdt@aggTrade", "ethusdt@aggTrade", "btcusdt@depth@100ms"}


def test_aggtrade_ids_and_raw_trade_ids_are_contiguous(sim, connect):
    r = connect(sim, "/ws/btcusdt@aggTrade")
    trades = [r.json() for _ in range(60)]
    for prev, t in itertools.pairwise(trades):
        assert t["a"] == prev["a"] + 1 and t["f"] == prev["l"] + 1
    truth = {t["a"]: t for t in sim.published_trades("BTCUSDT")}
    assert all({k: t[k] for k in "apqflTm"} == {k: truth[t["a"]][k] for k in "apqflTm"} for t in trades)


@BOTH
def test_unknown_symbol_or_stream_is_rejected_with_400(sim):
    for path in ("/ws/dogeusdt@aggTrade", "/ws/btcusdt@kline_1m", "/ws/BTCUSDT@aggTrade", "/nope",
                 "/stream?streams="):
        with pytest.raises(websocket.WebSocketBadStatusException) as err:
            open_ws(sim, path)
        assert err.value.status_code == 400


def test_depth_updates_chain_and_rebuild_the_true_book_from_a_rest_snapshot(sim, connect):
    r = connect(sim, "/ws/btcusdt@depth@100ms")
    buffered = [r.json()]
    snap = rest_get(sim, "/api/v3/depth", symbol="BTCUSDT", limit=5000).json()
    while buffered[-1]["u"] <= snap["lastUpdateId"]:
        buffered.append(r.json())
    diffs = [d for d in buffered if d["u"] > snap["lastUpdateId"]]
    assert diffs[0]["U"] <= snap["lastUpdateId"] + 1 <= diffs[0]["u"]
    for _ in range(15):
        diffs.append(r.json())
    bids, asks = dict(snap["bids"]), dict(snap["asks"])
    for prev, d in itertools.pairwise(diffs):
        assert d["e"] == "depthUpdate" and "pu" not in d and d["U"] == prev["u"] + 1
    for d in diffs:
        for book, key in ((bids, "b"), (asks, "a")):
            for p, q in d[key]:
                if Decimal(q) == 0:
                    book.pop(p, None)
                else:
                    book[p] = q
        true_bids, true_asks = sim.book_at("BTCUSDT", d["u"])
        assert sorted(bids.items(), key=lambda x: -Decimal(x[0])) == true_bids
        assert sorted(asks.items(), key=lambda x: Decimal(x[0])) == true_asks
        assert Decimal(true_bids[0][0]) < Decimal(true_asks[0][0])
    assert sim.current_update_id("BTCUSDT") >= diffs[-1]["u"]


def test_live_subscribe_and_list_subscriptions(sim, connect):
    r = connect(sim, "/ws/ethusdt@depth@100ms")
    r.ws.send('{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":3}')
    assert r.until(lambda f: f.get("id") == 3) == {"result": None, "id": 3}
    r.until(lambda f: f.get("e") == "aggTrade" and f["s"] == "BTCUSDT")
    r.ws.send('{"method":"LIST_SUBSCRIPTIONS","id":4}')
    listed = r.until(lambda f: f.get("id") == 4)
    assert sorted(listed["result"]) == ["btcusdt@aggTrade", "ethusdt@depth@100ms"]


@PLAIN
def test_the_market_trades_while_nobody_is_connected(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], rate=200.0)
    assert sim.connection_count() == 0
    wait_for(lambda: len(sim.published_ids("BTCUSDT")) > 20, message="trades with no client")
