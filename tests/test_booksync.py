"""Binance's snapshot + diff procedure (``tradeactors.booksync.BookSync``): rules on tiny hand-made diffs,
properties against a true depth stream, and the real recorded captures (shipped in
tradeactors/simulator/capture_data) replayed offline."""

from __future__ import annotations

import gzip
import os
import re
from decimal import Decimal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from tradeactors import protocol
from tradeactors.booksync import (
    Applied,
    BookSync,
    Dropped,
    NeedSnapshot,
    Resync,
    Synced,
)
from tradeactors.protocol import DepthUpdate
from tradeactors.simulator import captures

DATA = str(captures.data_dir())
CAPTURE_2024 = os.path.join(DATA, captures.CAPTURE_2024)
CAPTURE_2021 = os.path.join(DATA, captures.CAPTURE_2021)


def diff(U: int, u: int, bids=(), asks=(), symbol: str = "BTCUSDT") -> DepthUpdate:
    return DepthUpdate(symbol, U, u, 0, [list(level) for level in bids], [list(level) for level in asks])


def synced(last_update_id: int = 100, bids=(("10.00", "1.00"),), asks=(("11.00", "1.00"),), **kwargs) -> BookSync:
    """A BookSync synced on a snapshot at ``last_update_id`` and one diff continuing it."""
    sync = BookSync("BTCUSDT", **kwargs)
    sync.on_snapshot(last_update_id, [list(x) for x in bids], [list(x) for x in asks])
    assert types(sync.on_diff(diff(last_update_id + 1, last_update_id + 1))) == [Synced, Applied]
    return sync


def types(events) -> list[type]:
    return [type(event) for event in events]


# --- BookSync: the procedure, rule by rule ---------------------------------------------------------------------


def test_the_first_diff_asks_for_a_snapshot_and_later_ones_do_not_ask_again():
    sync = BookSync("BTCUSDT")
    assert sync.on_diff(diff(5, 6)) == [NeedSnapshot("initial snapshot")]
    assert sync.on_diff(diff(7, 9)) == []
    assert sync.state == "buffering" and sync.book is None and sync.counters["snapshots_requested"] == 1


def test_a_snapshot_drops_the_buffered_diffs_it_covers_and_applies_the_rest():
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(5, 6, bids=[("9.00", "1.00")]))
    sync.on_diff(diff(7, 9, bids=[("9.00", "2.00")]))
    sync.on_diff(diff(10, 12, asks=[("11.00", "3.00")]))
    events = sync.on_snapshot(8, [["10.00", "1.00"]], [["11.00", "1.00"]])
    assert events == [Dropped(1), Synced(8), Applied(9), Applied(12)]
    assert sync.state == "synced" and sync.book.update_id == 12
    assert sync.book.top(5) == ([("10.00", "1.00"), ("9.00", "2.00")], [("11.00", "3.00")])
    assert sync.counters["diffs_dropped"] == 1 and sync.counters["diffs_applied"] == 2


def test_a_snapshot_older_than_the_first_buffered_diff_asks_for_another():
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(10, 12))
    assert sync.on_snapshot(8, [], []) == [NeedSnapshot("snapshot older than the first buffered diff")]
    assert sync.state == "buffering" and sync.counters["snapshots_rejected"] == 1
    assert types(sync.on_snapshot(11, [], [])) == [Synced, Applied]


def test_a_snapshot_just_before_the_first_buffered_diff_is_continued_by_it():
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(10, 12))
    assert sync.on_snapshot(9, [], []) == [Synced(9), Applied(12)]


def test_a_snapshot_before_any_diff_is_kept_and_the_first_diff_checked_against_it():
    sync = BookSync("BTCUSDT")
    assert sync.on_snapshot(20, [["10.00", "1.00"]], []) == []
    assert sync.on_diff(diff(15, 20)) == [Dropped(1)]
    assert sync.on_diff(diff(18, 23, bids=[("9.00", "1.00")])) == [Synced(20), Applied(23)]
    assert sync.book.top(5)[0] == [("10.00", "1.00"), ("9.00", "1.00")]


def test_a_kept_snapshot_is_refetched_when_the_first_diff_starts_after_it():
    sync = BookSync("BTCUSDT")
    sync.on_snapshot(20, [], [])
    assert sync.on_diff(diff(22, 25)) == [NeedSnapshot("snapshot older than the first buffered diff")]
    assert sync.on_snapshot(24, [], []) == [Synced(24), Applied(25)]


