"""The local order book of the real service, fed by the simulator: real captures and synthetic markets."""

from __future__ import annotations

import gzip
import time

import orjson
import pytest
import requests

from tests.conftest import service_config
from tests.helpers import FakeClock, counter, storage_status, wait_for
from tradeactors import storage
from tradeactors.actors.messages import WatchBook
from tradeactors.service import Service
from tradeactors.simulator import Simulator, captures

CAPTURE = captures.data_dir() / captures.CAPTURE_2024
FAST = {"backoff_initial": 0.05, "backoff_max": 0.5, "flush_interval": 0.25}
"""Reconnect soon, and flush the buffer every 0.25 s (1 s by default): what a test waits for, stored ids or stored
book seconds, is written sooner, through the same path."""


def book_status(service, symbol):
    return service.status()["symbols"][symbol]["book"]


def book_tickers(symbol: str) -> dict[int, tuple]:
    """Recorded bookTicker frames by update id: (bid, bid qty, ask, ask qty)."""
    tickers = {}
    for day in ("20240808", "20240809"):
        with gzip.open(CAPTURE / f"spot_{symbol.lower()}_{day}.gz", "rt") as fh:
            for line in fh:
                raw = line.split(" ", 1)[1]
                if "@bookTicker" in raw[:40]:
                    d = orjson.loads(raw)["data"]
                    tickers[d["u"]] = (d["b"], d["B"], d["a"], d["A"])
    return tickers


def stored_snapshots(service, symbol):
    now = int(time.time())
    return storage.read_book_seconds(service.db, symbol, now - 3600, now + 10)


def test_replayed_capture_matches_every_recorded_book_ticker(tmp_path):
    replay = sorted(str(p) for p in CAPTURE.glob("spot_*.gz"))
    # ~11 minutes of recording in ~13 s. The replay starts with the first connection (BTCUSDT's), so ETHUSDT misses
    # its first moments, and their bookTicker checks, in proportion to the speed: at 50x ~2110 of the 2128 checks
    # remain (at 100x ~2070, too close to the bound below on a busy machine).
    sim = Simulator(symbols=["BTCUSDT", "ETHUSDT"], replay=replay, replay_speed=50.0, tls=True)
    sim.start()
    service = Service(service_config(tmp_path, sim, **FAST))
    observed = {"BTCUSDT": [], "ETHUSDT": []}
    try:
        service.start()
        for symbol in observed:
            service.ask(f"stream:{symbol}", WatchBook(lambda u, bid, ask, s=symbol: observed[s].append((u, bid, ask))))
        tickers = {symbol: book_tickers(symbol) for symbol in observed}
        last_ids = {symbol: max(tickers[symbol]) for symbol in observed}
        wait_for(lambda: all(observed[s] and observed[s][-1][0] >= last_ids[s] - 1000 for s in observed),
                 timeout=60, interval=0.2, message="replay applied to the end")
    finally:
        service.stop()
        sim.stop()
    checks = mismatches = 0
    for symbol, points in observed.items():
        for u, bid, ask in points:
            ticker = tickers[symbol].get(u)
            if ticker is None:
                continue
            checks += 1
            if (bid, ask) != ((ticker[0], ticker[1]), (ticker[2], ticker[3])):
                mismatches += 1
    assert mismatches == 0
    assert checks > 2000


@pytest.fixture
def book_service(tmp_path, sim):
    service = Service(service_config(tmp_path, sim, **FAST))
    service.start()
    yield service
    if not service.db.closed:
        service.stop()


def wait_synced(service, symbols=("BTCUSDT", "ETHUSDT"), timeout=20):
    wait_for(lambda: all(book_status(service, s)["state"] == "synced" for s in symbols), timeout=timeout,
             message="books synced")


def assert_matches_true_book(sim, snap):
    true_bids, true_asks = sim.book_at(snap.symbol, snap.update_id, depth=20)
    assert snap.levels("bids") == [tuple(level) for level in true_bids], (snap.symbol, snap.second)
    assert snap.levels("asks") == [tuple(level) for level in true_asks], (snap.symbol, snap.second)


def assert_snapshots_equal_true_book(service, sim, symbol, minimum=3):
    snaps = stored_snapshots(service, symbol)
    assert len(snaps) >= minimum
    for snap in snaps:
        assert_matches_true_book(sim, snap)
    return snaps


def test_every_stored_snapshot_equals_the_true_book_at_its_update_id(book_service, sim):
    wait_synced(book_service)
    wait_for(lambda: len(stored_snapshots(book_service, "BTCUSDT")) >= 4, timeout=15, message="4 snapshots")
    for symbol in ("BTCUSDT", "ETHUSDT"):
        snaps = assert_snapshots_equal_true_book(book_service, sim, symbol)
        seconds = [s.second for s in snaps]
        assert seconds == sorted(set(seconds))


