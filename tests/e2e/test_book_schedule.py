"""Books within the REST budget: the real service syncs 40 books on the TLS simulator under a small weight budget,
from start, after one book's price runs past its snapshot, and after every connection is dropped at once. The
busiest books go first, every snapshot is paid for within half the budget (the simulator never answers 429 or
418), snapshots are sized by the rule (``snapshotschedule``), and every book equals the exchange's true book.

Both weight ledgers, the service's and the simulator's, read one fake clock that the test moves a minute on when
the service waits for weight with nothing in flight: minutes pass in a second instead of a minute.
"""

from __future__ import annotations

import collections
import logging
import statistics
import time

import pytest

from tests.conftest import service_config
from tests.e2e.test_orderbook import assert_matches_true_book, stored_snapshots
from tests.helpers import FakeClock, wait_for
from tradeactors.actors.messages import InjectFailure
from tradeactors.service import Service
from tradeactors.simulator import Simulator

HOT = [f"HOT{i}USDT" for i in range(4)]
QUIET = [f"QT{i:02d}USDT" for i in range(36)]
BUDGET = 100
"""The IP's weight a minute: the service may spend 50, ten snapshots at limit 100 (weight 5)."""
FAST = {"backoff_initial": 0.05, "backoff_max": 0.5, "flush_interval": 0.25}


class Market:
    """The simulator with its REST answers observed: each depth request (symbol, limit) in order, and the status
    of every weight charge (200, 429 or 418)."""

    def __init__(self):
        rates = {**dict.fromkeys(HOT, 25.0), **dict.fromkeys(QUIET, 0.2)}
        self.sim = Simulator(symbols=HOT + QUIET, rate=rates, seed=12, weight_budget=BUDGET, tls=True)
        self.clock = FakeClock()
        self.sim.exchange.weights.clock = self.clock
        self.depth_requests: list[tuple[str, int]] = []
        self.answers: list[int] = []
        exchange = self.sim.exchange
        depth_body, charge = exchange.depth_body, exchange.weights.charge

        def observed_depth(symbol, limit):
            self.depth_requests.append((symbol, limit))
            return depth_body(symbol, limit)

        def observed_charge(weight, now=None):
            verdict = charge(weight, now)
            self.answers.append(verdict.status)
            return verdict

        exchange.depth_body = observed_depth
        exchange.weights.charge = observed_charge
        self.sim.start()


@pytest.fixture
def market():
    m = Market()
    yield m
    m.sim.stop()


def books(service) -> dict[str, str]:
    return {symbol: part.get("book", {}).get("state", "unavailable")
            for symbol, part in service.status()["symbols"].items()}


class Minutes:
    """Moves the shared fake clock a minute on whenever the service's snapshot worker sleeps for weight and every
    request it reserved has reached the exchange (both ledgers agree); notes the minute (of this phase) in which
    each book is first seen synced. Before a move it lets the books fetched so far sync (up to SETTLE seconds), so
    that a book is seen synced in the minute its snapshot was paid in, not later because the test moved on."""

    SETTLE = 3.0

    def __init__(self, service, market):
        self.service, self.market = service, market
        self.count = 0
        self.synced_at: dict[str, int] = {}
        self._first_request = len(market.depth_requests)
        self._waiting_since: float | None = None

    def _states(self) -> dict[str, str]:
        states = books(self.service)
        for symbol, state in states.items():
            if state == "synced":
                self.synced_at.setdefault(symbol, self.count)
        return states

    def _may_move(self, states) -> bool:
        part = self.service.status()["depth_snapshots"]
        if not (part.get("sleeping") and part.get("queued", 0) > 0):
            self._waiting_since = None
            return False
        now = time.monotonic()
        self._waiting_since = self._waiting_since or now
        fetched = {symbol for symbol, _limit in self.market.depth_requests[self._first_request:]}
        return all(states[symbol] == "synced" for symbol in fetched) or now - self._waiting_since > self.SETTLE

    def run_until_synced(self, limit: int = 30, done=None) -> None:
        """Until every book is synced (and ``done()``, if given)."""
        def check():
            states = self._states()
            if all(v == "synced" for v in states.values()) and (done is None or done()):
                return "done"
            return self._may_move(states)

        while True:
            ready = wait_for(check, timeout=30,
                             message="every book synced, or the service waiting for the next minute's weight")
            if ready == "done":
                return
            ledger = self.service.ledger
            with ledger.held():  # nothing is reserved between the comparison and the move
                if ledger.used != self.market.sim.exchange.weights.used:
                    continue  # a request is on its way: it must be charged in the minute it was reserved in
                self.market.clock.now += 60
            ledger.changed()
            self.count += 1
            self._waiting_since = None
            assert self.count <= limit, f"the books did not sync within {limit} minutes of weight"


def spend_the_rest_of_the_minute(service, symbol) -> None:
    """Requests of another part of the process take what is left of this minute (weight 4 each, paid through the
    ledger and charged by the exchange like any other)."""
    while service.ledger.reserve(4) == 0:
        service.rest.get_json("/api/v3/aggTrades", {"symbol": symbol, "fromId": 100_000_000, "limit": 1}, 4,
                              reserved=True)


