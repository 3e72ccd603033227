"""The export's Arrow schemas, and stored trades and book seconds as Arrow record batches. Pure code.

Prices and quantities are ``decimal128(38, scale)``: every reader (pyarrow, pandas, Polars, DuckDB) sees numbers,
and exact ones. The stored values already are integers scaled by ``10**decimals`` (``tradeactors.decimals``),
which is exactly how Arrow holds a decimal: the arrays are built from those integers (rescaled to the file's one
scale, the widest of the range, by a power of ten: never rounded) without going through text. Precision 38 holds
any stored value (an int64 has at most 19 digits), so a file's schema depends on its scale alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from tradeactors import decimals
from tradeactors.records import BookSecond, TradeColumns

FORMAT_VERSION = 1
"""Of the files' layout (docs/export.md): changes when a column is added, renamed or retyped."""
PRECISION = 38
TIME = pa.timestamp("ms", tz="UTC")
SIDES = pa.array(["buy", "sell"])
"""The taker's side, indexed by ``is_buyer_maker``: a buyer who made the book means a taker who sold."""


class Scale(NamedTuple):
    """Decimals of the prices and of the quantities in a file: the widest stored in its range."""

    price: int
    quantity: int


class ExportError(Exception):
    """The export cannot be written as asked; the message says why (the CLI exits 2 with it)."""


def decimal_array(scaled: np.ndarray, scale: int, valid: np.ndarray | None = None) -> pa.Array:
    """int64 counts of ``10**-scale`` as a decimal128 array, bit for bit (Arrow's decimal is that integer as
    16 little-endian two's-complement bytes); ``valid`` (bool) marks non-null values."""
    values = np.ascontiguousarray(scaled, dtype="<i8")
    words = np.empty((len(values), 2), dtype="<i8")
    words[:, 0] = values
    words[:, 1] = values >> 63
    nulls = None
    if valid is not None and not valid.all():
        nulls = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.decimal128(PRECISION, scale), len(values), [nulls, pa.py_buffer(words)])


def _metadata(what: str, symbol: str, scale: Scale, start_ms: int, end_ms: int, **extra: object) -> dict[bytes, bytes]:
    pairs = {"format_version": FORMAT_VERSION, "what": what, "symbol": symbol, "price_scale": scale.price,
             "quantity_scale": scale.quantity, "start_ms": start_ms, "end_ms": end_ms, **extra}
    return {f"tradeactors.{key}".encode(): str(value).encode() for key, value in pairs.items()}


# --- trades ------------------------------------------------------------------------------------------------


def trade_schema(symbol: str, scale: Scale, start_ms: int, end_ms: int) -> pa.Schema:
    """One row per aggregate trade, in id order; the symbol, scales and range in the key-value metadata."""
    return pa.schema([
        pa.field("agg_id", pa.int64(), nullable=False),
        pa.field("price", pa.decimal128(PRECISION, scale.price), nullable=False),
        pa.field("quantity", pa.decimal128(PRECISION, scale.quantity), nullable=False),
        pa.field("first_id", pa.int64(), nullable=False),
        pa.field("last_id", pa.int64(), nullable=False),
        pa.field("time", TIME, nullable=False),
        pa.field("is_buyer_maker", pa.bool_(), nullable=False),
        pa.field("side", pa.string(), nullable=False),
    ], metadata=_metadata("trades", symbol, scale, start_ms, end_ms))


def exact_counts(columns: TradeColumns) -> None:
    """Raise unless the columns' integers are the stored values (a rows chunk holding a value beyond int64 keeps
    it only as text, its integer being -1): never export a wrong number."""
    if not columns.exact and ((columns.p < 0).any() or (columns.q < 0).any()):
        raise ExportError("a stored price or quantity does not fit 64 bits; it cannot be exported as a decimal")


