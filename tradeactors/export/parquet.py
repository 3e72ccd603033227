"""Parquet written row group by row group: to a file (``tradeactors export``) or as a stream of bytes (the
service's ``GET /api/trades.parquet``), never the whole file in memory.

Row groups hold ``ROW_GROUP_ROWS`` rows (the last one fewer): large enough for fast scans and useful min/max
statistics per group (time, ids), small enough that one group's columns (~70 MB of trades) are all that is held.
Compression is zstd. A reader needs the footer, written last: a stream cut short is not a readable file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1_000_000
MEDIA_TYPE = "application/vnd.apache.parquet"
"""The media type IANA registered for Parquet (2024)."""


def write(sink: Any, schema: pa.Schema, batches: Iterable[pa.RecordBatch],
          row_group_rows: int = ROW_GROUP_ROWS) -> Iterator[int]:
    """Write ``batches`` of ``schema`` to ``sink`` (a path or a writable binary file) as Parquet; a generator
    that yields the rows written so far after each row group (a streaming caller sends what the sink holds at
    each yield). The file is complete when the generator is exhausted."""
    written = 0
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        held: list[pa.RecordBatch] = []
        rows = 0
        for batch in batches:
            if not batch.num_rows:
                continue
            held.append(batch)
            rows += batch.num_rows
            while rows >= row_group_rows:
                table = pa.Table.from_batches(held, schema)
                writer.write_table(table.slice(0, row_group_rows), row_group_size=row_group_rows)
                rest = table.slice(row_group_rows)
                held, rows = rest.to_batches(), rest.num_rows
                written += row_group_rows
                yield written
        if rows:
            writer.write_table(pa.Table.from_batches(held, schema), row_group_size=row_group_rows)
            written += rows
    yield written


class _Spool:
    """A write-only file for ParquetWriter whose bytes are taken out as they come (``take``)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def stream(schema: pa.Schema, batches: Iterable[pa.RecordBatch],
           row_group_rows: int = ROW_GROUP_ROWS) -> Iterator[bytes]:
    """The Parquet file of ``batches`` as successive pieces of bytes, one (or a few) per row group."""
    spool = _Spool()
    for _rows in write(spool, schema, batches, row_group_rows):
        data = spool.take()
        if data:
            yield data
    data = spool.take()
    if data:
        yield data
