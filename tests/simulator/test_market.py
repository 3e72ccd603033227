"""A whole market on real sockets: one timer for 1,500 symbols, diffs only when a book moved, SUBSCRIBE and
UNSUBSCRIBE on a live combined connection, exactly-once ids per symbol at scale, the command line."""
import json
import threading
import time

import pytest
import requests
import websocket

from tradeactors.simulator import spawn_simulator
from tradeactors.simulator.limits import KINDS

from .conftest import open_ws, rest_get, wait_for

NONE = dict.fromkeys(KINDS, 0)


def _ticks(sim) -> int:
    return sim.state()["market"]["ticks"]


def test_an_idle_market_sends_no_diff_and_a_moved_book_sends_exactly_one(make_sim, connect):
    sim = make_sim(market=50, trade_rate=0, depth_rate=0)
    r = connect(sim, "/stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms")
    wait_for(lambda: _ticks(sim) >= 6, message="six ticks of an idle market")   # three depth intervals
    state = sim.state()
    assert state["frames_sent"] == 0 and all(p["depth_updates_sent"] == 0 for p in state["symbols"].values())
    before = sim.current_update_id("BTCUSDT")
    sim.set_regime("BTCUSDT", pull=0.5)                 # every resting level shrinks: one change per level
    diff = r.json()
    assert diff["stream"] == "btcusdt@depth@100ms"
    assert diff["data"]["U"] == before + 1 and diff["data"]["u"] == sim.current_update_id("BTCUSDT")
    assert diff["data"]["b"] and diff["data"]["a"]
    ticks = _ticks(sim)
    wait_for(lambda: _ticks(sim) >= ticks + 6, message="three more depth intervals")
    sent = {s: p["depth_updates_sent"] for s, p in sim.state()["symbols"].items() if p["depth_updates_sent"]}
    assert sent == {"BTCUSDT": 1}


def test_diffs_come_only_from_books_that_moved_and_the_totals_follow_the_profile(make_sim, connect):
    sim = make_sim(market=300, trade_rate=300, depth_rate=1000)
    quiet = sim.symbols[-20:]
    r = connect(sim, "/stream?streams=" + "/".join(f"{s.lower()}@depth@100ms" for s in ["BTCUSDT", *quiet]))
    start = sim.state()["symbols"]
    first = {s: p["depth_updates_sent"] for s, p in start.items()}
    traded = sum(p["trades"] for p in start.values())
    ticks, began = _ticks(sim), time.monotonic()
    last_u: dict[str, int] = {}
    received = 0
    while _ticks(sim) < ticks + 40:                    # about 2 s of market
        data = r.json()["data"]
        assert data["b"] or data["a"]                  # never an empty diff
        if data["s"] in last_u:
            assert data["U"] == last_u[data["s"]] + 1
        last_u[data["s"]] = data["u"]
        received += 1
    seconds = time.monotonic() - began
    state = sim.state()
    sent = {s: p["depth_updates_sent"] - first[s] for s, p in state["symbols"].items()}
    intervals = (state["market"]["ticks"] - ticks) / 2
    assert sent["BTCUSDT"] >= intervals * 0.7           # the busiest book moves nearly every 100 ms
    assert sum(sent[s] for s in quiet) < len(quiet) * intervals * 0.5   # the quiet ones mostly do not
    assert 0.4 * 1000 < sum(sent.values()) / seconds < 1.6 * 1000
    trades = sum(p["trades"] for p in state["symbols"].values()) - traded
    assert 0.5 * 300 < trades / seconds < 1.5 * 300 and received > 0   # the totals asked for


