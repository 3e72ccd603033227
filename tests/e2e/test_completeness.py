"""No trade lost, none duplicated: the real service against the simulator under every fault we know of.

Every test ends the same way: the simulator's market is paused, and the stored ids must become exactly the ids
the simulator published (from the first id the service ever received), each once.
"""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest

from tests.helpers import counter, storage_status, wait_for
from tradeactors import storage
from tradeactors.actors.messages import HolesFound, InjectFailure, QueryTrades
from tradeactors.simulator import Simulator

FAST = {"backoff_initial": 0.05, "backoff_max": 0.5, "flush_interval": 0.25}
"""Reconnect soon, and flush the buffer every 0.25 s (1 s by default): what a test waits for, stored ids or stored
book seconds, is written sooner, through the same path."""


def stream_status(service, symbol="BTCUSDT"):
    return service.status()["symbols"][symbol]


def wait_receiving(service, symbol="BTCUSDT", timeout=20):
    """Wait until the stream is connected and has received a trade after this call."""
    before = stream_status(service, symbol).get("last_trade_id") or 0
    wait_for(lambda: stream_status(service, symbol)["state"] == "connected"
             and (stream_status(service, symbol).get("last_trade_id") or 0) > before,
             timeout=timeout, message=f"{symbol} receiving again")


def assert_complete(service, sim, symbols=("BTCUSDT",), timeout=30):
    for symbol in symbols:
        wait_receiving(service, symbol)
    sim.pause()
    for symbol in symbols:
        published = np.asarray(sim.published_ids(symbol))  # ids that exist: an exchange gap is left out
        last = int(published[-1])

        def caught_up(symbol=symbol, last=last, published=published):
            stored = storage.trade_ids(service.db, symbol)
            return len(stored) and stored[-1] == last and len(stored) == (published >= stored[0]).sum()

        wait_for(caught_up, timeout=timeout, message=f"{symbol} stored ids == published ids")
        stored = storage.trade_ids(service.db, symbol)
        assert stored.tolist() == published[published >= stored[0]].tolist()


def gaps_found(service, symbol="BTCUSDT"):
    return counter(service, "gaps_found", symbol=symbol)


def backfilled(service, symbol="BTCUSDT"):
    """Trades stored from REST: a hole's fill or a reconnection's catch-up."""
    return counter(service, "trades_backfilled", symbol=symbol)


def test_twenty_forced_disconnects_at_random_moments(service_factory, sim):
    # No connection lives long enough to reset the backoff (HEALTHY_SECONDS): a short ceiling keeps the 20
    # reconnections from waiting 0.5 s each (the drop's moment, not the backoff, is what this test varies).
    service = service_factory(backoff_initial=0.02, backoff_max=0.1)
    rng = random.Random(20)
    for _ in range(20):
        wait_receiving(service)
        time.sleep(rng.uniform(0.0, 0.4))  # a random moment in the stream, not a wait for a result
        connections = stream_status(service)["connections"]
        assert sim.drop_connections("BTCUSDT") == 1
        # Frames read from the dropped socket can still arrive after the drop: wait for the new connection, so
        # that each of the 20 drops hits a live connection.
        wait_for(lambda before=connections: stream_status(service)["connections"] > before, timeout=20,
                 message="reconnected")
    assert_complete(service, sim, ("BTCUSDT", "ETHUSDT"))
    assert stream_status(service)["connections"] >= 21
    # what was published while disconnected came from REST (counted just after the write that completed the ids)
    wait_for(lambda: backfilled(service) >= 1, timeout=5, message="trades counted as backfilled")


def test_a_stall_longer_than_the_watchdog_reconnects_and_fills(service_factory, sim):
    service = service_factory(stream_timeout=1, **FAST)
    wait_receiving(service)
    sim.stall(2)  # twice the watchdog's 1 s, on the whole connection (the watchdog judges a connection: on a
    # multiplexed one a symbol's own silence is a quiet market, not a dead wire)
    wait_for(lambda: stream_status(service)["connections"] >= 2, timeout=10, message="watchdog reconnect")
    assert_complete(service, sim)


