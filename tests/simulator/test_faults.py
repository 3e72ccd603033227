"""Each fault, injected in-process, as an independent client sees it."""
import json
import time

import pytest
import requests
import websocket

from .conftest import BOTH, open_ws, rest_get, wait_for


def _frames_until_gone(ws):
    """Read until the socket dies; return the opcodes seen (a dropped connection shows no CLOSE)."""
    opcodes = []
    try:
        while True:
            opcode, _ = ws.recv_data_frame(control_frame=True)
            opcodes.append(opcode)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return opcodes
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return opcodes


@BOTH
def test_drop_aborts_only_the_connections_of_that_symbol(sim, connect):
    btc = connect(sim, "/ws/btcusdt@aggTrade")
    eth = connect(sim, "/ws/ethusdt@aggTrade")
    wait_for(lambda: sim.connection_count() == 2)
    assert sim.drop_connections("BTCUSDT") == 1
    assert websocket.ABNF.OPCODE_CLOSE not in _frames_until_gone(btc.ws)
    assert eth.json()["s"] == "ETHUSDT"
    wait_for(lambda: sim.connection_count() == 1)


@BOTH
def test_stall_sends_nothing_but_keeps_the_connection_and_the_market_going(make_sim, connect):
    sim = make_sim(symbols=["BTCUSDT"], rate=200.0, ping_interval=0.25, pong_timeout=0.5)
    r = connect(sim, "/ws/btcusdt@aggTrade")
    last = r.json()["a"]
    sim.stall(1.2)
    stalled_at = time.monotonic()
    traded = len(sim.published_ids("BTCUSDT"))
    while time.monotonic() < stalled_at + 5:  # frames already in flight, then silence until the stall ends
        opcode, frame = r.ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_TEXT:
            data = json.loads(frame.data)
            if data["a"] != last + 1:
                break
            last = data["a"]
    # Pings were answered (pong timeout 0.5 s < the stall), the market traded on, the stalled trades never came.
    assert time.monotonic() - stalled_at > 1.0
    assert sim.connection_count() == 1
    assert len(sim.published_ids("BTCUSDT")) > traded + 50
    assert data["a"] > last + 50
    follow = [r.json()["a"] for _ in range(5)]
    assert follow == list(range(data["a"] + 1, data["a"] + 6))


def _handshake_accepted(sim) -> bool:
    try:
        open_ws(sim, "/ws/btcusdt@aggTrade").close()
    except websocket.WebSocketBadStatusException as err:
        assert err.status_code == 503
        return False
    return True


@BOTH
def test_refused_handshakes_get_503_until_the_time_is_up(sim):
    began = time.monotonic()  # before the refusal starts: it ends 0.5 s after a later moment
    sim.refuse_connections(0.5)
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        open_ws(sim, "/ws/btcusdt@aggTrade")
    assert err.value.status_code == 503
    assert rest_get(sim, "/api/v3/ping").status_code == 200
    wait_for(lambda: _handshake_accepted(sim), timeout=5, interval=0.05, message="handshakes accepted again")
    assert time.monotonic() - began >= 0.5  # not one accepted before the time was up


@BOTH
@pytest.mark.parametrize("path", ["/ws/btcusdt@aggTrade", "/stream?streams=btcusdt@aggTrade"])
@pytest.mark.parametrize("kind", ["truncated", "nonjson", "missing_field"])
def test_one_malformed_frame_then_the_stream_goes_on(sim, connect, path, kind):
    r = connect(sim, path)
    r.json()
    assert sim.send_malformed("BTCUSDT", kind) == 1
    bad = r.until_text(lambda t: not _valid_trade(t))
    if kind == "missing_field":
        data = json.loads(bad)
        data = data.get("data", data)
        assert data["e"] == "aggTrade" and "a" not in data
    else:
        with pytest.raises(ValueError):
            json.loads(bad)
    assert _valid_trade(r.text())


def _valid_trade(text):
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return "a" in data.get("data", data)


def test_skipped_depth_updates_break_the_chain_once_while_the_book_moves_on(sim, connect):
    r = connect(sim, "/ws/btcusdt@depth@100ms")
    first = r.json()
    sim.skip_depth_updates("BTCUSDT", 2)
    prev, gaps = first, []
    for _ in range(10):
        d = r.json()
        if d["U"] != prev["u"] + 1:
            gaps.append((prev["u"], d["U"]))
        prev = d
    assert len(gaps) == 1 and gaps[0][1] > gaps[0][0] + 1
    assert sim.book_at("BTCUSDT", prev["u"])[0]


