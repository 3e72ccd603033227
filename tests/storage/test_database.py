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


def test_a_secondary_reads_beside_the_writer_without_its_lock_and_catches_up(tmp_path, db):
    """What ``tradeactors export`` relies on: the writer keeps its lock and goes on writing; the secondary sees
    what was written before it opened (the WAL replayed), and later writes after ``catch_up``."""
    db.write({"meta": [(b"k1", b"v1")]})
    secondary = Database(db.path, secondary_dir=tmp_path / "secondary")
    try:
        assert secondary.get("meta", b"k1") == b"v1"
        db.write({"meta": [(b"k2", b"v2")]})  # the writer is not blocked
        assert secondary.get("meta", b"k2") is None
        secondary.catch_up()
        assert [k for k, _v in secondary.scan("meta", b"k", b"l")] == [b"k1", b"k2"]
        with pytest.raises(StorageError):
            secondary.write({"meta": [(b"k3", b"v3")]})
    finally:
        secondary.close()
    assert db.get("meta", b"k3") is None
    db.write({"meta": [(b"k4", b"v4")]})


def test_a_secondary_of_a_missing_database_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="no database at"):
        Database(tmp_path / "nowhere", secondary_dir=tmp_path / "secondary")
    assert not (tmp_path / "nowhere").exists()
