"""Storage: the RocksDB database and the only code that knows the bytes on disk (``docs/storage.md``).

- ``database``: the database (the only module importing rocksdict), atomic WriteBatches, range scans;
- ``keys``: every key and its column family; ``codecs``: every value, with its format byte;
- ``writer``: ``TradeWriter``, one WriteBatch per write (trades with their rollups and id ranges, book seconds,
  exchange gaps, symbol info, retention);
- ``reader``: time-range reads (trade pages by id, columns, book seconds, volume by price) and per-symbol meta.
"""

from tradeactors.storage.database import Database, StorageError
from tradeactors.storage.reader import (
    first_trade_time,
    iter_book_seconds,
    load_exchange_gaps,
    load_id_ranges,
    load_symbol_info,
    read_book_seconds,
    read_chunks,
    read_columns,
    read_price_volumes,
    read_trade_batch,
    read_trades,
    recent_trade_count,
    stored_symbols,
    trade_decimals,
    trade_ids,
)
from tradeactors.storage.writer import TradeWriter, compact_trades_before

__all__ = [
    "Database", "StorageError", "TradeWriter", "compact_trades_before", "first_trade_time", "iter_book_seconds",
    "load_exchange_gaps",
    "load_id_ranges", "load_symbol_info", "read_book_seconds", "read_chunks", "read_columns", "read_price_volumes",
    "read_trade_batch", "read_trades", "recent_trade_count", "stored_symbols", "trade_decimals",
    "trade_ids",
]