def test_subscribe_and_unsubscribe_change_a_live_connection_and_are_answered(make_sim, connect):
    sim = make_sim(market=20, trade_rate=400, depth_rate=100)
    r = connect(sim, "/stream?streams=btcusdt@aggTrade")
    r.ws.send('{"method":"SUBSCRIBE","params":["ethusdt@aggTrade","solusdt@depth@100ms"],"id":1}')
    assert r.until(lambda f: "id" in f) == {"result": None, "id": 1}
    r.until(lambda f: f.get("stream") == "ethusdt@aggTrade")
    r.until(lambda f: f.get("stream") == "solusdt@depth@100ms")
    r.ws.send('{"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade"],"id":2}')
    assert r.until(lambda f: "id" in f) == {"result": None, "id": 2}
    after = [r.json() for _ in range(30)]              # the reply follows the last btcusdt frame
    assert {f["stream"] for f in after} <= {"ethusdt@aggTrade", "solusdt@depth@100ms"}
    r.ws.send('{"method":"LIST_SUBSCRIPTIONS","id":3}')
    assert sorted(r.until(lambda f: "id" in f)["result"]) == ["ethusdt@aggTrade", "solusdt@depth@100ms"]
    assert sim.limit_violations() == NONE


def test_bad_control_messages_get_binances_error_replies(make_sim, connect):
    sim = make_sim(market=20, trade_rate=0, depth_rate=0)
    r = connect(sim, "/ws/btcusdt@aggTrade")

    def reply(text):
        r.ws.send(text)
        return r.json()

    assert reply("{not json")["error"]["code"] == 3
    assert reply('{"method":"PUBLISH","id":4}') == {"error": {"code": 2, "msg": (
        "Invalid request: unknown variant `PUBLISH`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, "
        "`LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`")}, "id": 4}
    assert reply('{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":[1]}') == {
        "error": {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}, "id": None}
    unknown = reply('{"method":"SUBSCRIBE","params":["nosuchusdt@aggTrade"],"id":5}')
    assert unknown["id"] == 5 and unknown["error"]["code"] == 2 and "nosuchusdt" in unknown["error"]["msg"]
    assert reply('{"method":"GET_PROPERTY","params":["speed"],"id":6}') == {
        "error": {"code": 0, "msg": "Unknown property"}, "id": 6}
    assert sim.limit_violations() == NONE


def test_set_property_combined_switches_the_envelope(make_sim, connect):
    sim = make_sim(market=5, trade_rate=200, depth_rate=0)
    r = connect(sim, "/ws/btcusdt@aggTrade")
    r.ws.send('{"method":"SET_PROPERTY","params":["combined",true],"id":1}')
    assert r.until(lambda f: f.get("id") == 1) == {"result": None, "id": 1}
    wrapped = r.json()
    assert wrapped["stream"] == "btcusdt@aggTrade" and wrapped["data"]["e"] == "aggTrade"
    r.ws.send('{"method":"GET_PROPERTY","params":["combined"],"id":2}')
    assert r.until(lambda f: f.get("id") == 2) == {"result": True, "id": 2}


def _subscribe_all(sim, names, ids):
    """One combined connection carrying ``names``: as many as fit in the URL (< 8 KB), the rest by SUBSCRIBE
    messages under 4 KB; returns it once every SUBSCRIBE is answered."""
    url, rest = [], list(names)
    while rest and len("/stream?streams=" + "/".join([*url, rest[0]])) < 8000:
        url.append(rest.pop(0))
    ws = open_ws(sim, "/stream?streams=" + "/".join(url), skip_utf8_validation=True)
    frames, current = [], []
    for name in rest:
        if len(json.dumps({"method": "SUBSCRIBE", "params": [*current, name], "id": 9})) > 4000:
            frames.append(current)
            current = []
        current.append(name)
    frames += [current] if current else []
    assert len(frames) <= 4                           # within 5 messages a second without pacing
    for i, params in enumerate(frames):
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": params, "id": i}))
    answered = set()
    while len(answered) < len(frames):
        frame = json.loads(ws.recv())
        if "id" in frame:
            assert frame == {"result": None, "id": frame["id"]}
            answered.add(frame["id"])
        else:
            ids.setdefault(frame["data"]["s"], []).append(frame["data"]["a"])
    return ws


