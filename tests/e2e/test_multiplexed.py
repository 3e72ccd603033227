"""A few hundred symbols on shared connections: exactly once per symbol through whole-connection drops, a
serverShutdown, listings and a halt; SUBSCRIBE on live connections; Binance's limits never crossed.

The simulator runs a whole market (``market=N``) over TLS with Binance's limits enforced (a 6th control message in
a second closes the connection, a URL over 8 KB or a control frame over 4 KB is refused, the 1025th stream too) and
counts every crossing: each test ends by asserting that none happened.
"""

from __future__ import annotations

import time

import numpy as np
import orjson
import pytest

from tests.conftest import service_config
from tests.helpers import wait_for
from tradeactors import protocol, storage
from tradeactors.actors import mux
from tradeactors.actors.hub import StreamHub
from tradeactors.actors.mux import CONTROL_FRAME_BYTES, URL_STREAM_BYTES, _chunks, stream_bytes
from tradeactors.service import Service
from tradeactors.simulator import Simulator
from tradeactors.simulator.universe import market_specs

FAST = {"backoff_initial": 0.05, "backoff_max": 0.5, "flush_interval": 0.25}


def symbols_status(service) -> dict:
    return service.status()["symbols"]


def all_connected(service, count: int) -> bool:
    status = symbols_status(service)
    return len(status) == count and all(part["state"] == "connected" for part in status.values())


def market_mismatches(service, sim, symbols, since_ms: int) -> dict[str, str]:
    """Per symbol whose store is not right yet: what is wrong (stored ids must be the published ones from the
    first stored, each once, including every trade published since ``since_ms``)."""
    wrong = {}
    for symbol in symbols:
        published = sim.published_trades(symbol)
        ids = np.asarray([t["a"] for t in published], dtype=np.int64)
        must = {t["a"] for t in published if t["T"] >= since_ms}
        stored = storage.trade_ids(service.db, symbol)
        if not len(stored):
            if must:
                wrong[symbol] = f"nothing stored, {len(must)} published since"
            continue
        expected = ids[ids >= stored[0]]
        if stored.tolist() != expected.tolist():
            wrong[symbol] = (f"stored {len(stored)} ({stored[0]}..{stored[-1]}), published {len(expected)} "
                             f"({expected[0] if len(expected) else None}..{expected[-1] if len(expected) else None})")
        elif not must <= set(stored.tolist()):
            missing = sorted(must - set(stored.tolist()))
            times = [t["T"] - since_ms for t in published if t["a"] in missing]
            wrong[symbol] = (f"{len(missing)} published since connected not stored: ids {missing[:5]} at +{times[:5]} "
                             f"ms, first stored {stored[0]}")
    return wrong


def assert_market_complete(service, sim, symbols, since_ms: int, timeout: float = 60) -> None:
    """With the market paused: wait until no symbol's store is wrong; fail naming those that still are."""
    pending = list(symbols)
    deadline = time.monotonic() + timeout
    while pending:
        wrong = market_mismatches(service, sim, pending, since_ms)
        pending = sorted(wrong)
        if pending and time.monotonic() > deadline:
            raise AssertionError(f"{len(pending)} symbols incomplete: " + "; ".join(
                f"{s}: {wrong[s]}" for s in pending[:8]))
        if pending:
            time.sleep(0.5)


def test_placement_keeps_every_url_and_control_frame_within_binances_limits():
    hub = StreamHub(None, None, None, None, None, add_actor=lambda spec: None)  # type: ignore[arg-type]
    names = [spec.symbol for spec in market_specs(1500)]  # the simulator's whole market: Binance-like names
    for name in names:
        hub.place(name)
    slots = {hub.feeds[name].slot for name in names}
    # ~150 symbols a connection, filled: 1,500 symbols in a dozen connection attempts
    assert len(slots) <= sum(map(stream_bytes, names)) // URL_STREAM_BYTES + 1 <= 12
    for slot in slots:
        feeds = hub.symbols_of(slot)
        url = "/".join(n for f in feeds for n in protocol.stream_names(f.symbol))
        assert len(url) <= URL_STREAM_BYTES < 8000 and len(feeds) * 2 <= 1024
    # A removed symbol's room is reused by the next one.
    room_before = [hub._room[s] for s in sorted(slots)]
    victim = names[700]
    hub.detach(victim)
    assert hub.place("NEWCOINUSDT").slot in slots  # placed where there is room: no new connection
    assert victim not in hub.feeds and sum(hub._room) == sum(room_before) + stream_bytes(victim) - stream_bytes(
        "NEWCOINUSDT")
    # SUBSCRIBE frames: every group fits in a frame, and every symbol is in exactly one.
    keys = [name.lower() for name in names]
    groups = list(_chunks(keys))
    assert [k for group in groups for k in group] == keys
    for group in groups:
        frame = orjson.dumps({"method": "SUBSCRIBE", "params": [n for k in group for n in protocol.stream_names(k)],
                              "id": 123456})
        assert len(frame) <= CONTROL_FRAME_BYTES < 4096


