"""The /_sim control API, SimulatorClient and the command line (a real subprocess)."""
import json
import os

import pytest
import requests
import websocket

from tradeactors.simulator import SimulatorClient, spawn_simulator
from tradeactors.simulator.client import SimulatorError

from .conftest import BOTH, rest_get, wait_for


def test_state_reports_connections_counts_and_ids(sim, connect):
    connect(sim, "/ws/btcusdt@aggTrade").json()
    state = rest_get(sim, "/_sim/state").json()
    btc = state["symbols"]["BTCUSDT"]
    assert state["connections"] == 1 and btc["connections"] == 1
    assert btc["trades"] >= 1 and btc["last_trade_id"] >= 100_000_000 and btc["update_id"] > 0


@BOTH
def test_control_client_drives_an_in_process_simulator_like_the_simulator_itself(sim, connect):
    client = SimulatorClient(sim.rest_url, ca_file=sim.ca_file)
    assert client.ws_url == sim.ws_url
    r = connect(sim, "/ws/btcusdt@aggTrade")
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
    assert rest_get(sim, "/_sim/fault/drop").status_code == 405
    assert rest_get(sim, "/_sim/nothing").status_code == 404


def test_spawned_simulator_speaks_tls_by_default_serves_and_exits_0_on_sigterm():
    client = spawn_simulator(["--port", "0", "--symbols", "ETHUSDT", "--rate", "100", "--seed", "3"])
    try:
        assert client.ws_url.startswith("wss://127.0.0.1:") and client.rest_url.startswith("https://127.0.0.1:")
        assert os.path.exists(client.ca_file)
        ws = websocket.create_connection(client.ws_url + "/ws/ethusdt@aggTrade", timeout=5,
                                         sslopt={"context": client.client_ssl_context()})
        assert json.loads(ws.recv())["s"] == "ETHUSDT"
        client.send_malformed(kind="nonjson")  # the control API over https, verified against the CA
        ws.close(timeout=0.2)
        assert requests.get(client.rest_url + "/api/v3/ping", timeout=5, verify=client.ca_file).status_code == 200
        assert client.state()["symbols"]["ETHUSDT"]["trades"] > 0
    finally:
        assert client.close() == 0  # close() sends SIGTERM; a second one could land during interpreter exit
    assert not os.path.exists(client.ca_file)  # a default CA file goes with the simulator


def test_spawned_simulator_without_tls_prints_the_plaintext_line():
    client = spawn_simulator(["--port", "0", "--symbols", "ETHUSDT", "--rate", "100", "--no-tls"])
    try:
        assert client.ws_url.startswith("ws://127.0.0.1:") and client.ca_file is None
        ws = websocket.create_connection(client.ws_url + "/ws/ethusdt@aggTrade", timeout=5)
        assert json.loads(ws.recv())["s"] == "ETHUSDT"
        ws.close(timeout=0.2)
        assert client.connection_count() in (0, 1)
    finally:
        assert client.close() == 0


def test_a_chosen_ca_file_is_printed_and_kept(tmp_path):
    path = tmp_path / "a dir with spaces" / "ca.pem"
    path.parent.mkdir()
    client = spawn_simulator(["--symbols", "BTCUSDT", "--ca-file", str(path)])
    try:
        assert client.ca_file == str(path)
        assert client.state()["symbols"]["BTCUSDT"]["connections"] == 0
    finally:
        assert client.close() == 0
    assert path.read_text().startswith("-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("argv", [["--rate", "fast"], ["--no-tls", "--ca-file", "/tmp/ca.pem"]])
def test_bad_command_line_exits_2(argv):
    with pytest.raises(RuntimeError, match="exit code 2"):
        spawn_simulator(argv)


@pytest.mark.parametrize("line,urls", [
    ("simulator listening on ws://127.0.0.1:5 (rest http://127.0.0.1:5)", ("ws://127.0.0.1:5", "http://127.0.0.1:5",
                                                                           None)),
    ("simulator listening on wss://127.0.0.1:5 (rest https://127.0.0.1:5, ca /tmp/a b/ca.pem)\n",
     ("wss://127.0.0.1:5", "https://127.0.0.1:5", "/tmp/a b/ca.pem")),
])
def test_the_listening_line_is_parsed_in_both_forms(line, urls):
    from tradeactors.simulator.client import _LISTENING

    assert _LISTENING.search(line).groups() == urls
