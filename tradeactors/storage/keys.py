"""Every key the database holds, and the column family it lives in (``docs/storage.md``). Pure code.

| column family | key |
| --- | --- |
| ``trades`` | ``trades:{SYMBOL}:{13-digit ms}:{20-digit first aggregate id}`` |
| ``snapshots`` | ``{SYMBOL}:{10-digit unix seconds}`` (book seconds; the family keeps its first name) |
| ``rollups`` | ``rollup:{SYMBOL}:{13-digit minute ms}`` |
| ``meta`` | ``ids:{SYMBOL}``, ``xgaps:{SYMBOL}``, ``symbolinfo:{SYMBOL}`` |

Keys sort by time within a symbol, so a time-range read seeks to its start key and stops after its end.
"""

from __future__ import annotations

TRADES = "trades"
BOOK_SECONDS = "snapshots"
"""Named "snapshots" on disk since format version 1; it holds book seconds."""
ROLLUPS = "rollups"
META = "meta"
COLUMN_FAMILIES = (TRADES, BOOK_SECONDS, ROLLUPS, META)

MINUTE_MS = 60_000
"""The span of one rollup."""


# --- trades: one chunk per key, never two seconds of trade time in a chunk ----------------------------------


def trade_prefix(symbol: str) -> bytes:
    return f"trades:{symbol}:".encode()


def trade_key(symbol: str, time_ms: int, first_id: int) -> bytes:
    """The key of a chunk whose smallest trade time is ``time_ms`` and whose smallest id is ``first_id``: the
    id suffix makes keys unique, so no write can replace another chunk."""
    return f"trades:{symbol}:{time_ms:013d}:{first_id:020d}".encode()


def trade_seek_key(symbol: str, time_ms: int) -> bytes:
    """The first key that can hold a trade with ``T >= time_ms`` (a chunk starts within its second)."""
    return f"trades:{symbol}:{max(0, time_ms) // 1000 * 1000:013d}".encode()


def trade_stop_key(symbol: str, end_ms: int) -> bytes:
    """The first key after every chunk whose trades can have ``T <= end_ms`` (exclusive upper bound)."""
    if end_ms + 1 >= 10**13:
        return trade_prefix(symbol)[:-1] + b";"  # ':' + 1: past every key of the symbol
    return f"trades:{symbol}:{end_ms + 1:013d}".encode()


def trade_key_time(key: bytes) -> int:
    """The ms part of a trade key."""
    return int(key[-34:-21])


def trade_key_first_id(key: bytes) -> int:
    """The id part of a trade key: the chunk's smallest aggregate id."""
    return int(key[-20:])


# --- book seconds ------------------------------------------------------------------------------------------


def book_second_key(symbol: str, second: int) -> bytes:
    return f"{symbol}:{second:010d}".encode()


def book_second_prefix(symbol: str) -> bytes:
    return f"{symbol}:".encode()


def book_second_of(key: bytes) -> int:
    return int(key[-10:])


# --- rollups: volume by price per minute of trade time -------------------------------------------------------


def rollup_key(symbol: str, minute_ms: int) -> bytes:
    return f"rollup:{symbol}:{minute_ms:013d}".encode()


def rollup_prefix(symbol: str) -> bytes:
    return f"rollup:{symbol}:".encode()


# --- meta: small per-symbol state --------------------------------------------------------------------------


def ids_key(symbol: str) -> bytes:
    """The symbol's stored aggregate ids, as ranges."""
    return f"ids:{symbol}".encode()


def exchange_gaps_key(symbol: str) -> bytes:
    """Ids REST confirms do not exist at the exchange, as ranges."""
    return f"xgaps:{symbol}".encode()


def symbol_info_key(symbol: str) -> bytes:
    """The symbol's exchange filters (tick and step sizes), cached from exchangeInfo."""
    return f"symbolinfo:{symbol}".encode()
