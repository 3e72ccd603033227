"""Pings, pong timeout, connection lifetime and serverShutdown, with short timings."""
import itertools
import json
import time

import websocket

from .conftest import BOTH, open_ws, wait_for


def test_pings_arrive_at_the_configured_interval(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], rate=0, ping_interval=0.3, pong_timeout=2.0)
    ws = open_ws(sim, "/ws/btcusdt@aggTrade")
    try:
        times = []
        while len(times) < 4:
            opcode, _ = ws.recv_data_frame(control_frame=True)  # answers each ping with a pong
            if opcode == websocket.ABNF.OPCODE_PING:
                times.append(time.monotonic())
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(0.2 < g < 0.6 for g in gaps), gaps
        assert sim.connection_count() == 1
    finally:
        ws.close(timeout=0.2)


@BOTH
def test_a_client_that_never_pongs_is_dropped(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], rate=0, ping_interval=0.2, pong_timeout=0.3)
    ws = open_ws(sim, "/ws/btcusdt@aggTrade")
    try:
        wait_for(lambda: sim.connection_count() == 1)
        # websocket-client only pongs while reading: by not reading we never answer.
        wait_for(lambda: sim.connection_count() == 0, timeout=5, message="the silent client to be dropped")
    finally:
        ws.close(timeout=0.2)


def test_connection_is_closed_when_its_lifetime_expires(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], rate=20.0, lifetime=0.6)
    ws = open_ws(sim, "/ws/btcusdt@aggTrade")
    start = time.monotonic()
    try:
        while True:
            opcode, frame = ws.recv_data_frame(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
        assert 0.5 < time.monotonic() - start < 3
        assert int.from_bytes(frame.data[:2], "big") == 1000
    finally:
        ws.close(timeout=0.2)


def _until_shutdown(ws):
    while True:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_TEXT:
            data = json.loads(frame.data)
            if data.get("e") == "serverShutdown" or data.get("stream") == "!serverShutdown":
                return data, time.monotonic()


def _until_close(ws):
    while True:
        opcode, _ = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return time.monotonic()


@BOTH
def test_server_shutdown_is_announced_in_both_envelopes_then_closed_after_the_grace(make_sim):
    sim = make_sim(symbols=["BTCUSDT"], rate=20.0, shutdown_grace=0.5)
    raw = open_ws(sim, "/ws/btcusdt@aggTrade")
    combined = open_ws(sim, "/stream?streams=btcusdt@aggTrade")
    try:
        wait_for(lambda: sim.connection_count() == 2)
        assert sim.server_shutdown() == 2
        event, seen = _until_shutdown(raw)
        assert set(event) == {"e", "E"} and event["e"] == "serverShutdown"
        frame, _ = _until_shutdown(combined)
        assert frame["stream"] == "!serverShutdown" and frame["data"]["e"] == "serverShutdown"
        # A new connection can be opened during the grace, before the old one closes.
        fresh = open_ws(sim, "/ws/btcusdt@aggTrade")
        assert json.loads(fresh.recv())["e"] == "aggTrade"
        closed = _until_close(raw)
        assert 0.3 < closed - seen < 2.5
        _until_close(combined)
        fresh.close(timeout=0.2)
    finally:
        raw.close(timeout=0.2)
        combined.close(timeout=0.2)