def test_malformed_frames_are_counted_and_skipped(service_factory, sim):
    service = service_factory(**FAST)
    wait_receiving(service)
    kinds = ["truncated", "nonjson", "missing_field"]
    for i in range(6):  # each among good frames: a dozen trades received between two malformed ones
        received = stream_status(service)["trades_received"]
        wait_for(lambda received=received: stream_status(service)["trades_received"] >= received + 12,
                 message="trades between")
        sim.send_malformed("BTCUSDT", kinds[i % 3])
    # Each counts for its connection; those whose stream name is still readable (truncated, missing_field) for the
    # symbol too: an HTML error page names no stream.
    wait_for(lambda: service.status()["connections"][0]["malformed_frames"] == 6, message="6 malformed frames counted")
    assert stream_status(service)["malformed_frames"] == 4
    assert counter(service, "frames_malformed", symbol="BTCUSDT") == 4
    assert stream_status(service)["connections"] == 1
    assert_complete(service, sim)


def test_duplicated_frames_are_stored_once(service_factory, sim):
    service = service_factory(**FAST)
    wait_receiving(service)
    for _ in range(5):
        sim.duplicate_next("BTCUSDT", "aggTrade")
        wait_receiving(service)
    assert stream_status(service)["duplicates_dropped"] >= 5
    assert_complete(service, sim)


def test_server_shutdown_is_a_planned_reconnect_without_gap_or_duplicate(service_factory, sim):
    service = service_factory(**FAST)
    wait_receiving(service)
    sim.server_shutdown("BTCUSDT")
    wait_for(lambda: stream_status(service)["planned_reconnects"] == 1, message="planned reconnect")
    assert_complete(service, sim)
    assert gaps_found(service) == 0


def test_lifetime_expiry_is_replaced_before_the_server_closes(tmp_path):
    from tests.conftest import service_config
    from tradeactors.service import Service

    with_lifetime = Simulator(symbols=["BTCUSDT"], rate=50.0, seed=3, lifetime=4.0, tls=True)
    with_lifetime.start()
    service = Service(service_config(tmp_path, with_lifetime, connection_lifetime=1.5, **FAST))
    service.start()
    try:
        wait_for(lambda: stream_status(service)["planned_reconnects"] >= 3, timeout=20, message="3 rotations")
        assert_complete(service, with_lifetime)
        assert gaps_found(service) == 0
    finally:
        service.stop()
        with_lifetime.stop()


@pytest.mark.slow
def test_refused_connections_for_seconds_are_retried_with_backoff_and_lose_nothing(service_factory, sim):
    # 6 s of refusals with the backoff doubling from 0.05 s to at most 0.3 s: about twenty refused attempts, each
    # one counted (the same path as Binance refusing for minutes, where only the number of attempts grows)
    service = service_factory(backoff_initial=0.05, backoff_max=0.3)
    wait_receiving(service)
    sim.refuse_connections(6)
    sim.drop_connections("BTCUSDT")
    wait_for(lambda: stream_status(service)["state"] == "reconnecting", message="reconnecting")
    wait_for(lambda: stream_status(service)["state"] == "connected", timeout=20, message="connected after 6 s")
    assert_complete(service, sim)
    assert counter(service, "connection_failures", symbol="BTCUSDT") >= 10


def last_stored(service, symbol="BTCUSDT") -> int:
    ids = storage.trade_ids(service.db, symbol)
    return int(ids[-1]) if len(ids) else 0


def wait_stored_equals_published(service, sim, symbol="BTCUSDT", timeout=30):
    """With the market paused: wait until the stored ids are exactly the published ones (from the first stored)."""
    published = np.asarray(sim.published_ids(symbol))

    def complete():
        stored = storage.trade_ids(service.db, symbol)
        return len(stored) and stored.tolist() == published[published >= stored[0]].tolist()

    wait_for(complete, timeout=timeout, message=f"{symbol} stored ids == published ids")


def test_trades_published_while_disconnected_are_stored_though_no_trade_follows(service_factory, sim):
    """A hole shows only when a later trade is stored; the reconnection's catch-up must not wait for one."""
    service = service_factory(**FAST)
    wait_receiving(service)
    before = int(sim.published_ids("BTCUSDT")[-1])
    sim.refuse_connections(1.0)
    assert sim.drop_connections("BTCUSDT") == 1
    wait_for(lambda: int(sim.published_ids("BTCUSDT")[-1]) >= before + 10, message="trades while disconnected")
    sim.pause("BTCUSDT")  # the symbol goes quiet: no live trade will ever reveal the hole
    missed = int(sim.published_ids("BTCUSDT")[-1])
    wait_for(lambda: stream_status(service)["state"] == "connected" and stream_status(service)["connections"] >= 2,
             timeout=15, message="reconnected")
    wait_stored_equals_published(service, sim)
    assert stream_status(service)["last_trade_id"] < missed  # they did not come over the stream
    assert service.status()["backfill"]["last_catch_up"]["BTCUSDT"]["fetched"] >= 1
    assert service.status()["backfill"]["last_gap"]["BTCUSDT"]["via"] == "catch-up"
    assert gaps_found(service) == counter(service, "gaps_filled", symbol="BTCUSDT") >= 1