def test_a_gap_while_synced_discards_the_book_and_asks_for_a_snapshot():
    sync = synced(100)
    events = sync.on_diff(diff(103, 104, bids=[("9.00", "1.00")]))
    assert types(events) == [Resync, NeedSnapshot] and "gap" in events[0].reason
    assert sync.state == "buffering" and sync.book is None and sync.counters["resyncs"] == 1
    # The diff after the gap was buffered: a snapshot it continues syncs at once.
    assert sync.on_snapshot(103, [], []) == [Synced(103), Applied(104)]


def test_a_duplicate_diff_while_synced_is_dropped_silently():
    sync = synced(100)
    sync.on_diff(diff(102, 105, bids=[("9.00", "1.00")]))
    assert sync.on_diff(diff(102, 105, bids=[("9.00", "7.00")])) == []
    assert sync.on_diff(diff(104, 105)) == []
    assert sync.book.update_id == 105 and sync.book.top(5)[0][1] == ("9.00", "1.00")
    assert sync.counters["diffs_dropped"] == 2 and sync.counters["resyncs"] == 0
    assert sync.on_diff(diff(106, 106)) == [Applied(106)]


def test_a_duplicate_diff_while_buffering_is_dropped():
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(5, 6))
    sync.on_diff(diff(5, 6))
    assert sync.on_snapshot(4, [], []) == [Synced(4), Applied(6)]


def test_a_gap_in_the_buffer_restarts_the_buffer_at_the_diff_after_it():
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(5, 6))
    sync.on_diff(diff(9, 10))
    assert sync.on_snapshot(6, [], []) == [NeedSnapshot("snapshot older than the first buffered diff")]
    assert sync.on_snapshot(9, [], []) == [Synced(9), Applied(10)]


def test_a_crossed_book_is_discarded_and_resynced():
    sync = synced(100)
    assert sync.on_diff(diff(102, 102, bids=[("11.00", "1.00")])) == [Resync("crossed book"),
                                                                     NeedSnapshot("crossed book")]
    assert sync.book is None


def test_a_snapshot_whose_buffered_diffs_cross_it_is_discarded():
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(5, 6, asks=[("9.00", "1.00")]))
    assert sync.on_snapshot(5, [["10.00", "1.00"]], []) == [Resync("crossed book"), NeedSnapshot("crossed book")]


def test_a_buffer_overflow_resyncs_and_asks_for_a_snapshot_again():
    sync = BookSync("BTCUSDT", max_buffered=3)
    sync.on_diff(diff(1, 1))
    assert sync.on_diff(diff(2, 2)) == sync.on_diff(diff(3, 3)) == []
    assert sync.on_diff(diff(4, 4)) == [Resync("buffer overflow"), NeedSnapshot("buffer overflow")]
    assert sync.on_snapshot(3, [], []) == [Synced(3), Applied(4)]


def test_a_resync_while_a_snapshot_is_outstanding_does_not_ask_twice():
    sync = synced(100, depth_limit=2, bids=[("10.00", "1.00"), ("9.00", "1.00")], edge_levels=2)
    assert sync.on_diff(diff(102, 102, bids=[("10.00", "0")])) == [Applied(102), NeedSnapshot(
        "book near the edge of the snapshot")]
    assert sync.on_diff(diff(104, 104)) == [Resync("gap: expected U=103, got U=104 u=104")]
    assert sync.on_snapshot(103, [], []) == [Synced(103), Applied(104)]  # the fetch under way answers it


def test_reset_discards_the_book_and_the_next_diff_asks_for_a_snapshot():
    sync = synced(100)
    assert sync.reset("connection lost") == [Resync("connection lost")]
    assert sync.state == "buffering" and sync.book is None
    assert sync.on_diff(diff(500, 501)) == [NeedSnapshot("initial snapshot")]


def test_a_failed_fetch_asks_for_a_snapshot_again():
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(1, 1))
    assert sync.snapshot_failed("HTTP 503") == [NeedSnapshot("HTTP 503")]
    assert sync.counters["snapshots_requested"] == 2


def test_a_malformed_snapshot_asks_for_another():
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(1, 1))
    [event] = sync.on_snapshot(1, [["ten", "1"]], [])
    assert type(event) is NeedSnapshot and event.reason.startswith("malformed snapshot")
    assert sync.on_diff(diff(2, 2)) == []  # the new fetch is outstanding
    assert sync.on_snapshot(0, [], []) == [Synced(0), Applied(1), Applied(2)]


