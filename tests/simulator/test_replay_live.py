"""Live replays of the real 2024 capture: times moved to now, loops whose ids keep increasing."""
import itertools
import json
import time

import requests
import websocket

from tests.helpers import wait_for
from tradeactors.simulator import Simulator, captures, spawn_simulator
from tradeactors.simulator.replay import LOOP_UPDATE_GAP

BTC = [str(p) for p in captures.capture_2024_files("BTCUSDT")]


def test_a_live_replay_sends_times_of_now_and_keeps_the_original_times_as_metadata():
    with Simulator(replay=BTC, replay_speed=1.0, replay_live=True) as sim:
        ws = websocket.create_connection(sim.ws_url + "/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade",
                                         timeout=10)
        got = [json.loads(ws.recv())["data"] for _ in range(30)]
        received_ms = time.time() * 1000
        ws.close(timeout=0.2)
        state = sim.state()["replay"]["BTCUSDT"]
        trades = sim.published_trades("BTCUSDT")
    assert state["live"] is True and state["original_time_ms"] < 1_723_170_000_000
    offset = state["time_offset_ms"]
    assert abs(offset - (received_ms - 1_723_161_255_000)) < 60_000
    for d in got:
        assert abs(d["E"] - received_ms) < 5_000, d  # live: within seconds of now
        if d["e"] == "aggTrade":
            assert abs(d["T"] - received_ms) < 5_000
    recorded = {t["a"]: t for t in trades}
    for d in got:
        if d["e"] == "aggTrade":
            assert recorded[d["a"]]["T"] == d["T"]  # REST carries the same, moved, times
    assert all(abs(t["T"] - received_ms) < 5_000 for t in trades)


def test_a_looped_replay_keeps_every_id_increasing_and_breaks_the_depth_chain_at_the_seam():
    with Simulator(replay=BTC[:1], replay_speed="max", replay_live=True, replay_loop=True) as sim:
        ws = websocket.create_connection(sim.ws_url + "/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade",
                                         timeout=10, skip_utf8_validation=True)
        frames, last_u, after_seam = [], None, None
        while after_seam is None or len(frames) < after_seam + 2000:  # 2000 frames into the second pass
            data = json.loads(ws.recv())["data"]
            frames.append(data)
            if data["e"] == "depthUpdate":
                if last_u is not None and data["U"] != last_u + 1 and after_seam is None:
                    after_seam = len(frames)
                last_u = data["u"]
        sim.pause()
        ws.close(timeout=0.2)
        body = requests.get(sim.rest_url + "/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 50}).json()
        state = sim.state()["replay"]["BTCUSDT"]
        truth = sim.published_trades("BTCUSDT")
        bids, asks = sim.book_at("BTCUSDT", body["lastUpdateId"], 50)
    aggs = [d for d in frames if d["e"] == "aggTrade"]
    diffs = [d for d in frames if d["e"] == "depthUpdate"]
    assert [a["a"] for a in aggs] == list(range(aggs[0]["a"], aggs[0]["a"] + len(aggs)))
    assert all(b["f"] == a["l"] + 1 for a, b in itertools.pairwise(aggs))  # raw ids contiguous across the seam
    assert all(b["T"] >= a["T"] for a, b in itertools.pairwise(aggs))
    assert [t["a"] for t in truth][:len(aggs)] == [a["a"] for a in aggs]
    breaks = [(a, b) for a, b in itertools.pairwise(diffs) if b["U"] != a["u"] + 1]
    assert all(b["U"] > a["u"] for a, b in itertools.pairwise(diffs))
    # pass 1 starts LOOP_UPDATE_GAP ids after pass 0 ended (a chain break that forces a re-sync), and its first
    # diffs are older than its snapshot, as in the recording
    assert len(breaks) == 1 and breaks[0][1]["U"] - breaks[0][0]["u"] - 1 >= LOOP_UPDATE_GAP
    assert state["loop"] >= 1 and body["lastUpdateId"] > breaks[0][1]["U"]
    assert [tuple(x) for x in body["bids"]] == bids and [tuple(x) for x in body["asks"]] == asks


def test_simulate_replay_without_files_replays_the_bundled_captures_live_and_looped():
    client = spawn_simulator(["--port", "0", "--no-tls", "--replay", "--loop", "--replay-speed", "4"])
    try:
        ws = websocket.create_connection(client.ws_url + "/ws/ethusdt@aggTrade", timeout=20)
        got = [json.loads(ws.recv()) for _ in range(5)]
        received_ms = time.time() * 1000
        ws.close(timeout=0.2)
        replay = client.state()["replay"]
    finally:
        client.close()
    assert set(replay) == {"BTCUSDT", "ETHUSDT"} and replay["ETHUSDT"]["live"] is True
    assert all(abs(t["T"] - received_ms) < 5_000 and t["s"] == "ETHUSDT" for t in got)
    assert replay["ETHUSDT"]["original_time_ms"] < 1_723_170_000_000


def test_a_loop_that_is_not_live_moves_the_times_of_later_passes_on_so_they_keep_increasing():
    with Simulator(replay=BTC[:1], replay_speed="max", replay_loop=True, replay_start="immediate") as sim:
        wait_for(lambda: sim.state()["replay"]["BTCUSDT"]["loop"] >= 1
                 and sim.state()["replay"]["BTCUSDT"]["position"] > 1000, timeout=60, message="into pass 1")
        sim.pause()
        steps = sim.state()["replay"]["BTCUSDT"]["id_steps"]
        trades = sim.published_trades("BTCUSDT")
    first = trades[0]
    assert first["T"] < 1_723_170_000_000  # pass 0 keeps the recorded times
    assert all(b["T"] >= a["T"] and b["a"] == a["a"] + 1 for a, b in itertools.pairwise(trades))
    again = trades[steps["aggregate"]]  # the same recorded trade, one pass later
    assert (again["p"], again["q"], again["m"]) == (first["p"], first["q"], first["m"])
    assert again["f"] == first["f"] + steps["trade"] and again["T"] > trades[steps["aggregate"] - 1]["T"]
