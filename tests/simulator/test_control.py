"""The /_sim control API, SimulatorClient and the command line (a real subprocess)."""
import json

import pytest
import requests
import websocket

from tradeactors.simulator import SimulatorClient, spawn_simulator
from tradeactors.simulator.client import SimulatorError

from .conftest import wait_for


def test_state_reports_connections_counts_and_ids(sim, connect):
    connect(sim.ws_url + "/ws/btcusdt@aggTrade").json()
    state = requests.get(sim.rest_url + "/_sim/state", timeout=5).json()
    btc = state["symbols"]["BTCUSDT"]
    assert state["connections"] == 1 and btc["connections"] == 1
    assert btc["trades"] >= 1 and btc["last_trade_id"] >= 100_000_000 and btc["update_id"] > 0


def test_control_client_drives_an_in_process_simulator_like_the_simulator_itself(sim, connect):
    client = SimulatorClient(sim.rest_url)
    r = connect(sim.ws_url + "/ws/btcusdt@aggTrade")
    r.json()
    wait_for(lambda: client.connection_count("BTCUSDT") == 1)
    client.pause()
    assert client.published_trades("BTCUSDT") == sim.published_trades("BTCUSDT")
    assert list(client.published_ids("BTCUSDT")) == list(sim.published_ids("BTCUSDT"))
    uid = client.current_update_id("BTCUSDT")
    assert client.book_at("BTCUSDT", uid, depth=3) == sim.book_at("BTCUSDT", uid, depth=3)
    client.set_regime("BTCUSDT", spread=2.0, jump=5)
    client.resume()
    assert client.drop_connections("BTCUSDT") == 1
    wait_for(lambda: client.connection_count() == 0)
    with pytest.raises(SimulatorError, match="unknown parameter"):
        client._post("/_sim/fault/drop", sym="BTCUSDT")
    with pytest.raises(SimulatorError, match="unknown symbol"):
        client.stall(1, "DOGEUSDT")


def test_control_commands_need_post(sim):
    assert requests.get(sim.rest_url + "/_sim/fault/drop", timeout=5).status_code == 405
    assert requests.get(sim.rest_url + "/_sim/nothing", timeout=5).status_code == 404


def test_spawned_simulator_prints_its_url_serves_and_exits_0_on_sigterm():
    client = spawn_simulator(["--port", "0", "--symbols", "ETHUSDT", "--rate", "100", "--seed", "3"])
    try:
        ws = websocket.create_connection(client.ws_url + "/ws/ethusdt@aggTrade", timeout=5)
        assert json.loads(ws.recv())["s"] == "ETHUSDT"
        client.send_malformed(kind="nonjson")
        ws.close(timeout=0.2)
        assert requests.get(client.rest_url + "/api/v3/ping", timeout=5).status_code == 200
        assert client.state()["symbols"]["ETHUSDT"]["trades"] > 0
    finally:
        assert client.close() == 0  # close() sends SIGTERM; a second one could land during interpreter exit


def test_bad_command_line_exits_2():
    with pytest.raises(RuntimeError, match="exit code 2"):
        spawn_simulator(["--rate", "fast"])
