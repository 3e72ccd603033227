"""TradeWriter against a real RocksDB: idempotent, non-overwriting writes whose id ranges survive a reopen."""

from tests.helpers import BASE_T, trades
from tradeactors import storage
from tradeactors.storage import Database


def test_written_trades_read_back_exactly(db):
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    batch = trades(100, 50)
    assert writer.write("BTCUSDT", batch)[0] == 50
    got, cursor = storage.read_trades(db, "BTCUSDT", 0, 10**13 - 1)
    assert got == batch and cursor is None


def test_a_trade_stored_twice_is_stored_once(db):
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 20))
    assert writer.write("BTCUSDT", trades(10, 20) + trades(10, 5))[0] == 9  # ids 21..29 are new
    ids = storage.trade_ids(db, "BTCUSDT")
    assert ids.tolist() == list(range(1, 30))


def test_batches_with_the_same_time_both_survive(db):
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 3, step_ms=0))
    writer.write("BTCUSDT", trades(4, 3, t0=BASE_T, step_ms=0))  # same key time, later ids
    assert storage.trade_ids(db, "BTCUSDT").tolist() == [1, 2, 3, 4, 5, 6]


def test_id_ranges_survive_a_reopen(tmp_path):
    db = Database(tmp_path / "db")
    storage.TradeWriter(db, ["BTCUSDT"]).write("BTCUSDT", trades(1, 10) + trades(20, 5))
    db.close()
    db = Database(tmp_path / "db")
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    assert list(writer.ranges["BTCUSDT"]) == [(1, 10), (20, 24)]
    assert writer.write("BTCUSDT", trades(1, 30))[0] == 15
    db.close()


def test_a_symbol_not_named_at_start_keeps_its_stored_ids_when_written_again(db):
    storage.TradeWriter(db, ["BTCUSDT"]).write("BTCUSDT", trades(1, 10))
    writer = storage.TradeWriter(db, [])  # the symbol starts recording later, at runtime
    assert writer.write("BTCUSDT", trades(5, 10))[0] == 4  # ids 11..14 are new: 1..10 were loaded, not forgotten
    assert list(writer.ranges["BTCUSDT"]) == [(1, 14)]
    assert list(storage.load_id_ranges(db, "BTCUSDT")) == [(1, 14)]


def test_stored_symbols_leave_out_what_retention_emptied(db):
    writer = storage.TradeWriter(db, ["BTCUSDT", "ETHUSDT"])
    writer.write("BTCUSDT", trades(1, 5, t0=BASE_T))
    writer.write("ETHUSDT", trades(1, 5, t0=BASE_T + 3_600_000))
    assert storage.stored_symbols(db) == ["BTCUSDT", "ETHUSDT"]
    writer.delete_before(BASE_T + 60_000)
    assert storage.stored_symbols(db) == ["ETHUSDT"]