def test_a_diff_of_another_symbol_is_refused():
    with pytest.raises(ValueError):
        BookSync("btcusdt").on_diff(diff(1, 1, symbol="ETHUSDT"))
    assert BookSync("btcusdt").on_diff(diff(1, 1, symbol="BTCUSDT")) == [NeedSnapshot("initial snapshot")]


def _ladder(first: int, step: int, n: int) -> list[list[str]]:
    return [[f"{first + step * i}.00", "1.00"] for i in range(n)]


def test_near_the_edge_of_the_snapshot_it_asks_for_a_fresh_one_and_rebases_while_staying_synced():
    sync = synced(100, depth_limit=10, edge_levels=8, bids=_ladder(100, -1, 10), asks=_ladder(101, 1, 10))
    assert sync.book.known_levels("bids") == 10
    sync.on_diff(diff(102, 102, bids=[["100.00", "0"], ["99.00", "0"]]))
    events = sync.on_diff(diff(103, 103, bids=[["98.00", "0"], ["85.00", "5.00"]]))
    assert events == [Applied(103), NeedSnapshot("book near the edge of the snapshot")]
    assert sync.on_diff(diff(104, 105, bids=[["97.00", "2.00"]])) == [Applied(105)]
    assert sync.state == "synced"
    # The fresh snapshot was taken at 104: the kept diff 104-105 brings it up to date.
    fresh_bids = [["97.00", "3.00"], *_ladder(96, -1, 9)]
    assert sync.on_snapshot(104, fresh_bids, _ladder(101, 1, 10)) == [Synced(104)]
    assert sync.book.update_id == 105 and sync.book.best_bid() == ("97.00", "2.00")
    assert sync.book.known_levels("bids") == 10 and sync.counters["rebases"] == 1
    assert sync.on_diff(diff(106, 106)) == [Applied(106)]


def test_a_snapshot_smaller_than_the_depth_limit_marks_its_full_sides_unknown_beyond_it():
    """The DepthSnapshotActor may ask for fewer levels than ``depth_limit`` (weight 5 for 100): a side that came
    back with that many levels is bounded there, or levels the snapshot never showed would count as absent."""
    sync = BookSync("BTCUSDT", depth_limit=1000, keep_levels=20)
    sync.on_diff(diff(101, 101))
    assert types(sync.on_snapshot(100, _ladder(1000, -1, 100), _ladder(1001, 1, 40), limit=100)) == [Synced, Applied]
    assert sync.book.is_bounded("bids") and not sync.book.is_bounded("asks")
    assert sync.edge_levels == 30  # edge_for(100, 20): re-based while the 20 stored levels are still known
    assert sync.on_diff(diff(102, 102, bids=[[f"{1000 - i}.00", "0"] for i in range(70)])) == [Applied(102)]
    events = sync.on_diff(diff(103, 103, bids=[["930.00", "0"]]))  # 29 known bid levels left
    assert events == [Applied(103), NeedSnapshot("book near the edge of the snapshot")]
    fresh = BookSync("BTCUSDT", depth_limit=1000, keep_levels=20)
    fresh.on_diff(diff(101, 101))
    fresh.on_snapshot(100, _ladder(1000, -1, 100), _ladder(1001, 1, 40))  # asked at 1000: the whole book
    assert not fresh.book.is_bounded("bids") and fresh.edge_levels == 50


def test_a_rebase_snapshot_newer_than_the_book_waits_until_the_stream_reaches_it():
    sync = synced(100, depth_limit=3, edge_levels=3, bids=_ladder(100, -1, 3), asks=_ladder(101, 1, 3))
    assert types(sync.on_diff(diff(102, 102, bids=[["100.00", "0"]]))) == [Applied, NeedSnapshot]
    assert sync.on_snapshot(104, _ladder(50, -1, 3), []) == []
    assert sync.on_diff(diff(103, 103)) == [Applied(103)]
    assert sync.book.best_bid() == ("99.00", "1.00")
    assert sync.on_diff(diff(104, 104)) == [Applied(104), Synced(104)]
    assert sync.book.best_bid() == ("50.00", "1.00")


