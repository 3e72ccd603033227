"""The Recorder (the StorageActor's behaviour) as a plain class against a real RocksDB: failed writes kept in
order and written once storage recovers, holes reported, the queue of failed writes bounded."""

import numpy as np
import pytest

from tests.helpers import trades
from tradeactors import storage
from tradeactors.metrics import Metrics
from tradeactors.recorder import BookBatch, PendingWrites, Recorder, TradeBatch
from tradeactors.records import BookSecond


def flush(symbol, n):
    return TradeBatch(symbol, [object()] * n, 0, "live")


@pytest.fixture
def recorder(db):
    holes = []
    recorder = Recorder(db, ["BTCUSDT"], Metrics(), on_holes=holes.append)
    recorder.holes_reported = holes
    return recorder


def book(second):
    levels = np.array([[6_000_000_000_000, 100_000_000]], dtype=np.int64)
    return BookSecond("BTCUSDT", second, 1000 + second, second * 1000 + 5, levels, levels + 1, 8, 8)


def test_a_flush_is_written_once_and_a_hole_is_reported(recorder, db):
    assert recorder.store_trades(TradeBatch("BTCUSDT", trades(1, 5), 0)) == 5
    assert recorder.store_trades(TradeBatch("BTCUSDT", trades(1, 5), 0)) == 0  # already stored
    assert recorder.holes_reported == []
    recorder.store_trades(TradeBatch("BTCUSDT", trades(9, 2), 0))  # ids 6..8 missing
    assert recorder.holes_reported == ["BTCUSDT"] and recorder.status()["holes"]["BTCUSDT"] == [(6, 8)]
    assert recorder.metrics.value("tradeactors_gaps_found_total", symbol="BTCUSDT") == 1
    recorder.record_exchange_gap("BTCUSDT", 6, 8)
    assert recorder.status()["holes"]["BTCUSDT"] == []


def test_failed_writes_are_kept_in_order_and_written_once_storage_recovers(recorder, db):
    db.inject_write_failures(3600)
    assert recorder.store_trades(TradeBatch("BTCUSDT", trades(1, 5), 0)) == 0
    assert recorder.store_trades(TradeBatch("BTCUSDT", trades(6, 5), 0)) == 0
    recorder.store_book_seconds(BookBatch("BTCUSDT", [book(100), book(101)]))
    status = recorder.status()
    assert status["pending_trades"] == 10 and status["pending_book_seconds"] == 2 and status["write_errors"] >= 2
    assert storage.trade_ids(db, "BTCUSDT").tolist() == []
    db.inject_write_failures(0)
    recorder.retry()
    assert storage.trade_ids(db, "BTCUSDT").tolist() == list(range(1, 11))
    assert [b.second for b in storage.read_book_seconds(db, "BTCUSDT", 0, 10**9)] == [100, 101]
    assert recorder.status()["pending_trades"] == 0 and recorder.status()["pending_book_seconds"] == 0


def test_a_book_second_already_stored_is_never_overwritten(recorder, db):
    recorder.store_book_seconds(BookBatch("BTCUSDT", [book(100)]))
    later = book(100)
    later.update_id = 99_999
    recorder.store_book_seconds(BookBatch("BTCUSDT", [later, book(101)]))
    stored = storage.read_book_seconds(db, "BTCUSDT", 0, 10**9)
    assert [(b.second, b.update_id) for b in stored] == [(100, 1100), (101, 1101)]
    assert recorder.metrics.value("tradeactors_book_seconds_stored_total", symbol="BTCUSDT") == 2


def test_book_seconds_pending_at_close_are_counted_lost(recorder, db):
    db.inject_write_failures(3600)
    recorder.store_book_seconds(BookBatch("BTCUSDT", [book(100), book(101), book(102)]))
    recorder.close()
    assert recorder.metrics.value("tradeactors_book_seconds_lost_total", symbol="BTCUSDT") == 3


def test_past_the_bound_the_oldest_flushes_are_dropped_and_reported():
    dropped = []
    pending = PendingWrites(10, lambda m: len(m.trades), dropped.append)
    first, second, third = flush("A", 4), flush("B", 4), flush("C", 4)
    for message in (first, second, third):
        pending.keep(message)
    assert dropped == [first] and list(pending.messages) == [second, third] and pending.count == 8


def test_a_flush_larger_than_the_bound_is_still_kept_alone():
    dropped = []
    pending = PendingWrites(10, lambda m: len(m.trades), dropped.append)
    small, huge = flush("A", 1), flush("B", 50)
    pending.keep(small)
    pending.keep(huge)
    assert dropped == [small] and list(pending.messages) == [huge] and pending.count == 50


def test_written_back_oldest_first_until_a_write_fails():
    pending = PendingWrites(100, lambda m: len(m.trades), lambda m: None)
    messages = [flush(s, 2) for s in "ABC"]
    for message in messages:
        pending.keep(message)
    written = []

    def write(message):
        if message.symbol == "C":
            return False  # storage failed again
        written.append(message)
        return True

    assert pending.write(write) is False
    assert written == messages[:2] and list(pending.messages) == messages[2:] and pending.count == 2
    assert pending.write(lambda m: True) is True and not pending and pending.count == 0