def test_a_mass_resync_under_a_small_budget_syncs_the_busiest_books_first_and_never_draws_a_429(
        tmp_path, market, caplog):
    caplog.set_level(logging.INFO, logger="tradeactors.actors.depth_snapshots")
    service = Service(service_config(tmp_path, market.sim, rest_weight_budget=BUDGET, **FAST))
    service.ledger.clock = market.clock
    service.start()
    try:
        # From start: nothing is known of any book, so each is first asked for 100 levels at weight 5.
        start = Minutes(service, market)
        start.run_until_synced()
        first = dict(reversed(market.depth_requests))  # each symbol's first request
        assert set(first) == set(HOT + QUIET) and set(first.values()) == {100}
        assert start.count >= (len(HOT + QUIET) * 5 + 20) // (BUDGET // 2)  # and exchangeInfo: 220 at 50 a minute
        wait_for(lambda: service.status()["depth_snapshots"]["last_all_synced"], timeout=10,
                 message="every book synced, as the snapshot actor counts")

        # One hot book's price runs past the edge of its 100 levels: it is re-based, one tier deeper (500).
        moved = HOT[0]
        market.sim.set_regime(moved, jump=400)
        Minutes(service, market).run_until_synced(done=lambda: (moved, 500) in market.depth_requests)
        rebased = wait_for(lambda: service.status()["symbols"][moved]["book"]["counters"]["rebases"], timeout=30,
                           message=f"{moved} re-based")
        assert rebased >= 1 and service.status()["symbols"][moved]["book"]["state"] == "synced"
        deeper = {symbol for symbol, limit in market.depth_requests if limit > 100}

        # Every connection drops while the minute's weight is already spent: all 40 books wait in one queue, ranked
        # by the activity their StreamActors measured (known after 10 s of diffs).
        wait_for(lambda: all(part["book"]["activity_per_min"] > 0 for part in service.status()["symbols"].values()),
                 timeout=30, message="every book's activity measured")
        spend_the_rest_of_the_minute(service, QUIET[0])
        before = len(market.depth_requests)
        assert market.sim.drop_connections() >= 1
        wait_for(lambda: service.status()["depth_snapshots"]["queued"] == len(HOT + QUIET), timeout=30,
                 message="every book waiting for a snapshot")
        drop = Minutes(service, market)
        drop.run_until_synced()

        resync = market.depth_requests[before:]
        order = list(dict.fromkeys(symbol for symbol, _limit in resync))
        assert sorted(order) == sorted(HOT + QUIET)
        # The busiest go first: every hot book was fetched, and synced, before the median quiet one.
        quiet_median = statistics.median(order.index(s) for s in QUIET)
        assert max(order.index(s) for s in HOT) < quiet_median, order
        assert max(drop.synced_at[s] for s in HOT) < statistics.median(drop.synced_at[s] for s in QUIET), \
            drop.synced_at
        # A resync is asked at the size that served the book before: 500 for the one that needed it, else 100.
        assert dict(resync) == {s: 500 if s in deeper else 100 for s in HOT + QUIET}
        assert moved in deeper
        assert drop.count >= len(HOT + QUIET) * 5 // (BUDGET // 2)  # paced: 40 snapshots at 10 a minute

        # Never past half the budget, never a 429 or a 418.
        assert market.sim.state()["weight_used_max"] <= BUDGET // 2
        assert set(market.answers) == {200}
        assert service.ledger.blocked_until == 0

        status = service.status()["depth_snapshots"]
        assert status["books_unsynced"] == 0 and status["queued"] == 0
        assert status["last_all_synced"]["books"] == len(HOT + QUIET)
        by_limit = collections.Counter(str(limit) for _symbol, limit in market.depth_requests)
        assert status["snapshots_by_limit"] == by_limit
        assert service.metrics.value("tradeactors_books_unsynced") == 0
        assert service.metrics.value("tradeactors_depth_snapshots_total", limit="500") == by_limit["500"]
        assert any("every book synced again: 40 books" in r.getMessage() for r in caplog.records)

        # Every book is the exchange's true book, live and as stored each second.
        for symbol in HOT + QUIET:
            view = service.book(symbol, 20)
            bids, asks = market.sim.book_at(symbol, view["update_id"], depth=20)
            assert (view["bids"], view["asks"]) == (bids, asks), symbol
        for symbol in HOT:
            wait_for(lambda s=symbol: stored_snapshots(service, s), timeout=15, message=f"{symbol} book seconds")
            for snap in stored_snapshots(service, symbol):
                assert_matches_true_book(market.sim, snap)
    finally:
        service.stop()


def test_a_restarted_snapshot_actor_learns_which_books_are_synced_from_the_books(service_factory, sim):
    """The schedule is lost with its actor; the new one starts with every book out of sync, and each StreamActor
    answers ``DepthSnapshotRequestsLost``: a synced book says so, a waiting one asks again."""
    service = service_factory(**FAST)
    wait_for(lambda: set(books(service).values()) == {"synced"}, timeout=20, message="books synced")
    wait_for(lambda: service.status()["depth_snapshots"].get("books_unsynced") == 0, timeout=10,
             message="no book out of sync")
    service.directory.tell("depth_snapshots", InjectFailure("injected bug"))
    wait_for(lambda: service.supervisor.status()["depth_snapshots"]["restarts"] == 1, message="restarted")
    wait_for(lambda: service.status()["depth_snapshots"].get("books_unsynced") == 0, timeout=10,
             message="the restarted actor counts no book out of sync")
    assert service.status()["depth_snapshots"]["fetched"] == 0  # it learnt it from the books, not by fetching
    assert service.metrics.value("tradeactors_books_unsynced") == 0
