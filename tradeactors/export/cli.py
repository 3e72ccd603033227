"""``tradeactors export``: trades or book seconds of one symbol and time range, to Parquet or CSV.

Reads a data directory (``--data-dir``, or the ``data_dir`` of ``--config``/``TRADEACTORS_DATA_DIR``), also while
the service runs (a RocksDB secondary: the service is never blocked), or a running service's API (``--http URL``,
with ``--api-token``/``TRADEACTORS_API_TOKEN``). Times are ms since the epoch, as ``/api/trades`` takes them, or
ISO 8601 (``2024-08-08``, ``2024-08-08T12:00:00.250``, ``...+02:00``, ``...Z``); a time without a zone is UTC.
Both ends are inclusive. The file is written beside ``--out`` under a temporary name and renamed when complete,
so ``--out`` is either the whole export or untouched.

Exit codes: 0 written; 2 bad arguments (the message names the option), nothing written; 1 any other failure
(the database or the service failed while reading), nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tradeactors import config as configuration
from tradeactors.export.arrow import ExportError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
MAX_MS = 10**13 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_BOOK_LEVELS = 20
"""Columns per side of an empty book export (the service's default ``book_second_levels``); otherwise the most
levels stored in the range, or ``--levels``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradeactors export",
        description="Export stored trades or book seconds of one symbol to Parquet or CSV (see docs/export.md).")
    parser.add_argument("--symbol", required=True, help="the symbol, e.g. BTCUSDT")
    parser.add_argument("--start", required=True, metavar="TIME",
                        help="first trade time, inclusive: ms since the epoch or ISO 8601 (no zone = UTC)")
    parser.add_argument("--end", required=True, metavar="TIME", help="last trade time, inclusive (as --start)")
    parser.add_argument("--what", choices=("trades", "book"), default="trades",
                        help="aggregate trades (default) or the stored book seconds")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="default parquet")
    parser.add_argument("--csv-layout", choices=("tradeactors", "binance"), default=None,
                        help="with --format csv: ours (default) or Binance's public aggTrades files' (trades only)")
    parser.add_argument("--levels", type=int, default=None, metavar="N",
                        help="book: levels per side as columns (default: the most stored in the range)")
    parser.add_argument("--out", required=True, metavar="PATH", help="the file to write")
    source = parser.add_argument_group("source (one of)")
    source.add_argument("--data-dir", metavar="DIR", help="the service's data directory (it may be running)")
    source.add_argument("--config", metavar="FILE", help="the service's INI file: its data_dir is read")
    source.add_argument("--http", metavar="URL", help="a running service's API, e.g. http://127.0.0.1:8080")
    source.add_argument("--api-token", metavar="TOKEN", default=None,
                        help="with --http: the service's api_token (default $TRADEACTORS_API_TOKEN)")
    return parser


