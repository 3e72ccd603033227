"""The RocksDB database under ``<data_dir>/analytics``; the only module that imports rocksdict.

Column families: ``trades`` (trade chunks), ``snapshots`` (book seconds), ``rollups`` (volume by price per
minute), ``meta`` (per-symbol stored-id ranges and other small state): see ``keys.py``, ``codecs.py`` and
``docs/storage.md``. Writes go through ``write`` as one atomic WriteBatch. One writer (the StorageActor) and any
number of readers share a Database; ``reopen`` replaces the handle in place (RocksDB stays in "Writer has previous
error" after a failed write until it is reopened), so holders of the object keep working.

Another process (``tradeactors export``) reads a database the service holds open as a RocksDB *secondary*
(``Database(path, secondary_dir=...)``): it takes no lock, so it never blocks the writer, and it replays the
writer's WAL at open, so it sees what was written up to then. A read-only open would not do: it fails while the
WAL is non-empty, i.e. whenever the service runs (docs/export.md).
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import rocksdict

from tradeactors.storage.keys import COLUMN_FAMILIES

log = logging.getLogger(__name__)


class StorageError(Exception):
    """The database could not be opened, read or written; the message carries RocksDB's reason."""


BLOCK_CACHE_BYTES = 16 << 20
"""One LRU block cache for every column family: reads stay fast and memory stays bounded."""
MEMTABLE_BYTES = 4 << 20
"""Per column family; RocksDB's default (64 MB each) lets a slow writer's RSS creep up for hours."""
MEMTABLES_TOTAL_BYTES = 16 << 20


def _options(cache: rocksdict.Cache, memtables: rocksdict.WriteBufferManager) -> rocksdict.Options:
    opts = rocksdict.Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.create_missing_column_families(True)
    opts.set_compression_type(rocksdict.DBCompressionType.zstd())
    table = rocksdict.BlockBasedOptions()
    table.set_block_cache(cache)
    opts.set_block_based_table_factory(table)
    opts.set_write_buffer_size(MEMTABLE_BYTES)
    opts.set_max_write_buffer_number(2)
    opts.set_write_buffer_manager(memtables)
    return opts


