"""Which book seconds are stored: closed by the next second's chained diff, never across a gap, at most once."""

from tradeactors.bookseconds import BookSeconds
from tradeactors.booksync import BookSync
from tradeactors.protocol import DepthUpdate

T0 = 1_723_161_600_000


def diff(U: int, u: int, ms: int, bid: str = "99.00") -> DepthUpdate:
    return DepthUpdate("BTCUSDT", U, u, T0 + ms, [[bid, "1.0"]], [])


def synced() -> BookSync:
    sync = BookSync("BTCUSDT", depth_limit=100)
    sync.on_snapshot(10, [["100.00", "1.0"]], [["101.00", "1.0"]], 100)
    return sync


def test_a_second_is_stored_when_the_next_seconds_diff_continues_the_chain():
    sync, seconds = synced(), BookSeconds("BTCUSDT", levels=1)
    assert seconds.on_diff(sync, diff(11, 11, 100))[1] is None
    assert seconds.on_diff(sync, diff(12, 12, 900, bid="100.50"))[1] is None  # same second: still open
    _events, closed = seconds.on_diff(sync, diff(13, 13, 1_200))
    assert closed is not None and (closed.second, closed.update_id, closed.event_ms) == (T0 // 1000, 12, T0 + 900)
    assert closed.levels("bids") == [("100.50", "1.0")]  # the book after the second's last diff, not the next one
    assert seconds.close(sync).second == T0 // 1000 + 1 and seconds.close(sync) is None  # once


def test_a_diff_that_opens_a_gap_closes_nothing_and_the_unsynced_second_is_never_stored():
    sync, seconds = synced(), BookSeconds("BTCUSDT", levels=1)
    seconds.on_diff(sync, diff(11, 11, 100))
    _events, closed = seconds.on_diff(sync, diff(15, 15, 1_100))  # 12..14 missing
    assert closed is None and sync.book is None
    seconds.discard()  # the StreamActor discards on the Resync event
    assert seconds.close(sync) is None


def test_a_second_whose_rows_would_reach_unknown_levels_is_skipped_and_counted():
    sync = BookSync("BTCUSDT", depth_limit=100)
    sync.on_snapshot(10, [["100.00", "1.0"]], [["101.00", "1.0"]], 1)  # a 1-level snapshot of a deeper book
    seconds = BookSeconds("BTCUSDT", levels=2)
    seconds.on_diff(sync, diff(11, 11, 100))
    assert seconds.close(sync) is None and seconds.skipped == 1
