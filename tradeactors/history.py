"""Reading and writing the stored trade history: the data-access layer between the actors and the Database.

``TradeWriter`` turns a flush into one WriteBatch: it drops trades already stored (idempotence), splits the
rest into one chunk per second of trade time, and records the symbol's stored-id ranges in the same batch so
that the ranges and the chunks can never disagree, even after a crash.
``read_trades`` seeks to the start of a time range and stops after its end; a page is exactly the ``limit``
smallest ids after the cursor, however the chunks were written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from operator import attrgetter

import msgpack
import numpy as np

from tradeactors import codec, rollups
from tradeactors.idranges import IdRanges
from tradeactors.protocol import AggTrade
from tradeactors.store import Database

_by_id = attrgetter("a")


def ids_key(symbol: str) -> bytes:
    return f"ids:{symbol}".encode()


def exchange_gaps_key(symbol: str) -> bytes:
    return f"xgaps:{symbol}".encode()


def _load_ranges(db: Database, key: bytes) -> IdRanges:
    raw = db.get("meta", key)
    return IdRanges((lo, hi) for lo, hi in msgpack.unpackb(raw)) if raw else IdRanges()


def load_id_ranges(db: Database, symbol: str) -> IdRanges:
    return _load_ranges(db, ids_key(symbol))


def load_exchange_gaps(db: Database, symbol: str) -> IdRanges:
    return _load_ranges(db, exchange_gaps_key(symbol))


class TradeWriter:
    """Plans and commits trade writes for every symbol; keeps each symbol's stored-id ranges."""

    def __init__(self, db: Database, symbols: Sequence[str]):
        self.db = db
        self.ranges = {symbol: load_id_ranges(db, symbol) for symbol in symbols}
        self.exchange_gaps = {symbol: load_exchange_gaps(db, symbol) for symbol in symbols}
        self._rollups: dict[tuple[str, int], rollups.PriceVolumes] = {}
        """Recent minutes' rollups, so a live write does not read its minute back from the database."""

    def holes(self, symbol: str) -> list[tuple[int, int]]:
        """Ids missing between the first and last stored id that the exchange has not confirmed missing."""
        ranges = self.ranges.get(symbol)
        if not ranges:
            return []
        known = IdRanges(ranges)
        for lo, hi in self.exchange_gaps.get(symbol, ()):
            known.add_range(lo, hi)
        return known.holes(ranges.first, ranges.last)

    def record_exchange_gap(self, symbol: str, lo: int, hi: int) -> None:
        """Persist ids REST confirms do not exist, so they are not looked for again."""
        gaps = IdRanges(self.exchange_gaps.get(symbol, ()))
        gaps.add_range(lo, hi)
        self.db.write({"meta": [(exchange_gaps_key(symbol), msgpack.packb(gaps.to_list()))]})
        self.exchange_gaps[symbol] = gaps

    def delete_before(self, cutoff_ms: int) -> dict[str, int | None]:
        """Delete every chunk with trade times (and every snapshot) before the second of ``cutoff_ms``, as one
        WriteBatch.

        The id ranges forget the deleted ids in the same batch. Returns {symbol: first id kept, or None}.
        """
        deletes, snapshot_deletes, rollup_deletes, metas, kept = [], [], [], [], {}
        for symbol in self.ranges:
            seek = codec.trade_seek_key(symbol, cutoff_ms)
            deletes.append((codec.trade_prefix(symbol), seek))
            snapshot_deletes.append((codec.snapshot_prefix(symbol), codec.snapshot_key(symbol, cutoff_ms // 1000)))
            # Only minutes wholly before the cutoff: the minute holding it stays (queries read its raw trades).
            rollup_deletes.append((rollups.rollup_prefix(symbol),
                                   rollups.rollup_key(symbol, cutoff_ms // rollups.MINUTE_MS * rollups.MINUTE_MS)))
            first = next(iter(self.db.scan("trades", seek, codec.trade_stop_key(symbol, 10**13))), None)
            first_id = int(codec.decode_trades(first[1]).a.min()) if first else None
            ranges, gaps = IdRanges(self.ranges[symbol]), IdRanges(self.exchange_gaps.get(symbol, ()))
            if first_id is None:
                ranges, gaps = IdRanges(), IdRanges()
            else:
                ranges.discard_below(first_id)
                gaps.discard_below(first_id)
            metas += [(ids_key(symbol), msgpack.packb(ranges.to_list())),
                      (exchange_gaps_key(symbol), msgpack.packb(gaps.to_list()))]
            kept[symbol] = (first_id, ranges, gaps)
        self.db.write({"meta": metas}, {"trades": deletes, "snapshots": snapshot_deletes, "rollups": rollup_deletes})
        self._rollups.clear()
        for symbol, (_first_id, ranges, gaps) in kept.items():
            self.ranges[symbol], self.exchange_gaps[symbol] = ranges, gaps
        return {symbol: first_id for symbol, (first_id, _r, _g) in kept.items()}

    def write(self, symbol: str, trades: Sequence[AggTrade]) -> tuple[int, int]:
        """Store the trades not stored yet, as one WriteBatch. Returns (trades written, value bytes).

        Raises StorageError; then nothing was written and the ranges are unchanged.
        """
        ranges = self.ranges.setdefault(symbol, IdRanges())
        fresh = self._fresh(sorted(trades, key=_by_id), ranges)
        if not fresh:
            return 0, 0
        columns = codec.to_chunk(fresh)  # decimal strings scaled once, for the values and the rollups
        puts = []
        for lo, hi in codec.second_spans(columns.T):
            value = codec.encode_chunk(columns.span(lo, hi)) if columns.exact else codec.encode_trades(fresh[lo:hi])
            puts.append((codec.trade_key(symbol, int(columns.T[lo:hi].min()), int(columns.a[lo])), value))
        updated = IdRanges(ranges)
        updated.add_sorted(t.a for t in fresh)
        meta = [(ids_key(symbol), msgpack.packb(updated.to_list()))]
        rollup_puts, merged = self._rollup_updates(symbol, columns)
        self.db.write({"trades": puts, "rollups": rollup_puts, "meta": meta})
        self.ranges[symbol] = updated
        self._rollups.update(merged)
        if len(self._rollups) > 8 * len(self.ranges):
            for key in sorted(self._rollups, key=lambda k: k[1])[: len(self._rollups) // 2]:
                del self._rollups[key]
        return len(fresh), sum(len(v) for _, v in puts)

    def _rollup_updates(self, symbol: str, chunk: codec.TradeChunk):
        """The minutes' rollups with the fresh trades added (written in the same batch as the trades)."""
        minutes = chunk.T // rollups.MINUTE_MS * rollups.MINUTE_MS
        puts, merged = [], {}
        for minute in np.unique(minutes).tolist():
            mask = minutes == minute
            part = rollups.from_trades(chunk.p[mask], chunk.q[mask], chunk.m[mask], chunk.T[mask], chunk.p_decimals,
                                       chunk.q_decimals)
            key = (symbol, minute)
            existing = self._rollups.get(key)
            if existing is None:
                raw = self.db.get("rollups", rollups.rollup_key(symbol, minute))
                existing = rollups.decode(raw) if raw else None
            merged[key] = rollups.merge([existing, part])
            puts.append((rollups.rollup_key(symbol, minute), rollups.encode(merged[key])))
        return puts, merged

    @staticmethod
    def _fresh(trades: list[AggTrade], ranges: IdRanges) -> list[AggTrade]:
        """Trades whose ids are neither stored nor repeated in this list."""
        last = ranges.last
        fresh = []
        prev = None
        for trade in trades:
            a = trade.a
            if a == prev or (last is not None and a <= last and a in ranges):
                continue
            fresh.append(trade)
            prev = a
        return fresh


def _keyed_chunks(db: Database, symbol: str, start_ms: int, end_ms: int) -> Iterator[tuple[int, bytes]]:
    """(second of the chunk's trades, raw value) of every chunk that can hold trades with start_ms <= T <= end_ms,
    in key order: seeks to the start's second and stops after the end. A chunk never spans two seconds and its
    key starts with its smallest T, so the key tells the second without decoding the value."""
    stop = codec.trade_stop_key(symbol, end_ms)
    for key, value in db.scan("trades", codec.trade_seek_key(symbol, start_ms), stop):
        yield codec.trade_key_time(key) // 1000, value


def _decode_in_range(value: bytes, start_ms: int, end_ms: int) -> codec.TradeChunk | None:
    """The chunk's trades with start_ms <= T <= end_ms, or None if it has none."""
    chunk = codec.decode_trades(value)
    if chunk.T.min() < start_ms or chunk.T.max() > end_ms:
        mask = (chunk.T >= start_ms) & (chunk.T <= end_ms)
        if not mask.any():
            return None
        chunk = chunk.select(mask)
    return chunk


def read_chunks(db: Database, symbol: str, start_ms: int, end_ms: int) -> Iterator[codec.TradeChunk]:
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


def read_columns(db: Database, symbol: str, start_ms: int, end_ms: int) -> codec.TradeChunk:
    """Every stored trade with start_ms <= T <= end_ms as numpy columns, ordered by aggregate id."""
    columns = codec.concat_chunks(list(read_chunks(db, symbol, start_ms, end_ms)))
    if len(columns) > 1 and not (np.diff(columns.a) > 0).all():
        columns = columns.select(np.argsort(columns.a, kind="stable"))
    return columns


def trade_ids(db: Database, symbol: str, start_ms: int = 0, end_ms: int = 10**13 - 1) -> np.ndarray:
    """Every stored aggregate id of a symbol in a time range (for checks and tests), ascending."""
    parts = [chunk.a for chunk in read_chunks(db, symbol, start_ms, end_ms)]
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


def write_snapshots(db: Database, symbol: str, snapshots) -> int:
    """Store book snapshots as one WriteBatch; a second already stored is kept (never overwritten)."""
    puts, seen = [], set()
    for snap in snapshots:
        key = codec.snapshot_key(symbol, snap.second)
        if snap.second in seen or db.get("snapshots", key) is not None:
            continue
        seen.add(snap.second)
        puts.append((key, codec.encode_snapshot(snap)))
    if puts:
        db.write({"snapshots": puts})
    return len(puts)


def read_snapshots(db: Database, symbol: str, start_s: int, end_s: int) -> list[codec.BookSnapshot]:
    """Stored snapshots with start_s <= second <= end_s, in time order (seek, stop after end)."""
    return [codec.decode_snapshot(symbol, codec.snapshot_key_second(key), value)
            for key, value in db.scan("snapshots", codec.snapshot_key(symbol, start_s),
                                      codec.snapshot_key(symbol, end_s + 1))]


def read_price_volumes(db: Database, symbol: str, start_ms: int, end_ms: int) -> rollups.PriceVolumes | None:
    """Volume by price of the trades with start_ms <= T <= end_ms: per-minute rollups for the minutes wholly
    inside the window, raw trades for the partial minutes at its edges. Equal to aggregating the raw trades."""
    first_full = -(-start_ms // rollups.MINUTE_MS) * rollups.MINUTE_MS
    end_full = (end_ms + 1) // rollups.MINUTE_MS * rollups.MINUTE_MS  # exclusive
    if first_full >= end_full:
        edges = [(start_ms, end_ms)]
        parts = []
    else:
        edges = [(start_ms, first_full - 1), (end_full, end_ms)]
        parts = [rollups.decode(value) for _key, value in db.scan(
            "rollups", rollups.rollup_key(symbol, first_full), rollups.rollup_key(symbol, end_full))]
    for lo, hi in edges:
        if lo > hi:
            continue
        chunk = codec.concat_chunks(list(read_chunks(db, symbol, lo, hi)))
        if len(chunk):
            parts.append(rollups.from_trades(chunk.p, chunk.q, chunk.m, chunk.T, chunk.p_decimals, chunk.q_decimals))
    return rollups.merge(parts)


def symbol_info_key(symbol: str) -> bytes:
    return f"symbolinfo:{symbol}".encode()


def load_symbol_info(db: Database, symbol: str) -> dict | None:
    """The cached exchangeInfo filters of a symbol ({"tickSize", "stepSize"}), or None."""
    raw = db.get("meta", symbol_info_key(symbol))
    return msgpack.unpackb(raw) if raw else None
