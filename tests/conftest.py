"""Shared fixtures: a real exchange simulator on loopback and a real service against it."""

from __future__ import annotations

import pykka
import pytest

from tradeactors import config as configuration
from tradeactors.service import Service
from tradeactors.simulator import Simulator


@pytest.fixture
def sim():
    simulator = Simulator(symbols=["BTCUSDT", "ETHUSDT"], rate=50.0, seed=7)
    simulator.start()
    yield simulator
    simulator.stop()


def service_config(tmp_path, sim, **overrides) -> configuration.Config:
    values = {"data_dir": str(tmp_path / "data"), "ws_url": sim.ws_url, "rest_url": sim.rest_url,
              "http": "127.0.0.1:0", "symbols": ",".join(sim.symbols)}
    values.update({k: str(v) for k, v in overrides.items()})
    return configuration.load(None, env={}, overrides=values)


@pytest.fixture
def service_factory(tmp_path, sim):
    """Start services on the simulator; every one still running is stopped at teardown."""
    started: list[Service] = []

    def start(**overrides) -> Service:
        service = Service(service_config(tmp_path, sim, **overrides))
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        if service.db is not None and not service.db.closed:
            service.stop()
    pykka.ActorRegistry.stop_all(block=True, timeout=5)
