"""StorageActor: the only writer of the database; a thin actor around ``recorder.Recorder``.

Owns: the Recorder (the TradeWriter with each symbol's stored-id ranges and exchange gaps, the trades and book
seconds whose write failed) and the ticker that retries them.
Messages:
- ``StoreTrades`` (tell from the BufferActor, ask from the BackfillActor -> trades written): one atomic
  WriteBatch, duplicates dropped. A write that opens a new hole in the ids tells the BackfillActor ``HolesFound``.
- ``StoreBookSeconds`` (tell, from the BufferActor): one WriteBatch of book seconds.
- ``GetAllHoles`` (ask): the holes of every symbol that has any.
- ``StoreFlush`` (tell, from the BufferActor): a flush of every symbol, handled as its ``StoreTrades`` and
  ``StoreBookSeconds`` one by one.
- ``GetHoles`` (ask) -> missing id ranges. ``GetLastId`` (ask) -> the highest stored id or None.
  ``RecordExchangeGap`` (ask): ids REST confirms do not exist.
- ``SymbolsChanged`` (tell, from the Service): added symbols have their stored ids loaded; removed ones stay
  tracked (their history stays until retention removes it).
- ``StoreSymbolInfo`` (tell, from the DepthSnapshotActor): a symbol's tick and step sizes, cached in ``meta``.
- ``DeleteBefore`` (ask, from the CleanupActor) -> {symbol: first id kept}: retention as one range delete.
- ``RetryPending`` (tell, from its ticker): retries failed writes. ``GetStatus`` (ask): counters.
- ``InjectFailure`` (tell): raises, for drills and tests of the restart path.
Failed writes are kept and retried by the Recorder (see ``recorder.py``: bounds, reopen policy, log lines).
on_start: loads the id ranges (the Recorder), starts the ticker. on_stop: one last try to write what is pending.
on_failure: pending trades are lost with the actor; their ids become holes that the BackfillActor fills from REST.
"""

from __future__ import annotations

from tradeactors.actors.base import Actor, handles
from tradeactors.actors.directory import Directory
from tradeactors.actors.messages import (
    DeleteBefore,
    GetAllHoles,
    GetHoles,
    GetLastId,
    GetStatus,
    HolesFound,
    RecordExchangeGap,
    RetryPending,
    StoreBookSeconds,
    StoreFlush,
    StoreSymbolInfo,
    StoreTrades,
    SymbolsChanged,
)
from tradeactors.actors.ticker import Ticker
from tradeactors.metrics import Metrics
from tradeactors.recorder import BookBatch, Recorder, TradeBatch
from tradeactors.storage import Database

RETRY_SECONDS = 1.0


class StorageActor(Actor):
    thread_name = "Storage"

    def __init__(self, db: Database, symbols, directory: Directory, metrics: Metrics):
        super().__init__()
        self.db = db
        self.symbols = list(symbols)
        self.directory = directory
        self.metrics = metrics
        self._recorder: Recorder | None = None
        self._ticker: Ticker | None = None

    @property
    def recorder(self) -> Recorder:
        assert self._recorder is not None, "the Recorder is made in on_start"
        return self._recorder

    def on_start(self) -> None:
        super().on_start()
        self._recorder = Recorder(self.db, self.symbols, self.metrics, on_holes=self._holes_found)
        self._ticker = Ticker(self.actor_ref, RetryPending(), RETRY_SECONDS, "Storage-ticker").start()

    def on_stop(self) -> None:
        if self._ticker:
            self._ticker.stop()
        self.recorder.close()

    def on_failure(self, exception_type, exception_value, traceback) -> None:
        if self._ticker:
            self._ticker.stop()

    def _holes_found(self, symbol: str) -> None:
        self.directory.tell("backfill", HolesFound(symbol))

    @handles(StoreTrades)
    def _store_trades(self, message: StoreTrades) -> int:
        return self.recorder.store_trades(TradeBatch(*message))

    @handles(StoreBookSeconds)
    def _store_book_seconds(self, message: StoreBookSeconds) -> None:
        self.recorder.store_book_seconds(BookBatch(*message))

    @handles(StoreFlush)
    def _store_flush(self, message: StoreFlush) -> None:
        for trades in message.trades:
            self.recorder.store_trades(TradeBatch(*trades))
        if message.books:
            self.recorder.store_book_seconds_of([BookBatch(*books) for books in message.books])

    @handles(RetryPending)
    def _retry(self, _message: RetryPending) -> None:
        self.recorder.retry()

    @handles(GetHoles)
    def _holes(self, message: GetHoles) -> list[tuple[int, int]]:
        return self.recorder.writer.holes(message.symbol)

    @handles(GetAllHoles)
    def _all_holes(self, _message: GetAllHoles) -> dict[str, list[tuple[int, int]]]:
        writer = self.recorder.writer
        return {symbol: holes for symbol in list(writer.ranges) if (holes := writer.holes(symbol))}

    @handles(GetLastId)
    def _last_id(self, message: GetLastId) -> int | None:
        return self.recorder.writer.last_id(message.symbol)

    @handles(RecordExchangeGap)
    def _exchange_gap(self, message: RecordExchangeGap) -> None:
        self.recorder.record_exchange_gap(message.symbol, message.lo, message.hi)

    @handles(SymbolsChanged)
    def _symbols_changed(self, message: SymbolsChanged) -> None:
        self.recorder.add_symbols(message.added)

    @handles(StoreSymbolInfo)
    def _symbol_info(self, message: StoreSymbolInfo) -> None:
        self.recorder.store_symbol_info(message.symbol, message.info)

    @handles(DeleteBefore)
    def _delete_before(self, message: DeleteBefore) -> dict[str, int | None]:
        return self.recorder.writer.delete_before(message.cutoff_ms)

    @handles(GetStatus)
    def _status(self, _message: GetStatus) -> dict:
        return self.recorder.status()