@pytest.mark.parametrize("stream", ["aggTrade", "depth"])
def test_duplicate_next_sends_one_frame_twice(sim, connect, stream):
    r = connect(sim, "/stream?streams=btcusdt@aggTrade/btcusdt@depth@100ms")
    r.json()
    sim.duplicate_next("BTCUSDT", stream)
    key = "a" if stream == "aggTrade" else "u"
    seen = []
    for _ in range(300):
        f = r.json()
        if f["stream"].startswith(f"btcusdt@{stream}"):
            seen.append(f["data"][key])
            if len(seen) > 4 and len(seen) != len(set(seen)):
                break
    dupes = [x for x in set(seen) if seen.count(x) == 2]
    assert len(dupes) == 1 and seen.index(dupes[0]) + 1 == len(seen) - seen[::-1].index(dupes[0]) - 1


@BOTH
@pytest.mark.parametrize("status", [429, 418, 500, 502, 503, 504])
def test_rest_fails_with_the_chosen_status_for_a_while(sim, status):
    sim.rest_fail(status, 0.4)
    r = rest_get(sim, "/api/v3/depth", symbol="BTCUSDT")
    assert r.status_code == status
    assert ("Retry-After" in r.headers) == (status in (418, 429))
    wait_for(lambda: rest_get(sim, "/api/v3/ping").status_code == 200, timeout=3)


def test_pause_stops_the_market_and_resume_restarts_it(sim):
    wait_for(lambda: len(sim.published_ids("BTCUSDT")) > 0)
    sim.pause("BTCUSDT")  # runs in the market's event loop: once it returns, no BTCUSDT step follows
    n, uid = len(sim.published_ids("BTCUSDT")), sim.current_update_id("BTCUSDT")
    # Proving an absence needs time to pass: ETHUSDT trades on at the same rate, so 15 ETH trades (~0.3 s) are
    # time in which an unpaused BTCUSDT would have traded too.
    eth = len(sim.published_ids("ETHUSDT"))
    wait_for(lambda: len(sim.published_ids("ETHUSDT")) >= eth + 15, message="ETHUSDT trading on")
    assert (len(sim.published_ids("BTCUSDT")), sim.current_update_id("BTCUSDT")) == (n, uid)
    sim.resume("BTCUSDT")
    wait_for(lambda: len(sim.published_ids("BTCUSDT")) > n)


def test_fault_methods_reject_unknown_symbols_and_kinds(sim):
    with pytest.raises(ValueError):
        sim.drop_connections("DOGEUSDT")
    with pytest.raises(ValueError):
        sim.send_malformed(kind="garbage")
    with pytest.raises(ValueError):
        sim.rest_fail(404, 1)


def test_skipped_trade_ids_are_never_sent_nor_served_by_rest():
    from tradeactors.simulator import Simulator

    with Simulator(symbols=["BTCUSDT"], rate=200.0, seed=5) as sim:
        wait_for(lambda: len(sim.published_ids("BTCUSDT")) >= 5, message="5 trades")
        first = sim.skip_trade_ids("BTCUSDT", 7)
        wait_for(lambda: sim.published_ids("BTCUSDT")[-1] >= first + 20, message="20 ids past the skipped ones")
        ids = sim.published_ids("BTCUSDT").tolist()
        assert first - 1 in ids and first + 7 in ids
        assert not set(range(first, first + 7)) & set(ids)
        served = requests.get(f"{sim.rest_url}/api/v3/aggTrades",
                              params={"symbol": "BTCUSDT", "fromId": first - 1, "limit": 10}, timeout=5).json()
        assert [t["a"] for t in served][:2] == [first - 1, first + 7]


def test_stale_depth_snapshot_is_older_than_the_current_book():
    from tradeactors.simulator import Simulator

    with Simulator(symbols=["BTCUSDT"], rate=50.0, seed=5) as sim:
        first_update_id = sim.exchange.markets["BTCUSDT"].book.first_update_id
        wait_for(lambda: sim.current_update_id("BTCUSDT") >= first_update_id + 200, message="200 book updates")
        sim.stale_depth("BTCUSDT", updates_behind=100, count=1)
        stale = requests.get(f"{sim.rest_url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5}, timeout=5).json()
        current = sim.current_update_id("BTCUSDT")  # read after: the book only moves forward
        fresh = requests.get(f"{sim.rest_url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5}, timeout=5).json()
        assert stale["lastUpdateId"] <= current - 100 < current <= fresh["lastUpdateId"]
        bids, _asks = sim.book_at("BTCUSDT", stale["lastUpdateId"], depth=5)
        assert [tuple(b) for b in stale["bids"]] == bids