def test_a_rebase_snapshot_older_than_the_kept_diffs_asks_again():
    sync = synced(100, depth_limit=3, edge_levels=3, bids=_ladder(100, -1, 3), asks=_ladder(101, 1, 3))
    sync.on_diff(diff(102, 102, bids=[["100.00", "0"]]))
    assert sync.on_snapshot(99, _ladder(50, -1, 3), []) == [
        NeedSnapshot("snapshot older than the first buffered diff")]
    assert sync.state == "synced" and sync.book.best_bid() == ("99.00", "1.00")


def test_prune_mode_keeps_no_level_beyond_the_snapshot_boundary():
    sync = synced(100, depth_limit=3, bids=_ladder(100, -1, 3), asks=_ladder(101, 1, 3), prune=True)
    sync.on_diff(diff(102, 102, bids=[["50.00", "1.00"], ["99.50", "1.00"]]))
    assert sync.book.top(10)[0] == [("100.00", "1.00"), ("99.50", "1.00"), ("99.00", "1.00"), ("98.00", "1.00")]
    kept = synced(100, depth_limit=3, bids=_ladder(100, -1, 3), asks=_ladder(101, 1, 3))
    kept.on_diff(diff(102, 102, bids=[["50.00", "1.00"]]))
    assert kept.book.top(10)[0][-1] == ("50.00", "1.00")


# --- properties -----------------------------------------------------------------------------------------------


class Exchange:
    """A true contiguous depth stream (bids below 50, asks above, so never crossed) and its state at every id."""

    def __init__(self, data, length: int):
        self.diffs: list[DepthUpdate] = []
        self.states: dict[int, tuple] = {}
        bids: dict[str, str] = {"40.00": "1.0"}
        asks: dict[str, str] = {"60.00": "1.0"}
        next_id = 1000
        self.states[next_id - 1] = (dict(bids), dict(asks))
        for _ in range(length):
            span = data.draw(st.integers(1, 3))
            b = [[f"{data.draw(st.integers(30, 49))}.00", f"{data.draw(st.integers(0, 2))}.0"] for _ in range(2)]
            a = [[f"{data.draw(st.integers(51, 70))}.00", f"{data.draw(st.integers(0, 2))}.0"] for _ in range(2)]
            for side, levels in ((bids, b), (asks, a)):
                for p, q in levels:
                    side.pop(p, None) if q == "0.0" else side.__setitem__(p, q)
            self.diffs.append(diff(next_id, next_id + span - 1, b, a))
            next_id += span
            self.states[next_id - 1] = (dict(bids), dict(asks))

    def snapshot(self, position: int) -> tuple[int, list, list]:
        """The REST answer taken after the diff at ``position`` (-1: before the first)."""
        last_id = self.diffs[position].u if position >= 0 else self.diffs[0].U - 1
        bids, asks = self.states[last_id]
        return last_id, [[p, q] for p, q in bids.items()], [[p, q] for p, q in asks.items()]