def test_skipped_update_ids_resync_that_symbol_only(book_service, sim):
    wait_synced(book_service)
    wait_for(lambda: len(stored_snapshots(book_service, "ETHUSDT")) >= 2, timeout=15, message="ETH snapshots")
    eth_before = book_status(book_service, "ETHUSDT")["resyncs"]
    sim.skip_depth_updates("BTCUSDT", count=3)
    wait_for(lambda: book_status(book_service, "BTCUSDT")["resyncs"] >= 1, message="BTC resync")
    wait_synced(book_service)
    second = int(time.time())
    wait_for(lambda: any(s.second > second + 1 for s in stored_snapshots(book_service, "BTCUSDT")),
             timeout=15, message="BTC snapshots again")
    assert book_status(book_service, "ETHUSDT")["resyncs"] == eth_before
    eth_seconds = [s.second for s in stored_snapshots(book_service, "ETHUSDT")]
    assert eth_seconds[-1] - eth_seconds[0] + 1 - len(eth_seconds) <= 1  # ETH kept a snapshot every second
    assert_snapshots_equal_true_book(book_service, sim, "BTCUSDT")


@pytest.mark.parametrize("status", [429, 418, 500, 503])
def test_rest_failures_during_resync_back_off_then_sync(book_service, sim, status):
    wait_synced(book_service)
    sim.rest_fail(status, 1)  # the resync's first snapshot request fails; a retry (1-2 s later) gets through
    sim.skip_depth_updates("BTCUSDT", count=2)
    wait_for(lambda: book_status(book_service, "BTCUSDT")["state"] != "synced", message="out of sync")
    wait_for(lambda: counter(book_service, "depth_snapshot_requests", symbol="BTCUSDT", outcome="retry") >= 1
             or book_service.ledger.blocked_until > time.time(), timeout=10, message="a failed snapshot request")
    wait_synced(book_service, timeout=30)
    wait_for(lambda: stored_snapshots(book_service, "BTCUSDT"), timeout=10, message="a snapshot")
    assert_snapshots_equal_true_book(book_service, sim, "BTCUSDT", minimum=1)


def test_a_disconnect_resyncs_without_storing_a_wrong_snapshot(book_service, sim):
    wait_synced(book_service)
    sim.drop_connections("BTCUSDT")
    wait_for(lambda: book_status(book_service, "BTCUSDT")["resyncs"] >= 1, message="resync after disconnect")
    wait_synced(book_service)
    second = int(time.time())
    wait_for(lambda: any(s.second > second + 1 for s in stored_snapshots(book_service, "BTCUSDT")),
             timeout=15, message="snapshots again")
    assert_snapshots_equal_true_book(book_service, sim, "BTCUSDT", minimum=2)


def test_snapshots_whose_write_failed_are_written_once_storage_recovers(book_service, sim):
    wait_synced(book_service)
    wait_for(lambda: stored_snapshots(book_service, "BTCUSDT"), timeout=10, message="a snapshot")
    failing_from = int(time.time()) + 1
    book_service.db.inject_write_failures(3600)  # until the test has seen the failed seconds kept
    wait_for(lambda: storage_status(book_service)["pending_book_seconds"] >= 4, timeout=30,
             message="failed snapshot writes kept")
    failing_to = int(time.time()) - 1
    book_service.db.inject_write_failures(0)
    wait_for(lambda: (lambda part: part["pending_book_seconds"] == 0 and part["pending_trades"] == 0)(
        storage_status(book_service)), timeout=15, message="storage recovered")
    for symbol in ("BTCUSDT", "ETHUSDT"):
        assert counter(book_service, "book_seconds_lost", symbol=symbol) == 0
        snaps = assert_snapshots_equal_true_book(book_service, sim, symbol)
        # Seconds taken while every write failed are stored now (before, they were counted as lost).
        assert len([s for s in snaps if failing_from <= s.second <= failing_to]) >= 1


