"""The command line as a user runs it: real processes, real signals."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
import requests

from tests.helpers import ROOT, Process, run_cli, wait_for
from tradeactors import storage
from tradeactors.simulator import SimulatorClient
from tradeactors.storage import Database


@pytest.mark.parametrize("args,key", [
    (["--symbols", "btc-usdt"], "symbols"),
    (["--http", "127.0.0.1:notaport"], "http"),
    (["--ws-url", "http://x"], "ws_url"),
    (["--ca-file", "/nonexistent/ca.pem"], "ca_file"),
])
def test_start_with_a_bad_value_exits_2_naming_the_key(tmp_path, args, key):
    result = run_cli("start", "--data-dir", str(tmp_path), *args)
    assert result.returncode == 2
    assert f"  {key}:" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_data_dir_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_cli("start", "--data-dir", str(blocker / "data"))
    assert result.returncode == 2 and "  data_dir:" in result.stderr


def test_bad_environment_value_exits_2(tmp_path):
    result = run_cli("start", "--data-dir", str(tmp_path), env={"TRADEACTORS_STREAM_TIMEOUT": "-3"})
    assert result.returncode == 2 and "environment TRADEACTORS_STREAM_TIMEOUT" in result.stderr


def test_bin_launcher_runs_the_same_cli():
    result = subprocess.run([str(ROOT / "bin" / "tradeactors"), "--version"], capture_output=True, text=True,
                            env={**os.environ, "PYTHON": sys.executable}, timeout=30)
    assert result.returncode == 0 and result.stdout.startswith("tradeactors ")


def api_trades(api, symbol):
    now = int(time.time() * 1000)
    params = {"symbol": symbol, "start": now - 3_600_000, "end": now + 60_000, "limit": 10000}
    return requests.get(f"{api}/api/trades", params=params, timeout=10).json()["trades"]


def readme_example(api: str) -> dict:
    """The README quickstart's example request, its shell arithmetic worked out by bash, sent to ``api``."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r'`curl "(http://127\.0\.0\.1:8080/api/trades\?[^"]+)"`', text)
    assert match, "the README's quickstart has no curl example of /api/trades"
    url = subprocess.run(["bash", "-c", f'echo "{match.group(1)}"'], capture_output=True, text=True,
                         check=True).stdout.strip()
    response = requests.get(url.replace("http://127.0.0.1:8080", api), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_demo_stores_what_the_simulator_published_and_stops_cleanly_on_sigterm(tmp_path):
    demo = Process("demo", "--data-dir", str(tmp_path / "data"), "--http", "127.0.0.1:0", "--rate", "100")
    try:
        sim_ws, sim_rest, ca = demo.find(r"exchange simulator at (\S+) \(REST (\S+), CA (\S+)\)").groups()
        assert sim_ws.startswith("wss://127.0.0.1:") and sim_rest.startswith("https://127.0.0.1:")  # TLS by default
        api = demo.find(r"serving the API and dashboard at (\S+)/").group(1)
        wait_for(lambda: len(api_trades(api, "BTCUSDT")) >= 200, timeout=30, message="200 stored trades")
        assert readme_example(api)["count"] == 5  # the quickstart's request, as the README writes it
        stored = api_trades(api, "BTCUSDT")
        ids = [t["a"] for t in stored]
        assert ids == list(range(ids[0], ids[0] + len(ids)))
        truth = requests.get(f"{sim_rest}/api/v3/aggTrades", params={"symbol": "BTCUSDT", "fromId": ids[0],
                             "limit": len(ids)}, timeout=10, verify=ca).json()
        assert [{k: t[k] for k in "apqTmfl"} for t in stored] == [{k: t[k] for k in "apqTmfl"} for t in truth]

        SimulatorClient(sim_rest, ca_file=ca).pause()
        last = requests.get(f"{api}/api/status", timeout=5).json()["symbols"]["BTCUSDT"]["last_trade_id"]
        code, seconds = demo.terminate()
    finally:
        demo.kill()
    assert code == 0, "".join(demo.lines[-20:])
    assert seconds < 5
    db = Database(tmp_path / "data" / "analytics")
    try:
        ids = storage.trade_ids(db, "BTCUSDT").tolist()
    finally:
        db.close()
    assert ids[-1] >= last and ids == list(range(ids[0], ids[-1] + 1))
    assert all(f"[{name}]" in "".join(demo.lines) for name in ("Storage", "Reader-0", "MainThread"))


def test_start_on_sigterm_writes_the_buffered_last_second_and_exits_0(tmp_path, sim):
    env = {"TRADEACTORS_FLUSH_INTERVAL": "60"}  # only the orderly stop can write these trades
    service = Process("start", "--symbols", "BTCUSDT", "--data-dir", str(tmp_path / "data"), "--http",
                      "127.0.0.1:0", "--ws-url", sim.ws_url, "--rest-url", sim.rest_url, "--ca-file", sim.ca_file,
                      env=env)
    try:
        api = service.find(r"serving the API and dashboard at (\S+)/").group(1)

        def last_received():
            return requests.get(f"{api}/api/status", timeout=5).json()["symbols"]["BTCUSDT"]["last_trade_id"]

        wait_for(last_received, timeout=20, message="first trade")
        sim.pause()
        last = int(sim.published_ids("BTCUSDT")[-1])
        wait_for(lambda: last_received() == last, message="every published trade received")
        assert api_trades(api, "BTCUSDT") == []
        code, seconds = service.terminate()
    finally:
        service.kill()
    assert code == 0 and seconds < 5
    assert any("received SIGTERM" in line for line in service.lines)
    db = Database(tmp_path / "data" / "analytics")
    try:
        ids = storage.trade_ids(db, "BTCUSDT").tolist()
    finally:
        db.close()
    assert ids and ids[-1] == last and ids == list(range(ids[0], last + 1))