def assert_book_is_true(sync: BookSync, exchange: Exchange) -> None:
    if sync.state != "synced":
        return
    bids, asks = exchange.states[sync.book.update_id]
    got_bids, got_asks = sync.book.top(1000)
    assert got_bids == sorted(bids.items(), key=lambda kv: -Decimal(kv[0]))
    assert got_asks == sorted(asks.items(), key=lambda kv: Decimal(kv[0]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_snapshot_and_diff_interleavings_never_apply_a_diff_out_of_sequence(data):
    exchange = Exchange(data, data.draw(st.integers(5, 30)))
    sync = BookSync("BTCUSDT")
    pending: list[int] = []  # countdowns: snapshots requested, in deliveries until they arrive
    last_applied = None
    position = 0
    while position < len(exchange.diffs):
        fate = data.draw(st.sampled_from(["deliver"] * 6 + ["skip", "duplicate"]))
        events = []
        if fate != "skip":
            for _ in range(2 if fate == "duplicate" else 1):
                events += sync.on_diff(exchange.diffs[position])
        position += 1
        for index in range(len(pending)):
            pending[index] -= 1
        while pending and pending[0] <= 0:
            pending.pop(0)
            taken = min(len(exchange.diffs) - 1, max(-1, position - 1 + data.draw(st.integers(-3, 2))))
            events += sync.on_snapshot(*exchange.snapshot(taken))
        for event in events:
            if type(event) is NeedSnapshot:
                assert not pending, "a second NeedSnapshot while one is outstanding"
                pending.append(data.draw(st.integers(0, 3)))
            if type(event) is Applied:
                assert event.update_id in exchange.states
            if type(event) in (Synced, Resync):
                last_applied = None
            if type(event) is Applied and last_applied is not None:
                assert event.update_id > last_applied
            if type(event) is Applied:
                last_applied = event.update_id
        assert_book_is_true(sync, exchange)
    note_event("synced at the end" if sync.state == "synced" else "buffering at the end")
    note_event(f"resyncs: {min(sync.counters['resyncs'], 3)}")


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_skipped_ids_cause_a_resync_and_a_new_snapshot_request(data):
    exchange = Exchange(data, data.draw(st.integers(3, 20)))
    sync = BookSync("BTCUSDT")
    sync.on_snapshot(*exchange.snapshot(-1))
    skipped = data.draw(st.integers(1, len(exchange.diffs) - 2))
    for update in exchange.diffs[:skipped]:
        assert sync.on_diff(update)[-1] == Applied(update.u)
    events = sync.on_diff(exchange.diffs[skipped + 1])
    assert types(events) == [Resync, NeedSnapshot] and sync.book is None


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_duplicated_diffs_are_dropped_and_the_book_stays_true(data):
    exchange = Exchange(data, data.draw(st.integers(3, 20)))
    sync = BookSync("BTCUSDT")
    sync.on_snapshot(*exchange.snapshot(-1))
    for position, update in enumerate(exchange.diffs):
        sync.on_diff(update)
        for _ in range(data.draw(st.integers(0, 2))):
            earlier = exchange.diffs[data.draw(st.integers(0, position))]
            assert sync.on_diff(earlier) == []
        assert_book_is_true(sync, exchange)
    assert sync.state == "synced" and sync.counters["resyncs"] == 0


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 50), st.integers(1, 50))
def test_a_snapshot_older_than_the_first_buffered_diff_always_asks_again(first_u, span, age):
    sync = BookSync("BTCUSDT")
    sync.on_diff(diff(first_u + 1, first_u + span))
    snapshot_id = first_u - age
    assert sync.on_snapshot(snapshot_id, [], []) == [NeedSnapshot("snapshot older than the first buffered diff")]
    assert sync.on_snapshot(first_u, [], []) == [Synced(first_u), Applied(first_u + span)]


# --- the real captures ----------------------------------------------------------------------------------------


def read_2024(symbol: str) -> tuple[list[tuple[str, object]], dict[int, tuple]]:
    """The capture as the items a consumer sees in order (("diff", raw frame) or ("snapshot", body)), and the
    bookTicker top of book by update id."""
    items: list[tuple[str, object]] = []
    tickers: dict[int, tuple] = {}
    for day in ("20240808", "20240809"):
        with gzip.open(os.path.join(CAPTURE_2024, f"spot_{symbol}_{day}.gz"), "rb") as fh:
            for line in fh:
                raw = line.rstrip(b"\n").split(b" ", 1)[1]
                if raw.startswith(b'{"lastUpdateId"'):
                    items.append(("snapshot", orjson.loads(raw)))
                elif b"@bookTicker" in raw[:40]:
                    t = orjson.loads(raw)["data"]
                    tickers[t["u"]] = ((t["b"], t["B"]), (t["a"], t["A"]))
                else:
                    items.append(("frame", raw))
    return items, tickers


def replay(sync: BookSync, items, tickers) -> tuple[list, int, int]:
    """Feed the items; at every Applied whose id a bookTicker carries, compare best bid/ask with it."""
    events, checks, mismatches = [], 0, 0
    for kind, item in items:
        if kind == "snapshot":
            out = sync.on_snapshot(item["lastUpdateId"], item["bids"], item["asks"])
        else:
            message = protocol.parse_frame(item)
            if type(message) is not DepthUpdate:
                continue
            out = sync.on_diff(message)
        for event in out:
            if type(event) is Applied and event.update_id in tickers:
                checks += 1
                mismatches += (sync.book.best_bid(), sync.book.best_ask()) != tickers[event.update_id]
        events += [event for event in out if type(event) is not Applied]
    return events, checks, mismatches


@pytest.fixture(scope="module")
def replayed_2024():
    """Both symbols of the 2024 capture, replayed once for the module."""
    results = {}
    for symbol in ("btcusdt", "ethusdt"):
        items, tickers = read_2024(symbol)
        sync = BookSync(symbol.upper(), depth_limit=1000)
        results[symbol] = (sync, *replay(sync, items, tickers), items)
    return results


