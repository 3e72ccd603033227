"""Exports from a live service on the TLS simulator equal what ``/api/trades`` and ``/api/snapshots`` answer,
exactly, over a range holding a hole filled from REST and an exchange gap; the data-directory export runs
while the service writes (a RocksDB secondary never blocks the writer); ``GET /api/trades.parquet`` is read by
pandas straight from its URL.

One service for the module (the simulator at 50 trades/s per symbol), with a bearer token, so that every export
path is also checked against the token.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest
import requests

from tests.conftest import make_simulator, service_config
from tests.export.readers import READERS, api_rows, by_pandas, by_pyarrow, duckdb_with_httpfs
from tests.helpers import ROOT, wait_for
from tradeactors.export import cli
from tradeactors.export.sources import DataDir
from tradeactors.service import Service

TOKEN = "export-test-token-0123456789"
FAST = {"backoff_initial": 0.05, "backoff_max": 0.5, "flush_interval": 0.25}


HOUR = 3_600_000


def _around_now() -> tuple[int, int]:
    """A window of the API's size that holds everything this module's service stores."""
    now = int(time.time() * 1000)
    return now - HOUR, now + HOUR


def _storage(service) -> dict:
    return service.status()["storage"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A service that has filled a hole from REST and recorded an exchange gap; ``window`` spans both and is
    complete in storage (no hole left in it) while the market trades on past its end."""
    tmp = tmp_path_factory.mktemp("live")
    sim = make_simulator()
    service = Service(service_config(tmp, sim, api_token=TOKEN, **FAST))
    service.start()
    try:
        status = lambda: service.status()["symbols"]["BTCUSDT"]  # noqa: E731
        wait_for(lambda: (status().get("last_trade_id") or 0) > 0, timeout=20, message="receiving")
        first_ms = wait_for(lambda: service.query_trades("BTCUSDT", *_around_now(), limit=1).trades, timeout=10,
                            message="a stored trade")[0].T
        # A hole only REST can fill: the stream is cut and reconnections refused while the market trades on.
        sim.refuse_connections(1.5)
        sim.drop_connections("BTCUSDT")
        hole = wait_for(lambda: (g := service.status()["backfill"]["last_gap"].get("BTCUSDT")) and g["fetched"] > 0
                        and g, timeout=30, message="a hole filled from REST")
        gap_first = sim.skip_trade_ids("BTCUSDT", 6)
        wait_for(lambda: _storage(service)["exchange_gaps"]["BTCUSDT"] == [[gap_first, gap_first + 5]], timeout=30,
                 message="the exchange gap recorded")
        last_id = int(sim.published_ids("BTCUSDT")[-1])
        wait_for(lambda: _storage(service)["stored_ids"]["BTCUSDT"][-1][1] >= last_id
                 and not _storage(service)["holes"]["BTCUSDT"], timeout=30, message="stored up to now, no hole")
        end_ms = service.query_trades("BTCUSDT", *_around_now(), limit=1, after=(0, last_id - 1)).trades[0].T
        wait_for(lambda: service.book_seconds("BTCUSDT", first_ms // 1000, end_ms // 1000), timeout=20,
                 message="book seconds stored")
        yield {"service": service, "sim": sim, "api": service.http.url, "data_dir": tmp / "data",
               "window": (first_ms, end_ms), "hole": (hole["from_id"], hole["to_id"]),
               "gap": (gap_first, gap_first + 5)}
    finally:
        service.stop()
        sim.stop()


@pytest.fixture(scope="module")
def expected(live):
    start, end = live["window"]
    rows = api_rows(live["api"], "BTCUSDT", start, end, TOKEN)
    ids = [r[0] for r in rows]
    assert set(range(live["hole"][0], live["hole"][1] + 1)) <= set(ids)  # the filled hole is in the window
    assert ids[0] < live["gap"][0] and ids[-1] > live["gap"][1]  # so is the exchange gap...
    assert not set(range(live["gap"][0], live["gap"][1] + 1)) & set(ids)  # ...whose ids do not exist
    return rows


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tradeactors", "export", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def test_a_data_dir_export_while_the_service_writes_equals_the_api_in_every_reader(live, expected, tmp_path):
    service = live["service"]
    start, end = live["window"]
    out = tmp_path / "trades.parquet"
    batches = _storage(service)["batches_written"]
    done = _run("--symbol", "btcusdt", "--start", str(start), "--end", str(end), "--out", str(out),
                "--data-dir", str(live["data_dir"]))
    assert done.returncode == 0, done.stderr
    assert f"exported {len(expected):,} rows" in done.stdout
    for name, read in READERS.items():
        assert read(out) == expected, name
    # The service wrote on: the export held no lock it waits for.
    wait_for(lambda: _storage(service)["batches_written"] > batches + 2, message="the service still writing")
    assert _storage(service)["write_errors"] == 0


def test_an_open_secondary_does_not_block_the_writer(live):
    service = live["service"]
    source = DataDir(live["data_dir"])
    try:
        written = _storage(service)["batches_written"]
        wait_for(lambda: _storage(service)["batches_written"] >= written + 3, timeout=10,
                 message="batches written while an export holds the database open")
        last = service.query_trades("BTCUSDT", *_around_now(), limit=1).trades
        assert last  # the service's own reads go on too
    finally:
        source.close()


def test_the_csv_layouts_read_back_exactly(live, expected, tmp_path):
    start, end = live["window"]
    ours, binance = tmp_path / "ours.csv", tmp_path / "binance.csv"
    common = ["--symbol", "BTCUSDT", "--start", str(start), "--end", str(end), "--data-dir", str(live["data_dir"]),
              "--format", "csv"]
    assert cli.main([*common, "--out", str(ours)]) == 0
    assert cli.main([*common, "--csv-layout", "binance", "--out", str(binance)]) == 0
    lines = ours.read_text().splitlines()
    assert lines[0] == "agg_id,price,quantity,first_id,last_id,time_ms,time,is_buyer_maker,side"
    got = []
    for line in lines[1:]:
        a, p, q, f, last, ms, iso, m, s = line.split(",")
        assert iso.endswith("Z") and m in ("true", "false")
        got.append((int(a), p, q, int(f), int(last), int(ms), m == "true", s))
    assert got == expected
    rows = [line.split(",") for line in binance.read_text().splitlines()]
    assert all(len(r) == 8 and r[6] in ("True", "False") and r[7] == "True" for r in rows)
    assert [(int(a), p, q, int(f), int(last), int(t), m == "True") for a, p, q, f, last, t, m, _ in rows] == \
        [r[:7] for r in expected]


def test_an_export_over_http_equals_the_api_and_needs_the_token(live, expected, tmp_path, monkeypatch):
    start, end = live["window"]
    common = ["--symbol", "BTCUSDT", "--start", str(start), "--end", str(end), "--http", live["api"]]
    denied = tmp_path / "denied.parquet"
    assert cli.main([*common, "--out", str(denied), "--api-token", "wrong-token-0123456789"]) == 2
    assert not denied.exists()
    monkeypatch.setenv("TRADEACTORS_API_TOKEN", TOKEN)
    out, csv = tmp_path / "http.parquet", tmp_path / "http.csv"
    assert cli.main([*common, "--out", str(out)]) == 0
    assert by_pyarrow(out) == expected
    assert cli.main([*common, "--format", "csv", "--csv-layout", "binance", "--out", str(csv)]) == 0
    assert [int(line.split(",")[0]) for line in csv.read_text().splitlines()] == [r[0] for r in expected]


def test_trades_parquet_is_read_by_pandas_and_duckdb_from_its_url(live, expected):
    start, end = live["window"]
    url = f"{live['api']}/api/trades.parquet?symbol=BTCUSDT&start={start}&end={end}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert by_pandas(url, storage_options=auth) == expected
    response = requests.get(url, headers=auth, timeout=30, stream=True)
    assert response.headers["Content-Type"] == "application/vnd.apache.parquet"
    assert "Content-Length" not in response.headers  # streamed, not built whole first
    # DuckDB over HTTP: the file is streamed without a length, so DuckDB is told to download it whole (its
    # force_download setting) instead of asking for byte ranges; the token goes in an HTTP secret.
    con = duckdb_with_httpfs()
    con.execute("SET force_download = true")
    con.execute(f"CREATE SECRET (TYPE http, BEARER_TOKEN '{TOKEN}')")
    assert [tuple(r) for r in con.execute(
        "select agg_id, price::varchar, quantity::varchar, epoch_ms(time), side from read_parquet(?) order by 1",
        [url]).fetchall()] == [(a, p, q, t, s) for a, p, q, _f, _l, t, _m, s in expected]
    meta = pq.ParquetFile(io.BytesIO(response.content)).schema_arrow.metadata
    assert meta[b"tradeactors.symbol"] == b"BTCUSDT" and meta[b"tradeactors.format_version"] == b"1"
    assert requests.get(url, timeout=10).status_code == 401


def test_trades_parquet_answers_bad_parameters_as_the_trades_endpoint_does(live):
    start, end = live["window"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for query, field, status in ((f"symbol=BTCUSDT&start={end}&end={start}", "end", 400),
                                 (f"symbol=BTCUSDT&start={start}", "end", 400),
                                 (f"symbol=BTCUSDT&start={start}&end={end}&limit=5", "limit", 400),
                                 (f"symbol=BTCUSDT&start=0&end={10**13 - 1}", "end", 400),
                                 ("symbol=NOPEUSDT&start=0&end=1", None, 404)):
        parquet = requests.get(f"{live['api']}/api/trades.parquet?{query}", headers=auth, timeout=10)
        assert parquet.status_code == status, (query, parquet.text)
        assert parquet.headers["Content-Type"] == "application/json"
        error = parquet.json()["error"]
        if field:
            assert error["details"]["field"] == field, (query, error)
        if field != "limit":
            trades = requests.get(f"{live['api']}/api/trades?{query}", headers=auth, timeout=10)
            assert trades.json() == parquet.json(), query


def test_a_book_export_equals_the_stored_book_seconds(live, tmp_path):
    start, end = live["window"]
    snapshots = requests.get(f"{live['api']}/api/snapshots", headers={"Authorization": f"Bearer {TOKEN}"},
                             params={"symbol": "BTCUSDT", "start": -(-start // 1000), "end": end // 1000},
                             timeout=10).json()["snapshots"]
    assert snapshots
    out, csv = tmp_path / "book.parquet", tmp_path / "book.csv"
    common = ["--symbol", "BTCUSDT", "--start", str(start), "--end", str(end), "--what", "book"]
    assert cli.main([*common, "--out", str(out), "--data-dir", str(live["data_dir"])]) == 0
    table = pq.read_table(out)
    levels = int(table.schema.metadata[b"tradeactors.levels"])
    assert levels == max(max(len(s["bids"]), len(s["asks"])) for s in snapshots)
    rows = table.to_pylist()
    assert [int(r["time"].timestamp()) for r in rows] == [s["second"] for s in snapshots]
    for row, snap in zip(rows, snapshots):
        assert row["update_id"] == snap["update_id"]
        assert int(row["event_time"].timestamp() * 1000) == snap["event_time"]
        for side in ("bid", "ask"):
            book = snap[f"{side}s"]
            assert [[format(row[f"{side}_price_{i}"], "f"), format(row[f"{side}_qty_{i}"], "f")]
                    for i in range(len(book))] == book
            assert all(row[f"{side}_price_{i}"] is None for i in range(len(book), levels))
    # The same over HTTP, as CSV: the strings as /api/snapshots gives them.
    env_token = ["--api-token", TOKEN]
    assert cli.main([*common, "--format", "csv", "--out", str(csv), "--http", live["api"], *env_token]) == 0
    lines = csv.read_text().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["time", "update_id", "event_time"] and header[3] == "bid_price_0"
    first = dict(zip(header, lines[1].split(",")))
    assert int(first["update_id"]) == snapshots[0]["update_id"]
    assert [first["bid_price_0"], first["bid_qty_0"]] == snapshots[0]["bids"][0]
    assert len(lines) - 1 == len(snapshots)
