"""The depth-snapshot schedule (``tradeactors.snapshotschedule``): order by activity, one entry per symbol, sizes
by the book, pacing by the weight ledger on a clock the test moves, and the time until every book is synced."""

from __future__ import annotations

import pytest

from tests.helpers import FakeClock
from tradeactors.booksync import edge_for
from tradeactors.rest import WeightLedger
from tradeactors.snapshotschedule import (
    ActivityRate,
    SnapshotSchedule,
    choose_limit,
    depth_weight,
    size_tiers,
)


def free(_weight: int) -> float:
    return 0.0


def drain(schedule: SnapshotSchedule, reserve=free, now: float = 0.0) -> list[tuple[str, int]]:
    """Every request the schedule lets through now, in order: (symbol, limit)."""
    out = []
    while isinstance(taken := schedule.take(reserve, now), tuple):
        out.append((taken[0].symbol, taken[1]))
    return out


def test_depth_weights_are_binances_table():
    assert [depth_weight(n) for n in (1, 5, 100, 101, 500, 501, 1000, 1001, 5000)] == [5, 5, 5, 25, 25, 50, 50,
                                                                                        250, 250]


# --- order --------------------------------------------------------------------------------------------------


def test_the_most_active_book_goes_first_and_ties_go_to_the_longest_waiting():
    schedule = SnapshotSchedule()
    schedule.request("QUIET", 1000, "initial snapshot", 10.0, now=1.0)
    schedule.request("HOT", 1000, "initial snapshot", 900.0, now=3.0)
    schedule.request("LATE", 1000, "initial snapshot", 10.0, now=2.0)
    schedule.request("EARLY", 1000, "initial snapshot", 10.0, now=0.5)
    assert [symbol for symbol, _ in drain(schedule)] == ["HOT", "EARLY", "QUIET", "LATE"]


def test_a_symbol_is_queued_once_and_a_second_request_refreshes_it_in_place():
    schedule = SnapshotSchedule()
    assert schedule.request("A", 1000, "initial snapshot", 50.0, now=0.0)
    assert schedule.request("B", 1000, "initial snapshot", 40.0, now=1.0)
    assert not schedule.request("B", 1000, "gap: expected U=5", 60.0, now=9.0)
    assert len(schedule.queue) == 2
    assert schedule.queue["B"].since == 1.0 and schedule.queue["B"].reason == "gap: expected U=5"
    assert [symbol for symbol, _ in drain(schedule)] == ["B", "A"]


def test_reported_activity_moves_a_waiting_book_and_unknown_activity_uses_the_last_known():
    schedule = SnapshotSchedule()
    schedule.request("A", 1000, "initial snapshot", 100.0, now=0.0)
    schedule.request("B", 1000, "initial snapshot", 0.0, now=1.0)
    schedule.report("B", 500.0)
    assert [symbol for symbol, _ in drain(schedule)] == ["B", "A"]
    # B's StreamActor restarted (its meter is empty): its request ranks by what was reported before
    schedule.request("A", 1000, "connection lost", 100.0, now=2.0)
    schedule.request("B", 1000, "connection lost", 0.0, now=3.0)
    assert [symbol for symbol, _ in drain(schedule)] == ["B", "A"]


def test_a_failed_fetch_waits_its_backoff_without_holding_up_the_others():
    schedule = SnapshotSchedule()
    schedule.request("HOT", 1000, "initial snapshot", 900.0, now=0.0)
    schedule.request("QUIET", 1000, "initial snapshot", 1.0, now=0.0)
    pending, _limit = schedule.take(free, 0.0)
    assert pending.symbol == "HOT"
    schedule.failed(pending, retry_at=5.0)
    assert drain(schedule, now=1.0) == [("QUIET", 100)]
    assert schedule.take(free, 1.0) == pytest.approx(4.0)  # seconds until HOT may be tried again
    assert drain(schedule, now=5.0) == [("HOT", 100)]


def test_forgetting_a_symbol_drops_its_request():
    schedule = SnapshotSchedule()
    schedule.request("GONE", 1000, "initial snapshot", 1.0, now=0.0)
    schedule.forget("GONE", now=1.0)
    assert schedule.take(free, 1.0) is None


