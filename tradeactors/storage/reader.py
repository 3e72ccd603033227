"""Reading the stored history: trades (paged or as columns), book seconds, volume by price, per-symbol meta.

Every time-range read seeks to its start key and stops after its end key: never a scan from the beginning of a
symbol. Readers run beside the one writer (RocksDB iterators see the data as of their creation).
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter

import numpy as np

from tradeactors.idranges import IdRanges
from tradeactors.protocol import AggTrade
from tradeactors.records import BookSecond, PriceVolumes, TradeColumns
from tradeactors.storage import codecs, keys
from tradeactors.storage.database import Database

_by_id = attrgetter("a")


def _keyed_chunks(db: Database, symbol: str, start_ms: int, end_ms: int) -> Iterator[tuple[int, bytes]]:
    """(second of the chunk's trades, raw value) of every chunk that can hold trades with start_ms <= T <= end_ms,
    in key order: seeks to the start's second and stops after the end. A chunk never spans two seconds and its
    key starts with its smallest T, so the key tells the second without decoding the value."""
    stop = keys.trade_stop_key(symbol, end_ms)
    for key, value in db.scan(keys.TRADES, keys.trade_seek_key(symbol, start_ms), stop):
        yield keys.trade_key_time(key) // 1000, value


def _decode_in_range(value: bytes, start_ms: int, end_ms: int) -> TradeColumns | None:
    """The chunk's trades with start_ms <= T <= end_ms, or None if it has none."""
    chunk = codecs.decode_trades(value)
    if chunk.T.min() < start_ms or chunk.T.max() > end_ms:
        mask = (start_ms <= chunk.T) & (end_ms >= chunk.T)
        if not mask.any():
            return None
        chunk = chunk.select(mask)
    return chunk


def read_chunks(db: Database, symbol: str, start_ms: int, end_ms: int) -> Iterator[TradeColumns]:
    """Decoded chunks holding trades with start_ms <= T <= end_ms, in key order, filtered to the range."""
    for _second, value in _keyed_chunks(db, symbol, start_ms, end_ms):
        chunk = _decode_in_range(value, start_ms, end_ms)
        if chunk is not None:
            yield chunk


def read_trades(
    db: Database, symbol: str, start_ms: int, end_ms: int, limit: int | None = None,
    after: tuple[int, int] | None = None,
) -> tuple[list[AggTrade], tuple[int, int] | None]:
    """Trades in [start_ms, end_ms] ordered by id, at most ``limit``, resuming after the cursor (T, a).

    Returns (trades, next cursor or None when the range is exhausted).

    A page is exactly the ``limit`` smallest ids above the cursor in the range, so paging never skips a trade.
    Keys run in trade-time order, not id order: a chunk backfilled into a second after a live chunk of that
    second was written sorts after it, though it may hold lower ids. So once ``limit`` trades are held, the read
    goes on through every remaining chunk of that second and stops at the first key of a later second (ids are
    assigned in trade-time order, so a later second holds only higher ids); then it sorts by id and cuts. The
    cursor's T only moves the seek to its second; its id decides what comes after it.
    """
    if after is not None:
        start_ms = max(start_ms, after[0])
    out: list[AggTrade] = []
    full_second = None  # the second in which ``limit`` trades were reached: only its other chunks are still read
    for second, value in _keyed_chunks(db, symbol, start_ms, end_ms):
        if full_second is not None and second != full_second:
            break
        chunk = _decode_in_range(value, start_ms, end_ms)
        if chunk is None:
            continue
        if after is not None:
            mask = chunk.a > after[1]
            if not mask.all():
                if not mask.any():
                    continue
                chunk = chunk.select(mask)
        out.extend(chunk.trades())
        if full_second is None and limit is not None and len(out) >= limit:
            full_second = second
    out.sort(key=_by_id)
    if limit is not None and out and len(out) >= limit:
        out = out[:limit]
        return out, (out[-1].T, out[-1].a)
    return out, None


def trade_decimals(db: Database, symbol: str, start_ms: int, end_ms: int) -> tuple[int, int] | None:
    """The largest (price, quantity) decimals among the chunks that can hold trades in [start_ms, end_ms]
    (read from the chunks' headers), or None when there are none: the one scale that holds every value of the
    range exactly."""
    found: tuple[int, int] | None = None
    for _second, value in _keyed_chunks(db, symbol, start_ms, end_ms):
        p_dec, q_dec = codecs.trade_decimals(value)
        found = (p_dec, q_dec) if found is None else (max(found[0], p_dec), max(found[1], q_dec))
    return found


def read_trade_batch(db: Database, symbol: str, start_ms: int, end_ms: int,
                     min_rows: int) -> tuple[TradeColumns, int | None]:
    """The trades of the whole seconds from ``start_ms`` on, in [start_ms, end_ms], until at least ``min_rows``
    are held, as columns ordered by id; and the ms at which the next batch starts (None when the range is done).

    For reading a long range in bounded memory (exports): batches cut between seconds, and a later second holds
    only higher ids, so consecutive batches are in id order. Every chunk of a second is in the batch of that
    second, backfilled ones included (see ``read_trades``)."""
    parts: list[TradeColumns] = []
    held, current = 0, None
    next_start = None
    for second, value in _keyed_chunks(db, symbol, start_ms, end_ms):
        if held >= min_rows and second != current:
            next_start = second * 1000
            break
        current = second
        chunk = _decode_in_range(value, start_ms, end_ms)
        if chunk is not None:
            parts.append(chunk)
            held += len(chunk)
    columns = TradeColumns.concat(parts)
    if not columns.exact:
        # Mixed decimals: the integers are rescaled to the widest; keep the strings as stored beside them.
        columns.p_text = [text for part in parts for text in part.prices()]
        columns.q_text = [text for part in parts for text in part.quantities()]
    if len(columns) > 1 and not (np.diff(columns.a) > 0).all():
        columns = _reordered(columns, np.argsort(columns.a, kind="stable"))
    return columns, next_start


def _reordered(columns: TradeColumns, order: np.ndarray) -> TradeColumns:
    p_text = [columns.p_text[i] for i in order.tolist()] if columns.p_text is not None else None
    q_text = [columns.q_text[i] for i in order.tolist()] if columns.q_text is not None else None
    return TradeColumns(columns.a[order], columns.f[order], columns.l[order], columns.T[order], columns.m[order],
                        columns.p[order], columns.q[order], columns.p_decimals, columns.q_decimals, p_text, q_text,
                        columns.exact)


def stored_symbols(db: Database) -> list[str]:
    """Every symbol with at least one stored trade id, sorted: those retention emptied (an empty ``ids:`` range
    list) are left out."""
    prefix = keys.ids_key("")
    return sorted(key[len(prefix):].decode() for key, value in db.scan(keys.META, prefix, prefix[:-1] + b";")
                  if codecs.decode_id_ranges(value))


def read_columns(db: Database, symbol: str, start_ms: int, end_ms: int) -> TradeColumns:
    """Every stored trade with start_ms <= T <= end_ms as numpy columns, ordered by aggregate id."""
    columns = TradeColumns.concat(list(read_chunks(db, symbol, start_ms, end_ms)))
    if len(columns) > 1 and not (np.diff(columns.a) > 0).all():
        columns = columns.select(np.argsort(columns.a, kind="stable"))
    return columns


def trade_ids(db: Database, symbol: str, start_ms: int = 0, end_ms: int = 10**13 - 1) -> np.ndarray:
    """Every stored aggregate id of a symbol in a time range (for checks and tests), ascending."""
    parts = [chunk.a for chunk in read_chunks(db, symbol, start_ms, end_ms)]
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


def first_trade_time(db: Database, symbol: str) -> int | None:
    """Trade time (ms) of the oldest stored trade of the symbol, or None: since when it has been collected."""
    first = next(iter(db.scan(keys.TRADES, keys.trade_prefix(symbol), keys.trade_stop_key(symbol, 10**13))), None)
    return keys.trade_key_time(first[0]) if first else None


def recent_trade_count(db: Database, symbol: str, since_ms: int) -> int:
    """About how many trades the symbol has had since ``since_ms``: the span of aggregate ids from the first chunk
    at or after it to the last id stored (holes included). Two point reads, whatever the rate: cheap enough to
    rank 1,500 symbols at start."""
    first = next(iter(db.scan(keys.TRADES, keys.trade_seek_key(symbol, since_ms),
                              keys.trade_stop_key(symbol, 10**13))), None)
    last = load_id_ranges(db, symbol).last
    if first is None or last is None:
        return 0
    return max(0, last - keys.trade_key_first_id(first[0]) + 1)


def iter_book_seconds(db: Database, symbol: str, start_s: int, end_s: int) -> Iterator[BookSecond]:
    """Stored book seconds with start_s <= second <= end_s, in time order (seek, stop after end), one at a time."""
    for key, value in db.scan(keys.BOOK_SECONDS, keys.book_second_key(symbol, start_s),
                              keys.book_second_key(symbol, end_s + 1)):
        yield codecs.decode_book_second(symbol, keys.book_second_of(key), value)


def read_book_seconds(db: Database, symbol: str, start_s: int, end_s: int) -> list[BookSecond]:
    """Stored book seconds with start_s <= second <= end_s, in time order (seek, stop after end)."""
    return list(iter_book_seconds(db, symbol, start_s, end_s))


def read_price_volumes(db: Database, symbol: str, start_ms: int, end_ms: int) -> PriceVolumes | None:
    """Volume by price of the trades with start_ms <= T <= end_ms: per-minute rollups for the minutes wholly
    inside the window, raw trades for the partial minutes at its edges. Equal to aggregating the raw trades."""
    first_full = -(-start_ms // keys.MINUTE_MS) * keys.MINUTE_MS
    end_full = (end_ms + 1) // keys.MINUTE_MS * keys.MINUTE_MS  # exclusive
    parts: list[PriceVolumes | None]
    if first_full >= end_full:
        edges = [(start_ms, end_ms)]
        parts = []
    else:
        edges = [(start_ms, first_full - 1), (end_full, end_ms)]
        parts = [codecs.decode_rollup(value) for _key, value in db.scan(
            keys.ROLLUPS, keys.rollup_key(symbol, first_full), keys.rollup_key(symbol, end_full))]
    for lo, hi in edges:
        if lo > hi:
            continue
        columns = TradeColumns.concat(list(read_chunks(db, symbol, lo, hi)))
        if len(columns):
            parts.append(PriceVolumes.of_trades(columns))
    return PriceVolumes.merge(parts)


def load_id_ranges(db: Database, symbol: str) -> IdRanges:
    """The symbol's stored aggregate ids."""
    return codecs.decode_id_ranges(db.get(keys.META, keys.ids_key(symbol)))


def load_exchange_gaps(db: Database, symbol: str) -> IdRanges:
    """Ids REST confirmed do not exist at the exchange."""
    return codecs.decode_id_ranges(db.get(keys.META, keys.exchange_gaps_key(symbol)))


def load_symbol_info(db: Database, symbol: str) -> dict[str, str] | None:
    """The cached exchangeInfo filters of a symbol ({"tickSize", "stepSize"}), or None."""
    return codecs.decode_symbol_info(db.get(keys.META, keys.symbol_info_key(symbol)))
