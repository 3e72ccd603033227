"""CSV files of trades and book seconds, written batch by batch with pyarrow's CSV writer (no quoting: every
field is a number, a time or a word).

Layouts (docs/export.md):

- ``tradeactors`` (ours): a header, then ``agg_id,price,quantity,first_id,last_id,time_ms,time,is_buyer_maker,
  side``: prices and quantities are the decimal strings exactly as stored (as ``/api/trades`` gives them),
  ``time_ms`` the trade time in ms since the epoch, ``time`` the same instant in ISO 8601 UTC with milliseconds
  (``2024-08-08T00:00:00.123Z``), ``is_buyer_maker`` ``true``/``false``, ``side`` the taker's ``buy``/``sell``.
  Book seconds: the Parquet columns, levels beyond the book's depth empty.
- ``binance``: the column layout of Binance's public spot aggTrades files (data.binance.vision): no header;
  aggregate trade id, price, quantity, first trade id, last trade id, timestamp (ms), was the buyer the maker,
  was the trade the best price match, the booleans spelled ``True``/``False``. The last column is not recorded
  (the streams do not send it); every spot aggregate trade Binance publishes is a best price match, so it is
  written ``True``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from tradeactors.decimals import format_scaled
from tradeactors.export.arrow import SIDES
from tradeactors.records import TradeColumns

LAYOUTS = ("tradeactors", "binance")
TRADE_HEADER = ["agg_id", "price", "quantity", "first_id", "last_id", "time_ms", "time", "is_buyer_maker", "side"]
BINANCE_NAMES = ["agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "timestamp",
                 "is_buyer_maker", "is_best_match"]
"""Column names for the writer only: the Binance layout has no header line."""


def iso_times(ms: np.ndarray) -> pa.Array:
    """ms since the epoch as ISO 8601 UTC strings with milliseconds."""
    return pa.array(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms", timezone="UTC"))


def _texts(scaled: np.ndarray, digits: int, text: list[str] | None) -> pa.Array:
    """The decimal strings as stored: the chunk's own text when the columns cannot give it, otherwise the
    integers at their scale. (Not Arrow's decimal-to-string cast: it writes ``1E-8`` and ``0E-8``.)"""
    if text is not None:
        return pa.array(text, pa.string())
    return pa.array([format_scaled(v, digits) for v in scaled.tolist()], pa.string())


def _words(flags: np.ndarray, true: str, false: str) -> pa.Array:
    return pa.array([false, true]).take(pa.array(flags.astype(np.int8)))


def trade_table(columns: TradeColumns, layout: str) -> pa.Table:
    prices = _texts(columns.p, columns.p_decimals, columns.p_text)
    qtys = _texts(columns.q, columns.q_decimals, columns.q_text)
    if layout == "binance":
        arrays = [pa.array(columns.a), prices, qtys, pa.array(columns.f), pa.array(columns.l), pa.array(columns.T),
                  _words(columns.m, "True", "False"), pa.array(["True"] * len(columns))]
        return pa.Table.from_arrays(arrays, names=BINANCE_NAMES)
    arrays = [pa.array(columns.a), prices, qtys, pa.array(columns.f), pa.array(columns.l), pa.array(columns.T),
              iso_times(columns.T), _words(columns.m, "true", "false"),
              SIDES.take(pa.array(columns.m.astype(np.int8)))]
    return pa.Table.from_arrays(arrays, names=TRADE_HEADER)


OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none")
"""The header is written by hand: pyarrow quotes the names of its header even with quoting off."""


def _header(sink: BinaryIO, names: list[str]) -> None:
    sink.write((",".join(names) + "\n").encode())


def write_trades(sink: BinaryIO, batches: Iterable[TradeColumns], layout: str) -> int:
    """Write trade batches (id order) in ``layout``; returns the rows written."""
    rows = 0
    if layout != "binance":
        _header(sink, TRADE_HEADER)
    writer: pacsv.CSVWriter | None = None
    for columns in batches:
        if not len(columns):
            continue
        table = trade_table(columns, layout)
        if writer is None:
            writer = pacsv.CSVWriter(sink, table.schema, write_options=OPTIONS)
        writer.write_table(table)
        rows += len(columns)
    if writer is not None:
        writer.close()
    return rows


def book_table(batch: pa.RecordBatch) -> pa.Table:
    """A book record batch (``arrow.book_batch``) with its times in ISO 8601 and decimals as their strings."""
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns):
        if name in ("time", "event_time"):
            arrays.append(iso_times(column.cast(pa.int64()).to_numpy()))
        elif pa.types.is_decimal(column.type):
            digits = column.type.scale
            arrays.append(pa.array([None if v is None else format_scaled(int(v.scaleb(digits)), digits)
                                    for v in column.to_pylist()], pa.string()))
        else:
            arrays.append(column)
    return pa.Table.from_arrays(arrays, names=batch.schema.names)


def write_books(sink: BinaryIO, names: list[str], batches: Iterable[pa.RecordBatch]) -> int:
    """Write book record batches as CSV (ours); ``names``: the columns, for the header of an empty file."""
    rows = 0
    _header(sink, names)
    writer: pacsv.CSVWriter | None = None
    for batch in batches:
        table = book_table(batch)
        if writer is None:
            writer = pacsv.CSVWriter(sink, table.schema, write_options=OPTIONS)
        writer.write_table(table)
        rows += batch.num_rows
    if writer is not None:
        writer.close()
    return rows