def parse_time(text: str, option: str) -> int:
    """ms since the epoch of ``text``: digits are ms already; anything else must be ISO 8601 (UTC without a
    zone). Sub-millisecond digits are cut (the stored times are ms)."""
    text = text.strip()
    if text.isdigit():
        value = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise ExportError(f"{option}: {text!r} is neither ms since the epoch nor an ISO 8601 time "
                              "(e.g. 1723075200000, 2024-08-08T00:00:00Z, 2024-08-08)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        value = (moment - EPOCH) // timedelta(milliseconds=1)
    if not 0 <= value <= MAX_MS:
        raise ExportError(f"{option}: {text!r} is outside 1970-01-01 .. 2286-11-20 (0..{MAX_MS} ms)")
    return value


class Request:
    """The checked command line: what to export, from where, to where."""

    def __init__(self, args: argparse.Namespace):
        symbol = args.symbol.strip().upper()
        if not symbol.isalnum() or not 2 <= len(symbol) <= 20:
            raise ExportError(f"--symbol: {args.symbol!r} is not a symbol (2-20 letters or digits, e.g. BTCUSDT)")
        self.symbol = symbol
        self.start_ms = parse_time(args.start, "--start")
        self.end_ms = parse_time(args.end, "--end")
        if self.end_ms < self.start_ms:
            raise ExportError(f"--end: {args.end!r} is before --start {args.start!r}")
        self.what, self.format = args.what, args.format
        if args.csv_layout is not None and self.format != "csv":
            raise ExportError("--csv-layout: only with --format csv")
        self.layout = args.csv_layout or "tradeactors"
        if self.layout == "binance" and self.what != "trades":
            raise ExportError("--csv-layout: binance is the layout of aggregate trades; use it with --what trades")
        if args.levels is not None and (self.what != "book" or not 1 <= args.levels <= 5000):
            raise ExportError("--levels: 1..5000, with --what book only")
        self.levels = args.levels
        self.out = _checked_out(Path(args.out))
        sources = [name for name in ("data_dir", "config", "http") if getattr(args, name)]
        if len(sources) > 1 and "http" in sources:
            raise ExportError("--http: reads the service's API; leave out --data-dir and --config")
        self.http = args.http
        self.token = args.api_token if args.api_token is not None else os.environ.get("TRADEACTORS_API_TOKEN", "")
        if self.http:
            from tradeactors.parameters import MAX_WINDOW_HOURS, MAX_WINDOW_MS

            if not self.http.startswith(("http://", "https://")):
                raise ExportError(f"--http: {self.http!r} is not a URL (e.g. http://127.0.0.1:8080)")
            if self.end_ms - self.start_ms > MAX_WINDOW_MS:
                raise ExportError(f"--end: over --http a window is at most {MAX_WINDOW_HOURS} hours (the API's "
                                  "limit, and the retention); export longer ranges from --data-dir")
            self.data_dir = None
        else:
            self.data_dir = _data_dir(args)


def _checked_out(out: Path) -> Path:
    if out.is_dir():
        raise ExportError(f"--out: {out} is a directory; name the file to write")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ExportError(f"--out: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"--out: cannot write in {parent} (permission denied)")
    return out


def _data_dir(args: argparse.Namespace) -> Path:
    """--data-dir, else the configuration's data_dir (--config, TRADEACTORS_DATA_DIR, default ./data)."""
    if args.data_dir:
        data_dir = Path(args.data_dir)
        option = "--data-dir"
    else:
        try:
            data_dir = configuration.load(args.config).data_dir
        except configuration.ConfigError as exc:
            raise ExportError("--config: " + "; ".join(exc.errors)) from None
        option = "--config" if args.config else "--data-dir"
    if not (data_dir / "analytics" / "CURRENT").is_file():
        raise ExportError(f"{option}: no tradeactors database in {data_dir} (expected {data_dir / 'analytics'})")
    return data_dir


# --- the export --------------------------------------------------------------------------------------------


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    held: list[Any] = []
    for item in items:
        held.append(item)
        if len(held) >= size:
            yield held
            held = []
    if held:
        yield held


def _book_seconds_range(request: Request) -> tuple[int, int]:
    """The seconds whose time (second * 1000) lies in [start, end]."""
    return -(-request.start_ms // 1000), request.end_ms // 1000


def write_export(request: Request, source: Any, sink: Any) -> int:
    """Write the export to the open binary file ``sink``; returns the rows written."""
    from tradeactors.export import arrow, csvfile, parquet

    symbol, start, end = request.symbol, request.start_ms, request.end_ms
    if request.what == "trades":
        if request.format == "csv":
            return csvfile.write_trades(sink, source.trade_batches(symbol, start, end), request.layout)
        if request.http:
            source.download_trades_parquet(symbol, start, end, sink)
            return 0  # counted from the file's footer once it is closed
        scale = source.trade_scale(symbol, start, end) or arrow.Scale(0, 0)
        schema = arrow.trade_schema(symbol, scale, start, end)
        batches = (arrow.trade_batch(c, schema, scale) for c in source.trade_batches(symbol, start, end) if len(c))
        return _last(parquet.write(sink, schema, batches))
    first_s, last_s = _book_seconds_range(request)
    shape = arrow.book_shape(source.book_seconds(symbol, first_s, last_s), request.levels)
    if shape is None:
        shape = arrow.BookShape(arrow.Scale(0, 0), request.levels or DEFAULT_BOOK_LEVELS)
    schema = arrow.book_schema(symbol, shape, start, end)
    book_batches = (arrow.book_batch(books, schema, shape)
                    for books in _batches(source.book_seconds(symbol, first_s, last_s), 3600))
    if request.format == "csv":
        return csvfile.write_books(sink, schema.names, book_batches)
    return _last(parquet.write(sink, schema, book_batches))


def _last(counts: Iterator[int]) -> int:
    """Run a writer to its end; the rows it wrote."""
    rows = 0
    for rows in counts:  # noqa: B007 - the last count is the total
        pass
    return rows


def _complete_parquet(path: Path) -> int:
    """The rows of a written Parquet file, read from its footer: a file cut short (a download broken off) has
    none and raises instead of being renamed into place."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _open_source(request: Request) -> Any:
    from tradeactors.export.sources import Api, DataDir

    if request.http:
        return Api(request.http, request.token)
    assert request.data_dir is not None
    return DataDir(request.data_dir)


def export(request: Request) -> int:
    """Run the export into a temporary file beside ``--out`` and rename it into place once it is complete."""
    source = _open_source(request)
    try:
        source.check_symbol(request.symbol)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below; renamed or removed after
            dir=request.out.parent, prefix=f".{request.out.name}.", suffix=".part", delete=False)
        try:
            with handle:
                rows = write_export(request, source, handle)
            if request.format == "parquet":
                rows = _complete_parquet(Path(handle.name))
            os.replace(handle.name, request.out)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    finally:
        source.close()
    return rows


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the option at fault (or --help)
        return int(exc.code or 0)
    try:
        request = Request(args)
        rows = export(request)
    except ExportError as exc:
        print(f"tradeactors export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # the database or the service failed mid-way: nothing was written
        print(f"tradeactors export: failed, nothing written: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    size = request.out.stat().st_size
    print(f"exported {rows:,} rows ({request.what} of {request.symbol}) to {request.out}: {size:,} bytes")
    return EXIT_OK
