"""TradeWriter and range reads against a real RocksDB in a temp dir."""

import pytest

from tradeactors import codec, history
from tradeactors.protocol import AggTrade
from tradeactors.store import Database, StorageError

BASE_T = 1_723_161_254_000


def trades(first, count, t0=BASE_T, step_ms=100):
    return [AggTrade(a, f"{60000 + a % 7}.01000000", "0.00100000", a, a, t0 + (a - first) * step_ms, a % 2 == 0)
            for a in range(first, first + count)]


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "analytics")
    yield database
    database.close()


def test_written_trades_read_back_exactly(db):
    writer = history.TradeWriter(db, ["BTCUSDT"])
    batch = trades(100, 50)
    assert writer.write("BTCUSDT", batch)[0] == 50
    got, cursor = history.read_trades(db, "BTCUSDT", 0, 10**13 - 1)
    assert got == batch and cursor is None


def test_a_trade_stored_twice_is_stored_once(db):
    writer = history.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 20))
    assert writer.write("BTCUSDT", trades(10, 20) + trades(10, 5))[0] == 9  # ids 21..29 are new
    ids = history.trade_ids(db, "BTCUSDT")
    assert ids.tolist() == list(range(1, 30))


def test_batches_with_the_same_time_both_survive(db):
    writer = history.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 3, step_ms=0))
    writer.write("BTCUSDT", trades(4, 3, t0=BASE_T, step_ms=0))  # same key time, later ids
    assert history.trade_ids(db, "BTCUSDT").tolist() == [1, 2, 3, 4, 5, 6]


def test_id_ranges_survive_a_reopen(tmp_path):
    db = Database(tmp_path / "db")
    history.TradeWriter(db, ["BTCUSDT"]).write("BTCUSDT", trades(1, 10) + trades(20, 5))
    db.close()
    db = Database(tmp_path / "db")
    writer = history.TradeWriter(db, ["BTCUSDT"])
    assert list(writer.ranges["BTCUSDT"]) == [(1, 10), (20, 24)]
    assert writer.write("BTCUSDT", trades(1, 30))[0] == 15
    db.close()


def test_range_reads_are_inclusive_and_exact(db):
    writer = history.TradeWriter(db, ["BTCUSDT", "ETHUSDT"])
    writer.write("BTCUSDT", trades(1, 100))  # T = BASE_T + (a-1)*100
    writer.write("ETHUSDT", trades(1, 100))
    start, end = BASE_T + 1050, BASE_T + 3000
    got, _ = history.read_trades(db, "BTCUSDT", start, end)
    assert [t.a for t in got] == [a for a in range(1, 101) if start <= BASE_T + (a - 1) * 100 <= end]


def test_reads_seek_instead_of_scanning_from_the_start(db, monkeypatch):
    writer = history.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 1000))  # 100 s of trades, 100 chunks
    seen = []
    real_scan = db.scan

    def counting_scan(cf, start, stop):
        for item in real_scan(cf, start, stop):
            seen.append(item[0])
            yield item

    monkeypatch.setattr(db, "scan", counting_scan)
    history.read_trades(db, "BTCUSDT", BASE_T + 50_000, BASE_T + 52_999)
    assert len(seen) == 3
    assert codec.trade_key_time(seen[0]) == BASE_T + 50_000


def test_paging_with_a_cursor_returns_every_trade_once(db):
    writer = history.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", trades(1, 95, step_ms=7))
    got, cursor = [], None
    while True:
        page, cursor = history.read_trades(db, "BTCUSDT", 0, 10**13 - 1, limit=10, after=cursor)
        got.extend(page)
        if cursor is None:
            break
    assert [t.a for t in got] == list(range(1, 96))


def test_writes_to_a_closed_database_raise_storage_error(tmp_path):
    db = Database(tmp_path / "db")
    writer = history.TradeWriter(db, ["BTCUSDT"])
    db.close()
    with pytest.raises(StorageError):
        writer.write("BTCUSDT", trades(1, 1))
    assert writer.ranges["BTCUSDT"].count == 0


def test_second_open_of_the_same_path_is_a_clear_error(tmp_path, db):
    with pytest.raises(StorageError, match="cannot open database"):
        Database(db.path)


def test_columns_concatenate_chunks_with_one_scale(db):
    writer = history.TradeWriter(db, ["BTCUSDT"])
    writer.write("BTCUSDT", [AggTrade(1, "1.5", "2", 1, 1, BASE_T, True)])
    writer.write("BTCUSDT", [AggTrade(2, "1.25", "0.001", 2, 2, BASE_T + 1000, False),
                             AggTrade(3, "1.250", "0.0010", 3, 3, BASE_T + 1001, False)])  # mixed: rows format
    cols = history.read_columns(db, "BTCUSDT", 0, 10**13 - 1)
    assert cols.a.tolist() == [1, 2, 3]
    assert cols.p_decimals == 3 and cols.p.tolist() == [1500, 1250, 1250]
    assert cols.q_decimals == 4 and cols.q.tolist() == [20000, 10, 10]
    assert cols.m.tolist() == [True, False, False]


def test_query_actor_answers_columns_and_validates(service_factory):
    import numpy as np

    from tests.helpers import wait_for
    from tradeactors.actors.messages import QueryTradeColumns
    from tradeactors.errors import InvalidParameter, UnknownSymbol

    service = service_factory()
    wait_for(lambda: len(history.trade_ids(service.db, "BTCUSDT")) > 10, timeout=20, message="trades")
    import time

    now = int(time.time() * 1000)
    cols = service.ask("query", QueryTradeColumns("BTCUSDT", now - 3_600_000, now + 60_000))
    assert len(cols) > 10 and (np.diff(cols.a) == 1).all() and cols.p.dtype == np.int64
    with pytest.raises(UnknownSymbol):
        service.ask("query", QueryTradeColumns("DOGEUSDT", 0, 1))
    with pytest.raises(InvalidParameter):
        service.ask("query", QueryTradeColumns("BTCUSDT", 0, 604_800_001))


def test_size_on_disk_counts_the_write_ahead_log(db):
    history.TradeWriter(db, ["BTCUSDT"]).write("BTCUSDT", trades(1, 500))
    assert db.size_on_disk() > 0  # nothing flushed to SST files yet: it is all in the WAL