def test_live_book_endpoints(book_service, sim):
    wait_synced(book_service)
    api = book_service.http.url
    l1 = requests.get(f"{api}/api/orderbook/l1", params={"symbol": "btcusdt"}, timeout=5).json()
    assert l1["sync_state"] == "synced" and float(l1["best_bid"]) < float(l1["best_ask"])
    assert l1["spread_bps"] > 0 and l1["age_ms"] is not None
    l2 = requests.get(f"{api}/api/orderbook/l2", params={"symbol": "BTCUSDT", "depth": 5}, timeout=5).json()
    assert len(l2["bids"]) == 5 and len(l2["asks"]) == 5
    assert [float(p) for p, _ in l2["bids"]] == sorted((float(p) for p, _ in l2["bids"]), reverse=True)
    bad = requests.get(f"{api}/api/orderbook/l2", params={"symbol": "BTCUSDT", "depth": 5001}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "depth"
    wait_for(lambda: stored_snapshots(book_service, "BTCUSDT"), timeout=10, message="a snapshot")
    now = int(time.time())
    body = requests.get(f"{api}/api/snapshots", params={"symbol": "BTCUSDT", "start": now - 60, "end": now + 5},
                        timeout=5).json()
    assert body["count"] >= 1 and len(body["snapshots"][0]["bids"]) == 20


def test_orderly_stop_stores_a_final_snapshot_of_the_last_applied_diff(book_service, sim):
    wait_synced(book_service)
    applied = []
    book_service.ask("stream:BTCUSDT", WatchBook(lambda u, bid, ask: applied.append(u)))
    wait_for(lambda: len(applied) >= 5, timeout=10, message="diffs applied")
    book_service.stop()  # the market keeps moving: diffs land after the last ticker snapshot
    from tradeactors.storage import Database

    db = Database(book_service.config.db_path)
    try:
        now = int(time.time())
        snaps = storage.read_book_seconds(db, "BTCUSDT", now - 3600, now + 10)
    finally:
        db.close()
    assert snaps[-1].update_id == applied[-1]
    assert_matches_true_book(sim, snaps[-1])


def test_a_snapshot_older_than_the_first_buffered_diff_is_fetched_again(book_service, sim):
    wait_synced(book_service)
    before = book_status(book_service, "BTCUSDT")["counters"]
    sim.stale_depth("BTCUSDT", updates_behind=400, count=1)
    sim.skip_depth_updates("BTCUSDT", count=2)
    wait_for(lambda: book_status(book_service, "BTCUSDT")["counters"]["snapshots_rejected"]
             > before["snapshots_rejected"], message="stale snapshot rejected")
    wait_synced(book_service)
    counters = book_status(book_service, "BTCUSDT")["counters"]
    assert counters["snapshots_requested"] >= before["snapshots_requested"] + 2
    second = int(time.time())
    wait_for(lambda: any(s.second > second for s in stored_snapshots(book_service, "BTCUSDT")), timeout=10,
             message="snapshots after the resync")
    assert_snapshots_equal_true_book(book_service, sim, "BTCUSDT", minimum=1)


@pytest.mark.slow
def test_a_resync_storm_of_many_symbols_stays_under_half_the_weight_budget(tmp_path):
    symbols = [f"SYM{i}USDT" for i in range(12)]
    storm = Simulator(symbols=symbols, rate=5.0, seed=9, weight_budget=100, tls=True)
    storm.start()
    # depth limit 100 costs 5: the service may spend 50 a minute, exchangeInfo (20) and 6 snapshots; the other 6
    # books must wait for a later minute. Both weight ledgers, the service's and the exchange's, read one fake
    # clock that the test moves a minute on once the service has spent its share: minutes pass in a second, not
    # at the wall clock's pace (up to a minute's wait). Every request comes from the DepthSnapshotActor's one
    # worker, one at a time, so when it waits for the next minute none is in flight: moving the clock cannot
    # split a request across two minutes.
    clock = FakeClock()
    storm.exchange.weights.clock = clock
    service = Service(service_config(tmp_path, storm, depth_limit=100, rest_weight_budget=100, **FAST))
    service.ledger.clock = clock
    service.start()
    try:
        minutes = 0
        while not all(book_status(service, s)["state"] == "synced" for s in symbols):
            assert minutes < 10, "the books did not sync within 10 minutes of weight"
            # no request of weight 5 fits in a minute with more than 45 spent: the service waits for the next
            wait_for(lambda: all(book_status(service, s)["state"] == "synced" for s in symbols)
                     or service.ledger.used > 45, timeout=30, message="books synced or the minute's weight spent")
            if service.ledger.used > 45:
                clock.now += 60
                service.ledger.changed()  # the worker sleeps until the next minute of this clock: wake it
                minutes += 1
        state = storm.state()
        assert minutes >= 1  # 12 books did not fit in one minute
        assert state["weight_used_max"] <= 50
        assert service.ledger.blocked_until == 0  # never answered 429/418
        assert all(book_status(service, s)["counters"]["snapshots_received"] >= 1 for s in symbols)
    finally:
        service.stop()
        storm.stop()


class DepthWatcher:
    """An independent websocket-client connection recording every depth diff's (E, U, u) of one symbol."""

    def __init__(self, sim, symbol):
        import threading

        import websocket

        sslopt = {"context": sim.client_ssl_context()} if getattr(sim, "ca_file", None) else None
        self.ws = websocket.create_connection(f"{sim.ws_url}/ws/{symbol.lower()}@depth@100ms", timeout=10,
                                              sslopt=sslopt)
        self.diffs: list[tuple[int, int, int]] = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                d = orjson.loads(self.ws.recv())
            except Exception:
                return
            self.diffs.append((d["E"], d["U"], d["u"]))

    def close(self):
        self.running = False
        self.ws.abort()
        self.thread.join(5)

    def last_of_each_second(self) -> dict[int, tuple[int, int]]:
        """second -> (u, E) of the last diff whose event time falls in that second."""
        out = {}
        for e, _u_first, u in self.diffs:
            out[e // 1000] = (u, e)
        return out


def assert_rows_are_the_last_diff_of_their_exchange_second(snaps, watcher):
    truth = watcher.last_of_each_second()
    first, last = watcher.diffs[0][0] // 1000, watcher.diffs[-1][0] // 1000
    checked = 0
    for snap in snaps:
        if first < snap.second < last:  # seconds the watcher saw whole
            assert (snap.update_id, snap.event_ms) == truth[snap.second], snap.second
            assert snap.event_ms // 1000 == snap.second
            checked += 1
    return checked


def test_a_stored_second_is_the_book_after_the_last_diff_of_that_exchange_second(book_service, sim):
    watcher = DepthWatcher(sim, "BTCUSDT")
    try:
        wait_synced(book_service)
        start = int(time.time())
        wait_for(lambda: len([s for s in stored_snapshots(book_service, "BTCUSDT") if s.second > start + 1]) >= 4,
                 timeout=20, message="4 stored seconds")
    finally:
        watcher.close()
    snaps = stored_snapshots(book_service, "BTCUSDT")
    assert assert_rows_are_the_last_diff_of_their_exchange_second(snaps, watcher) >= 3
    for snap in snaps:
        assert_matches_true_book(sim, snap)


def test_a_lagging_book_still_stores_each_second_under_its_exchange_time(book_service, sim):
    """The StreamActor is held up for 2.5 s while the market moves: its diffs wait in the mailbox. Keyed by the
    local clock, the seconds it then catches up would be stored as the book of later seconds (or not at all)."""
    watcher = DepthWatcher(sim, "BTCUSDT")
    try:
        wait_synced(book_service)
        held = []

        def hold_once(_u, _bid, _ask):
            if not held:
                held.append(time.time())
                time.sleep(2.5)  # the fault itself, not a wait: the actor is held up while the market moves

        book_service.ask("stream:BTCUSDT", WatchBook(hold_once))
        wait_for(lambda: held, timeout=10, message="the book held up")
        lag_start = int(held[0])
        wait_for(lambda: len([s for s in stored_snapshots(book_service, "BTCUSDT") if s.second > lag_start + 4]),
                 timeout=20, message="stored seconds after the lag")
    finally:
        watcher.close()
    snaps = list(stored_snapshots(book_service, "BTCUSDT"))
    lagged = [s for s in snaps if lag_start <= s.second <= lag_start + 2]
    assert len(lagged) >= 2  # the seconds during the hold-up were stored once the actor caught up
    assert assert_rows_are_the_last_diff_of_their_exchange_second(snaps, watcher) >= 4


@pytest.mark.parametrize("kind", ["truncate", "reset", "nonjson"])
def test_a_broken_depth_answer_is_retried_and_the_book_is_recorded(service_factory, sim, kind):
    """A depth body cut short (IncompleteRead) used to end the snapshot thread: no book was ever stored again,
    and health stayed 200."""
    sim.rest_fault(kind, count=2, path="/api/v3/depth")
    service = service_factory(**FAST)
    wait_synced(service)
    start = int(time.time())
    wait_for(lambda: len([s for s in stored_snapshots(service, "BTCUSDT") if s.second > start]) >= 2, timeout=15,
             message="book seconds stored")
    assert sim.state()["rest_faults"] == []  # both broken answers were served
    assert sum(counter(service, "depth_snapshot_requests", symbol=symbol, outcome="retry")
               for symbol in ("BTCUSDT", "ETHUSDT")) >= 2
    assert service.status()["depth_snapshots"]["worker_alive"]
    assert service.health() == (True, [])
