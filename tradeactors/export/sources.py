"""Where an export's rows come from: a data directory, or a running service's HTTP API.

``DataDir`` opens ``<data_dir>/analytics`` as a RocksDB secondary (``storage.Database(..., secondary_dir=...)``):
no lock is taken, so the service that owns the database goes on writing, never waiting for the export; the
secondary replays the service's write-ahead log at open and sees everything written until then. (A read-only
open is no alternative: it refuses a database whose WAL is not empty, i.e. any database a service is writing.)

``Api`` pages ``GET /api/trades`` (exact strings) and ``GET /api/snapshots``, and downloads
``GET /api/trades.parquet`` as it comes, with the bearer token when one is given.

Both give trades as ``records.TradeColumns`` batches in id order and book seconds as ``records.BookSecond`` in
time order, so the writers do not know which one they read.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import requests

from tradeactors import decimals, storage
from tradeactors.export.arrow import ExportError, Scale
from tradeactors.parameters import MAX_BOOK_SECONDS, MAX_WINDOW_MS
from tradeactors.protocol import AggTrade
from tradeactors.records import BookSecond, TradeColumns

BATCH_ROWS = 200_000
"""Trades read per batch from storage (whole seconds, so a batch can hold a few more)."""
API_PAGE = 10_000
"""Trades per ``/api/trades`` page: the API's maximum."""
HTTP_TIMEOUT = 60.0


class DataDir:
    """A data directory's database, opened as a secondary; ``close`` removes the secondary's own files."""

    def __init__(self, data_dir: Path):
        db_path = data_dir / "analytics"
        self._scratch = tempfile.mkdtemp(prefix="tradeactors-export-")
        try:
            self.db = storage.Database(db_path, secondary_dir=self._scratch)
        except storage.StorageError as exc:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise ExportError(f"--data-dir: {exc}") from None

    def close(self) -> None:
        self.db.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def check_symbol(self, symbol: str) -> None:
        stored = storage.stored_symbols(self.db)
        if symbol not in stored:
            raise ExportError(f"--symbol: no trades of {symbol} are stored in {self.db.path} "
                              f"(stored: {', '.join(stored) or 'none'})")

    def trade_scale(self, symbol: str, start_ms: int, end_ms: int) -> Scale | None:
        found = storage.trade_decimals(self.db, symbol, start_ms, end_ms)
        return Scale(*found) if found is not None else None

    def trade_batches(self, symbol: str, start_ms: int, end_ms: int) -> Iterator[TradeColumns]:
        begin: int | None = start_ms
        while begin is not None:
            columns, begin = storage.read_trade_batch(self.db, symbol, begin, end_ms, BATCH_ROWS)
            yield columns

    def book_seconds(self, symbol: str, start_s: int, end_s: int) -> Iterator[BookSecond]:
        return storage.iter_book_seconds(self.db, symbol, start_s, end_s)


class Api:
    """A running service's HTTP API at ``url`` (``http://127.0.0.1:8080``)."""

    def __init__(self, url: str, token: str = ""):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def _get(self, path: str, params: dict[str, Any], stream: bool = False) -> requests.Response:
        try:
            response = self.session.get(f"{self.url}{path}", params=params, timeout=HTTP_TIMEOUT, stream=stream)
        except requests.RequestException as exc:
            raise ExportError(f"--http: cannot reach {self.url}: {exc}") from None
        if response.status_code != 200:
            raise ExportError(_api_error(response))
        return response

    def check_symbol(self, symbol: str) -> None:
        """Unknown symbols and a wrong token answer here, before anything is written."""
        self._get("/api/trades", {"symbol": symbol, "start": 0, "end": 0, "limit": 1})

    def download_trades_parquet(self, symbol: str, start_ms: int, end_ms: int, sink: BinaryIO) -> None:
        """``GET /api/trades.parquet`` into ``sink`` as it arrives (the service writes the file)."""
        params = {"symbol": symbol, "start": start_ms, "end": end_ms}
        with self._get("/api/trades.parquet", params, stream=True) as response:
            for piece in response.iter_content(1 << 20):
                sink.write(piece)

    def trade_batches(self, symbol: str, start_ms: int, end_ms: int) -> Iterator[TradeColumns]:
        """Pages of ``/api/trades`` (windows of at most the API's 7 days, each paged by its cursor)."""
        for lo, hi in _windows(start_ms, end_ms, MAX_WINDOW_MS):
            cursor = None
            while True:
                params: dict[str, Any] = {"symbol": symbol, "start": lo, "end": hi, "limit": API_PAGE}
                if cursor:
                    params["cursor"] = cursor
                page = self._get("/api/trades", params).json()
                yield _columns([AggTrade(t["a"], t["p"], t["q"], t["f"], t["l"], t["T"], t["m"])
                                for t in page["trades"]])
                cursor = page["next_cursor"]
                if not cursor:
                    break

    def book_seconds(self, symbol: str, start_s: int, end_s: int) -> Iterator[BookSecond]:
        """``/api/snapshots`` in windows of the API's maximum (``MAX_BOOK_SECONDS``)."""
        for lo, hi in _windows(start_s, end_s, MAX_BOOK_SECONDS):
            page = self._get("/api/snapshots", {"symbol": symbol, "start": lo, "end": hi}).json()
            for row in page["snapshots"]:
                yield _book_second(symbol, row)


def _windows(start: int, end: int, span: int) -> Iterator[tuple[int, int]]:
    """[lo, hi] pieces of [start, end], each with hi - lo <= span."""
    lo = start
    while lo <= end:
        hi = min(end, lo + span)
        yield lo, hi
        lo = hi + 1


def _columns(trades: list[AggTrade]) -> TradeColumns:
    """A page's trades as columns that give the strings back exactly (kept beside them when the decimals vary)."""
    columns = TradeColumns.from_trades(trades)
    if not columns.exact:
        columns.p_text = [t.p for t in trades]
        columns.q_text = [t.q for t in trades]
    return columns


def _book_second(symbol: str, row: dict[str, Any]) -> BookSecond:
    strings = [level[0] for level in row["bids"] + row["asks"]], [level[1] for level in row["bids"] + row["asks"]]
    prices, p_dec = decimals.scale_any(strings[0])
    qtys, q_dec = decimals.scale_any(strings[1])
    levels = np.stack([prices, qtys], axis=1) if len(prices) else np.empty((0, 2), dtype=np.int64)
    n_bids = len(row["bids"])
    return BookSecond(symbol, row["second"], row["update_id"], row["event_time"], levels[:n_bids],
                      levels[n_bids:], p_dec, q_dec)


def _api_error(response: requests.Response) -> str:
    """The API's JSON error as a message naming the CLI option it concerns."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"--http: {response.url} answered {response.status_code}"
    field = (error.get("details") or {}).get("field")
    option = {"symbol": "--symbol", "start": "--start", "end": "--end"}.get(field or "", "")
    if error.get("code") == "unknown_symbol":
        option = "--symbol"
    elif error.get("code") == "unauthorized":
        option = "--api-token"
    return f"{option or '--http'}: {error.get('message')} (the service answered {response.status_code})"