def test_replay_2024_best_bid_and_ask_match_every_bookticker_with_the_last_applied_id(replayed_2024):
    checks = sum(result[2] for result in replayed_2024.values())
    mismatches = sum(result[3] for result in replayed_2024.values())
    assert checks > 2000 and mismatches == 0


def test_replay_2024_applies_every_diff_after_the_snapshot_without_a_resync(replayed_2024):
    for _symbol, (sync, events, _, _, items) in replayed_2024.items():
        frames = sum(1 for kind, raw in items if kind == "frame" and b"@depth" in raw[:40])
        assert sync.state == "synced" and sync.counters["resyncs"] == 0
        assert sync.counters["diffs_applied"] + sync.counters["diffs_dropped"] == frames
        assert not [event for event in events if type(event) is Resync]


def test_replay_2024_btc_buffers_the_diff_that_arrives_before_the_snapshot(replayed_2024):
    _sync, events, _, _, items = replayed_2024["btcusdt"]
    kinds = [kind for kind, _ in items]
    before = [protocol.parse_frame(raw) for kind, raw in items[:kinds.index("snapshot")] if kind == "frame"]
    covering = [d for d in before if type(d) is DepthUpdate and d.U <= 50093239219 <= d.u]
    assert [(d.U, d.u) for d in covering] == [(50093239208, 50093239224)]
    assert events[:3] == [NeedSnapshot("initial snapshot"), Dropped(2), Synced(50093239218)]


def test_replay_2024_btc_asks_for_a_fresh_snapshot_once_the_price_nears_the_snapshot_depth(replayed_2024):
    sync, events, _, _, _ = replayed_2024["btcusdt"]
    assert events[3:] == [NeedSnapshot("book near the edge of the snapshot")]
    assert sync.book.known_levels("bids") < sync.edge_levels  # the fresh snapshot never came: still synced
    assert replayed_2024["ethusdt"][1] == [NeedSnapshot("initial snapshot"), Dropped(2), Synced(35346513512)]


def read_2021() -> list[tuple[float, str, object]]:
    """cryptofeed's recording merged by receive time: (time, "frame", raw) and (time, symbol, snapshot body)."""
    items: list[tuple[float, str, object]] = []
    with open(os.path.join(CAPTURE_2021, "BINANCE.ws.1.0"), "rb") as fh:
        for line in fh.read().splitlines()[1:]:
            if line:
                stamp, raw = line.split(b": ", 1)
                items.append((float(stamp), "frame", raw))
    with open(os.path.join(CAPTURE_2021, "BINANCE.http.0.0"), "rb") as fh:
        for line in fh.read().splitlines():
            if line:
                head, body = line.split(b": ", 1)
                url, stamp = head.split(b" -> ")
                symbol = re.search(rb"symbol=(\w+)", url).group(1).decode()
                items.append((float(stamp), symbol, orjson.loads(body)))
    return sorted(items, key=lambda item: item[0])


def test_replay_2021_cryptofeed_capture_syncs_all_four_symbols_and_matches_bookticker():
    items = read_2021()
    tickers: dict[tuple[str, int], tuple] = {}  # a bookTicker may arrive before or after the diff with its id
    for _, kind, raw in items:
        if kind == "frame" and b"@bookTicker" in raw[:40]:
            t = orjson.loads(raw)["data"]
            tickers[t["s"], t["u"]] = ((t["b"], t["B"]), (t["a"], t["A"]))
    syncs = {symbol: BookSync(symbol) for symbol in ("NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR")}
    checks = mismatches = 0
    for _, kind, item in items:
        if kind != "frame":
            sync, out = syncs[kind], syncs[kind].on_snapshot(item["lastUpdateId"], item["bids"], item["asks"])
        else:
            message = protocol.parse_frame(item)
            if type(message) is not DepthUpdate:
                continue
            sync = syncs[message.symbol]
            out = sync.on_diff(message)
        for event in out:
            assert type(event) is not Resync
            if type(event) is Applied and (sync.symbol, event.update_id) in tickers:
                checks += 1
                mismatches += (sync.book.best_bid(), sync.book.best_ask()) != tickers[sync.symbol, event.update_id]
    assert all(sync.state == "synced" for sync in syncs.values())
    assert syncs["NKNUSDT"].book.is_bounded("asks") and not syncs["NKNUSDT"].book.is_bounded("bids")
    assert checks >= 20 and mismatches == 0