# --- size -----------------------------------------------------------------------------------------------------


def test_tiers_are_the_top_of_each_weight_below_the_depth_limit_that_leave_room_above_the_stored_levels():
    assert size_tiers(1000, 20) == (100, 500, 1000)
    assert size_tiers(5000, 20) == (100, 500, 1000, 5000)
    assert size_tiers(100, 20) == (100,)
    assert size_tiers(1000, 50) == (500, 1000)  # 100 levels leave no room above 50 stored ones
    for tier in size_tiers(1000, 20)[:-1]:
        assert edge_for(tier, 20) >= 30


def test_the_limit_follows_the_previous_snapshot_of_the_book_and_how_far_its_price_travels():
    tiers = (100, 500, 1000)
    assert choose_limit(tiers, None) == 100  # unknown: the cheapest, correct whatever the depth
    assert choose_limit(tiers, (60, 1000)) == 100  # the whole book came back, 60 levels: fits in 100
    assert choose_limit(tiers, (90, 1000)) == 500  # ... but not with a fifth to spare
    assert choose_limit(tiers, (100, 100)) == 100  # deeper than 100, but 100 was enough until the resync
    assert choose_limit(tiers, (100, 100), rebase=True) == 500  # the price ran to the edge: one tier more
    assert choose_limit(tiers, (500, 500), rebase=True) == 1000
    assert choose_limit(tiers, (1000, 1000), rebase=True) == 1000  # never above depth_limit
    assert choose_limit(tiers, (500, 500)) == 500  # a book that needed 500 keeps it


def test_each_symbol_is_sized_by_its_own_history_and_never_above_what_it_asked():
    schedule = SnapshotSchedule(depth_limit=1000, keep_levels=20)
    for symbol in ("MOVING", "THIN", "SMALL", "DEEP"):
        schedule.request(symbol, 1000 if symbol != "SMALL" else 100, "initial snapshot", 1.0, now=0.0)
    assert sorted(drain(schedule)) == [("DEEP", 100), ("MOVING", 100), ("SMALL", 100), ("THIN", 100)]
    for symbol, levels in (("MOVING", 100), ("THIN", 37), ("SMALL", 100), ("DEEP", 100)):
        schedule.fetched(symbol, levels, 100)
    schedule.request("MOVING", 1000, "book near the edge of the snapshot", 1.0, now=1.0, rebase=True)
    schedule.request("SMALL", 100, "book near the edge of the snapshot", 1.0, now=1.0, rebase=True)
    schedule.request("THIN", 1000, "connection lost", 1.0, now=1.0)
    schedule.request("DEEP", 1000, "connection lost", 1.0, now=1.0)
    assert sorted(drain(schedule)) == [("DEEP", 100), ("MOVING", 500), ("SMALL", 100), ("THIN", 100)]


def test_a_resync_while_a_rebase_waits_takes_the_size_of_a_resync():
    schedule = SnapshotSchedule(depth_limit=1000)
    schedule.fetched("A", 100, 100)
    schedule.request("A", 1000, "book near the edge of the snapshot", 1.0, now=0.0, rebase=True)
    schedule.request("A", 1000, "gap: expected U=5", 1.0, now=1.0)
    assert drain(schedule) == [("A", 100)]


# --- pacing ---------------------------------------------------------------------------------------------------


def test_the_queue_drains_at_the_ledgers_pace_and_waits_for_the_next_minute():
    clock = FakeClock(600.0)  # the start of a minute
    ledger = WeightLedger(budget=100, clock=clock)  # 50 a minute for this process
    schedule = SnapshotSchedule(depth_limit=1000)
    for i in range(25):
        schedule.request(f"S{i:02d}", 1000, "initial snapshot", float(100 - i), now=0.0)
    first = drain(schedule, ledger.reserve)
    assert [symbol for symbol, _ in first] == [f"S{i:02d}" for i in range(10)]  # 10 x weight 5 = 50
    assert ledger.used == 50
    assert schedule.take(ledger.reserve, 0.0) == pytest.approx(60.01)  # sleep to the next minute, no sooner
    clock.now += 20
    assert schedule.take(ledger.reserve, 0.0) == pytest.approx(40.01)
    clock.now += 40.01
    assert [symbol for symbol, _ in drain(schedule, ledger.reserve)] == [f"S{i:02d}" for i in range(10, 20)]
    assert ledger.used == 50


