"""Binance's WebSocket limits: the pure rules, then each limit on a real socket, with its answer and its counter."""
import json

import pytest
import requests
import websocket

from tradeactors.simulator.hub import TooManyStreams, parse_path
from tradeactors.simulator.limits import KINDS, AttemptWindow, MessageRate

from .conftest import PLAIN, open_ws, rest_get, wait_for

NONE = dict.fromkeys(KINDS, 0)


def test_five_messages_fit_in_any_second_and_a_sixth_does_not():
    rate = MessageRate(5)
    assert all(rate.admit(10.0 + i * 0.1) for i in range(5))
    assert not rate.admit(10.9)                    # six within one second
    assert rate.admit(11.0)                        # the first has left the window
    assert not rate.admit(11.05)


def test_connection_attempts_are_counted_per_ip_over_the_window():
    window = AttemptWindow(300, 300.0)
    assert all(window.admit("127.0.0.1", t) is None for t in range(300))
    assert window.admit("127.0.0.1", 300.0) is None      # the attempt at t=0 left the window
    assert window.admit("127.0.0.1", 300.5) == pytest.approx(0.5)
    assert window.admit("10.0.0.1", 300.5) is None        # another IP has its own budget


def test_a_handshake_with_more_streams_than_allowed_is_refused():
    symbols = {f"S{i}USDT" for i in range(3)}
    path = "/stream?streams=" + "/".join(f"s{i}usdt@aggTrade" for i in range(3))
    assert len(parse_path(path, symbols, max_streams=3)[1]) == 3
    with pytest.raises(TooManyStreams, match="got 3"):
        parse_path(path, symbols, max_streams=2)


def _close_code(ws) -> int:
    """Read until the server's close frame; its status code."""
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(frame.data[:2], "big")


def test_a_sixth_message_in_a_second_closes_the_connection_with_1008(make_sim):
    sim = make_sim(market=10, trade_rate=0, depth_rate=0)
    calm = open_ws(sim, "/ws/btcusdt@aggTrade")
    for _ in range(4):
        calm.ping()
    calm.send('{"method":"LIST_SUBSCRIPTIONS","id":5}')          # five messages: allowed
    assert json.loads(calm.recv()) == {"result": ["btcusdt@aggTrade"], "id": 5}
    busy = open_ws(sim, "/ws/ethusdt@aggTrade")
    for _ in range(5):
        busy.ping()
    busy.send('{"method":"LIST_SUBSCRIPTIONS","id":6}')          # the sixth: dropped, never answered
    assert _close_code(busy) == 1008
    assert sim.limit_violations() == {**NONE, "messages_per_second": 1}
    wait_for(lambda: sim.connection_count() == 1, message="only the calm connection left")
    calm.close(timeout=0.2)


@PLAIN
def test_the_two_symbol_default_counts_a_crossing_without_dropping(make_sim, connect):
    sim = make_sim()
    r = connect(sim, "/ws/btcusdt@aggTrade")
    for _ in range(6):
        r.ws.ping()
    r.ws.send('{"method":"LIST_SUBSCRIPTIONS","id":1}')
    assert r.until(lambda f: f.get("id") == 1)["result"] == ["btcusdt@aggTrade"]
    assert sim.limit_violations()["messages_per_second"] >= 1 and sim.state()["limits_enforced"] is False


def _chunks(names, first_bytes, frame_bytes):
    """Stream names split into a handshake URL part under ``first_bytes`` and SUBSCRIBE params under
    ``frame_bytes`` a message."""
    url, rest = [], list(names)
    while rest and len("/stream?streams=" + "/".join([*url, rest[0]])) < first_bytes:
        url.append(rest.pop(0))
    frames, current = [], []
    for name in rest:
        if len(json.dumps({"method": "SUBSCRIBE", "params": [*current, name], "id": 99})) > frame_bytes:
            frames.append(current)
            current = []
        current.append(name)
    return url, [*frames, current] if current else frames


def test_the_1025th_stream_is_refused_with_an_error_and_counted(make_sim):
    sim = make_sim(market=600, trade_rate=0, depth_rate=0)
    names = [f"{s.lower()}@{kind}" for s in sim.symbols for kind in ("aggTrade", "depth@100ms")]
    url, frames = _chunks(names[:1024], 8000, 4000)
    assert len(frames) <= 4  # with the refused one, five messages at most
    ws = open_ws(sim, "/stream?streams=" + "/".join(url))
    for i, params in enumerate(frames):
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": params, "id": i}))
        assert json.loads(ws.recv()) == {"result": None, "id": i}
    ws.send(json.dumps({"method": "SUBSCRIBE", "params": names[1024:1025], "id": "over"}))
    reply = json.loads(ws.recv())
    assert reply["id"] == "over" and reply["error"]["code"] == 2 and "1024" in reply["error"]["msg"]
    carried = {s for s, part in sim.state()["symbols"].items() if part["connections"]}
    assert carried == set(sim.symbols[:512])   # the first 1024 streams, none of the refused SUBSCRIBE
    assert sim.limit_violations() == {**NONE, "streams_per_connection": 1}
    ws.close(timeout=0.2)


def test_a_stream_url_over_8_kb_is_refused_at_the_handshake(make_sim):
    sim = make_sim(market=600, trade_rate=0, depth_rate=0)
    names = [f"{s.lower()}@aggTrade" for s in sim.symbols]
    path = "/stream?streams=" + "/".join(names)
    assert len(path) > 8192
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        open_ws(sim, path)
    assert err.value.status_code == 414
    # Counted once the handshake is over on the server's side, which may be just after the client has its 414.
    wait_for(lambda: sim.limit_violations() == {**NONE, "url_too_long": 1}, message="the long URL counted")
    url, _ = _chunks(names, 8000, 4000)
    open_ws(sim, "/stream?streams=" + "/".join(url)).close(timeout=0.2)  # just under the limit: accepted


def test_a_subscribe_over_4_kb_closes_the_connection_with_1009(make_sim):
    sim = make_sim(market=600, trade_rate=0, depth_rate=0)
    params = [f"{s.lower()}@aggTrade" for s in sim.symbols[:400]]
    message = json.dumps({"method": "SUBSCRIBE", "params": params, "id": 1})
    assert len(message) > 4096
    ws = open_ws(sim, "/ws/btcusdt@aggTrade")
    ws.send(message)
    assert _close_code(ws) == 1009
    assert sim.limit_violations() == {**NONE, "message_too_big": 1}


@PLAIN
def test_the_301st_connection_attempt_in_five_minutes_gets_429(make_sim):
    sim = make_sim(market=10, trade_rate=0, depth_rate=0)
    with requests.Session() as session:
        for _ in range(300):  # a handshake attempt each (no Upgrade header: refused after being counted)
            assert session.get(sim.rest_url + "/ws/btcusdt@aggTrade", timeout=5,
                               headers={"Connection": "close"}).status_code != 429
    assert sim.limit_violations() == NONE
    with pytest.raises(websocket.WebSocketBadStatusException) as err:
        open_ws(sim, "/ws/btcusdt@aggTrade")
    assert err.value.status_code == 429
    assert 1 <= int(err.value.resp_headers["retry-after"]) <= 300
    assert sim.limit_violations() == {**NONE, "connection_attempts": 1}
    assert rest_get(sim, "/api/v3/ping").status_code == 200   # REST is not a connection attempt
    assert rest_get(sim, "/_sim/limits").json() == {**NONE, "connection_attempts": 1}
