"""Replay of the 2024 hftbacktest capture (and the small 2021 cryptofeed one) against independent clients."""
import gzip
import itertools
import json
import time
from decimal import Decimal

import pytest
import requests
import websocket

from tradeactors.simulator import Simulator, captures

DATA = captures.data_dir()
CAPTURE = DATA / captures.CAPTURE_2024
BTC = [CAPTURE / "spot_btcusdt_20240808.gz", CAPTURE / "spot_btcusdt_20240809.gz"]
CRYPTOFEED = DATA / captures.CAPTURE_2021

def recorded(paths, stream):
    """The recorded frames of one stream, as text, in file order."""
    out = []
    for path in paths:
        with gzip.open(path, "rt") as fh:
            for line in fh:
                text = line.rstrip("\n").partition(" ")[2]
                if text.startswith(f'{{"stream":"{stream}"'):
                    out.append(text)
    return out

@pytest.fixture(scope="module")
def btc_replay():
    sim = Simulator(replay=[str(p) for p in BTC], replay_speed="max").start()
    yield sim
    sim.stop()

@pytest.fixture(scope="module")
def btc_received(btc_replay):
    """Everything a combined client receives from the whole BTC replay (depth + aggTrade)."""
    ws = websocket.create_connection(btc_replay.ws_url + "/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade",
                                     timeout=10, skip_utf8_validation=True)
    frames = []
    try:
        expected_depth = len(recorded(BTC, "btcusdt@depth@100ms"))
        depth_count = 0
        while depth_count < expected_depth or not btc_replay.state()["replay"]["BTCUSDT"]["done"]:
            text = ws.recv()
            frames.append(text)
            depth_count += text.startswith('{"stream":"btcusdt@depth')
        ws.settimeout(0.3)
        try:
            while True:
                frames.append(ws.recv())
        except websocket.WebSocketTimeoutException:
            pass
    finally:
        ws.close(timeout=0.2)
    return frames

def test_depth_frames_are_replayed_byte_for_byte(btc_received):
    got = [f for f in btc_received if f.startswith('{"stream":"btcusdt@depth')]
    assert got == recorded(BTC, "btcusdt@depth@100ms")

def test_trades_become_contiguous_aggtrades_that_sum_exactly_to_the_raw_trades(btc_received, btc_replay):
    aggs = [json.loads(f)["data"] for f in btc_received if f.startswith('{"stream":"btcusdt@aggTrade"')]
    raw = [json.loads(t)["data"] for t in recorded(BTC, "btcusdt@trade")]
    assert [a["a"] for a in aggs] == list(range(aggs[0]["a"], aggs[0]["a"] + len(aggs)))
    assert aggs[0]["f"] == raw[0]["t"] and aggs[-1]["l"] == raw[-1]["t"]
    by_id = {t["t"]: t for t in raw}
    for prev, a in itertools.pairwise(aggs):
        assert a["f"] == prev["l"] + 1
    for a in aggs:
        run = [by_id[i] for i in range(a["f"], a["l"] + 1)]
        assert {(t["T"], t["p"], t["m"]) for t in run} == {(a["T"], a["p"], a["m"])}
        assert Decimal(a["q"]) == sum(Decimal(t["q"]) for t in run) and len(a["q"].split(".")[1]) == 8
    truth = btc_replay.published_trades("BTCUSDT")
    assert [{k: t[k] for k in "apqflTm"} for t in truth] == [{k: a[k] for k in "apqflTm"} for a in aggs]

def test_after_the_replay_rest_serves_the_true_book(btc_replay, btc_received):
    body = requests.get(btc_replay.rest_url + "/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 1000}).json()
    last_u = json.loads(recorded(BTC, "btcusdt@depth@100ms")[-1])["data"]["u"]
    assert body["lastUpdateId"] == last_u == btc_replay.current_update_id("BTCUSDT")
    bids, asks = btc_replay.book_at("BTCUSDT", last_u)
    assert [tuple(x) for x in body["bids"]] == bids[:1000]
    assert Decimal(bids[0][0]) < Decimal(asks[0][0])

def test_before_the_replay_passes_it_rest_serves_the_recorded_snapshot():
    with Simulator(replay=[str(BTC[0])], replay_speed=1.0) as sim:  # nobody connects: the replay waits
        with gzip.open(BTC[0], "rt") as fh:
            body = next(line.rstrip("\n").partition(" ")[2] for line in fh if '"lastUpdateId"' in line[:40])
        r = requests.get(sim.rest_url + "/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 1000})
        assert r.text == body
        small = requests.get(sim.rest_url + "/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5}).json()
        assert small["bids"] == json.loads(body)["bids"][:5]
        assert sim.state()["replay"]["BTCUSDT"]["position"] == 0

def test_raw_path_gets_the_recorded_data_text_and_timing_follows_the_speed():
    with Simulator(replay=[str(BTC[0])], replay_speed=20.0) as sim:
        ws = websocket.create_connection(sim.ws_url + "/ws/btcusdt@depth@100ms", timeout=10)
        start = time.monotonic()
        got = [ws.recv() for _ in range(40)]
        elapsed = time.monotonic() - start
        ws.close(timeout=0.2)
    rec = recorded(BTC[:1], "btcusdt@depth@100ms")[:40]
    assert got == [r[len('{"stream":"btcusdt@depth@100ms","data":'):-1] for r in rec]
    # 40 diffs span ~4 s of recording: ~0.2 s at 20x.
    assert 0.1 < elapsed < 1.5

def test_book_ticker_is_replayed_as_recorded():
    with Simulator(replay=[str(BTC[0])], replay_speed="max") as sim:
        ws = websocket.create_connection(sim.ws_url + "/stream?streams=btcusdt@bookTicker", timeout=10)
        got = [ws.recv() for _ in range(100)]
        ws.close(timeout=0.2)
    assert got == recorded(BTC[:1], "btcusdt@bookTicker")[:100]

def test_cryptofeed_capture_replays_its_depth_frames_and_snapshot():
    files = [str(CRYPTOFEED / "BINANCE.ws.1.0"), str(CRYPTOFEED / "BINANCE.http.0.0")]
    with Simulator(replay=files, replay_speed="max") as sim:
        assert set(sim.symbols) == {"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"}
        snap = requests.get(sim.rest_url + "/api/v3/depth", params={"symbol": "NKNUSDT", "limit": 1000}).json()
        assert snap["lastUpdateId"] == 499869752
        ws = websocket.create_connection(sim.ws_url + "/stream?streams=nknusdt@depth@100ms", timeout=10)
        got = [ws.recv() for _ in range(150)]
        ws.close(timeout=0.2)
    lines = (CRYPTOFEED / "BINANCE.ws.1.0").read_text().splitlines()
    want = [ln.partition(": ")[2] for ln in lines if '"stream":"nknusdt@depth@100ms"' in ln]
    assert got == want