def test_weight_the_head_cannot_use_this_minute_goes_to_a_lighter_book_behind_it():
    clock = FakeClock(600.0)
    ledger = WeightLedger(budget=120, clock=clock)  # 60 a minute
    schedule = SnapshotSchedule(depth_limit=1000)
    schedule.fetched("DEEP", 500, 500)  # a re-base: next at 1000 levels, weight 50
    schedule.request("DEEP", 1000, "book near the edge of the snapshot", 500.0, now=0.0, rebase=True)
    schedule.request("NEW", 1000, "initial snapshot", 1.0, now=0.0)
    ledger.reserve(20)  # another worker spent 20: 40 left, too little for the head's 50
    assert drain(schedule, ledger.reserve) == [("NEW", 100)]
    assert ledger.used == 25
    clock.now += 60
    assert drain(schedule, ledger.reserve) == [("DEEP", 1000)]


def test_a_retry_after_holds_the_whole_queue_until_it_has_passed():
    clock = FakeClock(600.0)
    ledger = WeightLedger(budget=6000, clock=clock)
    schedule = SnapshotSchedule()
    schedule.request("A", 1000, "initial snapshot", 1.0, now=0.0)
    ledger.block(30)
    assert schedule.take(ledger.reserve, 0.0) == pytest.approx(30)
    clock.now += 30
    assert drain(schedule, ledger.reserve) == [("A", 100)]


def test_the_drain_estimate_counts_the_minutes_of_weight_beyond_what_is_left_in_this_one():
    schedule = SnapshotSchedule(depth_limit=1000)
    for i in range(30):
        schedule.request(f"S{i}", 1000, "initial snapshot", 1.0, now=0.0)
    assert schedule.queued_weight() == 150
    # 3000 a minute: all fit in what is left, so the requests one after the other decide
    assert schedule.drain_seconds(used=0, limit=3000, wall_now=600.0, per_request=0.1) == pytest.approx(3.0)
    # 50 a minute, 20 left, 20 s into the minute: the rest of this minute, then two more
    assert schedule.drain_seconds(used=30, limit=50, wall_now=620.0, per_request=0.1) == pytest.approx(40 + 120)


# --- books out of sync ----------------------------------------------------------------------------------------


def test_the_time_until_every_book_is_synced_runs_from_the_first_loss_to_the_last_sync():
    schedule = SnapshotSchedule(symbols=["A", "B"], now=100.0)
    assert schedule.book_state("A", True, 101.0) is None
    assert schedule.book_state("B", True, 104.5) == (4.5, 2)  # from start: 4.5 s
    assert schedule.book_state("A", False, 200.0) is None  # a mass drop
    assert schedule.book_state("B", False, 200.2) is None
    assert schedule.book_state("A", False, 201.0) is None  # still the same episode
    assert schedule.book_state("A", True, 203.0) is None
    assert schedule.book_state("B", True, 207.0) == (7.0, 2)
    assert schedule.last_episode == (7.0, 2) and not schedule.unsynced


def test_a_book_forgotten_while_out_of_sync_no_longer_holds_the_episode_open():
    schedule = SnapshotSchedule(symbols=["A", "GONE"], now=0.0)
    schedule.book_state("A", True, 1.0)
    assert schedule.forget("GONE", 2.0) == (2.0, 1)


def test_activity_decays_so_that_recent_events_count_most():
    rate = ActivityRate(tau=60.0)
    for second in range(60):
        rate.add(float(second), 10)  # 600 events in a minute
    now = rate.per_minute(60.0)
    assert 350 < now < 600
    assert rate.per_minute(360.0) < now / 100  # five minutes quiet
