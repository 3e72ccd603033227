"""The public API (``tradeactors/__init__.py``): every exported name resolves, importing the package stays light,
and the README's in-process example works against a real service on the simulator."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import tradeactors
from tests.helpers import wait_for


def test_every_exported_name_resolves():
    assert sorted(tradeactors.__all__) == sorted(["__version__", *tradeactors._EXPORTS])
    for name in tradeactors.__all__:
        assert getattr(tradeactors, name) is not None, name


def test_importing_the_package_loads_no_service_dependency():
    code = ("import sys, tradeactors; heavy = {'rocksdict', 'pykka', 'flask', 'numpy', 'websocket'} & "
            "{m.split('.')[0] for m in sys.modules}; print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_readme_example_runs_against_a_live_service(tmp_path, sim):
    config = tradeactors.load_config(env={}, overrides={
        "symbols": "BTCUSDT", "data_dir": str(tmp_path / "data"), "ws_url": sim.ws_url, "rest_url": sim.rest_url,
        "ca_file": str(sim.ca_file), "http": "127.0.0.1:0"})
    service = tradeactors.Service(config)
    service.start()
    try:
        now = int(time.time() * 1000)

        def page():
            return service.ask("query", tradeactors.QueryTrades("BTCUSDT", now - 60_000, now + 60_000, limit=10))

        wait_for(lambda: len(page().trades) == 10, timeout=20, message="10 stored trades")
        trades = page().trades
        assert all(isinstance(t, tradeactors.AggTrade) for t in trades)
        columns = service.ask("query", tradeactors.QueryTradeColumns("BTCUSDT", now - 60_000, now + 60_000))
        assert isinstance(columns, tradeactors.TradeColumns) and len(columns) >= 10
        with pytest.raises(tradeactors.InsufficientData) as info:  # a fresh service: far fewer than 1000 trades
            service.analyze("volume_profile", "BTCUSDT", {"duration_hours": 1})
        assert info.value.details["required"] == 1000 and info.value.details["available"] < 1000
    finally:
        service.stop()
