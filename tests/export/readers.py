"""The exports read back the way notebook users read them (pyarrow, pandas, Polars, DuckDB), each as the rows
``/api/trades`` gives: ``(a, p, q, f, l, T, m, side)`` with p and q as decimal strings."""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_extension_httpfs
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import requests


def side(m: bool) -> str:
    return "sell" if m else "buy"


def api_rows(api: str, symbol: str, start: int, end: int, token: str = "") -> list[tuple]:
    """Every trade of /api/trades in [start, end], paged by its cursor."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    rows, cursor = [], None
    while True:
        params = {"symbol": symbol, "start": start, "end": end, "limit": 10000}
        if cursor:
            params["cursor"] = cursor
        page = requests.get(f"{api}/api/trades", params=params, headers=headers, timeout=30).json()
        rows += [(t["a"], t["p"], t["q"], t["f"], t["l"], t["T"], t["m"], side(t["m"])) for t in page["trades"]]
        cursor = page["next_cursor"]
        if not cursor:
            return rows


def by_pyarrow(path) -> list[tuple]:
    table = pq.read_table(path)
    assert table.schema.field("price").type == pa.decimal128(38, int(table.schema.metadata[b"tradeactors.price_scale"]))
    assert table.schema.field("time").type == pa.timestamp("ms", tz="UTC")
    times = table.column("time").cast(pa.int64()).to_pylist()
    return [(r["agg_id"], format(r["price"], "f"), format(r["quantity"], "f"), r["first_id"], r["last_id"], t,
             r["is_buyer_maker"], r["side"]) for r, t in zip(table.to_pylist(), times)]


def by_pandas(source, **options) -> list[tuple]:
    frame = pd.read_parquet(source, **options)
    times = (frame["time"].dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    return [(int(a), format(p, "f"), format(q, "f"), int(f), int(last), int(t), bool(m), s)
            for a, p, q, f, last, t, m, s in zip(frame["agg_id"], frame["price"], frame["quantity"], frame["first_id"],
                                                 frame["last_id"], times, frame["is_buyer_maker"], frame["side"])]


def by_polars(path) -> list[tuple]:
    frame = pl.read_parquet(path)
    assert isinstance(frame.schema["price"], pl.Decimal)
    frame = frame.with_columns(pl.col("time").dt.epoch("ms").alias("ms"))
    return [(a, format(p, "f"), format(q, "f"), f, last, t, m, s) for a, p, q, f, last, t, m, s in
            zip(*(frame[c].to_list() for c in ("agg_id", "price", "quantity", "first_id", "last_id", "ms",
                                                "is_buyer_maker", "side")))]


def duckdb_with_httpfs() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that reads http:// URLs with the httpfs extension from PyPI (pinned to DuckDB's version
    in setup.cfg), loaded from its file: DuckDB never downloads an extension here (no network but loopback)."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    extension = next(Path(duckdb_extension_httpfs.__file__).parent.glob("extensions/*/httpfs.duckdb_extension"))
    con.load_extension(str(extension))
    return con


def by_duckdb(path) -> list[tuple]:
    con = duckdb.connect()
    kinds = dict(con.execute("select column_name, column_type from (describe select * from read_parquet(?))",
                             [str(path)]).fetchall())
    assert kinds["price"].startswith("DECIMAL(38,") and kinds["agg_id"] == "BIGINT", kinds
    return [tuple(r) for r in con.execute(
        "select agg_id, price::varchar, quantity::varchar, first_id, last_id, epoch_ms(time), is_buyer_maker, side "
        "from read_parquet(?) order by agg_id", [str(path)]).fetchall()]


READERS = {"pyarrow": by_pyarrow, "pandas": by_pandas, "polars": by_polars, "duckdb": by_duckdb}
