"""Writing the stored history: every write is one atomic WriteBatch.

``TradeWriter`` turns a flush into one WriteBatch: it drops trades already stored (idempotence), splits the
rest into one chunk per second of trade time, updates the per-minute rollups of those trades and records the
symbol's stored-id ranges in the same batch, so that chunks, rollups and ranges can never disagree, even after a
crash. It also records exchange gaps, caches symbol info, writes book seconds and deletes what retention drops.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from tradeactors.idranges import IdRanges
from tradeactors.protocol import AggTrade
from tradeactors.records import BookSecond, PriceVolumes, TradeColumns
from tradeactors.storage import codecs, keys
from tradeactors.storage.database import Database
from tradeactors.storage.reader import load_exchange_gaps, load_id_ranges

_by_id = attrgetter("a")


class TradeWriter:
    """Plans and commits writes for every symbol; keeps each symbol's stored-id ranges and exchange gaps."""

    def __init__(self, db: Database, symbols: Sequence[str]):
        self.db = db
        self.ranges = {symbol: load_id_ranges(db, symbol) for symbol in symbols}
        self.exchange_gaps = {symbol: load_exchange_gaps(db, symbol) for symbol in symbols}
        self._rollups: dict[tuple[str, int], PriceVolumes] = {}
        self._last_book_second: dict[str, int] = {}
        """The latest book second written per symbol in this run: a later one needs no read to know it is new."""
        """Recent minutes' rollups, so a live write does not read its minute back from the database."""

    def track(self, symbol: str) -> None:
        """Load a symbol's stored ids and exchange gaps, if not loaded yet (a symbol added at runtime: it may have
        history from an earlier run, which a fresh empty range list would overwrite)."""
        if symbol not in self.ranges:
            self.ranges[symbol] = load_id_ranges(self.db, symbol)
            self.exchange_gaps[symbol] = load_exchange_gaps(self.db, symbol)

    def holes(self, symbol: str) -> list[tuple[int, int]]:
        """Ids missing between the first and last stored id that the exchange has not confirmed missing."""
        ranges = self.ranges.get(symbol)
        if not ranges:
            return []
        known = IdRanges(ranges)
        for lo, hi in self.exchange_gaps.get(symbol, ()):
            known.add_range(lo, hi)
        return known.holes(ranges.first, ranges.last)

    def last_id(self, symbol: str) -> int | None:
        """The highest stored aggregate id of a symbol, or None."""
        ranges = self.ranges.get(symbol)
        return ranges.last if ranges is not None else None

    def record_exchange_gap(self, symbol: str, lo: int, hi: int) -> None:
        """Persist ids REST confirms do not exist, so they are not looked for again."""
        gaps = IdRanges(self.exchange_gaps.get(symbol, ()))
        gaps.add_range(lo, hi)
        self.db.write({keys.META: [(keys.exchange_gaps_key(symbol), codecs.encode_id_ranges(gaps))]})
        self.exchange_gaps[symbol] = gaps

    def store_symbol_info(self, symbol: str, info: dict[str, str]) -> None:
        """Cache a symbol's exchange filters ({"tickSize", "stepSize"})."""
        self.db.write({keys.META: [(keys.symbol_info_key(symbol), codecs.encode_symbol_info(info))]})

    def delete_before(self, cutoff_ms: int) -> dict[str, int | None]:
        """Delete every chunk with trade times (and every book second) before the second of ``cutoff_ms``, as one
        WriteBatch.

        The id ranges forget the deleted ids in the same batch. Returns {symbol: first id kept, or None}.
        """
        deletes, book_deletes, rollup_deletes, metas, kept = [], [], [], [], {}
        for symbol in self.ranges:
            seek = keys.trade_seek_key(symbol, cutoff_ms)
            deletes.append((keys.trade_prefix(symbol), seek))
            book_deletes.append((keys.book_second_prefix(symbol), keys.book_second_key(symbol, cutoff_ms // 1000)))
            # Only minutes wholly before the cutoff: the minute holding it stays (queries read its raw trades).
            rollup_deletes.append((keys.rollup_prefix(symbol),
                                   keys.rollup_key(symbol, cutoff_ms // keys.MINUTE_MS * keys.MINUTE_MS)))
            first = next(iter(self.db.scan(keys.TRADES, seek, keys.trade_stop_key(symbol, 10**13))), None)
            first_id = int(codecs.decode_trades(first[1]).a.min()) if first else None
            ranges, gaps = IdRanges(self.ranges[symbol]), IdRanges(self.exchange_gaps.get(symbol, ()))
            if first_id is None:
                ranges, gaps = IdRanges(), IdRanges()
            else:
                ranges.discard_below(first_id)
                gaps.discard_below(first_id)
            metas += [(keys.ids_key(symbol), codecs.encode_id_ranges(ranges)),
                      (keys.exchange_gaps_key(symbol), codecs.encode_id_ranges(gaps))]
            kept[symbol] = (first_id, ranges, gaps)
        self.db.write({keys.META: metas},
                      {keys.TRADES: deletes, keys.BOOK_SECONDS: book_deletes, keys.ROLLUPS: rollup_deletes})
        self._rollups.clear()
        for symbol, (_first_id, ranges, gaps) in kept.items():
            self.ranges[symbol], self.exchange_gaps[symbol] = ranges, gaps
        return {symbol: first_id for symbol, (first_id, _r, _g) in kept.items()}

    def write(self, symbol: str, trades: Sequence[AggTrade]) -> tuple[int, int]:
        """Store the trades not stored yet, as one WriteBatch. Returns (trades written, value bytes).

        Raises StorageError; then nothing was written and the ranges are unchanged.
        """
        self.track(symbol)
        ranges = self.ranges[symbol]
        fresh = self._fresh(sorted(trades, key=_by_id), ranges)
        if not fresh:
            return 0, 0
        columns = TradeColumns.from_trades(fresh)  # decimal strings scaled once, for the values and the rollups
        puts = []
        for lo, hi in codecs.second_spans(columns.T):
            value = (codecs.encode_columns(columns.span(lo, hi)) if columns.exact
                     else codecs.encode_trades(fresh[lo:hi]))
            puts.append((keys.trade_key(symbol, int(columns.T[lo:hi].min()), int(columns.a[lo])), value))
        updated = IdRanges(ranges)
        updated.add_sorted(t.a for t in fresh)
        meta = [(keys.ids_key(symbol), codecs.encode_id_ranges(updated))]
        rollup_puts, merged = self._rollup_updates(symbol, columns)
        self.db.write({keys.TRADES: puts, keys.ROLLUPS: rollup_puts, keys.META: meta})
        self.ranges[symbol] = updated
        self._rollups.update(merged)
        if len(self._rollups) > 8 * len(self.ranges):
            for key in sorted(self._rollups, key=lambda k: k[1])[: len(self._rollups) // 2]:
                del self._rollups[key]
        return len(fresh), sum(len(v) for _, v in puts)

    def write_book_seconds_of(self, batches: Sequence[tuple[str, Sequence[BookSecond]]]) -> list[int]:
        """Several symbols' book seconds as one WriteBatch (a flush of a whole market: one write, not 1,500);
        the number written per batch. A second already stored is kept (never overwritten)."""
        puts, counts, latest = [], [], {}
        for symbol, books in batches:
            seen: set[int] = set()
            last = self._last_book_second.get(symbol)
            for book in books:
                key = keys.book_second_key(symbol, book.second)
                if book.second in seen or ((last is None or book.second <= last)
                                           and self.db.get(keys.BOOK_SECONDS, key) is not None):
                    continue  # a later second than any written here cannot be stored yet: no read for it
                seen.add(book.second)
                puts.append((key, codecs.encode_book_second(book)))
            counts.append(len(seen))
            if seen:
                latest[symbol] = max(seen if last is None else (*seen, last))
        if puts:
            self.db.write({keys.BOOK_SECONDS: puts})
            self._last_book_second.update(latest)
        return counts

    def _rollup_updates(self, symbol: str, columns: TradeColumns
                        ) -> tuple[list[tuple[bytes, bytes]], dict[tuple[str, int], PriceVolumes]]:
        """The minutes' rollups with the fresh trades added (written in the same batch as the trades)."""
        minutes = columns.T // keys.MINUTE_MS * keys.MINUTE_MS
        puts, merged = [], {}
        distinct = sorted(set(minutes.tolist()))
        for minute in distinct:
            part = columns if len(distinct) == 1 else columns.select(minutes == minute)
            key = (symbol, minute)
            existing = self._rollups.get(key)
            if existing is None:
                raw = self.db.get(keys.ROLLUPS, keys.rollup_key(symbol, minute))
                existing = codecs.decode_rollup(raw) if raw else None
            rollup = PriceVolumes.with_trades(existing, part)
            merged[key] = rollup
            puts.append((keys.rollup_key(symbol, minute), codecs.encode_rollup(rollup)))
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


def compact_trades_before(db: Database, symbol: str, cutoff_ms: int) -> None:
    """Compact the trade range retention deleted, so its disk space comes back (slow: run it outside the writer's
    thread; RocksDB compacts concurrently with writes)."""
    db.compact(keys.TRADES, keys.trade_prefix(symbol), keys.trade_seek_key(symbol, cutoff_ms))
