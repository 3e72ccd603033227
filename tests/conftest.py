"""Shared fixtures: a real exchange simulator on loopback and a real service against it.

The simulator speaks TLS (``wss://``, ``https://``, one TLS record per message) as Binance does, and the service
trusts its CA through ``ca_file``: the production transport is the tested one. ``plain_sim`` keeps a plaintext
``ws://`` simulator for the few tests that cover that path too.
"""

from __future__ import annotations

import pykka
import pytest

from tradeactors import config as configuration
from tradeactors.service import Service
from tradeactors.simulator import Simulator


def make_simulator(tls: bool = True, **kwargs) -> Simulator:
    options = {"symbols": ["BTCUSDT", "ETHUSDT"], "rate": 50.0, "seed": 7, **kwargs}
    return Simulator(tls=tls, **options).start()


@pytest.fixture
def sim():
    simulator = make_simulator()
    yield simulator
    simulator.stop()


@pytest.fixture
def plain_sim():
    simulator = make_simulator(tls=False)
    yield simulator
    simulator.stop()


def service_config(tmp_path, sim, **overrides) -> configuration.Config:
    values = {"data_dir": str(tmp_path / "data"), "ws_url": sim.ws_url, "rest_url": sim.rest_url,
              "http": "127.0.0.1:0", "symbols": ",".join(sim.symbols)}
    if sim.ca_file:
        values["ca_file"] = str(sim.ca_file)
    values.update({k: str(v) for k, v in overrides.items()})
    return configuration.load(None, env={}, overrides=values)


def _factory(tmp_path, simulator):
    started: list[Service] = []

    def start(**overrides) -> Service:
        service = Service(service_config(tmp_path, simulator, **overrides))
        service.start()
        started.append(service)
        return service

    return start, started


def _stop_all(started) -> None:
    for service in started:
        if service.db is not None and not service.db.closed:
            service.stop()
    pykka.ActorRegistry.stop_all(block=True, timeout=5)


@pytest.fixture
def service_factory(tmp_path, sim):
    """Start services on the (TLS) simulator; every one still running is stopped at teardown."""
    start, started = _factory(tmp_path, sim)
    yield start
    _stop_all(started)


@pytest.fixture
def plain_service_factory(tmp_path, plain_sim):
    """Start services on the plaintext simulator (``ws://``, ``http://``)."""
    start, started = _factory(tmp_path, plain_sim)
    yield start
    _stop_all(started)