@pytest.mark.slow
def test_a_few_hundred_symbols_are_recorded_exactly_once_through_drops_shutdowns_listings_and_a_halt(tmp_path):
    sim = Simulator(market=300, trade_rate=200, depth_rate=800, seed=21, tls=True, enforce_limits=True)
    sim.start()
    service = Service(service_config(tmp_path, sim, symbols="ALL", symbols_refresh=1, **FAST))
    service.start()
    try:
        wait_for(lambda: all_connected(service, 300), timeout=60, message="300 symbols connected")
        since_ms = int(time.time() * 1000)
        connections = service.status()["connections"]
        assert len(connections) >= 2 and sum(c["symbols"] for c in connections) == 300
        assert sim.connection_count() == len(connections)  # not one connection per symbol
        by_connection: dict[int, list[str]] = {}
        for symbol, part in symbols_status(service).items():
            by_connection.setdefault(part["connection"], []).append(symbol)

        # A whole connection drops: each of its symbols reconnects and is caught up; the others do not notice.
        dropped, other = by_connection[0], by_connection[1]
        assert sim.drop_connections(dropped[0]) == 1
        wait_for(lambda: all(symbols_status(service)[s]["connections"] >= 2 for s in dropped)
                 and all_connected(service, 300), timeout=30, message="the dropped connection's symbols back")
        assert all(symbols_status(service)[s]["connections"] == 1 for s in other)

        # serverShutdown on another connection: replaced make-before-break for each of its symbols, no hole.
        assert sim.server_shutdown(other[0]) == 1
        wait_for(lambda: all(symbols_status(service)[s]["planned_reconnects"] >= 1 for s in other), timeout=30,
                 message="the shut-down connection replaced")

        # Listed mid-run: 40 symbols at once (SUBSCRIBE where a connection has room, a new connection for the
        # rest); one symbol halted (it stops with its trades stored).
        listed = [sim.list_symbol(f"NEW{i}COINUSDT", rate=2) for i in range(40)]
        halted = by_connection[1][-1]
        sim.set_symbol_status(halted, "BREAK")
        wait_for(lambda: all_connected(service, 339) and halted not in symbols_status(service), timeout=60,
                 message="40 listed symbols connected, the halted one stopped")
        listed_since_ms = int(time.time() * 1000)  # recorded from when the service learnt of them
        assert sum(c["control_sent"] for c in service.status()["connections"] if "control_sent" in c) >= 1
        assert sim.connection_count() == len(service.status()["connections"])
        wait_for(lambda: all(symbols_status(service)[s]["trades_received"] for s in listed), timeout=30,
                 message="every listed symbol receiving")

        sim.pause()
        assert_market_complete(service, sim, [s for s in sim.state()["symbols"] if s not in listed], since_ms)
        assert_market_complete(service, sim, listed, listed_since_ms)
        assert sim.limit_violations() == dict.fromkeys(sim.limit_violations(), 0)
    finally:
        service.stop()
        sim.stop()


def test_a_symbol_removed_at_runtime_is_unsubscribed_and_its_room_reused(tmp_path, monkeypatch):
    # Room for three symbols a connection: the fourth opens a second connection, a removal frees a place.
    sim = Simulator(symbols=["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"], rate=20, seed=4, tls=True,
                    enforce_limits=True)
    sim.start()
    monkeypatch.setattr(mux, "URL_STREAM_BYTES", 3 * stream_bytes("BTCUSDT"))
    monkeypatch.setattr("tradeactors.actors.hub.URL_STREAM_BYTES", 3 * stream_bytes("BTCUSDT"))
    service = Service(service_config(tmp_path, sim, symbols="BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT", **FAST))
    service.start()
    try:
        wait_for(lambda: all_connected(service, 4), timeout=30, message="4 symbols connected")
        assert [c["symbols"] for c in service.status()["connections"]] == [3, 1]
        service.lifecycle.change(["BTCUSDT", "BNBUSDT", "SOLUSDT"])  # ETHUSDT goes: UNSUBSCRIBE on connection 0
        wait_for(lambda: sim.connection_count("ETHUSDT") == 0, timeout=10, message="ETHUSDT unsubscribed")
        assert sim.connection_count("BTCUSDT") == 1
        sim.list_symbol("XRPUSDT", rate=20)
        service.lifecycle.change(["BTCUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"])  # SUBSCRIBE where there is room
        wait_for(lambda: all_connected(service, 4) and symbols_status(service)["XRPUSDT"]["trades_received"],
                 timeout=20, message="XRPUSDT receiving")
        assert sim.connection_count() == 2  # on a live connection: no new one
        assert sum(c["control_sent"] for c in service.status()["connections"]) == 2  # UNSUBSCRIBE, SUBSCRIBE
        assert sim.limit_violations() == dict.fromkeys(sim.limit_violations(), 0)
    finally:
        service.stop()
        sim.stop()