def test_every_symbol_of_1500_arrives_exactly_once_over_two_combined_connections(make_sim):
    sim = make_sim(market=1500, trade_rate=600, depth_rate=1000)
    names = [f"{s.lower()}@aggTrade" for s in sim.symbols]
    received: list[dict[str, list[int]]] = [{}, {}]
    conns = [_subscribe_all(sim, names[:750], received[0]), _subscribe_all(sim, names[750:], received[1])]
    assert sim.state()["connections"] == 2
    stop = threading.Event()

    def read(ws, ids):
        ws.settimeout(0.5)
        while not stop.is_set():
            try:
                data = json.loads(ws.recv())["data"]
            except websocket.WebSocketTimeoutException:
                continue
            ids.setdefault(data["s"], []).append(data["a"])

    readers = [threading.Thread(target=read, args=(ws, ids), daemon=True) for ws, ids in zip(conns, received)]
    for t in readers:
        t.start()
    published = lambda: sum(len(sim.published_ids(s)) for s in sim.symbols[:3])  # noqa: E731
    start = published()
    # A few seconds of market: enough that hundreds of symbols trade, the busiest hundreds of times.
    wait_for(lambda: sum(len(v) for part in received for v in part.values()) > 2000
             and published() - start > 800, timeout=30, message="trades on both connections")
    stop.set()
    for t in readers:
        t.join(timeout=5)
    for ws in conns:
        ws.close(timeout=0.2)
    half = [set(sim.symbols[:750]), set(sim.symbols[750:])]
    assert set(received[0]) <= half[0] and set(received[1]) <= half[1] and received[1]
    for ids in (*received[0].items(), *received[1].items()):
        symbol, got = ids
        truth = sim.published_ids(symbol)
        window = truth[(truth >= got[0]) & (truth <= got[-1])].tolist()
        assert got == window, symbol                  # contiguous, in order, none twice, none missing
    assert len(received[0]) + len(received[1]) >= 150   # the heavy tail: many symbols traded at all
    assert sim.limit_violations() == NONE


def test_the_command_line_serves_a_whole_market_in_its_own_process():
    client = spawn_simulator(["--market", "1500", "--trade-rate", "100", "--depth-rate", "500"])
    try:
        assert client.ws_url.startswith("wss://127.0.0.1:")
        info = requests.get(client.rest_url + "/api/v3/exchangeInfo", timeout=10, verify=client.ca_file).json()
        symbols = info["symbols"]
        assert len(symbols) == 1500 and {s["status"] for s in symbols} == {"TRADING"}
        assert {"USDT", "FDUSD", "USDC", "BTC", "TRY"} <= {s["quoteAsset"] for s in symbols}
        btc = next(s for s in symbols if s["symbol"] == "BTCUSDT")
        assert {f["filterType"]: f.get("tickSize", f.get("stepSize")) for f in btc["filters"]} == {
            "PRICE_FILTER": "0.01000000", "LOT_SIZE": "0.00001000"}
        state = client.state()
        assert state["market"]["symbols"] == 1500 and state["limits_enforced"] is True
        client.set_activity(0)
        assert client.state()["market"]["factor"] == 0
        assert client.limit_violations() == NONE
    finally:
        assert client.close() == 0


@pytest.mark.parametrize("argv", [["--market", "0"], ["--market", "10", "--replay"], ["--market", "10",
                                                                                       "--trade-rate", "-1"]])
def test_bad_market_options_exit_2(argv):
    with pytest.raises(RuntimeError, match="exit code 2"):
        spawn_simulator(argv)


def test_a_burst_multiplies_every_rate(make_sim):
    sim = make_sim(market=100, trade_rate=50, depth_rate=100)
    base = sim.state()["market"]["orders_per_s"]
    sim.set_activity(10)
    assert sim.state()["market"]["orders_per_s"] == round(base * 10, 3)
    counts = lambda: sum(p["trades"] for p in sim.state()["symbols"].values())  # noqa: E731
    ticks, before = _ticks(sim), counts()
    wait_for(lambda: _ticks(sim) >= ticks + 20, message="a second of burst")
    assert counts() - before > 150                    # ~500 aggTrades a second at x10 (~50 without)
    assert rest_get(sim, "/_sim/activity").status_code == 405