@pytest.mark.slow
def test_while_the_stream_is_down_the_store_keeps_up_from_rest(service_factory, sim, monkeypatch):
    from tradeactors.actors import mux

    # Catch-ups run before reconnection attempts, at most every CATCH_UP_WHILE_DOWN_SECONDS (10 s; 2 s here, so
    # that the second catch-up comes after ~100 trades at 50/s rather than after ~500).
    monkeypatch.setattr(mux, "CATCH_UP_WHILE_DOWN_SECONDS", 2.0)
    service = service_factory(backoff_initial=0.1, backoff_max=0.5)
    wait_receiving(service)
    sim.refuse_connections(40)
    assert sim.drop_connections("BTCUSDT") == 1
    at_drop = int(sim.published_ids("BTCUSDT")[-1])
    # Within a few seconds the store holds trades published well after the drop, while the WebSocket is still
    # refused.
    wait_for(lambda: last_stored(service) >= at_drop + 100, timeout=15, message="stored beyond the drop")
    assert stream_status(service)["state"] == "reconnecting"
    assert stream_status(service)["last_trade_id"] <= at_drop
    sim.pause("BTCUSDT")
    wait_stored_equals_published(service, sim)


@pytest.mark.parametrize("status", [429, 418])
def test_rate_limited_backfill_honours_retry_after_and_completes(service_factory, sim, status):
    service = service_factory(**FAST)
    wait_receiving(service)
    sim.rest_fail(status, 2)
    sim.drop_connections("BTCUSDT")  # opens a hole that only REST can fill
    wait_for(lambda: service.ledger.blocked_until > time.time(), timeout=15, message="Retry-After received")
    blocked_until = service.ledger.blocked_until
    assert_complete(service, sim)
    assert time.time() >= blocked_until
    assert sum(counter(service, "rest_requests", endpoint=endpoint, outcome=str(status))
               for endpoint in ("/api/v3/aggTrades", "/api/v3/depth")) >= 1  # counted by outcome


def test_storage_failures_lose_nothing_after_recovery(service_factory, sim):
    service = service_factory(**FAST)
    wait_receiving(service)
    service.db.inject_write_failures(3600, "IO error: No space left on device (injected)")
    wait_for(lambda: counter(service, "storage_errors") >= 2, message="failed writes")
    assert storage_status(service)["pending_trades"] > 0  # the disk is still full: kept in memory
    service.db.inject_write_failures(0)
    wait_for(lambda: storage_status(service)["pending_trades"] == 0, timeout=15, message="recovery")
    assert_complete(service, sim)
    assert gaps_found(service) == 0  # kept in memory: nothing had to come from REST


@pytest.mark.parametrize("actor", ["stream:BTCUSDT", "buffer", "storage", "backfill", "query", "cleanup"])
def test_a_crash_in_each_actor_kind_is_restarted_and_loses_nothing(service_factory, sim, actor):
    service = service_factory(**FAST)
    wait_receiving(service)
    service.directory.tell(actor, InjectFailure())
    wait_for(lambda: service.supervisor.status()[actor]["restarts"] == 1, message=f"{actor} restarted")
    wait_for(lambda: service.supervisor.status()[actor]["alive"], message=f"{actor} alive")
    assert_complete(service, sim, ("BTCUSDT", "ETHUSDT"))