class Database:
    def __init__(self, path: str | Path, secondary_dir: str | Path | None = None):
        """Open (creating it if missing) the database at ``path`` for reading and writing; or, with
        ``secondary_dir`` (an empty directory of the caller's for RocksDB's own files), an existing database as a
        read-only secondary that takes no lock (writes then fail)."""
        self.path = Path(path)
        self.secondary_dir = Path(secondary_dir) if secondary_dir is not None else None
        self._lock = threading.RLock()
        self._db: rocksdict.Rdict | None = None
        self._cfs: dict[str, rocksdict.Rdict] = {}
        self._handles: dict[str, rocksdict.ColumnFamily] = {}
        self._fail_until = 0.0
        self._fail_message = ""
        self._open()

    def _open(self) -> None:
        cache = rocksdict.Cache(BLOCK_CACHE_BYTES)
        memtables = rocksdict.WriteBufferManager(MEMTABLES_TOTAL_BYTES, False)
        opts = _options(cache, memtables)
        access = None
        if self.secondary_dir is not None:
            if not (self.path / "CURRENT").is_file():
                raise StorageError(f"no database at {self.path}")
            opts.create_if_missing(False)
            opts.create_missing_column_families(False)
            access = rocksdict.AccessType.secondary(str(self.secondary_dir))
        try:
            db = rocksdict.Rdict(str(self.path), opts,
                                 column_families={cf: _options(cache, memtables) for cf in COLUMN_FAMILIES},
                                 access_type=access or rocksdict.AccessType.read_write())
        except Exception as exc:  # rocksdict raises plain Exception with RocksDB's text
            raise StorageError(f"cannot open database at {self.path}: {exc}") from None
        self._db = db
        self._cfs = {cf: db.get_column_family(cf) for cf in COLUMN_FAMILIES}
        self._handles = {cf: db.get_column_family_handle(cf) for cf in COLUMN_FAMILIES}

    def _release(self) -> None:
        db = self._db
        # close() keeps the LOCK file while column-family handles are alive: drop them first.
        self._cfs, self._handles, self._db = {}, {}, None
        if db is not None:
            try:
                db.close()
            except Exception as exc:
                # After an I/O error close() raises without releasing; the destructor releases the LOCK.
                log.warning("closing the database reported: %s", exc)
            del db
            gc.collect()

    def reopen(self) -> None:
        with self._lock:
            self._release()
            self._open()
        log.info("database reopened at %s", self.path)

    def catch_up(self) -> None:
        """A secondary: replay what the writer has written since the open (or the last catch-up)."""
        with self._lock:
            if self._db is None:
                raise StorageError("database is closed")
            try:
                self._db.try_catch_up_with_primary()
            except Exception as exc:
                raise StorageError(str(exc)) from None

    def close(self) -> None:
        with self._lock:
            if self._db is not None and self.secondary_dir is None:
                try:
                    self._db.flush_wal(True)
                except Exception as exc:
                    log.warning("flushing the WAL on close failed: %s", exc)
            self._release()

    @property
    def closed(self) -> bool:
        return self._db is None

    def _cf(self, name: str) -> rocksdict.Rdict:
        cf = self._cfs.get(name)
        if cf is None:
            raise StorageError("database is closed")
        return cf

    def write(self, puts: dict[str, list[tuple[bytes, bytes]]],
              deletes: dict[str, list[tuple[bytes, bytes]]] | None = None) -> None:
        """Apply puts and range deletes ([begin, end) per column family) as one atomic WriteBatch."""
        with self._lock:
            if self._db is None:
                raise StorageError("database is closed")
            if self._fail_until and time.monotonic() < self._fail_until:
                raise StorageError(self._fail_message)
            batch = rocksdict.WriteBatch(raw_mode=True)
            for cf, ranges in (deletes or {}).items():
                handle = self._handles[cf]
                for begin, end in ranges:
                    batch.delete_range(begin, end, handle)
            for cf, items in puts.items():
                handle = self._handles[cf]
                for key, value in items:
                    batch.put(key, value, handle)
            error = None
            try:
                self._db.write(batch)
            except Exception as exc:
                error = str(exc)
            # The batch holds column-family handles, which keep the database (and its LOCK) alive: drop it
            # before raising, or a traceback held by the caller would prevent a reopen.
            del batch, handle
            if error is not None:
                raise StorageError(error)

    def inject_write_failures(self, seconds: float, message: str = "IO error: injected write failure") -> None:
        """Drill and test hook: every write fails with ``message`` for the next ``seconds``."""
        self._fail_message = message
        self._fail_until = time.monotonic() + seconds

    def get(self, cf: str, key: bytes) -> bytes | None:
        try:
            return self._cf(cf).get(key)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(str(exc)) from None

    def scan(self, cf: str, start: bytes, stop: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Items with start <= key < stop, seeking to start (never a scan from the beginning)."""
        read_opts = rocksdict.ReadOptions()
        read_opts.set_iterate_upper_bound(stop)
        try:
            yield from self._cf(cf).items(from_key=start, read_opt=read_opts)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(str(exc)) from None

    def delete_range(self, cf: str, begin: bytes, end: bytes) -> None:
        self.write({}, {cf: [(begin, end)]})

    def compact(self, cf: str, begin: bytes | None = None, end: bytes | None = None) -> None:
        """Compact a key range (all of the column family by default); releases the GIL while it runs."""
        try:
            self._cf(cf).compact_range(begin, end)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(str(exc)) from None

    def free_bytes(self) -> int:
        """Free space on the file system that holds the database."""
        try:
            return shutil.disk_usage(self.path).free
        except OSError:
            return 0

    def cf_size(self, cf: str) -> int:
        """Bytes of the SST files of one column family."""
        return self._cf(cf).property_int_value("rocksdb.total-sst-files-size") or 0

    def size_on_disk(self) -> int:
        """Bytes on disk: every column family's SST files plus the write-ahead log (where new data sits first)."""
        total = 0
        for cf in COLUMN_FAMILIES:
            try:
                total += self._cf(cf).property_int_value("rocksdb.total-sst-files-size") or 0
            except StorageError:
                return 0
        try:
            total += sum(entry.stat().st_size for entry in os.scandir(self.path) if entry.name.endswith(".log"))
        except OSError:
            pass
        return total