def trade_batch(columns: TradeColumns, schema: pa.Schema, scale: Scale) -> pa.RecordBatch:
    """Trade columns (any decimals up to ``scale``) as a record batch of ``schema``."""
    exact_counts(columns)
    if columns.p_decimals > scale.price or columns.q_decimals > scale.quantity:
        raise ExportError(f"the stored data changed while it was exported: {columns.p_decimals}/"
                          f"{columns.q_decimals} decimals after a scale of {scale.price}/{scale.quantity} was chosen")
    n = len(columns)
    return pa.RecordBatch.from_arrays([
        pa.array(columns.a, pa.int64()),
        decimal_array(decimals.rescale(columns.p, columns.p_decimals, scale.price), scale.price),
        decimal_array(decimals.rescale(columns.q, columns.q_decimals, scale.quantity), scale.quantity),
        pa.array(columns.f, pa.int64()),
        pa.array(columns.l, pa.int64()),
        pa.Array.from_buffers(TIME, n, [None, pa.py_buffer(np.ascontiguousarray(columns.T, dtype="<i8"))]),
        pa.array(columns.m, pa.bool_()),
        SIDES.take(pa.array(columns.m.astype(np.int8))),
    ], schema=schema)


# --- book seconds --------------------------------------------------------------------------------------------


class BookShape(NamedTuple):
    """What a book file's columns need to know before the first row: the widest scale and the most levels."""

    scale: Scale
    levels: int


def book_shape(books: Iterable[BookSecond], levels: int | None = None) -> BookShape | None:
    """The shape that holds every book second of ``books`` (an iterable): the widest decimals and, unless
    ``levels`` fixes it, the most levels per side. None when there is none."""
    price, qty, most, seen = 0, 0, 0, False
    for book in books:
        seen = True
        price, qty = max(price, book.price_decimals), max(qty, book.qty_decimals)
        most = max(most, len(book.bids), len(book.asks))
    if not seen:
        return None
    return BookShape(Scale(price, qty), levels if levels is not None else max(most, 1))


def book_schema(symbol: str, shape: BookShape, start_ms: int, end_ms: int) -> pa.Schema:
    """One row per stored book second: its time, the book's update id and event time, then the top N levels as
    columns (``bid_price_0..N-1``, ``bid_qty_0..``, ``ask_price_0..``, ``ask_qty_0..``; null past the book's
    depth)."""
    n, scale = shape.levels, shape.scale
    fields = [pa.field("time", TIME, nullable=False), pa.field("update_id", pa.int64(), nullable=False),
              pa.field("event_time", TIME, nullable=False)]
    for side in ("bid", "ask"):
        for kind, digits in (("price", scale.price), ("qty", scale.quantity)):
            fields += [pa.field(f"{side}_{kind}_{i}", pa.decimal128(PRECISION, digits)) for i in range(n)]
    return pa.schema(fields, metadata=_metadata("book", symbol, scale, start_ms, end_ms, levels=n))


def _levels(books: Sequence[BookSecond], side: str, shape: BookShape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prices, quantities, valid) as (rows, N) arrays at the shape's scale."""
    rows, n = len(books), shape.levels
    prices = np.zeros((rows, n), dtype=np.int64)
    qtys = np.zeros((rows, n), dtype=np.int64)
    valid = np.zeros((rows, n), dtype=bool)
    for row, book in enumerate(books):
        levels = (book.bids if side == "bid" else book.asks)[:n]
        k = len(levels)
        if k:
            prices[row, :k] = decimals.rescale(levels[:, 0], book.price_decimals, shape.scale.price)
            qtys[row, :k] = decimals.rescale(levels[:, 1], book.qty_decimals, shape.scale.quantity)
            valid[row, :k] = True
    return prices, qtys, valid


def book_batch(books: Sequence[BookSecond], schema: pa.Schema, shape: BookShape) -> pa.RecordBatch:
    """Book seconds (time order) as a record batch of ``schema``."""
    for book in books:
        if book.price_decimals > shape.scale.price or book.qty_decimals > shape.scale.quantity:
            raise ExportError("the stored book changed while it was exported: a wider scale appeared")
    seconds = np.array([b.second for b in books], dtype=np.int64) * 1000
    events = np.array([b.event_ms for b in books], dtype=np.int64)
    arrays: list[pa.Array] = [pa.array(seconds, TIME), pa.array([b.update_id for b in books], pa.int64()),
                              pa.array(events, TIME)]
    for side in ("bid", "ask"):
        prices, qtys, valid = _levels(books, side, shape)
        arrays += [decimal_array(prices[:, i], shape.scale.price, valid[:, i]) for i in range(shape.levels)]
        arrays += [decimal_array(qtys[:, i], shape.scale.quantity, valid[:, i]) for i in range(shape.levels)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