def test_retention_deletes_exactly_what_is_older_than_the_cutoff_while_a_query_runs(service_factory, sim):
    from tradeactors.actors.cleanup import RunCleanup
    from tradeactors.actors.messages import StoreTrades
    from tradeactors.protocol import AggTrade

    service = service_factory()
    day = 86_400_000
    now = int(time.time() * 1000)
    old = [AggTrade(a, "100.00000000", "1.00000000", a, a, now - 9 * day + (a - 1) * 17_281, False)
           for a in range(1, 20_001)]  # 9 to 5 days old: the 7-day cutoff falls in the middle
    for i in range(0, len(old), 5000):
        service.ask("storage", StoreTrades("ETHUSDT", old[i:i + 5000], now, "backfill"))
    results = {}

    def long_query():
        results["query"] = service.ask("query", QueryTrades("ETHUSDT", now - 9 * day, now - 2 * day), timeout=30)

    reader = threading.Thread(target=long_query)
    reader.start()
    kept = service.ask("cleanup", RunCleanup(now), timeout=30)
    reader.join(30)
    cutoff = (now - 7 * day) // 1000 * 1000
    remaining = storage.trade_ids(service.db, "ETHUSDT", 0, now - 2 * day).tolist()
    assert 0 < len(remaining) < len(old)
    assert remaining == [t.a for t in old if cutoff <= t.T]
    assert kept["ETHUSDT"] == remaining[0]
    assert len(results["query"].trades) in (len(old), len(remaining))  # it saw one consistent state


def test_stored_ids_survive_restart_and_the_hole_is_filled(tmp_path, sim):
    from tests.conftest import service_config
    from tradeactors.service import Service

    config = service_config(tmp_path, sim, **FAST)
    first = Service(config)
    first.start()
    wait_for(lambda: len(storage.trade_ids(first.db, "BTCUSDT")) > 50, timeout=20, message="trades stored")
    first.stop()
    down_at = int(sim.published_ids("BTCUSDT")[-1])
    # the market trades on while the service is down: a hole of 50 trades
    wait_for(lambda: int(sim.published_ids("BTCUSDT")[-1]) >= down_at + 50, message="50 trades while down")
    second = Service(config)
    second.start()
    try:
        assert_complete(second, sim)
        # the trades published while it was down came from REST (counted just after the write)
        wait_for(lambda: backfilled(second) >= 1, timeout=5, message="trades counted as backfilled")
    finally:
        second.stop()


def test_kill_9_mid_ingest_then_restart_fills_the_hole_exactly_once(tmp_path, sim):
    import requests

    from tests.helpers import Process
    from tradeactors.storage import Database

    args = ["start", "--symbols", "BTCUSDT", "--data-dir", str(tmp_path / "data"), "--http", "127.0.0.1:0",
            "--ws-url", sim.ws_url, "--rest-url", sim.rest_url, "--ca-file", sim.ca_file]
    env = {"TRADEACTORS_BACKOFF_INITIAL": "0.05", "TRADEACTORS_BACKOFF_MAX": "0.5",
           "TRADEACTORS_FLUSH_INTERVAL": "0.25"}  # as FAST: the 3 batches it waits for come in 0.75 s, not 3 s

    def status(api):
        return requests.get(f"{api}/api/status", timeout=5).json()

    first = Process(*args, env=env)
    try:
        api = first.find(r"serving the API and dashboard at (\S+)/").group(1)
        wait_for(lambda: status(api)["storage"]["batches_written"] >= 3, timeout=20, message="3 batches")
        first.proc.kill()  # SIGKILL: no flush, no close
        first.proc.wait(10)
    finally:
        first.kill()
    Database(tmp_path / "data" / "analytics").close()  # opens after a crash

    second = Process(*args, env=env)
    try:
        api = second.find(r"serving the API and dashboard at (\S+)/").group(1)
        wait_for(lambda: (status(api)["symbols"]["BTCUSDT"].get("last_trade_id") or 0) > 0, timeout=20,
                 message="receiving")
        sim.pause()
        last = int(sim.published_ids("BTCUSDT")[-1])

        def complete():
            storage = status(api)["storage"]
            return storage["stored_ids"]["BTCUSDT"][-1][1] == last and not storage["holes"]["BTCUSDT"]

        wait_for(complete, timeout=30, message="hole filled up to the last published id")
        code, _ = second.terminate()
    finally:
        second.kill()
    assert code == 0
    # The hole came from REST: found behind the first live trade, or caught up when the stream connected.
    assert any("Gap filled for BTCUSDT" in line for line in second.lines)
    db = Database(tmp_path / "data" / "analytics")
    try:
        stored = storage.trade_ids(db, "BTCUSDT")
    finally:
        db.close()
    published = np.asarray(sim.published_ids("BTCUSDT"))
    assert stored.tolist() == published[published >= stored[0]].tolist()


