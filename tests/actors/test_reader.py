"""The StreamActor's reader over TLS, against the simulator (one TLS record per message, as Binance sends them).

A TLS read returns one record whatever is asked, so a reader that judged "more to read?" by the size of a read
fell ten times behind one ordinary symbol. These tests hold the reader to what it must do: keep up at any rate,
gather frames at low rates (few wake-ups), and sleep while nothing arrives.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import make_simulator, service_config
from tests.helpers import counter, wait_for
from tradeactors.service import Service


@pytest.fixture
def run_service(tmp_path):
    """``run_service(sim, **overrides)``: a started service on ``sim``; stopped (with the simulator) at teardown."""
    started = []

    def run(sim, **overrides):
        service = Service(service_config(tmp_path, sim, backoff_initial=0.05, backoff_max=0.5, **overrides))
        started.append((service, sim))
        service.start()
        return service

    yield run
    for service, sim in started:
        service.stop()
        sim.stop()


def stream(service, symbol="BTCUSDT"):
    return service.status()["symbols"][symbol]


def test_over_tls_the_reader_keeps_up_with_a_busy_symbol(run_service):
    sim = make_simulator(symbols=["BTCUSDT"], rate=2000.0)
    service = run_service(sim)
    wait_for(lambda: stream(service)["state"] == "connected" and stream(service)["last_trade_id"], timeout=20,
             message="receiving")
    began = stream(service)["trades_received"]
    wait_for(lambda: stream(service)["trades_received"] - began >= 6000, timeout=20, message="6000 trades")
    sim.pause()
    last = int(sim.published_ids("BTCUSDT")[-1])
    # Everything published is already in the socket or in flight: received within seconds of the pause (the
    # reader this replaced, ten messages a second, would need ten minutes for the 6,000 trades above).
    wait_for(lambda: stream(service)["last_trade_id"] == last, timeout=5, message="the last published trade")
    status = stream(service)
    assert status["drains"] < status["trades_received"] / 5  # many records per wake-up, not one
    assert status["book"]["state"] == "synced"


def test_at_usual_rates_frames_gather_between_wake_ups(run_service):
    sim = make_simulator(symbols=["BTCUSDT"], rate=100.0)
    service = run_service(sim)
    wait_for(lambda: stream(service)["state"] == "connected" and stream(service)["book"]["state"] == "synced",
             timeout=20, message="connected and synced")
    first = stream(service)
    wait_for(lambda: stream(service)["trades_received"] - first["trades_received"] >= 300, timeout=10,
             message="300 trades")
    last = stream(service)
    drains = last["drains"] - first["drains"]
    messages = last["trades_received"] - first["trades_received"]  # depth diffs come on top of these
    assert 0 < drains < messages / 4, (drains, messages)


def test_an_idle_reader_sleeps_until_data_or_its_deadline(run_service):
    sim = make_simulator(symbols=["BTCUSDT"], rate=50.0, ping_interval=600.0)
    service = run_service(sim, stream_timeout=600)
    wait_for(lambda: stream(service)["state"] == "connected" and stream(service)["last_trade_id"], timeout=20,
             message="receiving")
    sim.pause()
    last = int(sim.published_ids("BTCUSDT")[-1])
    wait_for(lambda: stream(service)["last_trade_id"] == last, message="the last trade")
    drains = stream(service)["drains"]
    time.sleep(2.0)  # proving an absence: nothing arrives, so nothing may wake the reader
    assert stream(service)["drains"] == drains
    sim.resume()
    wait_for(lambda: stream(service)["drains"] > drains and stream(service)["last_trade_id"] > last, timeout=5,
             message="woken by the next trade")


def test_a_silent_connection_that_still_answers_pings_is_replaced(run_service):
    """Pings are not data: a server that pings but sends nothing is stalled (the watchdog counts data only)."""
    sim = make_simulator(symbols=["BTCUSDT"], rate=50.0, ping_interval=0.3)
    service = run_service(sim, stream_timeout=1.5)
    wait_for(lambda: stream(service)["state"] == "connected" and stream(service)["last_trade_id"], timeout=20,
             message="receiving")
    sim.stall(4.0, "BTCUSDT")  # pings go on, data does not
    wait_for(lambda: stream(service)["connections"] >= 2, timeout=10, message="a new connection")
    assert counter(service, "connection_failures", symbol="BTCUSDT") >= 1
