"""The Database: clear errors for a closed handle and a second open; the size it reports."""

import pytest

from tests.helpers import trades
from tradeactors import storage
from tradeactors.storage import Database, StorageError


def test_writes_to_a_closed_database_raise_storage_error(tmp_path):
    db = Database(tmp_path / "db")
    writer = storage.TradeWriter(db, ["BTCUSDT"])
    db.close()
    with pytest.raises(StorageError):
        writer.write("BTCUSDT", trades(1, 1))
    assert writer.ranges["BTCUSDT"].count == 0


def test_second_open_of_the_same_path_is_a_clear_error(tmp_path, db):
    with pytest.raises(StorageError, match="cannot open database"):
        Database(db.path)


def test_size_on_disk_counts_the_write_ahead_log(db):
    storage.TradeWriter(db, ["BTCUSDT"]).write("BTCUSDT", trades(1, 500))
    assert db.size_on_disk() > 0  # nothing flushed to SST files yet: it is all in the WAL