@pytest.fixture
def small_tmpfs(tmp_path):
    import subprocess

    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs (the injected-failure test still runs)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_real_disk_full_loses_nothing_once_space_is_back(small_tmpfs, sim):
    import shutil

    from tests.conftest import service_config
    from tradeactors.service import Service

    service = Service(service_config(small_tmpfs, sim, **FAST))
    service.start()
    try:
        wait_receiving(service)
        filler = small_tmpfs / "filler"
        with open(filler, "wb", buffering=0) as fh:  # take every free byte
            for block in (1 << 20, 4096, 64):
                try:
                    while True:
                        fh.write(b"\0" * block)
                except OSError:
                    pass
        wait_for(lambda: counter(service, "storage_errors") >= 2, timeout=30, message="disk-full errors")
        assert storage_status(service)["pending_trades"] > 0
        filler.unlink()
        assert shutil.disk_usage(small_tmpfs).free > 8 << 20
        wait_for(lambda: storage_status(service)["pending_trades"] == 0, timeout=30, message="recovery")
        assert_complete(service, sim)
    finally:
        service.stop()


def test_ids_rest_confirms_missing_are_an_exchange_gap_not_retried_forever(service_factory, sim):
    service = service_factory(**FAST)
    wait_receiving(service)
    first = sim.skip_trade_ids("BTCUSDT", 6)
    wait_for(lambda: storage_status(service)["exchange_gaps"]["BTCUSDT"] == [[first, first + 5]], timeout=20,
             message="exchange gap recorded")
    assert counter(service, "gaps_unfillable", symbol="BTCUSDT") == 1
    assert_complete(service, sim)  # published ids leave the gap out: stored == published, each once
    requests_before = counter(service, "rest_requests", endpoint="/api/v3/aggTrades", outcome="ok")
    wait_for(lambda: service.status()["backfill"]["worker_alive"], message="backfill alive")
    service.directory.tell("backfill", HolesFound("BTCUSDT"))
    wait_for(lambda: not storage_status(service)["holes"]["BTCUSDT"], message="no holes")
    assert counter(service, "rest_requests", endpoint="/api/v3/aggTrades",
                   outcome="ok") == requests_before


@pytest.mark.parametrize("actor,thread", [("connection:0", "Reader-0"), ("backfill", "Backfill-worker"),
                                          ("depth_snapshots", "DepthSnapshots-worker")])
def test_a_thread_that_dies_fails_its_actor_which_is_restarted_and_loses_nothing(service_factory, sim, caplog, actor,
                                                                                 thread):
    service = service_factory(**FAST)
    wait_receiving(service)
    wait_for(lambda: stream_status(service)["book"]["state"] == "synced", message="book synced")
    service.directory.tell(actor, InjectFailure("injected bug in the thread", thread=True))
    wait_for(lambda: counter(service, "thread_deaths", thread=thread) == 1, message=f"{thread} died")
    wait_for(lambda: service.supervisor.status()[actor]["restarts"] == 1, message=f"{actor} restarted")
    wait_for(lambda: service.supervisor.status()[actor]["alive"], message=f"{actor} alive")
    assert any(r.levelname == "ERROR" and f"{thread} died" in r.getMessage() for r in caplog.records)
    # The restarted actor's thread works: a forced resync needs a new REST snapshot, a disconnect a catch-up.
    wait_for(lambda: stream_status(service)["book"]["state"] == "synced", timeout=20, message="book synced again")
    resyncs = stream_status(service)["book"]["resyncs"]
    sim.skip_depth_updates("BTCUSDT", 2)
    wait_for(lambda: stream_status(service)["book"]["resyncs"] > resyncs and stream_status(service)["book"]["state"]
             == "synced", timeout=20, message="book resynced after the restart")
    sim.drop_connections("BTCUSDT")
    assert_complete(service, sim, ("BTCUSDT", "ETHUSDT"))
    assert service.health()[0]


@pytest.mark.parametrize("kind", ["truncate", "reset", "nonjson"])
def test_broken_rest_answers_during_backfill_are_retried_and_lose_nothing(service_factory, sim, kind):
    service = service_factory(**FAST)
    wait_receiving(service)
    sim.rest_fault(kind, count=3, path="/api/v3/aggTrades")
    sim.drop_connections("BTCUSDT")  # the reconnection's catch-up and the hole's fill meet the broken answers
    wait_for(lambda: sim.state()["rest_faults"] == [], timeout=20, message="the broken answers served")
    assert_complete(service, sim)
    assert service.status()["backfill"]["worker_alive"]
    assert counter(service, "thread_deaths", thread="Backfill-worker") == 0
